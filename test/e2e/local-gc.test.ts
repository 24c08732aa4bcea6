// README "Local use": the bytes of a refused upload are gone at once; with GC_GRACE_SECONDS=0,
// a collector run (POST /v2/_gc) also frees an abandoned upload session's bytes at once, while
// an upload that a request is still writing survives it.
import { request } from "node:http";
import { expect, it } from "vitest";
import { absolute, send } from "../../bench/http";
import { MiB, payload } from "../../bench/data";
import { stateBytes } from "./clients/registry";
import { sha256 } from "../shared-helpers";
import { E2E_AUTH, registrySuite, type RegistryServer } from "./registry-server";

const SIZE = 24 * MiB;
let server: RegistryServer;

registrySuite({ vars: { GC_GRACE_SECONDS: "0" } }, (started) => {
  server = started;
});

interface Report {
  cycleFinished: boolean;
  cycleTotals: { data: number; bytesFreed: number };
}

async function collect(): Promise<Report> {
  for (let step = 0; step < 20; step++) {
    const reply = await send(`${server.url}/v2/_gc`, "POST", { Authorization: E2E_AUTH, "Content-Length": "0" }, null);
    expect(reply.status, reply.body).toBeLessThan(300);
    const report = JSON.parse(reply.body) as Report;
    if (report.cycleFinished) return report;
  }
  throw new Error("the collector did not finish a cycle in 20 steps");
}

async function upload(repo: string): Promise<string> {
  const opened = await send(
    `${server.url}/v2/${repo}/blobs/uploads/`,
    "POST",
    { Authorization: E2E_AUTH, "Content-Length": "0" },
    null,
  );
  expect(opened.status).toBe(202);
  const patched = await send(
    absolute(server.url, String(opened.headers.location)),
    "PATCH",
    { Authorization: E2E_AUTH },
    payload(SIZE),
  );
  expect(patched.status).toBe(202);
  return absolute(server.url, String(patched.headers.location));
}

it("keeps nothing of an upload refused for a wrong digest", async () => {
  const before = stateBytes(server);
  const closing = new URL(await upload("e2e/refused"));
  closing.searchParams.set("digest", `sha256:${"0".repeat(64)}`);
  const failed = await send(closing.toString(), "PUT", { Authorization: E2E_AUTH, "Content-Length": "0" }, null);
  expect(failed.status).toBe(400);
  expect(stateBytes(server)).toBeLessThan(before + SIZE / 4);
});

it("frees an abandoned upload's bytes at the next collector run", async () => {
  await upload("e2e/abandoned");
  const before = stateBytes(server);
  await collect();
  expect(stateBytes(server)).toBeLessThan(before - SIZE / 2);
});

/** A PATCH whose body is sent in two halves, with `between` run while the request is open. */
function patchInTwoHalves(
  url: string,
  first: Buffer,
  second: Buffer,
  between: () => Promise<void>,
): Promise<{ status: number; location: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: "PATCH", headers: { Authorization: E2E_AUTH, "Content-Type": "application/octet-stream" } },
      (res) => {
        res.resume();
        res.on("end", () => resolve({ status: res.statusCode ?? 0, location: String(res.headers.location) }));
      },
    );
    req.on("error", reject);
    req.write(first);
    between().then(
      () => req.end(second),
      (error: unknown) => req.destroy(error as Error),
    );
  });
}

it("keeps an upload that a request is writing while the collector runs", async () => {
  const opened = await send(
    `${server.url}/v2/e2e/live/blobs/uploads/`,
    "POST",
    { Authorization: E2E_AUTH, "Content-Length": "0" },
    null,
  );
  expect(opened.status).toBe(202);
  const bytes = Buffer.concat([...payload(SIZE)]);
  const half = SIZE / 2;
  const patched = await patchInTwoHalves(
    absolute(server.url, String(opened.headers.location)),
    bytes.subarray(0, half),
    bytes.subarray(half),
    async () => {
      // The PATCH holds the session's lock once its first bytes are stored.
      await new Promise((r) => setTimeout(r, 3000));
      await collect();
    },
  );
  expect(patched.status).toBe(202);
  const closing = new URL(absolute(server.url, patched.location));
  closing.searchParams.set("digest", sha256(bytes));
  const put = await send(closing.toString(), "PUT", { Authorization: E2E_AUTH, "Content-Length": "0" }, null);
  expect(put.status, put.body).toBe(201);
});
