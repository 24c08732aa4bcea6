// Manifest PUT, GET, HEAD and DELETE (end-3, end-7, end-9) against real local R2: exact bytes
// and Content-Type back, digests of both algorithms, the references a manifest may make,
// size limits, multi-tag pushes, and deletes.
import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { app } from "../src/app";
import type { Env } from "../src/config/config";
import {
  AUTH,
  BASE,
  OCI_INDEX,
  OCI_MANIFEST,
  errorCode,
  pushBlob,
  pushImage,
  pushManifest,
  request,
  seededBytes,
  sha256,
  sha512,
} from "./helpers";

const DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";
const enc = (s: string) => new TextEncoder().encode(s);

/** A manifest naming blobs that exist in `repo`, as bytes with a stable spelling. */
async function imageBody(
  repo: string,
  seed: number,
  extra: Record<string, unknown> = {},
  mediaType = OCI_MANIFEST,
): Promise<string> {
  const config = enc(JSON.stringify({ seed }));
  const layer = seededBytes(200 + seed, seed);
  return JSON.stringify({
    schemaVersion: 2,
    mediaType,
    config: {
      mediaType: "application/vnd.oci.image.config.v1+json",
      digest: await pushBlob(repo, config),
      size: config.length,
    },
    layers: [
      { mediaType: "application/vnd.oci.image.layer.v1.tar", digest: await pushBlob(repo, layer), size: layer.length },
    ],
    ...extra,
  });
}

describe("manifest PUT, GET and HEAD", () => {
  it("serves the exact bytes and Content-Type by tag and by digest", async () => {
    // Odd spacing and key order: the registry must not re-serialize.
    const body = `${(await imageBody("m/exact", 1)).replace("{", "{  ")}\n`;
    const digest = sha256(body);
    const put = await pushManifest("m/exact", "v1", body);
    expect(put.status).toBe(201);
    expect(put.headers.get("Docker-Content-Digest")).toBe(digest);
    expect(put.headers.get("Location")).toBe(`/v2/m/exact/manifests/${digest}`);
    expect(put.headers.get("OCI-Subject")).toBeNull(); // only a manifest with a subject says so
    for (const ref of ["v1", digest]) {
      const get = await request(`/v2/m/exact/manifests/${ref}`);
      expect(get.status).toBe(200);
      expect(get.headers.get("Content-Type")).toBe(OCI_MANIFEST);
      expect(get.headers.get("Docker-Content-Digest")).toBe(digest);
      expect(await get.text()).toBe(body);
      const head = await request(`/v2/m/exact/manifests/${ref}`, { method: "HEAD" });
      expect(head.status).toBe(200);
      expect(head.headers.get("Content-Length")).toBe(String(enc(body).length));
      expect(head.headers.get("Docker-Content-Digest")).toBe(digest);
      expect(head.headers.get("Content-Type")).toBe(OCI_MANIFEST);
      expect(await head.text()).toBe("");
    }
  });

  it("keeps the pushed Content-Type of Docker manifests and of umoci's bare OCI manifests", async () => {
    const docker = await imageBody("m/types", 2, {}, DOCKER_MANIFEST);
    expect((await pushManifest("m/types", "docker", docker, DOCKER_MANIFEST)).status).toBe(201);
    expect((await request("/v2/m/types/manifests/docker")).headers.get("Content-Type")).toBe(DOCKER_MANIFEST);
    const bare = JSON.parse(await imageBody("m/types", 3)) as Record<string, unknown>;
    delete bare.mediaType;
    expect((await pushManifest("m/types", "umoci", bare, OCI_MANIFEST)).status).toBe(201);
    expect((await request("/v2/m/types/manifests/umoci")).headers.get("Content-Type")).toBe(OCI_MANIFEST);
  });

  it("stores and serves under a sha512 digest reference", async () => {
    const body = await imageBody("m/sha512", 4);
    const digest = sha512(enc(body));
    const put = await pushManifest("m/sha512", digest, body);
    expect(put.status).toBe(201);
    expect(put.headers.get("Docker-Content-Digest")).toBe(digest);
    const get = await request(`/v2/m/sha512/manifests/${digest}`);
    expect(get.status).toBe(200);
    expect(get.headers.get("Docker-Content-Digest")).toBe(digest);
    expect(await get.text()).toBe(body);
  });

  it("refuses a digest reference that is not the content's digest, and stores nothing", async () => {
    const body = await imageBody("m/mismatch", 5);
    for (const wrong of [sha256(`${body} `), sha512(enc(`${body} `))]) {
      const put = await pushManifest("m/mismatch", wrong, body);
      expect(put.status).toBe(400);
      expect(await errorCode(put)).toBe("DIGEST_INVALID");
      expect((await request(`/v2/m/mismatch/manifests/${wrong}`)).status).toBe(404);
    }
    expect((await request(`/v2/m/mismatch/manifests/${sha256(body)}`)).status).toBe(404);
  });

  it("answers unknown tags and digests with MANIFEST_UNKNOWN", async () => {
    for (const ref of ["nope", sha256("nope")]) {
      const get = await request(`/v2/m/unknown/manifests/${ref}`);
      expect(get.status).toBe(404);
      expect(await errorCode(get)).toBe("MANIFEST_UNKNOWN");
    }
  });

  it("moves a tag to the manifest pushed last", async () => {
    const a = await pushImage("m/retag", "t", 6);
    const b = await pushImage("m/retag", "t", 7);
    expect(a.digest).not.toBe(b.digest);
    expect((await request("/v2/m/retag/manifests/t")).headers.get("Docker-Content-Digest")).toBe(b.digest);
    expect((await request(`/v2/m/retag/manifests/${a.digest}`)).status).toBe(200);
  });
});

describe("repository names", () => {
  it("routes names that contain API words, and the longest name, to the right repository", async () => {
    // The name parameter is greedy: "<name>/manifests/<ref>" must split at the last match.
    const longest = `${"n".repeat(120)}/${"m".repeat(134)}`;
    expect(longest.length).toBe(255);
    for (const [i, repo] of [
      "names/manifests",
      "names/blobs/uploads",
      "names/tags/list",
      "names/referrers",
      "v2",
      longest,
    ].entries()) {
      const image = await pushImage(repo, "latest", 40 + i);
      const manifest = await request(`/v2/${repo}/manifests/latest`);
      expect(manifest.status, repo).toBe(200);
      expect(await manifest.text(), repo).toBe(image.body);
      expect((await request(`/v2/${repo}/blobs/${image.layerDigest}`)).status, repo).toBe(200);
      expect(await (await request(`/v2/${repo}/tags/list`)).json(), repo).toEqual({ name: repo, tags: ["latest"] });
    }
  });
});

describe("what a manifest refers to", () => {
  it("refuses a missing config or layer with MANIFEST_BLOB_UNKNOWN and stores nothing", async () => {
    const body = JSON.parse(await imageBody("m/missing", 8)) as { layers: { digest: string }[] };
    body.layers[0]!.digest = sha256("never pushed");
    const text = JSON.stringify(body);
    const put = await pushManifest("m/missing", "t", text);
    expect(put.status).toBe(404);
    expect(await errorCode(put)).toBe("MANIFEST_BLOB_UNKNOWN");
    expect((await request("/v2/m/missing/manifests/t")).status).toBe(404);
    expect((await request(`/v2/m/missing/manifests/${sha256(text)}`)).status).toBe(404);
  });

  it("refuses a blob that exists only in another repository", async () => {
    const body = await imageBody("m/elsewhere-a", 9);
    const put = await pushManifest("m/elsewhere-b", "t", body);
    expect(put.status).toBe(404);
    expect(await errorCode(put)).toBe("MANIFEST_BLOB_UNKNOWN");
  });

  it("refuses an index whose child manifest is missing, and accepts it once the child is there", async () => {
    const childBody = await imageBody("m/index", 10);
    const child = { mediaType: OCI_MANIFEST, digest: sha256(childBody), size: enc(childBody).length };
    const index = JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [child] });
    const early = await pushManifest("m/index", "multi", index, OCI_INDEX);
    expect(early.status).toBe(404);
    expect(await errorCode(early)).toBe("MANIFEST_BLOB_UNKNOWN");
    expect((await pushManifest("m/index", child.digest, childBody)).status).toBe(201);
    expect((await pushManifest("m/index", "multi", index, OCI_INDEX)).status).toBe(201);
    const get = await request("/v2/m/index/manifests/multi");
    expect(get.headers.get("Content-Type")).toBe(OCI_INDEX);
    expect(await get.text()).toBe(index);
  });

  it("accepts a subject that does not exist, and answers OCI-Subject", async () => {
    const subject = sha256("subject pushed later");
    const body = await imageBody("m/subject", 11, { subject: { mediaType: OCI_MANIFEST, digest: subject, size: 20 } });
    const put = await pushManifest("m/subject", sha256(body), body);
    expect(put.status).toBe(201);
    expect(put.headers.get("OCI-Subject")).toBe(subject);
  });

  it("refuses malformed JSON and invalid manifests with MANIFEST_INVALID", async () => {
    for (const body of ["{", "", "[1]", '{"schemaVersion":2}', '{"schemaVersion":1,"fsLayers":[]}']) {
      const put = await pushManifest("m/invalid", "t", body);
      expect(put.status, body).toBe(400);
      expect(await errorCode(put), body).toBe("MANIFEST_INVALID");
    }
    const mismatch = await pushManifest("m/invalid", "t", await imageBody("m/invalid", 12), OCI_INDEX);
    expect(await errorCode(mismatch)).toBe("MANIFEST_INVALID");
    expect((await request("/v2/m/invalid/manifests/t")).status).toBe(404);
  });

  it("refuses bytes other parsers read differently (duplicate keys, a BOM) and stores nothing", async () => {
    const body = await imageBody("m/differential", 13);
    const hidden = `${body.slice(0, -1)},"layers":[]}`;
    const bom = new Uint8Array([0xef, 0xbb, 0xbf, ...new TextEncoder().encode(body)]);
    for (const [name, bytes] of [
      ["duplicate", hidden],
      ["bom", bom],
    ] as const) {
      const put = await request(`/v2/m/differential/manifests/${name}`, {
        method: "PUT",
        body: bytes,
        headers: { "Content-Type": OCI_MANIFEST },
      });
      expect(put.status, name).toBe(400);
      expect(await errorCode(put), name).toBe("MANIFEST_INVALID");
      expect((await request(`/v2/m/differential/manifests/${name}`)).status, name).toBe(404);
      const digest = sha256(bytes);
      expect((await request(`/v2/m/differential/manifests/${digest}`, { method: "HEAD" })).status, name).toBe(404);
    }
  });

  it("answers GET and HEAD of a reference that is neither tag nor digest with 404, PUT with 400", async () => {
    await pushImage("m/badref", "t", 14);
    for (const method of ["GET", "HEAD"]) {
      const response = await request("/v2/m/badref/manifests/.INVALID_MANIFEST_NAME", { method });
      expect(response.status, method).toBe(404);
      if (method === "GET") expect(await errorCode(response)).toBe("MANIFEST_UNKNOWN");
    }
    const put = await pushManifest("m/badref", ".INVALID_MANIFEST_NAME", await imageBody("m/badref", 14));
    expect(put.status).toBe(400);
    expect(await errorCode(put)).toBe("MANIFEST_INVALID");
    expect((await request("/v2/m/badref/manifests/sha256:totallywrong")).status).toBe(400);
  });
});

describe("manifest size", () => {
  const MiB = 1024 * 1024;
  /** A valid manifest padded with an annotation to exactly `size` bytes. */
  async function sized(size: number): Promise<string> {
    const base = await imageBody("m/size", 13, { annotations: { pad: "" } });
    return base.replace('"pad":""', `"pad":"${"x".repeat(size - enc(base).length)}"`);
  }

  it("accepts 4 MiB exactly", async () => {
    const body = await sized(4 * MiB);
    expect(enc(body).length).toBe(4 * MiB);
    const put = await pushManifest("m/size", "max", body);
    expect(put.status).toBe(201);
    expect((await (await request("/v2/m/size/manifests/max")).text()).length).toBe(4 * MiB);
  });

  it("answers 413 above 4 MiB, with or without Content-Length", async () => {
    const body = enc(await sized(4 * MiB + 1));
    const put = await pushManifest("m/size", "big", body);
    expect(put.status).toBe(413);
    expect(await errorCode(put)).toBe("SIZE_INVALID");
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let at = 0; at < body.length; at += 1 << 20) controller.enqueue(body.slice(at, at + (1 << 20)));
        controller.close();
      },
    });
    const chunked = await request("/v2/m/size/manifests/big", {
      method: "PUT",
      body: stream,
      headers: { "Content-Type": OCI_MANIFEST },
    });
    expect(chunked.status).toBe(413);
    expect((await request("/v2/m/size/manifests/big")).status).toBe(404);
  });
});

describe("multi-tag PUT", () => {
  it("tags every ?tag= and answers one OCI-Tag per tag", async () => {
    const body = await imageBody("m/multi", 14);
    const digest = sha256(body);
    const put = await request(`/v2/m/multi/manifests/${digest}?tag=a&tag=b&tag=c`, {
      method: "PUT",
      body,
      headers: { "Content-Type": OCI_MANIFEST },
    });
    expect(put.status).toBe(201);
    // Repeated headers read back joined by ", " (tags cannot contain either character).
    expect(put.headers.get("OCI-Tag")?.split(", ")).toEqual(["a", "b", "c"]);
    for (const tag of ["a", "b", "c"]) {
      expect((await request(`/v2/m/multi/manifests/${tag}`)).headers.get("Docker-Content-Digest")).toBe(digest);
    }
  });

  it("refuses an invalid ?tag= before storing anything", async () => {
    const body = await imageBody("m/multi-bad", 15);
    const put = await request(`/v2/m/multi-bad/manifests/${sha256(body)}?tag=ok&tag=-bad`, {
      method: "PUT",
      body,
      headers: { "Content-Type": OCI_MANIFEST },
    });
    expect(put.status).toBe(400);
    expect(await errorCode(put)).toBe("MANIFEST_INVALID");
    expect((await request("/v2/m/multi-bad/manifests/ok")).status).toBe(404);
  });
});

describe("manifest DELETE", () => {
  it("by digest removes the manifest and every tag on it", async () => {
    const image = await pushImage("m/del", "one", 16);
    expect(
      (
        await request(`/v2/m/del/manifests/${image.digest}?tag=two`, {
          method: "PUT",
          body: image.body,
          headers: { "Content-Type": OCI_MANIFEST },
        })
      ).status,
    ).toBe(201);
    const other = await pushImage("m/del", "keep", 17);
    const del = await request(`/v2/m/del/manifests/${image.digest}`, { method: "DELETE" });
    expect(del.status).toBe(202);
    for (const ref of [image.digest, "one", "two"]) {
      const get = await request(`/v2/m/del/manifests/${ref}`);
      expect(get.status, ref).toBe(404);
      expect(await errorCode(get)).toBe("MANIFEST_UNKNOWN");
    }
    const tags = (await (await request("/v2/m/del/tags/list")).json()) as { tags: string[] };
    expect(tags.tags).toEqual(["keep"]);
    expect((await request(`/v2/m/del/manifests/${other.digest}`)).status).toBe(200);
    // The blobs stay: a manifest delete does not delete content.
    expect((await request(`/v2/m/del/blobs/${image.layerDigest}`)).status).toBe(200);
    const again = await request(`/v2/m/del/manifests/${image.digest}`, { method: "DELETE" });
    expect(again.status).toBe(404);
    expect(await errorCode(again)).toBe("MANIFEST_UNKNOWN");
  });

  it("by tag removes only the tag", async () => {
    const image = await pushImage("m/del-tag", "gone", 18);
    expect((await request("/v2/m/del-tag/manifests/gone", { method: "DELETE" })).status).toBe(202);
    expect((await request("/v2/m/del-tag/manifests/gone")).status).toBe(404);
    expect((await request(`/v2/m/del-tag/manifests/${image.digest}`)).status).toBe(200);
    const again = await request("/v2/m/del-tag/manifests/gone", { method: "DELETE" });
    expect(again.status).toBe(404);
    expect(await errorCode(again)).toBe("MANIFEST_UNKNOWN");
  });

  it("answers 405 UNSUPPORTED when DELETES_ENABLED is false, and deletes nothing", async () => {
    const image = await pushImage("m/no-del", "t", 19);
    const noDeletes = { ...(env as unknown as Env), DELETES_ENABLED: "false" };
    const call = (path: string) =>
      app.fetch(
        new Request(BASE + path, { method: "DELETE", headers: { Authorization: AUTH } }),
        noDeletes,
        createExecutionContext(),
      );
    for (const path of [
      `/v2/m/no-del/manifests/${image.digest}`,
      "/v2/m/no-del/manifests/t",
      `/v2/m/no-del/blobs/${image.layerDigest}`,
    ]) {
      const del = await call(path);
      expect(del.status, path).toBe(405);
      expect(await errorCode(del)).toBe("UNSUPPORTED");
    }
    expect((await request("/v2/m/no-del/manifests/t")).status).toBe(200);
    expect((await request(`/v2/m/no-del/blobs/${image.layerDigest}`)).status).toBe(200);
  });
});
