// The registry the client suites share: one local runtime (plain HTTP, as `npm start`) per test
// file, the credential kinds it accepts, and small authenticated API calls that check what
// the clients left in it.
import { mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { E2E_AUTH, E2E_CREDENTIALS, registrySuite, type RegistryServer } from "../registry-server";
import { CREDENTIAL_KINDS } from "./credentials";
import { afterAll, afterEach, beforeAll } from "vitest";
import { slowestCommands } from "./run";

export const CREDS = `${E2E_CREDENTIALS.username}:${E2E_CREDENTIALS.password}`;

/** The lock the client suites check (IMMUTABLE_TAGS_JSON): v-tags under e2e/immutable/,
 *  a prefix no other scenario pushes to. */
export const E2E_TAG_LOCK = { repository: "e2e/immutable/*", tags: "v.*", name: "e2e-releases" };

function workDir(name: string): string {
  return mkdtempSync(join(tmpdir(), `e2e-${name}-`));
}

/**
 * The hooks every client suite needs, registered once for the calling test file: a fresh
 * registry (plain HTTP, as `npm start` serves it, with every credential kind configured and
 * E2E_TAG_LOCK) and
 * work directory before its tests (handed to `started`), the registry's log tail after a
 * failed test, and the slowest client commands, the work directory's removal and the
 * registry's stop after them.
 */
export function clientSuite(name: string, started: (server: RegistryServer, work: string) => void): void {
  let server: RegistryServer | undefined;
  let work: string | undefined;
  const vars = {
    ...Object.assign({}, ...CREDENTIAL_KINDS.map((k) => k.vars)),
    IMMUTABLE_TAGS_JSON: JSON.stringify([E2E_TAG_LOCK]),
  };
  registrySuite({ vars }, (s) => {
    server = s;
  });
  beforeAll(() => {
    work = workDir(name);
    started(server!, work);
  });
  afterEach(async (context) => {
    if (context.task.result?.state !== "fail") return;
    // The runtime logs a request after the client has its answer; wait for the last lines.
    await new Promise((r) => setTimeout(r, 1500));
    console.error(`registry log tail:\n${logTail(server)}`);
  });
  afterAll(async () => {
    console.log(`slowest client commands:\n${slowestCommands()}`);
    if (work) rmSync(work, { recursive: true, force: true });
  });
}

export function api(server: RegistryServer, path: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (!headers.has("Authorization")) headers.set("Authorization", E2E_AUTH);
  return fetch(`${server.url}${path}`, { ...init, headers });
}

export interface FetchedManifest {
  status: number;
  digest: string | null;
  contentType: string | null;
  body: Buffer;
}

export async function getManifest(server: RegistryServer, repo: string, reference: string): Promise<FetchedManifest> {
  const accept = [
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
  ].join(", ");
  const response = await api(server, `/v2/${repo}/manifests/${reference}`, { headers: { Accept: accept } });
  const body = Buffer.from(await response.arrayBuffer());
  return {
    status: response.status,
    digest: response.headers.get("Docker-Content-Digest"),
    contentType: response.headers.get("Content-Type"),
    body,
  };
}

/** A position in the registry's request log, to read what one client command sent. */
export function logMark(server: RegistryServer): number {
  return server.log().length;
}

/** Request lines the runtime logged since `mark`, e.g. "PATCH /v2/a/blobs/uploads/x 202": the
 *  local runtime's one line per request (scripts/local-runtime/request-log.ts), or wrangler dev's. */
export function requestsSince(server: RegistryServer, mark: number): string[] {
  const lines = server.log().slice(mark).split("\n");
  return lines.flatMap((line) => {
    const match = /^(?:\[wrangler:info\] )?((?:GET|HEAD|POST|PUT|PATCH|DELETE) \S+ \d{3})\b/.exec(line);
    return match?.[1] ? [match[1]] : [];
  });
}

/** The last lines of the registry's log, for a failing scenario's report. */
export function logTail(server: RegistryServer | undefined, lines = 40): string {
  if (!server) return "(registry not started)";
  return server.log().split("\n").slice(-lines).join("\n");
}

/** Bytes the registry's local state (R2 and KV under --persist-to) holds on disk: an upload
 *  of a layer grows it by the layer's size, a mount by a few small records. */
export function stateBytes(server: RegistryServer): number {
  let total = 0;
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile()) total += statSync(path).size;
    }
  };
  walk(server.stateDir);
  return total;
}
