// Where this user has seen each blob, per registry: the repositories a push sent it to or a
// pull or copy read it from. A later push mounts a blob its target lacks from one of them
// (POST ?mount=&from=) instead of sending the bytes again, as docker does with its own record
// of pushed and pulled digests. The registry's catalog is not used: it lists repositories the
// user may not pull, and reading it costs a request per page.
//   ${dirname of the upload state}/blob-sources.json: { "HOST": { "sha256:...": ["repo", ...] } }
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { stateFilePath } from "./upload-state.js";

/** Repositories kept per blob, newest first: each is one mount attempt at most. */
const MAX_REPOS_PER_BLOB = 3;
/** Blobs kept per registry, oldest dropped first: keeps the file under about a megabyte. */
const MAX_BLOBS_PER_REGISTRY = 5000;
/** Mount attempts per blob beyond --mount-from: a refused mount opens a session, which is
 *  then cancelled, so every attempt costs two requests. */
export const MAX_AUTOMATIC_MOUNTS = 3;

type Record = { [host: string]: { [digest: string]: string[] } };

export function blobSourcesPath(): string {
  return join(dirname(stateFilePath()), "blob-sources.json");
}

export class BlobSourcesFile {
  constructor(private readonly path = blobSourcesPath()) {}

  private load(): Record {
    try {
      return JSON.parse(readFileSync(this.path, "utf8")) as Record;
    } catch {
      return {};
    }
  }

  /** Repositories of `host` known to hold `digest`, newest first. */
  repositoriesHolding(host: string, digest: string): string[] {
    return this.load()[host]?.[digest] ?? [];
  }

  /** Notes that `repo` on `host` holds every one of `digests`; one write per command. */
  remember(host: string, repo: string, digests: string[]): void {
    const all = this.load();
    const blobs = all[host] ?? {};
    for (const digest of digests) {
      const repos = [repo, ...(blobs[digest] ?? []).filter((r) => r !== repo)].slice(0, MAX_REPOS_PER_BLOB);
      // Re-inserted at the end: object keys keep insertion order, so the oldest come first.
      delete blobs[digest];
      blobs[digest] = repos;
    }
    const keys = Object.keys(blobs);
    for (const old of keys.slice(0, Math.max(0, keys.length - MAX_BLOBS_PER_REGISTRY))) delete blobs[old];
    all[host] = blobs;
    mkdirSync(dirname(this.path), { recursive: true });
    const temp = `${this.path}.${process.pid}.tmp`;
    writeFileSync(temp, JSON.stringify(all));
    renameSync(temp, this.path);
  }
}

export interface MountSources {
  /** --mount-from, always tried, in order. */
  explicit: string[];
  /** copy within one registry: the source repository holds every blob. */
  sourceRepo: string | null;
  /** From the record, newest first. */
  recorded: string[];
  /** The push's own repository, never a mount source. */
  target: string;
}

/** The repositories to try mounting a blob from, in order, each once. */
export function mountCandidates(sources: MountSources): string[] {
  const automatic = [...(sources.sourceRepo ? [sources.sourceRepo] : []), ...sources.recorded]
    .filter((repo) => repo !== sources.target && !sources.explicit.includes(repo))
    .filter((repo, i, all) => all.indexOf(repo) === i)
    .slice(0, MAX_AUTOMATIC_MOUNTS);
  return [...sources.explicit.filter((repo) => repo !== sources.target), ...automatic];
}
