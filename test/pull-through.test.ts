// The pull-through cache against a small upstream on 127.0.0.1 (test/setup/fake-upstream.ts):
// it caches what it serves, and it writes under the collector's protocol (docs/gc.md) like a
// push does. The two protocol tests play the collector (condemn, then delete) around a real
// pull, in the order that loses data when the cache writes with plain puts.
import { createExecutionContext, reset, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, inject, it } from "vitest";
import { app } from "../src/app";
import type { Env } from "../src/config";
import { condemn } from "../src/storage/condemn";
import { bucket, storage } from "./gc-helpers";
import { AUTH, BASE, OCI_MANIFEST, pushBlob, request, seededBytes, sha256 } from "./helpers";

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

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
const path = (digest: string) => digest.replace(":", "/");

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
  const config = new TextEncoder().encode(JSON.stringify({ os: "linux", seed }));
  const layer = seededBytes(3000 + seed, seed);
  const [configDigest, layerDigest] = [await sha256(config), await sha256(layer)];
  await upstreamPut(name, "blobs", configDigest, config, "application/octet-stream");
  await upstreamPut(name, "blobs", layerDigest, layer, "application/octet-stream");
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: configDigest, size: config.length },
    layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: layerDigest, size: layer.length }],
  });
  const digest = await sha256(manifest);
  await upstreamPut(name, "manifests", tag, manifest, OCI_MANIFEST);
  await upstreamPut(name, "manifests", digest, manifest, OCI_MANIFEST);
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
    expect(await bucket.head(`_repos/up/app/_blobs/${path(image.layerDigest)}`)).not.toBeNull();
    expect(await bucket.head(`_blobs/${path(image.layerDigest)}`)).not.toBeNull();
  });
});

describe("pull-through under the collector's protocol", () => {
  it("never rewrites a tag the collector has condemned", async () => {
    const image = await upstreamImage("tagged", "latest", 2);
    expect((await pull("/v2/up/tagged/manifests/latest")).status).toBe(200);
    const tagKey = "_repos/up/tagged/_tags/latest";
    // The collector condemns the tag; the next pull revalidates it and writes it again.
    expect(await condemn(storage, (await bucket.head(tagKey))!, null)).not.toBeNull();
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
    const recordKey = `_blobs/${path(image.layerDigest)}`;
    const record = (await bucket.head(recordKey))!;
    expect(await condemn(storage, record, null)).not.toBeNull();
    const pulled = pull(`/v2/up/linked/blobs/${image.layerDigest}`);
    await pause(300);
    // The collector saw no reverse link when it re-checked, so it deletes record and bytes.
    await bucket.delete([recordKey, record.customMetadata!.data!]);
    const response = await pulled;
    expect(response.status).toBe(200);
    expect(new Uint8Array(await response.arrayBuffer())).toEqual(image.layer);
    // A link may exist only while a record with the same bytes does (docs/gc.md).
    const link = await bucket.head(`_repos/up/linked/_blobs/${path(image.layerDigest)}`);
    expect(link).not.toBeNull();
    const current = await bucket.head(recordKey);
    expect(current?.customMetadata?.data).toBe(link!.customMetadata!.data);
    expect(await bucket.head(current!.customMetadata!.data!)).not.toBeNull();
  });
});
