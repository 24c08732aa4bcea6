// README "Local use": the bytes of a refused upload are gone at once; those of an abandoned
// upload session go when it expires, at the next cron (here UPLOAD_MAX_AGE_SECONDS=60, the least it takes; fired
// by hand), followed by a collector run (POST /v2/_gc) with GC_GRACE_SECONDS=0.
import { afterAll, beforeAll, expect, it } from "vitest";
import { absolute, send } from "../../bench/http";
import { MiB, payload } from "../../bench/data";
import { stateBytes } from "./clients/registry";
import { E2E_CREDENTIALS, startRegistry, type RegistryServer } from "./registry-server";

const AUTH = "Basic " + Buffer.from(`${E2E_CREDENTIALS.username}:${E2E_CREDENTIALS.password}`).toString("base64");
const SIZE = 24 * MiB;
let server: RegistryServer;

beforeAll(async () => {
  server = await startRegistry({ vars: { GC_GRACE_SECONDS: "0", UPLOAD_MAX_AGE_SECONDS: "60" } });
});
afterAll(async () => {
  await server?.stop();
});

interface Report {
  cycleFinished: boolean;
  cycleTotals: { data: number; bytesFreed: number };
}

async function collect(): Promise<Report> {
  for (let step = 0; step < 20; step++) {
    const reply = await send(`${server.url}/v2/_gc`, "POST", { Authorization: AUTH, "Content-Length": "0" }, null);
    expect(reply.status, reply.body).toBeLessThan(300);
    const report = JSON.parse(reply.body) as Report;
    if (report.cycleFinished) return report;
  }
  throw new Error("the collector did not finish a cycle in 20 steps");
}

async function upload(repo: string): Promise<string> {
  const opened = await send(`${server.url}/v2/${repo}/blobs/uploads/`, "POST", { Authorization: AUTH, "Content-Length": "0" }, null);
  expect(opened.status).toBe(202);
  const patched = await send(absolute(server.url, String(opened.headers.location)), "PATCH", { Authorization: AUTH }, payload(SIZE));
  expect(patched.status).toBe(202);
  return absolute(server.url, String(patched.headers.location));
}

it("keeps nothing of an upload refused for a wrong digest", async () => {
  const before = stateBytes(server);
  const closing = new URL(await upload("e2e/refused"));
  closing.searchParams.set("digest", `sha256:${"0".repeat(64)}`);
  const failed = await send(closing.toString(), "PUT", { Authorization: AUTH, "Content-Length": "0" }, null);
  expect(failed.status).toBe(400);
  expect(stateBytes(server)).toBeLessThan(before + SIZE / 4);
});

it("frees an abandoned upload's bytes once it expires and the collector runs", async () => {
  await upload("e2e/abandoned");
  const before = stateBytes(server);
  await new Promise((r) => setTimeout(r, 61_000));
  const fired = await fetch(`${server.url}/cdn-cgi/handler/scheduled?cron=${encodeURIComponent("*/30 * * * *")}`);
  expect(fired.status).toBe(200);
  await collect();
  expect(stateBytes(server)).toBeLessThan(before - SIZE / 2);
});
