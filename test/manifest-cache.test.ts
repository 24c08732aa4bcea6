// The isolate's manifest cache (registry/manifest-cache.ts): a warm GET by tag costs one
// storage call, and a re-tagged or deleted manifest is never served from the cache.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { parseDigest } from "../src/oci/digest";
import { deleteManifestObject, deleteTag } from "../src/storage/manifests";
import { OCI_MANIFEST, meteredRequest, pushImage, request } from "./helpers";
import { openStorage } from "../src/storage/storage";
import type { Env } from "../src/config/config";

describe("manifest GET by tag in a warm isolate", () => {
  it("reads only the tag, and serves the exact bytes and headers", async () => {
    const image = await pushImage("cache/warm", "v1", 1);
    await (await request("/v2/cache/warm/manifests/v1")).arrayBuffer(); // warms the isolate
    for (const method of ["GET", "HEAD"]) {
      const { response, usage } = await meteredRequest("/v2/cache/warm/manifests/v1", { method });
      expect(response.status).toBe(200);
      expect(usage.subrequests, method).toBe(1);
      expect(response.headers.get("Docker-Content-Digest")).toBe(image.digest);
      expect(response.headers.get("Content-Type")).toBe(OCI_MANIFEST);
      expect(response.headers.get("Content-Length")).toBe(String(new TextEncoder().encode(image.body).length));
      expect(await response.text()).toBe(method === "GET" ? image.body : "");
    }
  });

  it("follows a re-tag at once", async () => {
    await pushImage("cache/retag", "t", 2);
    await (await request("/v2/cache/retag/manifests/t")).arrayBuffer();
    const second = await pushImage("cache/retag", "t", 3);
    const get = await request("/v2/cache/retag/manifests/t");
    expect(get.headers.get("Docker-Content-Digest")).toBe(second.digest);
    expect(await get.text()).toBe(second.body);
  });

  it("never serves a manifest deleted here or by another isolate", async () => {
    const image = await pushImage("cache/del", "t", 4);
    await (await request("/v2/cache/del/manifests/t")).arrayBuffer();
    await (await request(`/v2/cache/del/manifests/${image.digest}`)).arrayBuffer();
    expect((await request(`/v2/cache/del/manifests/${image.digest}`, { method: "DELETE" })).status).toBe(202);
    expect((await request("/v2/cache/del/manifests/t")).status).toBe(404);
    expect((await request(`/v2/cache/del/manifests/${image.digest}`)).status).toBe(404);
    // Another isolate's delete reaches storage only: this isolate's cache never hears of it.
    const other = await pushImage("cache/del", "u", 5);
    await (await request("/v2/cache/del/manifests/u")).arrayBuffer();
    const store = openStorage(env as unknown as Env);
    await deleteTag(store, "cache/del", "u");
    await deleteManifestObject(store, "cache/del", parseDigest(other.digest));
    expect((await request("/v2/cache/del/manifests/u")).status).toBe(404);
    expect((await request(`/v2/cache/del/manifests/${other.digest}`)).status).toBe(404);
  });
});
