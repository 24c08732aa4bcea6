// Blob reads: GET/HEAD with Range, digests, headers, deletes, and mounts.
import { describe, expect, it } from "vitest";
import { MAX_READ_WINDOWS, READ_WINDOW_BYTES, readWindows } from "../src/storage/blob-data";
import { fetcher } from "./auth-setup";
import { AUTH, errorCode, meteredRequest, pushBlob, request, seededBytes, sha256 } from "./helpers";

describe("blob GET and HEAD", () => {
  it("serves the bytes with digest, length, type and immutable caching", async () => {
    const bytes = seededBytes(5000, 7);
    const digest = await pushBlob("blobs/get", bytes);
    const response = await request(`/v2/blobs/get/blobs/${digest}`);
    expect(response.status).toBe(200);
    expect(response.headers.get("Docker-Content-Digest")).toBe(digest);
    expect(response.headers.get("Content-Type")).toBe("application/octet-stream");
    expect(response.headers.get("Cache-Control")).toContain("immutable");
    expect(response.headers.get("ETag")).toBe(`"${digest}"`);
    expect(response.headers.get("Docker-Distribution-API-Version")).toBe("registry/2.0");
    expect(new Uint8Array(await response.arrayBuffer())).toEqual(bytes);
    const head = await request(`/v2/blobs/get/blobs/${digest}`, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(head.headers.get("Content-Length")).toBe("5000");
    expect(head.headers.get("Docker-Content-Digest")).toBe(digest);
  });

  it("answers ranges with 206 and unsatisfiable ones with 416", async () => {
    const bytes = seededBytes(1000, 9);
    const digest = await pushBlob("blobs/range", bytes);
    const partial = await request(`/v2/blobs/range/blobs/${digest}`, { headers: { Range: "bytes=10-19" } });
    expect(partial.status).toBe(206);
    expect(partial.headers.get("Content-Range")).toBe("bytes 10-19/1000");
    expect(new Uint8Array(await partial.arrayBuffer())).toEqual(bytes.slice(10, 20));
    const suffix = await request(`/v2/blobs/range/blobs/${digest}`, { headers: { Range: "bytes=-5" } });
    expect(new Uint8Array(await suffix.arrayBuffer())).toEqual(bytes.slice(995));
    const bad = await request(`/v2/blobs/range/blobs/${digest}`, { headers: { Range: "bytes=1000-" } });
    expect(bad.status).toBe(416);
    expect(bad.headers.get("Content-Range")).toBe("bytes */1000");
    expect(await errorCode(bad)).toBe("SIZE_INVALID");
  });

  it("refuses unknown blobs, bad digests and bad names with OCI errors", async () => {
    const missing = await request(`/v2/blobs/none/blobs/${sha256("nope")}`);
    expect(missing.status).toBe(404);
    expect(await errorCode(missing)).toBe("BLOB_UNKNOWN");
    const badDigest = await request(`/v2/blobs/none/blobs/sha256:xyz`);
    expect(badDigest.status).toBe(400);
    expect(await errorCode(badDigest)).toBe("DIGEST_INVALID");
    const badName = await request(`/v2/Bad_Name/blobs/${sha256("x")}`);
    expect(badName.status).toBe(400);
    expect(await errorCode(badName)).toBe("NAME_INVALID");
  });
});

describe("blob reads in windows", () => {
  const W = READ_WINDOW_BYTES;
  it.each([
    ["empty", 0, 0, []],
    ["one byte", 5, 1, [[5, 1]]],
    ["exactly one window", 0, W, [[0, W]]],
    [
      "one byte over",
      0,
      W + 1,
      [
        [0, W],
        [W, 1],
      ],
    ],
    ["a range across a boundary", W - 10, 20, [[W - 10, 20]]],
    [
      "three windows from an offset",
      7,
      2 * W + 3,
      [
        [7, W],
        [W + 7, W],
        [2 * W + 7, 3],
      ],
    ],
  ])("%s", (_name, offset, length, expected) => {
    expect(readWindows(offset, length).map((w) => [w.offset, w.length])).toEqual(expected);
  });

  it("never makes more than MAX_READ_WINDOWS gets, however big the blob", () => {
    for (const length of [W * MAX_READ_WINDOWS, W * MAX_READ_WINDOWS + 1, 100 * 1024 ** 3, 10_000 * 5 * 1024 ** 3]) {
      const windows = readWindows(0, length);
      expect(windows.length).toBeLessThanOrEqual(MAX_READ_WINDOWS);
      expect(windows.reduce((sum, w) => sum + w.length, 0)).toBe(length);
    }
  });

  it("serves a blob over one window whole and in ranges, byte for byte and with its length", async () => {
    const size = 2 * W + 4096;
    const bytes = seededBytes(size, 21);
    const digest = await pushBlob("blobs/windows", bytes);
    const whole = await meteredRequest(`/v2/blobs/windows/blobs/${digest}`);
    expect(whole.response.status).toBe(200);
    expect(whole.response.headers.get("Content-Length")).toBe(String(size));
    // Compared by digest: a deep equality over 64 MiB of elements would take the test minutes.
    expect(sha256(new Uint8Array(await whole.response.arrayBuffer()))).toBe(digest);
    // Counted when the response is ready: the link's read, the first window's get and the
    // second's, asked for while the first streams; the third is made as the body streams.
    expect(whole.usage.r2ClassB).toBe(3);
    const from = W - 100;
    const to = 2 * W + 50;
    const ranged = await request(`/v2/blobs/windows/blobs/${digest}`, { headers: { Range: `bytes=${from}-${to}` } });
    expect(ranged.status).toBe(206);
    expect(ranged.headers.get("Content-Length")).toBe(String(to - from + 1));
    expect(sha256(new Uint8Array(await ranged.arrayBuffer()))).toBe(sha256(bytes.slice(from, to + 1)));
  });
});

describe("blob caching", () => {
  // RFC 9111 §5.2.2.7: "public" lets a shared cache keep an answer to a request that carried
  // Authorization, and serve it to anyone.
  it("is private for a repository only signed-in callers may pull, and public when anyone may", async () => {
    const bytes = seededBytes(800, 13);
    const privateDigest = await pushBlob("cache/private", bytes);
    for (const init of [{}, { method: "HEAD" }, { headers: { Range: "bytes=0-9" } }]) {
      const response = await request(`/v2/cache/private/blobs/${privateDigest}`, init);
      expect(response.status).toBeLessThan(300);
      expect(response.headers.get("Cache-Control"), JSON.stringify(init)).toBe("private, max-age=31536000, immutable");
    }
    const open = fetcher({ ANONYMOUS_PULL: "cache/open" });
    const openDigest = await pushBlob("cache/open", bytes);
    for (const headers of [{}, { Authorization: AUTH }] as Record<string, string>[]) {
      const response = await open(`/v2/cache/open/blobs/${openDigest}`, { headers });
      expect(response.status).toBe(200);
      expect(response.headers.get("Cache-Control")).toBe("public, max-age=31536000, immutable");
    }
    const signedIn = await open(`/v2/cache/private/blobs/${privateDigest}`, { headers: { Authorization: AUTH } });
    expect(signedIn.headers.get("Cache-Control")).toBe("private, max-age=31536000, immutable");
  });
});

describe("blob DELETE and mounts", () => {
  it("deletes one repository's link and leaves another's intact", async () => {
    const bytes = seededBytes(3000, 11);
    const digest = await pushBlob("share/a", bytes);
    const mount = await request(`/v2/share/b/blobs/uploads/?mount=${digest}&from=share/a`, { method: "POST" });
    expect(mount.status).toBe(201);
    expect(mount.headers.get("Location")).toBe(`/v2/share/b/blobs/${digest}`);
    const del = await request(`/v2/share/a/blobs/${digest}`, { method: "DELETE" });
    expect(del.status).toBe(202);
    expect((await request(`/v2/share/a/blobs/${digest}`)).status).toBe(404);
    const other = await request(`/v2/share/b/blobs/${digest}`);
    expect(other.status).toBe(200);
    expect(new Uint8Array(await other.arrayBuffer())).toEqual(bytes);
  });

  it("mounts without from when another repository holds the blob, else falls back to 202", async () => {
    const digest = await pushBlob("mount/src", seededBytes(100, 3));
    const anywhere = await request(`/v2/mount/dst/blobs/uploads/?mount=${digest}`, { method: "POST" });
    expect(anywhere.status).toBe(201);
    const unknown = await request(`/v2/mount/dst/blobs/uploads/?mount=${sha256("absent")}&from=mount/src`, {
      method: "POST",
    });
    expect(unknown.status).toBe(202);
    expect(unknown.headers.get("Location")).toMatch(/^\/v2\/mount\/dst\/blobs\/uploads\//);
  });
});
