// Hostile-load inputs for manifest PUT and DELETE (issue 14): many descriptors, identical and
// distinct, many tags in one PUT and on one manifest. Each must be answered with bounded
// storage work, or refused before any work.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { formatDigest, parseDigest } from "../src/oci/digest";
import { MAX_MANIFEST_REFERENCES, MAX_TAGS_PER_PUT } from "../src/registry/manifests";
import { putTag } from "../src/storage/manifests";
import { openStorage, type StorageBindings } from "../src/storage/storage";
import { OCI_MANIFEST, errorCode, pushBlob, pushImage, pushManifest, request, sha256 } from "./helpers";

const LAYER = "application/vnd.oci.image.layer.v1.tar";
const enc = (s: string) => new TextEncoder().encode(s);
const storage = () => openStorage(env as unknown as StorageBindings);

/** A digest nobody pushed, different for each `i`. */
function fakeDigest(i: number): string {
  return `sha256:${i.toString(16).padStart(64, "0")}`;
}

async function configOf(repo: string, seed: number) {
  const config = enc(JSON.stringify({ seed }));
  return { mediaType: "application/vnd.oci.image.config.v1+json", digest: await pushBlob(repo, config), size: config.length };
}

describe("descriptors per manifest", () => {
  it("checks 20,000 identical layer descriptors once and stores the manifest", async () => {
    const repo = "lim/identical";
    const layer = enc("one layer, named 20,000 times");
    const layerDigest = await pushBlob(repo, layer);
    const layers = Array.from({ length: 20_000 }, () => ({ mediaType: LAYER, digest: layerDigest, size: layer.length }));
    const body = JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: await configOf(repo, 1), layers });
    const put = await pushManifest(repo, "many", body);
    expect(put.status, await put.clone().text()).toBe(201);
    expect((await request(`/v2/${repo}/manifests/many`)).headers.get("Docker-Content-Digest")).toBe(await sha256(body));
  });

  it("refuses 20,000 distinct descriptors with MANIFEST_INVALID before looking at storage", async () => {
    const repo = "lim/distinct";
    const layers = Array.from({ length: 20_000 }, (_, i) => ({ mediaType: LAYER, digest: fakeDigest(i + 1), size: 1 }));
    const body = JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: await configOf(repo, 2), layers });
    const put = await pushManifest(repo, "many", body);
    expect(put.status).toBe(400);
    const error = ((await put.json()) as { errors: { code: string; message: string }[] }).errors[0]!;
    expect(error.code).toBe("MANIFEST_INVALID");
    expect(error.message).toContain(`at most ${MAX_MANIFEST_REFERENCES}`);
    expect((await request(`/v2/${repo}/manifests/many`)).status).toBe(404);
  });

  it("accepts exactly the cap of distinct blobs, and refuses one more", async () => {
    const repo = "lim/cap";
    const config = await configOf(repo, 3);
    const layers = [];
    for (let i = 0; i < MAX_MANIFEST_REFERENCES - 1; i++) {
      const bytes = enc(`layer ${i}`);
      layers.push({ mediaType: LAYER, digest: await pushBlob(repo, bytes), size: bytes.length });
    }
    const atCap = JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config, layers });
    expect((await pushManifest(repo, "cap", atCap)).status).toBe(201);
    const over = JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config, layers: [...layers, { mediaType: LAYER, digest: fakeDigest(1), size: 1 }] });
    const put = await pushManifest(repo, "over", over);
    expect(put.status).toBe(400);
    expect(await errorCode(put)).toBe("MANIFEST_INVALID");
  });
});

describe("tags per request", () => {
  it("refuses 3,000 ?tag= values with 400 and tags nothing", async () => {
    const repo = "lim/tags";
    const image = await pushImage(repo, "base", 4);
    const query = Array.from({ length: 3000 }, (_, i) => `tag=t${i}`).join("&");
    const put = await request(`/v2/${repo}/manifests/${image.digest}?${query}`, { method: "PUT", body: image.body, headers: { "Content-Type": OCI_MANIFEST } });
    expect(put.status).toBe(400);
    expect(await errorCode(put)).toBe("MANIFEST_INVALID");
    expect(put.headers.get("OCI-Tag")).toBeNull();
    expect((await request(`/v2/${repo}/manifests/t0`)).status).toBe(404);
  });

  it("accepts the cap of tags in one PUT", async () => {
    const repo = "lim/tags-cap";
    const image = await pushImage(repo, "t0", 5);
    const query = Array.from({ length: MAX_TAGS_PER_PUT - 1 }, (_, i) => `tag=t${i + 1}`).join("&");
    const put = await request(`/v2/${repo}/manifests/t0?${query}`, { method: "PUT", body: image.body, headers: { "Content-Type": OCI_MANIFEST } });
    expect(put.status, await put.clone().text()).toBe(201);
    expect(put.headers.get("OCI-Tag")!.split(", ")).toHaveLength(MAX_TAGS_PER_PUT);
  });

  it("deletes a manifest that 3,000 tags point at, with every tag", async () => {
    const repo = "lim/tags-delete";
    const image = await pushImage(repo, "keep-not", 6);
    const digest = parseDigest(image.digest);
    for (let i = 0; i < 3000; i += 100) {
      await Promise.all(Array.from({ length: 100 }, (_, j) => putTag(storage(), repo, `t${String(i + j).padStart(4, "0")}`, digest)));
    }
    const other = await pushImage(repo, "other", 7);
    const del = await request(`/v2/${repo}/manifests/${formatDigest(digest)}`, { method: "DELETE" });
    expect(del.status).toBe(202);
    const tags = (await (await request(`/v2/${repo}/tags/list`)).json()) as { tags: string[] };
    expect(tags.tags).toEqual(["other"]);
    expect((await request(`/v2/${repo}/manifests/${other.digest}`)).status).toBe(200);
  });
});
