// The real-world OCI layout test/fixtures/regclient-testrepo (made by docker buildx and
// regctl: multi-platform indexes, artifacts with subject, referrers tag-schema indexes, a
// "loop" index whose subject is also its child) must be accepted exactly as it is, read back
// byte-identical, and its artifacts must show up in their subjects' referrers lists.
// test/setup/regclient-fixture.ts reads the files in Node and provide()s them here.
import { beforeAll, describe, expect, inject, it } from "vitest";
import { pushBlob, request, sha256 } from "./helpers";

const REPO = "fixtures/regclient-testrepo";
const REF_NAME = "org.opencontainers.image.ref.name";
const INDEX_TYPES = new Set([
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
]);
const MANIFEST_TYPES = new Set([
  ...INDEX_TYPES,
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.v2+json",
]);

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
}
interface ManifestJson {
  mediaType?: string;
  artifactType?: string;
  config?: Descriptor;
  layers?: Descriptor[];
  manifests?: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}
interface LayoutManifest {
  digest: string;
  mediaType: string;
  bytes: Uint8Array;
  json: ManifestJson;
}

const fixture = inject("regclientFixture");

function blobBytes(digest: string): Uint8Array {
  const b64 = fixture!.blobs[digest.replace(/^sha256:/, "")];
  if (b64 === undefined) throw new Error(`layout lacks blob ${digest}`);
  return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
}

/** Walks the layout from index.json: manifests in post-order (children before parents), the
 *  plain blobs they name, and the tags. Subjects are not walked: they may be missing. */
function walkLayout() {
  const index = JSON.parse(fixture!.index) as { manifests: Descriptor[] };
  const manifests = new Map<string, LayoutManifest>();
  const blobs = new Set<string>();
  const visit = (d: Descriptor) => {
    if (manifests.has(d.digest)) return;
    const bytes = blobBytes(d.digest);
    const json = JSON.parse(new TextDecoder().decode(bytes)) as ManifestJson;
    for (const child of json.manifests ?? []) if (MANIFEST_TYPES.has(child.mediaType)) visit(child);
    for (const blob of [json.config, ...(json.layers ?? [])]) if (blob) blobs.add(blob.digest);
    manifests.set(d.digest, { digest: d.digest, mediaType: json.mediaType ?? d.mediaType, bytes, json });
  };
  index.manifests.forEach(visit);
  const tags = new Map<string, string>();
  for (const d of index.manifests) if (d.annotations?.[REF_NAME]) tags.set(d.annotations[REF_NAME], d.digest);
  return { manifests: [...manifests.values()], blobs: [...blobs], tags };
}

describe.runIf(fixture !== null)("regclient-testrepo layout", () => {
  const layout = fixture ? walkLayout() : { manifests: [], blobs: [], tags: new Map<string, string>() };

  beforeAll(async () => {
    for (const digest of layout.blobs) expect(await pushBlob(REPO, blobBytes(digest))).toBe(digest);
    for (const m of layout.manifests) {
      const response = await request(`/v2/${REPO}/manifests/${m.digest}`, {
        method: "PUT",
        body: m.bytes,
        headers: { "Content-Type": m.mediaType },
      });
      expect(response.status, `${m.digest}: ${await response.clone().text()}`).toBe(201);
      expect(response.headers.get("Docker-Content-Digest")).toBe(m.digest);
      if (m.json.subject) expect(response.headers.get("OCI-Subject")).toBe(m.json.subject.digest);
    }
    for (const [tag, digest] of layout.tags) {
      const m = layout.manifests.find((x) => x.digest === digest)!;
      const response = await request(`/v2/${REPO}/manifests/${tag}`, {
        method: "PUT",
        body: m.bytes,
        headers: { "Content-Type": m.mediaType },
      });
      expect(response.status, `${tag}: ${await response.clone().text()}`).toBe(201);
    }
  }, 180_000);

  it("walks a layout of the expected shape", () => {
    // Guards the walk itself: an empty walk would make every check below pass vacuously.
    expect(layout.tags.size).toBeGreaterThanOrEqual(20);
    expect(layout.manifests.length).toBeGreaterThanOrEqual(40);
    expect(layout.manifests.filter((m) => m.json.subject).length).toBeGreaterThanOrEqual(8);
    expect(layout.manifests.filter((m) => INDEX_TYPES.has(m.mediaType)).length).toBeGreaterThanOrEqual(10);
  });

  it("serves every tag byte-identical with its media type and digest", async () => {
    for (const [tag, digest] of layout.tags) {
      const response = await request(`/v2/${REPO}/manifests/${tag}`);
      expect(response.status, tag).toBe(200);
      const m = layout.manifests.find((x) => x.digest === digest)!;
      expect(response.headers.get("Content-Type"), tag).toBe(m.mediaType);
      expect(response.headers.get("Docker-Content-Digest"), tag).toBe(digest);
      const body = new Uint8Array(await response.arrayBuffer());
      expect(body, tag).toEqual(m.bytes);
      expect(sha256(body)).toBe(digest);
    }
  });

  it("serves every manifest and blob by digest byte-identical", async () => {
    for (const m of layout.manifests) {
      const response = await request(`/v2/${REPO}/manifests/${m.digest}`);
      expect(response.status, m.digest).toBe(200);
      expect(new Uint8Array(await response.arrayBuffer()), m.digest).toEqual(m.bytes);
    }
    for (const digest of layout.blobs) {
      const response = await request(`/v2/${REPO}/blobs/${digest}`);
      expect(response.status, digest).toBe(200);
      expect(new Uint8Array(await response.arrayBuffer()), digest).toEqual(blobBytes(digest));
    }
  });

  it("lists exactly the layout's tags in lexical order", async () => {
    const response = await request(`/v2/${REPO}/tags/list`);
    const body = (await response.json()) as { tags: string[] };
    expect(body.tags).toEqual([...layout.tags.keys()].sort());
  });

  it("lists every artifact in its subject's referrers with the spec's descriptor", async () => {
    const bySubject = new Map<string, LayoutManifest[]>();
    for (const m of layout.manifests) {
      if (m.json.subject) bySubject.set(m.json.subject.digest, [...(bySubject.get(m.json.subject.digest) ?? []), m]);
    }
    for (const [subject, artifacts] of bySubject) {
      const response = await request(`/v2/${REPO}/referrers/${subject}`);
      expect(response.status).toBe(200);
      const index = (await response.json()) as { manifests: Descriptor[] };
      const expected = artifacts.map((a) => {
        // image-spec: artifactType, else the config's mediaType for an image manifest.
        const artifactType =
          a.json.artifactType ?? (INDEX_TYPES.has(a.mediaType) ? undefined : a.json.config?.mediaType);
        return {
          mediaType: a.mediaType,
          digest: a.digest,
          size: a.bytes.length,
          ...(artifactType ? { artifactType } : {}),
          ...(a.json.annotations ? { annotations: a.json.annotations } : {}),
        };
      });
      const byDigest = (x: Descriptor, y: Descriptor) => x.digest.localeCompare(y.digest);
      expect([...index.manifests].sort(byDigest), subject).toEqual(expected.sort(byDigest));
    }
  });
});

it("finds the fixture (test/fixtures/regclient-testrepo, or REGCLIENT_FIXTURE)", () => {
  // Fails loudly instead of skipping: CI must exercise the real-world layout.
  expect(fixture, "regclient-testrepo fixture not found").not.toBeNull();
});
