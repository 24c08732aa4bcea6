// Seeded registry content for the browser tests: a two-platform image index with real-looking
// configs (entrypoint, env, labels, history), a signature and an SBOM referring to it, and
// small single-platform images, pushed over the API with Basic credentials.
import { OCI_INDEX, OCI_MANIFEST, seededBytes, sha256 } from "../shared-helpers";
import { pushBlob, type Pusher } from "./registry-server";

export const SIGNATURE_TYPE = "application/vnd.dev.cosign.artifact.sig.v1+json";
export const SBOM_TYPE = "application/spdx+json";

const json = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

async function call(p: Pusher, path: string, init: RequestInit): Promise<Response> {
  const response = await fetch(p.url + path, {
    ...init,
    headers: { Authorization: p.auth, ...(init.headers as Record<string, string>) },
  });
  if (response.status >= 300) throw new Error(`${init.method} ${path}: ${response.status} ${await response.text()}`);
  return response;
}

export async function pushManifest(p: Pusher, repo: string, reference: string, manifest: unknown, mediaType: string) {
  const bytes = json(manifest);
  await call(p, `/v2/${repo}/manifests/${reference}`, {
    method: "PUT",
    body: bytes,
    headers: { "Content-Type": mediaType },
  });
  return { mediaType, digest: sha256(bytes), size: bytes.length };
}

async function pushImage(p: Pusher, repo: string, arch: string, seed: number) {
  const layers = [];
  for (const size of [2048 + seed, 40_000 + seed])
    layers.push({
      mediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
      ...(await pushBlob(p, repo, seededBytes(size, seed * 7 + size))),
    });
  const config = {
    created: "2026-11-30T12:00:00Z",
    architecture: arch,
    os: "linux",
    config: {
      Entrypoint: ["/bin/server"],
      Cmd: ["--port", "8080"],
      Env: ["PATH=/usr/local/bin:/usr/bin:/bin", `ARCH=${arch}`],
      Labels: {
        "org.opencontainers.image.source": "https://example.test/app",
        "org.opencontainers.image.version": "1.2.3",
      },
      WorkingDir: "/srv",
    },
    rootfs: { type: "layers", diff_ids: layers.map((l) => l.digest) },
    history: [
      { created: "2026-11-30T11:59:00Z", created_by: "ADD rootfs.tar.gz / # buildkit" },
      { created: "2026-11-30T12:00:00Z", created_by: "COPY server /bin/server # buildkit" },
      { created: "2026-11-30T12:00:00Z", created_by: 'ENTRYPOINT ["/bin/server"]', empty_layer: true },
    ],
  };
  const configBlob = await pushBlob(p, repo, json(config));
  const manifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: "application/vnd.oci.image.config.v1+json", ...configBlob },
    layers,
  };
  return {
    ...(await pushManifest(p, repo, sha256(json(manifest)), manifest, OCI_MANIFEST)),
    platform: { architecture: arch, os: "linux" },
  };
}

async function pushReferrer(
  p: Pusher,
  repo: string,
  subject: { mediaType: string; digest: string; size: number },
  artifactType: string,
  seed: number,
) {
  const empty = await pushBlob(p, repo, new TextEncoder().encode("{}"));
  const payload = await pushBlob(p, repo, seededBytes(300, seed));
  const manifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    artifactType,
    config: { mediaType: "application/vnd.oci.empty.v1+json", ...empty },
    layers: [{ mediaType: artifactType, ...payload }],
    subject,
    annotations: { "org.opencontainers.image.created": "2026-11-30T12:05:00Z" },
  };
  return pushManifest(p, repo, sha256(json(manifest)), manifest, OCI_MANIFEST);
}

/** A multi-arch index tagged `tag`, with a signature and an SBOM referring to it. */
export async function pushMultiArch(p: Pusher, repo: string, tag: string) {
  const amd64 = await pushImage(p, repo, "amd64", 11);
  const arm64 = await pushImage(p, repo, "arm64", 12);
  const index = {
    schemaVersion: 2,
    mediaType: OCI_INDEX,
    manifests: [amd64, arm64].map(({ mediaType, digest, size, platform }) => ({ mediaType, digest, size, platform })),
    annotations: { "org.opencontainers.image.description": "A two-platform demo image" },
  };
  const pushed = await pushManifest(p, repo, tag, index, OCI_INDEX);
  const subject = { mediaType: OCI_INDEX, digest: pushed.digest, size: pushed.size };
  const signature = await pushReferrer(p, repo, subject, SIGNATURE_TYPE, 21);
  const sbom = await pushReferrer(p, repo, subject, SBOM_TYPE, 22);
  return { index: pushed, amd64, arm64, signature, sbom };
}

/** A single-platform image under each of `tags`. */
export async function pushSimple(p: Pusher, repo: string, tags: string[], seed: number) {
  const image = await pushImage(p, repo, "amd64", seed);
  const manifestBody = await (
    await call(p, `/v2/${repo}/manifests/${image.digest}`, { method: "GET", headers: { Accept: OCI_MANIFEST } })
  ).arrayBuffer();
  for (const tag of tags) {
    await call(p, `/v2/${repo}/manifests/${tag}`, {
      method: "PUT",
      body: manifestBody,
      headers: { "Content-Type": OCI_MANIFEST },
    });
  }
  return image;
}
