// Shared helpers for the workers tests: authenticated requests against the worker, a
// pushImage() that uploads blobs and a manifest, and the storage keys tests may read or write
// directly. Re-exports the pure helpers both test projects share (test/shared-helpers.ts,
// whose header maps where every other helper lives), so a workers test imports from here.
import type { Config } from "../src/config/config";
import type { Deps } from "../src/storage/deps";
import type { Storage } from "../src/storage/storage";
import { createExecutionContext } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { createApp } from "../src/app";
import type { Env } from "../src/config/config";
import { parseDigest } from "../src/oci/digest";
import { keys } from "../src/storage/keys";
import { subrequests, type Usage } from "../src/storage/meter";
import { basic, OCI_MANIFEST, seededBytes, sha256, singleLayerImage } from "./shared-helpers";

export { basic, OCI_INDEX, OCI_MANIFEST, pause, seededBytes, sha256, sha512, singleLayerImage } from "./shared-helpers";

export const BASE = "http://registry.test";
/** The test bindings' users (vitest.config.ts, TEST_BINDINGS). */
export const AUTH = basic("tester", "test-password");
export const READONLY_AUTH = basic("reader", "reader-password");

export function request(path: string, init: RequestInit & { auth?: string | null } = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  const auth = init.auth === undefined ? AUTH : init.auth;
  if (auth) headers.set("Authorization", auth);
  return (exports as unknown as { default: { fetch(r: Request): Promise<Response> } }).default.fetch(
    new Request(path.startsWith("http") ? path : BASE + path, { ...init, headers }),
  );
}

/** Each request's storage usage, by the Request object the app was handed. */
const usageOf = new WeakMap<Request, Usage>();
const meteredApp = createApp({ onUsage: (usage, raw) => usageOf.set(raw, usage) });

/**
 * Sends one request as request() does and returns the storage calls it made, by class
 * (src/storage/meter.ts), plus their total: the subrequests it cost. Counted when the
 * response is ready: a blob GET's one read is in, work left to waitUntil is not.
 */
export async function meteredRequest(
  path: string,
  init: RequestInit & { auth?: string | null } = {},
  target: Env = env as unknown as Env,
  /** Pass one to wait for the request's background work (waitOnExecutionContext). */
  ctx: ExecutionContext = createExecutionContext(),
): Promise<{ response: Response; usage: Usage & { subrequests: number } }> {
  const headers = new Headers(init.headers);
  const auth = init.auth === undefined ? AUTH : init.auth;
  if (auth) headers.set("Authorization", auth);
  const raw = new Request(path.startsWith("http") ? path : BASE + path, { ...init, headers });
  const response = await meteredApp.fetch(raw, target, ctx);
  const usage = usageOf.get(raw);
  if (!usage) throw new Error(`no storage usage was recorded for ${path}`);
  return { response, usage: { ...usage, subrequests: subrequests(usage) } };
}

export async function errorCode(response: Response): Promise<string | undefined> {
  const body = (await response.json()) as { errors?: { code: string }[] };
  return body.errors?.[0]?.code;
}

export async function startUpload(repo: string): Promise<string> {
  const response = await request(`/v2/${repo}/blobs/uploads/`, { method: "POST" });
  if (response.status !== 202) throw new Error(`POST upload: ${response.status} ${await response.text()}`);
  return response.headers.get("Location")!;
}

/** Monolithic POST ?digest= upload; returns the digest. */
export async function pushBlob(repo: string, bytes: Uint8Array): Promise<string> {
  const digest = sha256(bytes);
  const response = await request(`/v2/${repo}/blobs/uploads/?digest=${digest}`, {
    method: "POST",
    body: bytes,
    headers: { "Content-Type": "application/octet-stream" },
  });
  if (response.status !== 201) throw new Error(`push blob: ${response.status} ${await response.text()}`);
  return digest;
}

export async function pushManifest(
  repo: string,
  reference: string,
  manifest: unknown,
  contentType = OCI_MANIFEST,
): Promise<Response> {
  return request(`/v2/${repo}/manifests/${reference}`, {
    method: "PUT",
    body: typeof manifest === "string" ? manifest : JSON.stringify(manifest),
    headers: { "Content-Type": contentType },
  });
}

/** Pushes a config and one layer, then a manifest under `tag`; returns the image with its
 *  digests. */
export async function pushImage(repo: string, tag: string, seed = 1, extra: Record<string, unknown> = {}) {
  const image = singleLayerImage({ architecture: "amd64", os: "linux", seed }, seededBytes(1000 + seed, seed), extra);
  await pushBlob(repo, image.config);
  await pushBlob(repo, image.layer);
  const response = await pushManifest(repo, tag, image.body);
  if (response.status !== 201) throw new Error(`push manifest: ${response.status} ${await response.text()}`);
  return image;
}

/** The core's dependencies outside a request, as the cron handler builds them (src/index.ts):
 *  work left to waitUntil is awaited by nobody, as in production after the response. */
export function coreDeps(store: Storage, config: Config): Deps {
  return { store, config, waitUntil: (work) => void work.catch(() => {}) };
}

/**
 * The R2 and KV keys tests read or write directly (playing the collector, planting objects,
 * checking what an upload left behind), built by the registry's own key functions, so that a
 * change of the layout (src/storage/keys.ts) breaks this one place. Tests import keys only
 * from here. Digests as tests hold them: "sha256:<hex>".
 */
export const storedKeys = {
  blobRecord: (digest: string) => keys.blobRecord(parseDigest(digest)),
  blobData: keys.blobData,
  dataPrefix: keys.dataPrefix,
  blobRepo: (digest: string, repo: string) => keys.blobRepo(parseDigest(digest), repo),
  blobLink: (repo: string, digest: string) => keys.blobLink(repo, parseDigest(digest)),
  manifestPrefix: keys.manifestPrefix,
  tag: keys.tag,
  catalogEntry: keys.catalogEntry,
  uploadState: keys.uploadState,
  uploadPrefix: keys.uploadPrefix,
  /** KV: every web UI session's key starts with this. */
  uiSessionPrefix: () => keys.uiSessionKv(""),
};
