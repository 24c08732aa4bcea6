// The storage meter: every R2 and KV call a request or a collector step makes is counted by
// class, readable per request (meteredRequest) and in each collector step's report.
import { reset } from "cloudflare:test";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { Meter, subrequests } from "../src/storage/meter";
import { deleteManifest, gcEnv, runGc } from "./gc-helpers";
import { meteredRequest, pushBlob, pushImage, seededBytes, sha256 } from "./helpers";

beforeEach(async () => {
  await reset();
});

describe("per request", () => {
  it("a blob GET reads the repository's link and the bytes: two class B calls", async () => {
    const image = await pushImage("meter/a", "v1", 1);
    const { response, usage } = await meteredRequest(`/v2/meter/a/blobs/${image.layerDigest}`);
    expect(response.status).toBe(200);
    await response.arrayBuffer();
    expect(usage).toEqual({ r2ClassA: 0, r2ClassB: 2, r2Free: 0, kvReads: 0, kvWrites: 0, subrequests: 2 });
  });

  it("a manifest HEAD by tag reads the tag and the manifest", async () => {
    await pushImage("meter/b", "v1", 2);
    const { response, usage } = await meteredRequest("/v2/meter/b/manifests/v1", { method: "HEAD" });
    expect(response.status).toBe(200);
    expect(usage).toMatchObject({ r2ClassA: 0, r2ClassB: 2, subrequests: 2 });
  });

  it("a one-request upload counts its data put, record and links as class A", async () => {
    const bytes = seededBytes(4096, 3);
    const digest = sha256(bytes);
    const { response, usage } = await meteredRequest(`/v2/meter/c/blobs/uploads/?digest=${digest}`, {
      method: "POST",
      body: bytes,
    });
    expect(response.status).toBe(201);
    // A body without Content-Length is buffered: dedupe head; data put; record head and put;
    // link head, reverse link and link puts; record re-read.
    expect(usage).toMatchObject({ r2ClassA: 4, r2ClassB: 4, kvReads: 0, kvWrites: 0 });
  });

  it("logs one line per request with its counts, and never the query", async () => {
    const image = await pushImage("meter/log", "v1", 5);
    const log = vi.spyOn(console, "log");
    try {
      await (await meteredRequest(`/v2/meter/log/blobs/${image.layerDigest}?_state=secret`)).response.arrayBuffer();
      const lines = log.mock.calls.filter((call) => call[0] === "request").map((call) => JSON.parse(String(call[1])));
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatchObject({
        method: "GET",
        path: `/v2/meter/log/blobs/${image.layerDigest}`,
        status: 200,
        r2ClassB: 2,
        r2ClassA: 0,
      });
      expect(JSON.stringify(lines[0])).not.toContain("secret");
    } finally {
      log.mockRestore();
    }
  });

  it("a request that is refused before storage costs nothing", async () => {
    const { response, usage } = await meteredRequest(`/v2/meter/d/blobs/sha256:${"0".repeat(64)}`, { auth: null });
    expect(response.status).toBe(401);
    expect(usage.subrequests).toBe(0);
  });

  it("counts a repeated upload of known content without the data put", async () => {
    const bytes = seededBytes(2048, 4);
    await pushBlob("meter/e", bytes);
    const digest = sha256(bytes);
    const again = await meteredRequest(`/v2/meter/f/blobs/uploads/?digest=${digest}`, { method: "POST", body: bytes });
    expect(again.response.status).toBe(201);
    expect(again.usage.r2ClassA).toBeGreaterThan(0);
  });
});

describe("per collector step", () => {
  it("reports its calls by class, and a step stays within GC_MAX_OPERATIONS", async () => {
    for (let i = 0; i < 4; i++) {
      const image = await pushImage(`meter/gc${i}`, "v1", 10 + i);
      await deleteManifest(`meter/gc${i}`, image.digest);
    }
    const max = 50;
    const report = await runGc(gcEnv({ GC_MAX_OPERATIONS: String(max) }));
    expect(report.steps).toBeGreaterThan(1);
    expect(report.cycleTotals.blobs).toBe(8);
    expect(report.operations).toBe(subrequests(report.usage));
    expect(report.operations).toBeLessThanOrEqual(max);
    expect(report.usage.r2ClassA).toBeGreaterThan(0);
  });
});

describe("Meter", () => {
  it("adds a child's counts to its parent, not the other way", () => {
    const parent = new Meter();
    const child = new Meter(parent);
    child.count("r2ClassA");
    parent.count("kvReads");
    expect(child.usage()).toMatchObject({ r2ClassA: 1, kvReads: 0 });
    expect(parent.usage()).toMatchObject({ r2ClassA: 1, kvReads: 1 });
    expect(parent.subrequests).toBe(2);
  });
});
