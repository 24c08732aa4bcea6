// The local runtime under mixed load, as a busy `npm start` sees it: 50 concurrent manifest GETs
// while 10 docker-style uploads (one streamed PATCH with no length, then the closing PUT on the
// same keep-alive connection) run beside them. Every request must be answered, none with a 5xx.
// Through wrangler dev's proxy this drew 503 "Your worker restarted mid-request" (see
// docs/local-runtime.md); nothing here retries.
import { createHash } from "node:crypto";
import { Agent } from "node:http";
import { afterAll, beforeAll, expect, it } from "vitest";
import { absolute, send } from "../../bench/http";
import { MiB, payload, payloadDigest } from "../../bench/data";
import { E2E_CREDENTIALS, startRegistry, type RegistryServer } from "./registry-server";

const AUTH = `Basic ${Buffer.from(`${E2E_CREDENTIALS.username}:${E2E_CREDENTIALS.password}`).toString("base64")}`;
const UPLOADS = 10;
const GETS = 50;
const REPO = "e2e/load";
/** Enough keep-alive sockets for every request at once; a PUT reuses its PATCH's socket. */
const agent = new Agent({ keepAlive: true, maxSockets: UPLOADS + GETS });

let server: RegistryServer;
beforeAll(async () => {
  server = await startRegistry();
});
afterAll(async () => {
  await server?.stop();
});

/** Status of every request, in the order they were answered, for the failure message. */
const statuses: string[] = [];

async function call(
  label: string,
  url: string,
  method: string,
  headers: Record<string, string>,
  body: Iterable<Buffer> | null,
) {
  const started = Date.now();
  try {
    const reply = await send(url, method, { Authorization: AUTH, ...headers }, body, { agent });
    statuses.push(`${label} ${reply.status}${reply.status >= 500 ? ` ${reply.body.slice(0, 200)}` : ""}`);
    return reply;
  } catch (error) {
    throw new Error(
      `${label} after ${Date.now() - started} ms: ${(error as Error).message}; answered so far: ${statuses.join(", ")}`,
    );
  }
}

/** POST, one PATCH of `size` bytes sent chunked (as docker does), then PUT ?digest=. */
async function upload(index: number): Promise<number> {
  const size = (24 + index) * MiB;
  const opened = await call(
    `POST#${index}`,
    `${server.url}/v2/${REPO}/blobs/uploads/`,
    "POST",
    { "Content-Length": "0" },
    null,
  );
  if (opened.status !== 202) return opened.status;
  const patched = await call(
    `PATCH#${index}`,
    absolute(server.url, String(opened.headers.location)),
    "PATCH",
    { "Content-Type": "application/octet-stream" },
    payload(size),
  );
  if (patched.status !== 202) return patched.status;
  const closing = new URL(absolute(server.url, String(patched.headers.location)));
  closing.searchParams.set("digest", payloadDigest(size));
  return (await call(`PUT#${index}`, closing.toString(), "PUT", { "Content-Length": "0" }, null)).status;
}

async function pushManifest(): Promise<string> {
  const config = Buffer.from('{"architecture":"amd64","os":"linux"}');
  const digest = `sha256:${createHash("sha256").update(config).digest("hex")}`;
  const blob = await send(
    `${server.url}/v2/${REPO}/blobs/uploads/?digest=${digest}`,
    "POST",
    { Authorization: AUTH, "Content-Length": String(config.length) },
    [config],
  );
  expect(blob.status).toBe(201);
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: { mediaType: "application/vnd.oci.image.config.v1+json", digest, size: config.length },
    layers: [],
  });
  const put = await send(
    `${server.url}/v2/${REPO}/manifests/v1`,
    "PUT",
    { Authorization: AUTH, "Content-Type": "application/vnd.oci.image.manifest.v1+json" },
    [Buffer.from(manifest)],
  );
  expect(put.status).toBe(201);
  return manifest;
}

it("answers 50 manifest GETs mixed with 10 streamed uploads with no 5xx", async () => {
  const manifest = await pushManifest();
  const uploads = Array.from({ length: UPLOADS }, (_, i) => upload(i));
  const gets = Array.from({ length: GETS }, async (_, i) => {
    // Spread over the uploads' lifetime: some land during the PATCHes, some at the closes.
    await new Promise((r) => setTimeout(r, i * 200));
    const reply = await call(
      `GET#${i}`,
      `${server.url}/v2/${REPO}/manifests/v1`,
      "GET",
      { Accept: "application/vnd.oci.image.manifest.v1+json" },
      null,
    );
    return reply.status === 200 && reply.body === manifest ? 200 : reply.status;
  });
  const results = await Promise.all([...uploads, ...gets]);
  const failed = statuses.filter((s) => / 5\d\d\b/.test(s));
  expect(
    failed,
    `${statuses.join(", ")}\nregistry log:\n${server
      .log()
      .split("\n")
      .filter((l) => !/\] (GET|PUT|POST|PATCH) /.test(l))
      .join("\n")
      .slice(-4000)}`,
  ).toEqual([]);
  expect(results.slice(0, UPLOADS)).toEqual(Array(UPLOADS).fill(201));
  expect(results.slice(UPLOADS)).toEqual(Array(GETS).fill(200));
});
