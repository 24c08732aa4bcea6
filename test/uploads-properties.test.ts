// Property and lifecycle tests for uploads: random blobs split into random chunk sequences,
// with retries, status checks and "restarts" (every request starts from stored state only),
// always reassemble byte for byte; corruption, gaps and reordering are refused; abandoned
// sessions expire and free their data.
import { env } from "cloudflare:workers";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseConfig } from "../src/config/config";
import { expireUploads } from "../src/registry/scheduled";
import { coreDeps, storedKeys } from "./helpers";
import { openStorage } from "../src/storage/storage";
import { errorCode, request, seededBytes, sha256, startUpload } from "./helpers";

const PART = 5 * 1024 * 1024;

async function patchRange(location: string, bytes: Uint8Array, start: number): Promise<Response> {
  return request(location, {
    method: "PATCH",
    body: bytes,
    headers: { "Content-Range": `${start}-${start + bytes.length - 1}`, "Content-Length": String(bytes.length) },
  });
}

async function uploadedLength(location: string): Promise<{ length: number; location: string }> {
  const status = await request(location);
  expect(status.status).toBe(204);
  const end = Number(status.headers.get("Range")!.split("-")[1]);
  const location2 = status.headers.get("Location")!;
  // "0-0" is both "nothing yet" and "one byte"; the session state tells them apart.
  const id = status.headers.get("Docker-Upload-UUID")!;
  const state = await env.REGISTRY.get(storedKeys.uploadState(id));
  const offset = ((await state!.json()) as { offset: number }).offset;
  expect(offset === 0 ? 0 : offset - 1).toBe(end);
  return { length: offset, location: location2 };
}

type Step =
  | { kind: "chunk"; size: number }
  | { kind: "retry" }
  | { kind: "status" }
  | { kind: "gap" }
  | { kind: "overlap" };

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 1, max: PART + 4096 }).map((size) => ({ kind: "chunk" as const, size })) },
  { weight: 1, arbitrary: fc.constant({ kind: "retry" as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: "status" as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: "gap" as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: "overlap" as const }) },
);

describe("random chunk sequences", () => {
  it("reassemble byte for byte with the right digest; out-of-order chunks are refused", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 2 * PART + 3000 }),
        fc.integer(),
        fc.array(stepArb, { minLength: 1, maxLength: 12 }),
        async (size, seed, steps) => {
          const bytes = seededBytes(size, seed);
          let location = await startUpload("prop/chunks");
          let offset = 0;
          let lastChunk: { start: number; length: number } | null = null;
          for (const step of steps) {
            if (offset >= size) break;
            if (step.kind === "chunk") {
              const chunk = bytes.subarray(offset, Math.min(size, offset + step.size));
              const response = await patchRange(location, chunk, offset);
              expect(response.status).toBe(202);
              lastChunk = { start: offset, length: chunk.length };
              offset += chunk.length;
              location = response.headers.get("Location")!;
            } else if (step.kind === "retry" && lastChunk) {
              const again = await patchRange(
                location,
                bytes.subarray(lastChunk.start, lastChunk.start + lastChunk.length),
                lastChunk.start,
              );
              expect(again.status).toBe(416);
              expect(again.headers.get("Range")).toBe(`0-${offset - 1}`);
            } else if (step.kind === "status") {
              const status = await uploadedLength(location);
              expect(status.length).toBe(offset);
              location = status.location;
            } else if (step.kind === "gap" || step.kind === "overlap") {
              const start = step.kind === "gap" ? offset + 1 : Math.max(0, offset - 1);
              if (step.kind === "overlap" && offset === 0) continue;
              const refused = await patchRange(location, bytes.subarray(start, Math.min(size, start + 10)), start);
              if (start + 1 > size && step.kind === "gap") continue;
              expect(refused.status).toBe(416);
              expect(await errorCode(refused)).toBe("BLOB_UPLOAD_INVALID");
            }
          }
          const rest = bytes.subarray(offset);
          const digest = sha256(bytes);
          const put = await request(`${location}&digest=${digest}`, {
            method: "PUT",
            body: rest,
            headers: { "Content-Length": String(rest.length) },
          });
          expect(put.status).toBe(201);
          const read = new Uint8Array(await (await request(`/v2/prop/chunks/blobs/${digest}`)).arrayBuffer());
          expect(read.length).toBe(size);
          expect(sha256(read)).toBe(digest);
        },
      ),
      { numRuns: 6, seed: 20261127 },
    );
  });

  it("a corrupted byte anywhere makes the close fail with DIGEST_INVALID and leaves nothing readable", async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: PART + 5000 }), fc.integer(), fc.nat(), async (size, seed, where) => {
        const bytes = seededBytes(size, seed);
        const digest = sha256(bytes);
        const corrupted = bytes.slice();
        corrupted[where % size] = (corrupted[where % size]! + 1) & 0xff;
        const location = await startUpload("prop/corrupt");
        const half = Math.floor(size / 2);
        const first = await patchRange(location, corrupted.subarray(0, half), 0);
        const next = half === 0 ? location : first.headers.get("Location")!;
        const put = await request(`${next}&digest=${digest}`, { method: "PUT", body: corrupted.subarray(half) });
        expect(put.status).toBe(400);
        expect(await errorCode(put)).toBe("DIGEST_INVALID");
        expect((await request(`/v2/prop/corrupt/blobs/${digest}`, { method: "HEAD" })).status).toBe(404);
      }),
      { numRuns: 4, seed: 7 },
    );
  });
});

describe("expiry", () => {
  it("a session idle past UPLOAD_MAX_AGE_SECONDS is unknown, and the cron frees its data", async () => {
    const location = await startUpload("expiry/old");
    const first = await patchRange(location, seededBytes(PART + 10, 3), 0);
    expect(first.status).toBe(202);
    const id = first.headers.get("Docker-Upload-UUID")!;
    expect((await env.REGISTRY.list({ prefix: storedKeys.uploadPrefix(id) })).objects.length).toBeGreaterThan(0);
    const report = await expireUploads(coreDeps(openStorage(env), parseConfig(env)), Date.now() + 8 * 24 * 3600 * 1000);
    expect(report.expired).toBeGreaterThanOrEqual(1);
    expect((await env.REGISTRY.list({ prefix: storedKeys.uploadPrefix(id) })).objects).toHaveLength(0);
    const gone = await request(first.headers.get("Location")!);
    expect(gone.status).toBe(404);
    expect(await errorCode(gone)).toBe("BLOB_UPLOAD_UNKNOWN");
  });

  it("never closes a session a PATCH locked after the expiry read it", async () => {
    const location = await startUpload("expiry/race");
    const first = await patchRange(location, seededBytes(PART + 10, 4), 0);
    expect(first.status).toBe(202);
    const id = first.headers.get("Docker-Upload-UUID")!;
    const stateKey = storedKeys.uploadState(id);
    // Right after the expiry reads the session's state, a PATCH takes its lock (as
    // SessionLock.acquire writes it), before the expiry acts on what it read.
    let raced = false;
    const racing = new Proxy(env.REGISTRY, {
      get(target, property) {
        if (property === "get")
          return async (key: string, options?: R2GetOptions) => {
            const object = await target.get(key, options);
            if (key === stateKey && object && !raced) {
              raced = true;
              const state = (await (await target.get(key))!.json()) as Record<string, unknown>;
              await target.put(key, JSON.stringify({ ...state, lock: { id: "patch", at: Date.now() } }));
            }
            return object;
          };
        const value = Reflect.get(target, property);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    const later = Date.now() + 8 * 24 * 3600 * 1000;
    await expireUploads(coreDeps(openStorage({ ...env, REGISTRY: racing }), parseConfig(env)), later, 0);
    expect(raced).toBe(true);
    const left = (await env.REGISTRY.list({ prefix: storedKeys.uploadPrefix(id) })).objects.map((o) => o.key);
    expect(left, "the locked session keeps its state and parts").toContain(stateKey);
    expect(left.length).toBeGreaterThan(1);
  });

  it("leaves live sessions alone", async () => {
    const location = await startUpload("expiry/live");
    await expireUploads(coreDeps(openStorage(env), parseConfig(env)));
    expect((await request(location)).status).toBe(204);
  });
});
