// Upload memory per isolate (issue 14): concurrent streamed uploads share the isolate's part
// buffer pool, which never passes its cap, and every buffer comes back, also from uploads that
// fail. The tests run in the worker's own isolate, so they read the same pool the uploads use.
// The isolate's whole heap under 8 × 200 MiB uploads is measured in test/e2e/memory.test.ts.
import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { app } from "../src/app";
import type { Env } from "../src/config/config";
import { openStorage, type WorkerBindings } from "../src/storage/storage";
import { readUploadState } from "../src/storage/uploads";
import { PART_POOL_BYTES, partBuffers, readBuffers } from "../src/util/memory-budget";
import { fetcher } from "./auth-setup";
import { AUTH, BASE, errorCode, request, seededBytes, sha256, startUpload } from "./helpers";

const MiB = 1024 * 1024;

/** A body that arrives in 256 KiB pieces, as a network stream does. */
function streamOf(bytes: Uint8Array): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream({
    pull(controller) {
      if (at >= bytes.length) return controller.close();
      controller.enqueue(bytes.subarray(at, at + 256 * 1024));
      at += 256 * 1024;
    },
  });
}

async function streamedPush(repo: string, bytes: Uint8Array, digest: string): Promise<Response> {
  const location = await startUpload(repo);
  const patched = await request(location, {
    method: "PATCH",
    body: streamOf(bytes),
    headers: { "Content-Type": "application/octet-stream" },
    duplex: "half",
  } as RequestInit);
  if (patched.status !== 202) return patched;
  const close = patched.headers.get("Location")!;
  return request(`${close}${close.includes("?") ? "&" : "?"}digest=${digest}`, { method: "PUT" });
}

describe("upload buffers per isolate", () => {
  it("8 concurrent streamed uploads stay within the pool's cap, and every digest is right", async () => {
    const blobs = await Promise.all(
      Array.from({ length: 8 }, async (_, i) => {
        const bytes = seededBytes(23 * MiB + i, 100 + i);
        return { bytes, digest: sha256(bytes) };
      }),
    );
    const puts = await Promise.all(blobs.map((b, i) => streamedPush(`lim/up${i}`, b.bytes, b.digest)));
    for (const [i, put] of puts.entries()) expect(put.status, `upload ${i}: ${await put.clone().text()}`).toBe(201);
    // 8 uploads × 3 buffers of 5 MiB would be 120 MiB: they shared the pool's 64 MiB instead.
    expect(partBuffers.stats().highWaterBytes).toBeLessThanOrEqual(PART_POOL_BYTES);
    expect(partBuffers.stats().highWaterBytes).toBeGreaterThanOrEqual(8 * 5 * MiB);
    expect(partBuffers.stats().leasedBytes).toBe(0);
    for (const [i, b] of blobs.entries()) {
      const get = await request(`/v2/lim/up${i}/blobs/${b.digest}`);
      expect(sha256(new Uint8Array(await get.arrayBuffer())), `upload ${i}`).toBe(b.digest);
    }
  });

  it("a client that stops sending holds one part buffer and one spare, not every buffer it used", async () => {
    const part = 5 * MiB; // UPLOAD_PART_SIZE in the test bindings
    const bytes = seededBytes(4 * part + MiB, 31);
    const location = await startUpload("lim/slow");
    let sent = 0;
    let resume = () => {};
    const paused = new Promise<void>((r) => {
      resume = r;
    });
    const slow = new ReadableStream<Uint8Array>({
      async pull(controller) {
        // Three full parts and a little more, then nothing until the test says so.
        if (sent === 3 * part + MiB) await paused;
        if (sent >= bytes.length) return controller.close();
        controller.enqueue(bytes.subarray(sent, sent + MiB));
        sent += MiB;
      },
    });
    const patched = request(location, {
      method: "PATCH",
      body: slow,
      headers: { "Content-Type": "application/octet-stream" },
      duplex: "half",
    } as RequestInit);
    // Once its three parts are stored, the writer needs the buffer it fills and at most one
    // spare; the third goes back to the pool for other uploads.
    let leased = Number.POSITIVE_INFINITY;
    for (let tries = 0; tries < 100 && leased > 2 * part; tries++) {
      await new Promise((r) => setTimeout(r, 50));
      if (sent === 3 * part + MiB) leased = partBuffers.stats().leasedBytes;
    }
    resume();
    expect(leased).toBeLessThanOrEqual(2 * part);
    const response = await patched;
    expect(response.status).toBe(202);
    const close = response.headers.get("Location")!;
    const put = await request(`${close}${close.includes("?") ? "&" : "?"}digest=${sha256(bytes)}`, {
      method: "PUT",
    });
    expect(put.status).toBe(201);
    expect(partBuffers.stats().leasedBytes).toBe(0);
  });

  it("gives every buffer back when uploads fail: wrong digest, body cut off, cancelled session", async () => {
    const bytes = seededBytes(12 * MiB, 7);
    const wrong = await streamedPush("lim/fail", bytes, sha256(bytes.subarray(1)));
    expect(wrong.status).toBe(400);
    expect(await errorCode(wrong)).toBe("DIGEST_INVALID");
    const location = await startUpload("lim/fail");
    let sent = 0;
    const breaking = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent >= 7 * MiB) return controller.error(new Error("client went away"));
        controller.enqueue(bytes.subarray(sent, sent + MiB));
        sent += MiB;
      },
    });
    await request(location, {
      method: "PATCH",
      body: breaking,
      headers: { "Content-Type": "application/octet-stream" },
      duplex: "half",
    } as RequestInit).catch(() => null);
    expect((await request(location, { method: "DELETE" })).status).toBe(204);
    expect(partBuffers.stats().leasedBytes).toBe(0);
    expect(readBuffers.stats().leasedBytes).toBe(0);
  });
});

describe("a refused upload keeps no bytes", () => {
  /** The real bucket, noting every multipart upload created through it: the R2 binding
   *  cannot list unfinished multipart uploads. */
  function recordingBucket() {
    const created: { key: string; uploadId: string }[] = [];
    const bucket = new Proxy(env.REGISTRY, {
      get(target, property) {
        if (property === "createMultipartUpload")
          return async (key: string, options?: R2MultipartOptions) => {
            const upload = await target.createMultipartUpload(key, options);
            created.push({ key, uploadId: upload.uploadId });
            return upload;
          };
        const value = Reflect.get(target, property);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    return { bucket, created };
  }
  /** Whether R2 still takes parts for the upload: an aborted one refuses them. */
  async function stillOpen(upload: { key: string; uploadId: string }): Promise<boolean> {
    try {
      await env.REGISTRY.resumeMultipartUpload(upload.key, upload.uploadId).uploadPart(1, new Uint8Array(16));
      return true;
    } catch {
      return false;
    }
  }
  const LIMIT = 12 * MiB; // two 5 MiB parts go up before the body passes it

  async function patch(fetch: ReturnType<typeof fetcher>, location: string, bytes: Uint8Array) {
    return fetch(location, {
      method: "PATCH",
      body: streamOf(bytes),
      headers: { Authorization: AUTH, "Content-Type": "application/octet-stream" },
      duplex: "half",
    } as RequestInit);
  }

  it("aborts at once the multipart upload a PATCH over MAX_REQUEST_BODY_BYTES started", async () => {
    const { bucket, created } = recordingBucket();
    const fetch = fetcher({ MAX_REQUEST_BODY_BYTES: String(LIMIT), REGISTRY: bucket } as never);
    const start = await fetch("/v2/lim/refused/blobs/uploads/", { method: "POST", headers: { Authorization: AUTH } });
    const location = start.headers.get("Location")!;
    const id = start.headers.get("Docker-Upload-UUID")!;
    const refused = await patch(fetch, location, seededBytes(20 * MiB, 11));
    expect(refused.status).toBe(413);
    expect(await errorCode(refused)).toBe("SIZE_INVALID");
    expect(created).toHaveLength(1);
    // The session records nothing of the refused request, and its multipart upload is gone.
    const session = await readUploadState(openStorage(env as unknown as WorkerBindings), id);
    expect(session?.state).toMatchObject({ offset: 0, multipartId: null, parts: [] });
    expect(await stillOpen(created[0]!), "the refused request's multipart upload was aborted").toBe(false);
    expect(partBuffers.stats().leasedBytes).toBe(0);
    // The session goes on as if the refused request never came.
    const fits = seededBytes(6 * MiB, 12);
    expect((await patch(fetch, location, fits)).status).toBe(202);
    const closed = await fetch(`${location}&digest=${sha256(fits)}`, {
      method: "PUT",
      headers: { Authorization: AUTH },
    });
    expect(closed.status, await closed.clone().text()).toBe(201);
  });

  it("leaves parts a refused PATCH added to a recorded multipart upload to the session, which frees them", async () => {
    const { bucket, created } = recordingBucket();
    const fetch = fetcher({ MAX_REQUEST_BODY_BYTES: String(LIMIT), REGISTRY: bucket } as never);
    const start = await fetch("/v2/lim/refused/blobs/uploads/", { method: "POST", headers: { Authorization: AUTH } });
    const location = start.headers.get("Location")!;
    const id = start.headers.get("Docker-Upload-UUID")!;
    const first = await patch(fetch, location, seededBytes(6 * MiB, 13));
    expect(first.status).toBe(202);
    const next = first.headers.get("Location")!;
    expect((await patch(fetch, next, seededBytes(20 * MiB, 14))).status).toBe(413);
    expect(created).toHaveLength(1);
    const session = await readUploadState(openStorage(env as unknown as WorkerBindings), id);
    expect(session?.state.multipartId).toBe(created[0]!.uploadId);
    expect(session?.state.offset).toBe(6 * MiB);
    expect((await fetch(next, { method: "DELETE", headers: { Authorization: AUTH } })).status).toBe(204);
    expect(await stillOpen(created[0]!)).toBe(false);
  });
});

describe("bodies over MAX_REQUEST_BODY_BYTES", () => {
  it("413 names the push client, since docker and skopeo cannot split a layer themselves", async () => {
    const limited = { ...(env as unknown as Env), MAX_REQUEST_BODY_BYTES: "4096" } as Env;
    const location = await startUpload("limits/body");
    const bodies: [string, BodyInit, Record<string, string>][] = [
      ["with Content-Length", seededBytes(8000, 1), { "Content-Length": "8000" }],
      ["chunked", streamOf(seededBytes(8000, 2)), {}],
    ];
    for (const [label, body, headers] of bodies) {
      const response = await app.fetch(
        new Request(BASE + location, {
          method: "PATCH",
          body,
          headers: { Authorization: AUTH, "Content-Type": "application/octet-stream", ...headers },
          duplex: "half",
        } as RequestInit),
        limited,
        createExecutionContext(),
      );
      expect(`${response.status} ${await response.clone().text()}`, label).toMatch(/^413 /);
      const { errors } = (await response.json()) as { errors: { code: string; message: string }[] };
      expect(errors[0]!.code, label).toBe("SIZE_INVALID");
      expect(errors[0]!.message, label).toContain("r2-registry push");
      expect(errors[0]!.message, label).toContain("docs/push-client.md");
    }
  });
});
