// Remembers open upload sessions across runs, so a failed push re-run with the same command
// continues where it stopped. One small JSON file, keyed by registry + repository + digest:
//   ${R2_REGISTRY_STATE:-${XDG_CACHE_HOME:-~/.cache}/r2-registry/uploads.json}
// Writes go through a temporary file and a rename; each write re-reads the file first, so
// two pushes running at once lose nothing but their own last offset.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";

export interface SavedUpload {
  location: string;
  offset: number;
  updatedAt: number;
}

/** Sessions older than this are forgotten (the registry expires them after days anyway). */
const MAX_AGE_MS = 3 * 24 * 3600 * 1000;

export function stateFilePath(): string {
  if (process.env.R2_REGISTRY_STATE) return process.env.R2_REGISTRY_STATE;
  const cache = process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache");
  return join(cache, "r2-registry", "uploads.json");
}

export function uploadKey(host: string, repo: string, digest: string): string {
  return `${host}/${repo}@${digest}`;
}

function load(path: string): Record<string, SavedUpload> {
  try {
    const all = JSON.parse(readFileSync(path, "utf8")) as Record<string, SavedUpload>;
    const now = Date.now();
    return Object.fromEntries(Object.entries(all).filter(([, v]) => now - v.updatedAt < MAX_AGE_MS));
  } catch {
    return {};
  }
}

export class UploadStateFile {
  constructor(private readonly path = stateFilePath()) {}

  get(key: string): SavedUpload | null {
    return load(this.path)[key] ?? null;
  }

  /** Records (or, with null, forgets) the session for `key`. Synchronous on purpose: a
   *  process killed mid-push must find the last offset written. */
  set(key: string, value: SavedUpload | null): void {
    const all = load(this.path);
    if (value) all[key] = value;
    else delete all[key];
    mkdirSync(dirname(this.path), { recursive: true });
    const temp = `${this.path}.${process.pid}.tmp`;
    writeFileSync(temp, JSON.stringify(all, null, 1));
    renameSync(temp, this.path);
  }
}
