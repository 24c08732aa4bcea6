// A request body cut short on a real connection (the hostile review's case): the client
// declares Content-Length 100, sends 50 bytes and closes its side. The registry must answer
// 400 (SIZE_INVALID or BLOB_UPLOAD_INVALID) or nothing, never a 5xx, and leave the session
// consistent. In-process requests cannot reproduce this (there the body just ends early),
// and wrangler dev's proxy answers such a request with its own 503 before the worker's
// answer, so the worker's bundle is served by Miniflare directly, as in production.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Miniflare } from "miniflare";
import { afterAll, beforeAll, expect, it } from "vitest";
import { basic, sha256 } from "../shared-helpers";
import { freePort, OFFLINE_ENV, ROOT } from "./registry-server";

const auth = basic("cut-user", "cut-password");
const bytes = Buffer.alloc(100, 7);
const digest = sha256(bytes);
let mf: Miniflare;
let server: { port: number; host: string; url: string };
let outDir: string;

beforeAll(async () => {
  outDir = mkdtempSync(join(tmpdir(), "registry-cut-"));
  execFileSync("npx", ["wrangler", "deploy", "--dry-run", "--outdir", join(outDir, "dist")], {
    cwd: ROOT,
    env: { ...process.env, ...OFFLINE_ENV },
    stdio: "ignore",
  });
  const port = await freePort();
  mf = new Miniflare({
    modules: true,
    scriptPath: join(outDir, "dist", "index.js"),
    modulesRoot: join(outDir, "dist"),
    compatibilityDate: "2026-04-20",
    compatibilityFlags: ["nodejs_compat"],
    r2Buckets: ["REGISTRY"],
    kvNamespaces: ["UPLOADS"],
    bindings: { USERNAME: "cut-user", PASSWORD: "cut-password", JWT_STATE_SECRET: "cut-state-secret-0123456789" },
    host: "127.0.0.1",
    port,
  });
  await mf.ready;
  server = { port, host: `127.0.0.1:${port}`, url: `http://127.0.0.1:${port}` };
}, 120_000);
afterAll(async () => {
  await mf?.dispose();
  if (outDir) rmSync(outDir, { recursive: true, force: true });
});

/** Sends the head and 50 of the 100 declared bytes, half-closes, and returns the status line's
 *  code, or null when the connection closes unanswered. */
function cutShort(method: string, path: string): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const socket = connect(server.port, "127.0.0.1");
    let answer = "";
    socket.on("data", (d) => (answer += d.toString("latin1")));
    socket.on("error", () => resolve(null));
    socket.on("close", () => {
      const match = /^HTTP\/1\.[01] (\d{3})/.exec(answer);
      resolve(match ? Number(match[1]) : null);
    });
    socket.setTimeout(30_000, () => {
      socket.destroy();
      reject(new Error("no answer and no close within 30 s"));
    });
    const head = [
      `${method} ${path} HTTP/1.1`,
      `Host: ${server.host}`,
      `Authorization: ${auth}`,
      "Content-Type: application/octet-stream",
      "Content-Length: 100",
      "Connection: close",
      "",
      "",
    ];
    socket.write(head.join("\r\n"));
    socket.write(bytes.subarray(0, 50), () => socket.end());
  });
}

const call = (path: string, init: RequestInit = {}) =>
  fetch(`${server.url}${path}`, {
    ...init,
    headers: { Authorization: auth, ...(init.headers as Record<string, string>) },
  });

it("answers a cut-short one-request upload with 400 or nothing, and stores nothing", async () => {
  const status = await cutShort("POST", `/v2/cut/app/blobs/uploads/?digest=${digest}`);
  if (status !== null) expect(status).toBe(400);
  expect((await call(`/v2/cut/app/blobs/${digest}`, { method: "HEAD" })).status).toBe(404);
});

it("answers a cut-short PATCH with 400 or nothing, and the session resumes from what it reports", async () => {
  const start = await call("/v2/cut/app/blobs/uploads/", { method: "POST" });
  expect(start.status).toBe(202);
  const location = start.headers.get("Location")!;
  const status = await cutShort("PATCH", location);
  if (status !== null) expect(status).toBe(400);
  const state = await call(location);
  expect(state.status).toBe(204);
  const offset = Number(state.headers.get("Range")!.split("-")[1]) + 1;
  expect([0, 1, 50]).toContain(offset);
  const from = offset === 1 ? 0 : offset; // "0-0" is an empty session
  const rest = await call(state.headers.get("Location")!, {
    method: "PATCH",
    body: bytes.subarray(from),
    headers: { "Content-Type": "application/octet-stream", "Content-Range": `${from}-99` },
  });
  expect(rest.status).toBe(202);
  const put = await call(`${rest.headers.get("Location")!}&digest=${digest}`, { method: "PUT" });
  expect(put.status).toBe(201);
  expect(Buffer.from(await (await call(`/v2/cut/app/blobs/${digest}`)).arrayBuffer()).equals(bytes)).toBe(true);
});
