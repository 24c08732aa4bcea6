// The pull-through cache against a small upstream on 127.0.0.1 (test/setup/fake-upstream.ts):
// it caches what it serves, and it writes under the collector's protocol (docs/gc.md) like a
// push does. The two protocol tests play the collector (condemn, then delete) around a real
// pull, in the order that loses data when the cache writes with plain puts.
import { createExecutionContext, reset, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, inject, it } from "vitest";
import { app } from "../src/app";
import type { Env } from "../src/config/config";
import { parseDigest } from "../src/oci/digest";
import { getBlobLink, getBlobRecord, listBlobRepositories } from "../src/storage/blobs";
import { headTagVersion, listBlobRecordVersions } from "../src/storage/collector";
import { condemn } from "../src/storage/condemn";
import { PASSWORDS, usersJson } from "./auth-setup";
import { bucket, storage } from "./gc-helpers";
import {
  AUTH,
  BASE,
  basic,
  errorCode,
  OCI_MANIFEST,
  pause,
  pushBlob,
  request,
  seededBytes,
  sha256,
  singleLayerImage,
  storedKeys,
} from "./helpers";

const upstream = inject("upstreamUrl");
const mirrorEnv: Env = {
  ...(env as unknown as Env),
  REGISTRIES_JSON: JSON.stringify([{ registry: upstream, prefix: "up" }]),
  // Every pull of a tag revalidates it upstream and writes the tag again.
  PROXY_TAG_TTL_SECONDS: "0",
};

beforeEach(async () => {
  await reset();
});

/** A request to the registry configured as a mirror; waits for its cache fill too. */
async function pull(target: string, method = "GET"): Promise<Response> {
  const ctx = createExecutionContext();
  const response = await app.fetch(
    new Request(BASE + target, { method, headers: { Authorization: AUTH } }),
    mirrorEnv,
    ctx,
  );
  const body = await response.arrayBuffer();
  await waitOnExecutionContext(ctx);
  return new Response(body, { status: response.status, headers: response.headers });
}

async function upstreamPut(
  name: string,
  kind: "manifests" | "blobs",
  reference: string,
  bytes: Uint8Array | string,
  type: string,
): Promise<void> {
  const response = await fetch(`${upstream}/_content/${name}/${kind}/${reference}`, {
    method: "PUT",
    body: bytes,
    headers: { "Content-Type": type },
  });
  expect(response.status).toBe(201);
}

/** An image on the upstream under `name:tag`; returns its digests and layer bytes. */
async function upstreamImage(name: string, tag: string, seed: number) {
  const { config, configDigest, layer, layerDigest, body, digest } = singleLayerImage(
    { os: "linux", seed },
    seededBytes(3000 + seed, seed),
  );
  await upstreamPut(name, "blobs", configDigest, config, "application/octet-stream");
  await upstreamPut(name, "blobs", layerDigest, layer, "application/octet-stream");
  await upstreamPut(name, "manifests", tag, body, OCI_MANIFEST);
  await upstreamPut(name, "manifests", digest, body, OCI_MANIFEST);
  return { digest, layerDigest, layer };
}

describe("pull-through cache", () => {
  it("serves and caches a manifest by tag and a blob", async () => {
    const image = await upstreamImage("app", "v1", 1);
    const manifest = await pull("/v2/up/app/manifests/v1");
    expect(manifest.status).toBe(200);
    expect(manifest.headers.get("Docker-Content-Digest")).toBe(image.digest);
    const blob = await pull(`/v2/up/app/blobs/${image.layerDigest}`);
    expect(blob.status).toBe(200);
    expect(new Uint8Array(await blob.arrayBuffer())).toEqual(image.layer);
    expect(await bucket.head(storedKeys.blobLink("up/app", image.layerDigest))).not.toBeNull();
    expect(await bucket.head(storedKeys.blobRecord(image.layerDigest))).not.toBeNull();
  });
});

describe("pull-through under the collector's protocol", () => {
  it("never rewrites a tag the collector has condemned", async () => {
    const image = await upstreamImage("tagged", "latest", 2);
    expect((await pull("/v2/up/tagged/manifests/latest")).status).toBe(200);
    const tagKey = storedKeys.tag("up/tagged", "latest");
    // The collector condemns the tag; the next pull revalidates it and writes it again.
    expect(await condemn(storage, (await headTagVersion(storage, "up/tagged", "latest"))!, null)).not.toBeNull();
    const revalidated = pull("/v2/up/tagged/manifests/latest");
    await pause(300);
    // The collector's re-check did not see the rewrite: it deletes what it judged.
    await bucket.delete(tagKey);
    expect((await revalidated).status).toBe(200);
    // The pull answered with the tag, so the tag must be there.
    const tag = await bucket.head(tagKey);
    expect(tag?.customMetadata?.digest).toBe(image.digest);
  });

  it("never leaves a link to a blob record the collector deleted", async () => {
    const image = await upstreamImage("linked", "v1", 3);
    // The bucket holds the blob's record with no links left: pushed elsewhere, then unlinked.
    await pushBlob("local/elsewhere", image.layer);
    expect((await request(`/v2/local/elsewhere/blobs/${image.layerDigest}`, { method: "DELETE" })).status).toBe(202);
    const recordKey = storedKeys.blobRecord(image.layerDigest);
    const record = (await bucket.head(recordKey))!;
    const judged = (await listBlobRecordVersions(storage, null, 1000)).items.find(
      (r) => r.digest === image.layerDigest,
    );
    expect(await condemn(storage, judged!, null)).not.toBeNull();
    const pulled = pull(`/v2/up/linked/blobs/${image.layerDigest}`);
    await pause(300);
    // The collector saw no reverse link when it re-checked, so it deletes record and bytes.
    await bucket.delete([recordKey, record.customMetadata!.data!]);
    const response = await pulled;
    expect(response.status).toBe(200);
    expect(new Uint8Array(await response.arrayBuffer())).toEqual(image.layer);
    // A link may exist only while a record with the same bytes does (docs/gc.md).
    const link = await bucket.head(storedKeys.blobLink("up/linked", image.layerDigest));
    expect(link).not.toBeNull();
    const current = await bucket.head(recordKey);
    expect(current?.customMetadata?.data).toBe(link!.customMetadata!.data);
    expect(await bucket.head(current!.customMetadata!.data!)).not.toBeNull();
  });
});

describe("blobs a mirrored repository does not link", () => {
  // alice pushes to team-a/*, bob to team-b/*; anyone may pull up/*. The catch-all entry
  // (no prefix, pushes allowed) makes every other name a mirror too, team-b/* included.
  const privateEnv = async (registries: unknown[]): Promise<Env> => ({
    ...mirrorEnv,
    REGISTRIES_JSON: JSON.stringify(registries),
    AUTH_USERS_JSON: await usersJson(),
    ANONYMOUS_PULL: "up/*",
  });
  const digestOf = (text: string) => parseDigest(text);

  /** A blob alice pushed to her private repository (not a mirror under this env). */
  async function privateBlob(target: Env, seed: number): Promise<{ digest: string; bytes: Uint8Array }> {
    const bytes = seededBytes(2000 + seed, seed);
    const digest = sha256(bytes);
    const response = await app.fetch(
      new Request(`${BASE}/v2/team-a/secret/blobs/uploads/?digest=${digest}`, {
        method: "POST",
        body: bytes,
        headers: { Authorization: basic("alice", PASSWORDS.alice), "Content-Type": "application/octet-stream" },
      }),
      target,
      createExecutionContext(),
    );
    expect(response.status).toBe(201);
    return { digest, bytes };
  }

  async function read(target: Env, path: string, method: string, auth: string | null): Promise<Response> {
    const ctx = createExecutionContext();
    const headers: Record<string, string> = auth ? { Authorization: auth } : {};
    const response = await app.fetch(new Request(BASE + path, { method, headers }), target, ctx);
    const body = await response.arrayBuffer();
    await waitOnExecutionContext(ctx);
    return new Response(body, { status: response.status, headers: response.headers });
  }

  it("answers BLOB_UNKNOWN, and links nothing, when the upstream does not serve it", async () => {
    const target = await privateEnv([{ registry: upstream, prefix: "up" }]);
    const blob = await privateBlob(target, 21);
    for (const method of ["HEAD", "GET"]) {
      const response = await read(target, `/v2/up/anything/blobs/${blob.digest}`, method, null);
      expect(response.status, `anonymous ${method}`).toBe(404);
      if (method === "GET") expect(await errorCode(response)).toBe("BLOB_UNKNOWN");
    }
    expect(await getBlobLink(storage, "up/anything", digestOf(blob.digest))).toBeNull();
    // Nothing was linked, so nothing can be mounted from there either.
    expect(await listBlobRepositories(storage, digestOf(blob.digest))).toEqual(["team-a/secret"]);
  });

  it("gives another team nothing through a catch-all upstream", async () => {
    const target = await privateEnv([{ registry: upstream, allow_push: true }]);
    const blob = await privateBlob(target, 22);
    const bob = basic("bob", PASSWORDS.bob);
    for (const method of ["HEAD", "GET"]) {
      const response = await read(target, `/v2/team-b/probe/blobs/${blob.digest}`, method, bob);
      expect(response.status, `bob ${method}`).toBe(404);
      if (method === "GET") expect(await errorCode(response)).toBe("BLOB_UNKNOWN");
    }
    expect(await getBlobLink(storage, "team-b/probe", digestOf(blob.digest))).toBeNull();
  });

  it("links the bucket's record only once the upstream has served the same bytes", async () => {
    const target = await privateEnv([{ registry: upstream, prefix: "up" }]);
    const blob = await privateBlob(target, 23);
    await upstreamPut("served", "blobs", blob.digest, blob.bytes, "application/octet-stream");
    // A HEAD is the upstream's word, not its bytes: it is answered, and links nothing.
    const head = await read(target, `/v2/up/served/blobs/${blob.digest}`, "HEAD", null);
    expect(head.status).toBe(200);
    expect(head.headers.get("Content-Length")).toBe(String(blob.bytes.length));
    expect(await getBlobLink(storage, "up/served", digestOf(blob.digest))).toBeNull();
    const get = await read(target, `/v2/up/served/blobs/${blob.digest}`, "GET", null);
    expect(get.status).toBe(200);
    expect(new Uint8Array(await get.arrayBuffer())).toEqual(blob.bytes);
    // The bytes were verified against the digest; the record already held them, so the link
    // names that record.
    const record = await getBlobRecord(storage, digestOf(blob.digest));
    const link = await getBlobLink(storage, "up/served", digestOf(blob.digest));
    expect(link?.dataKey).toBe(record!.dataKey);
    const again = await read(target, `/v2/up/served/blobs/${blob.digest}`, "GET", null);
    expect(new Uint8Array(await again.arrayBuffer())).toEqual(blob.bytes);
  });

  it("answers a proxied copy with the stored blob's headers, private unless anyone may pull", async () => {
    const target = await privateEnv([
      { registry: upstream, prefix: "up" },
      { registry: upstream, prefix: "closed" },
    ]);
    const bytes = seededBytes(1500, 25);
    const digest = sha256(bytes);
    await upstreamPut("hdr", "blobs", digest, bytes, "application/octet-stream");
    const names = ["Content-Type", "Docker-Content-Digest", "ETag", "Cache-Control", "Content-Length"];
    const picked = (r: Response) => Object.fromEntries(names.map((n) => [n, r.headers.get(n)]));
    for (const [repo, auth, cache] of [
      ["up/hdr", null, "public"],
      ["closed/hdr", AUTH, "private"],
    ] as const) {
      const head = await read(target, `/v2/${repo}/blobs/${digest}`, "HEAD", auth);
      const fill = await read(target, `/v2/${repo}/blobs/${digest}`, "GET", auth);
      const stored = await read(target, `/v2/${repo}/blobs/${digest}`, "GET", auth);
      expect(picked(stored)).toEqual({
        "Content-Type": "application/octet-stream",
        "Docker-Content-Digest": digest,
        ETag: `"${digest}"`,
        "Cache-Control": `${cache}, max-age=31536000, immutable`,
        "Content-Length": String(bytes.length),
      });
      expect(picked(head), `${repo} HEAD passed through`).toEqual(picked(stored));
      expect(picked(fill), `${repo} GET streamed from upstream`).toEqual(picked(stored));
    }
  });

  it("links nothing when the upstream serves other bytes under the digest", async () => {
    const target = await privateEnv([{ registry: upstream, prefix: "up" }]);
    const blob = await privateBlob(target, 24);
    await upstreamPut("liar", "blobs", blob.digest, seededBytes(500, 99), "application/octet-stream");
    const get = read(target, `/v2/up/liar/blobs/${blob.digest}`, "GET", null);
    // The body is cut before its last chunk: the client never receives a whole wrong blob.
    await expect(get).rejects.toThrow();
    expect(await getBlobLink(storage, "up/liar", digestOf(blob.digest))).toBeNull();
  });
});

describe("upstream failures", () => {
  // Port 1 refuses at once; the address stands for an internal host a client must not learn.
  const downEnv: Env = {
    ...mirrorEnv,
    REGISTRIES_JSON: JSON.stringify([{ registry: "http://127.0.0.1:1", prefix: "down" }]),
    ANONYMOUS_PULL: "down/*",
  };

  it("name the upstream by its prefix, never its address", async () => {
    const digest = sha256("absent");
    for (const [method, target] of [
      ["GET", "/v2/down/app/manifests/v1"],
      ["GET", `/v2/down/app/manifests/${digest}`],
      ["GET", `/v2/down/app/blobs/${digest}`],
    ] as const) {
      const response = await app.fetch(new Request(BASE + target, { method }), downEnv, createExecutionContext());
      expect(response.status, target).toBe(503);
      const body = await response.text();
      expect(body, target).not.toContain("127.0.0.1");
      const [error] = JSON.parse(body).errors;
      expect(error.code).toBe("UNAVAILABLE");
      expect(error.message, target).toContain('upstream "down"');
    }
  });
});

describe("a read-only mirror", () => {
  /** A request to the mirror-configured registry with `init`; `config` overrides mirrorEnv. */
  async function toMirror(target: string, init: RequestInit = {}, config: Partial<Env> = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    headers.set("Authorization", AUTH);
    const ctx = createExecutionContext();
    const response = await app.fetch(
      new Request(BASE + target, { ...init, headers }),
      { ...mirrorEnv, ...config },
      ctx,
    );
    await waitOnExecutionContext(ctx);
    return response;
  }

  /** Every R2 and KV key: a refused write must add none (an upload session, a blob, a tag). */
  async function everythingStored(): Promise<string[]> {
    const objects = (await bucket.list()).objects.map((o) => o.key);
    const sessions = (await (env as unknown as Env).UPLOADS.list()).keys.map((k) => k.name);
    return [...objects, ...sessions];
  }

  it("refuses every write under its prefix with DENIED naming the mirror, and stores nothing", async () => {
    const local = singleLayerImage({ os: "linux", seed: 7 }, seededBytes(2000, 7));
    const layer = await pushBlob("local/app", local.layer);
    const before = await everythingStored();
    const writes: [string, string, RequestInit][] = [
      ["open an upload", "/v2/up/app/blobs/uploads/", { method: "POST" }],
      ["monolithic upload", `/v2/up/app/blobs/uploads/?digest=${layer}`, { method: "POST", body: local.layer }],
      ["mount", `/v2/up/app/blobs/uploads/?mount=${layer}&from=local/app`, { method: "POST" }],
      [
        "manifest push",
        "/v2/up/app/manifests/v1",
        { method: "PUT", body: local.body, headers: { "Content-Type": OCI_MANIFEST } },
      ],
      ["delete", `/v2/up/app/manifests/${local.digest}`, { method: "DELETE" }],
    ];
    for (const [what, target, init] of writes) {
      const response = await toMirror(target, init);
      expect(response.status, what).toBe(403);
      const [error] = (await response.json<{ errors: { code: string; message: string }[] }>()).errors;
      expect(error!.code, what).toBe("DENIED");
      expect(error!.message, what).toContain("up/app is a read-only mirror");
    }
    expect(await everythingStored()).toEqual(before);
  });

  it("takes pushes when its upstream entry sets allow_push", async () => {
    const writable = { REGISTRIES_JSON: JSON.stringify([{ registry: upstream, prefix: "up", allow_push: true }]) };
    const local = singleLayerImage({ os: "linux", seed: 8 }, seededBytes(2000, 8));
    for (const bytes of [local.config, local.layer]) {
      const response = await toMirror(
        `/v2/up/app/blobs/uploads/?digest=${sha256(bytes)}`,
        { method: "POST", body: bytes },
        writable,
      );
      expect(response.status).toBe(201);
    }
    const put = await toMirror(
      "/v2/up/app/manifests/v1",
      { method: "PUT", body: local.body, headers: { "Content-Type": OCI_MANIFEST } },
      writable,
    );
    expect(put.status).toBe(201);
  });
});
