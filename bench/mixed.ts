// Mixed load, as a busy `npm start` sees it: manifest GETs, one every 200 ms, while ten
// docker-style uploads (one streamed PATCH with no length, then the closing PUT on the same
// keep-alive connection) run beside them. test/e2e/runtime-load.test.ts requires every request
// answered with no 5xx; `npm run bench` reports how long the GETs waited.
import { createHash } from "node:crypto";
import { Agent } from "node:http";
import { MiB, payload, payloadDigest } from "./data";
import { absolute, send } from "./http";
import type { Target } from "./scenarios";

export interface MixedLoad {
  uploads: number;
  gets: number;
  repo: string;
}

export const DEFAULT_MIXED_LOAD: MixedLoad = { uploads: 10, gets: 50, repo: "e2e/load" };

export interface MixedResult {
  /** "LABEL STATUS" of every request in the order answered; a 5xx carries its body's start. */
  answered: string[];
  /** Requests answered 5xx, or not answered at all (with the error). */
  failures: string[];
  /** Final status of each upload (its closing PUT, or the first step that failed). */
  uploadStatuses: number[];
  /** Each GET: 200 when it returned the pushed manifest, else its status. */
  getStatuses: number[];
  /** Each GET's time to its whole answer, in ms, in the order sent. */
  getMs: number[];
  /** From the start until the last upload's closing PUT was answered. */
  uploadsSeconds: number;
}

const MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json";

/** Pushes the small image whose manifest the GETs read; returns the manifest's text. */
async function pushManifest(target: Target, repo: string): Promise<string> {
  const auth: Record<string, string> = target.auth ? { Authorization: target.auth } : {};
  const config = Buffer.from('{"architecture":"amd64","os":"linux"}');
  const digest = `sha256:${createHash("sha256").update(config).digest("hex")}`;
  // POST, then PUT ?digest= with the body: the monolithic upload every registry takes.
  const opened = await send(
    `${target.url}/v2/${repo}/blobs/uploads/`,
    "POST",
    { ...auth, "Content-Length": "0" },
    null,
  );
  if (opened.status !== 202) throw new Error(`config blob upload: ${opened.status} ${opened.body}`);
  const closing = new URL(absolute(target.url, String(opened.headers.location)));
  closing.searchParams.set("digest", digest);
  const blob = await send(closing.toString(), "PUT", { ...auth, "Content-Length": String(config.length) }, [config]);
  if (blob.status !== 201) throw new Error(`config blob: ${blob.status} ${blob.body}`);
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: MANIFEST_TYPE,
    config: { mediaType: "application/vnd.oci.image.config.v1+json", digest, size: config.length },
    layers: [],
  });
  const put = await send(`${target.url}/v2/${repo}/manifests/v1`, "PUT", { ...auth, "Content-Type": MANIFEST_TYPE }, [
    Buffer.from(manifest),
  ]);
  if (put.status !== 201) throw new Error(`manifest: ${put.status} ${put.body}`);
  return manifest;
}

/** Runs the load once; nothing is retried. */
export async function mixedLoad(target: Target, load: MixedLoad = DEFAULT_MIXED_LOAD): Promise<MixedResult> {
  const manifest = await pushManifest(target, load.repo);
  // Enough keep-alive sockets for every request at once; a PUT reuses its PATCH's socket.
  const agent = new Agent({ keepAlive: true, maxSockets: load.uploads + load.gets });
  const auth: Record<string, string> = target.auth ? { Authorization: target.auth } : {};
  const answered: string[] = [];
  const failures: string[] = [];
  const call = async (
    label: string,
    url: string,
    method: string,
    headers: Record<string, string>,
    body: Iterable<Buffer> | null,
  ) => {
    const started = Date.now();
    try {
      const reply = await send(url, method, { ...auth, ...headers }, body, { agent });
      const line = `${label} ${reply.status}${reply.status >= 500 ? ` ${reply.body.slice(0, 200)}` : ""}`;
      answered.push(line);
      if (reply.status >= 500) failures.push(line);
      return reply;
    } catch (error) {
      failures.push(`${label} not answered after ${Date.now() - started} ms: ${(error as Error).message}`);
      return null;
    }
  };
  const start = Date.now();
  const upload = async (index: number): Promise<number> => {
    const size = (24 + index) * MiB;
    const opened = await call(
      `POST#${index}`,
      `${target.url}/v2/${load.repo}/blobs/uploads/`,
      "POST",
      { "Content-Length": "0" },
      null,
    );
    if (opened?.status !== 202) return opened?.status ?? 0;
    const patched = await call(
      `PATCH#${index}`,
      absolute(target.url, String(opened.headers.location)),
      "PATCH",
      { "Content-Type": "application/octet-stream" },
      payload(size),
    );
    if (patched?.status !== 202) return patched?.status ?? 0;
    const closing = new URL(absolute(target.url, String(patched.headers.location)));
    closing.searchParams.set("digest", payloadDigest(size));
    const closed = await call(`PUT#${index}`, closing.toString(), "PUT", { "Content-Length": "0" }, null);
    return closed?.status ?? 0;
  };
  const getMs: number[] = [];
  const get = async (index: number): Promise<number> => {
    // Spread over the uploads' lifetime: some land during the PATCHes, some at the closes.
    await new Promise((resolve) => setTimeout(resolve, index * 200));
    const sent = Date.now();
    const reply = await call(
      `GET#${index}`,
      `${target.url}/v2/${load.repo}/manifests/v1`,
      "GET",
      { Accept: MANIFEST_TYPE },
      null,
    );
    getMs[index] = Date.now() - sent;
    return reply?.status === 200 && reply.body === manifest ? 200 : (reply?.status ?? 0);
  };
  let uploadsDone = start;
  const uploading = Promise.all(Array.from({ length: load.uploads }, (_, i) => upload(i))).then((statuses) => {
    uploadsDone = Date.now();
    return statuses;
  });
  const [uploadStatuses, getStatuses] = await Promise.all([
    uploading,
    Promise.all(Array.from({ length: load.gets }, (_, i) => get(i))),
  ]);
  agent.destroy();
  return { answered, failures, uploadStatuses, getStatuses, getMs, uploadsSeconds: (uploadsDone - start) / 1000 };
}
