// Hostile-load inputs for manifest PUT and DELETE (issue 14): many descriptors, identical and
// distinct, many tags in one PUT and on one manifest. Each must be answered with bounded
// storage work, or refused before any work.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { formatDigest, parseDigest } from "../src/oci/digest";
import { MAX_JSON_DEPTH } from "../src/oci/strict-json";
import { MAX_MANIFEST_REFERENCES, MAX_TAGS_PER_PUT } from "../src/registry/manifests";
import { putTag } from "../src/storage/manifests";
import { openStorage, type WorkerBindings } from "../src/storage/storage";
import { OCI_MANIFEST, errorCode, meteredRequest, pushBlob, pushImage, pushManifest, request, sha256 } from "./helpers";

/** Workers' subrequest limit on the Free plan: every request's storage calls stay under it. */
const FREE_SUBREQUESTS = 1000;

function putManifestMetered(repo: string, reference: string, body: string, query = "") {
  return meteredRequest(`/v2/${repo}/manifests/${reference}${query}`, {
    method: "PUT",
    body,
    headers: { "Content-Type": OCI_MANIFEST },
  });
}

const LAYER = "application/vnd.oci.image.layer.v1.tar";
const enc = (s: string) => new TextEncoder().encode(s);
const storage = () => openStorage(env as unknown as WorkerBindings);

/** A digest nobody pushed, different for each `i`. */
function fakeDigest(i: number): string {
  return `sha256:${i.toString(16).padStart(64, "0")}`;
}

async function configOf(repo: string, seed: number) {
  const config = enc(JSON.stringify({ seed }));
  return {
    mediaType: "application/vnd.oci.image.config.v1+json",
    digest: await pushBlob(repo, config),
    size: config.length,
  };
}

describe("descriptors per manifest", () => {
  it("checks 20,000 identical layer descriptors once and stores the manifest", async () => {
    const repo = "lim/identical";
    const layer = enc("one layer, named 20,000 times");
    const layerDigest = await pushBlob(repo, layer);
    const layers = Array.from({ length: 20_000 }, () => ({
      mediaType: LAYER,
      digest: layerDigest,
      size: layer.length,
    }));
    const body = JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: await configOf(repo, 1), layers });
    const { response: put, usage } = await putManifestMetered(repo, "many", body);
    expect(put.status, await put.clone().text()).toBe(201);
    expect(usage.subrequests).toBeLessThan(30); // two distinct blobs, not 20,001
    expect((await request(`/v2/${repo}/manifests/many`)).headers.get("Docker-Content-Digest")).toBe(sha256(body));
  });

  it("refuses 20,000 distinct descriptors with MANIFEST_INVALID before looking at storage", async () => {
    const repo = "lim/distinct";
    const layers = Array.from({ length: 20_000 }, (_, i) => ({ mediaType: LAYER, digest: fakeDigest(i + 1), size: 1 }));
    const body = JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: await configOf(repo, 2), layers });
    const { response: put, usage } = await putManifestMetered(repo, "many", body);
    expect(put.status).toBe(400);
    expect(usage.subrequests).toBe(0);
    const error = ((await put.json()) as { errors: { code: string; message: string }[] }).errors[0]!;
    expect(error.code).toBe("MANIFEST_INVALID");
    expect(error.message).toContain(`at most ${MAX_MANIFEST_REFERENCES}`);
    expect((await request(`/v2/${repo}/manifests/many`)).status).toBe(404);
  });

  it("accepts exactly the cap of distinct blobs, and refuses one more", async () => {
    const repo = "lim/cap";
    const config = await configOf(repo, 3);
    // Setup only: the blobs go up 16 at a time, so the test's time is the PUT under test.
    const layers: { mediaType: string; digest: string; size: number }[] = [];
    for (let start = 0; start < MAX_MANIFEST_REFERENCES - 1; start += 16) {
      const indexes = Array.from({ length: Math.min(16, MAX_MANIFEST_REFERENCES - 1 - start) }, (_, j) => start + j);
      const batch = await Promise.all(
        indexes.map(async (i) => {
          const bytes = enc(`layer ${i}`);
          return { mediaType: LAYER, digest: await pushBlob(repo, bytes), size: bytes.length };
        }),
      );
      layers.push(...batch);
    }
    const atCap = JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config, layers });
    // The worst legal PUT: the cap of distinct blobs and the cap of tags.
    const tags = Array.from({ length: MAX_TAGS_PER_PUT - 1 }, (_, i) => `tag=t${i}`).join("&");
    const { response: put, usage } = await putManifestMetered(repo, "cap", atCap, `?${tags}`);
    expect(put.status, await put.clone().text()).toBe(201);
    expect(usage.subrequests).toBeLessThan(FREE_SUBREQUESTS);
    const over = JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config,
      layers: [...layers, { mediaType: LAYER, digest: fakeDigest(1), size: 1 }],
    });
    const refused = await pushManifest(repo, "over", over);
    expect(refused.status).toBe(400);
    expect(await errorCode(refused)).toBe("MANIFEST_INVALID");
  });
});

describe("shape of the JSON", () => {
  it("refuses a 4 MB manifest of two million nested arrays with 400 MANIFEST_INVALID, storing nothing", async () => {
    const repo = "lim/deep";
    const image = await pushImage(repo, "base", 8);
    const deep = "[".repeat(2_000_000) + "]".repeat(2_000_000);
    const body = image.body.replace(/^\{/, `{"x-deep":${deep},`);
    const { response: put, usage } = await putManifestMetered(repo, "deep", body);
    expect(put.status).toBe(400);
    expect(usage.subrequests).toBe(0);
    const error = ((await put.json()) as { errors: { code: string; message: string }[] }).errors[0]!;
    expect(error.code).toBe("MANIFEST_INVALID");
    expect(error.message).toContain(`at most ${MAX_JSON_DEPTH}`);
    expect((await request(`/v2/${repo}/manifests/deep`)).status).toBe(404);
  });
});

describe("tags per request", () => {
  it("refuses 3,000 ?tag= values with 400 and tags nothing", async () => {
    const repo = "lim/tags";
    const image = await pushImage(repo, "base", 4);
    const query = Array.from({ length: 3000 }, (_, i) => `tag=t${i}`).join("&");
    const { response: put, usage } = await putManifestMetered(repo, image.digest, image.body, `?${query}`);
    expect(put.status).toBe(400);
    expect(usage.subrequests).toBe(0);
    expect(await errorCode(put)).toBe("MANIFEST_INVALID");
    expect(put.headers.get("OCI-Tag")).toBeNull();
    expect((await request(`/v2/${repo}/manifests/t0`)).status).toBe(404);
  });

  it("accepts the cap of tags in one PUT", async () => {
    const repo = "lim/tags-cap";
    const image = await pushImage(repo, "t0", 5);
    const query = Array.from({ length: MAX_TAGS_PER_PUT - 1 }, (_, i) => `tag=t${i + 1}`).join("&");
    const put = await request(`/v2/${repo}/manifests/t0?${query}`, {
      method: "PUT",
      body: image.body,
      headers: { "Content-Type": OCI_MANIFEST },
    });
    expect(put.status, await put.clone().text()).toBe(201);
    expect(put.headers.get("OCI-Tag")!.split(", ")).toHaveLength(MAX_TAGS_PER_PUT);
  });

  it("deletes a manifest that 3,000 tags point at, with every tag", async () => {
    const repo = "lim/tags-delete";
    const image = await pushImage(repo, "keep-not", 6);
    const digest = parseDigest(image.digest);
    for (let i = 0; i < 3000; i += 100) {
      await Promise.all(
        Array.from({ length: 100 }, (_, j) => putTag(storage(), repo, `t${String(i + j).padStart(4, "0")}`, digest)),
      );
    }
    const other = await pushImage(repo, "other", 7);
    // The largest tag page lists 1,000 of them in a couple of calls, with a Link onwards.
    const { response: list, usage: listUsage } = await meteredRequest(`/v2/${repo}/tags/list?n=1000`);
    expect(((await list.json()) as { tags: string[] }).tags).toHaveLength(1000);
    expect(list.headers.get("Link")).not.toBeNull();
    expect(listUsage.subrequests).toBeLessThan(10);
    const { response: del, usage } = await meteredRequest(`/v2/${repo}/manifests/${formatDigest(digest)}`, {
      method: "DELETE",
    });
    expect(del.status).toBe(202);
    expect(usage.subrequests).toBeLessThan(FREE_SUBREQUESTS);

    const tags = (await (await request(`/v2/${repo}/tags/list`)).json()) as { tags: string[] };
    expect(tags.tags).toEqual(["other"]);
    expect((await request(`/v2/${repo}/manifests/${other.digest}`)).status).toBe(200);
  });
});
