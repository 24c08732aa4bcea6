// Test content for the conformance runner: seeded bytes, digests, descriptors and manifests
// of every kind the registry must accept, and helpers that push them.
import { createHash } from "node:crypto";
import { expectStatus, fail } from "./assert";
import type { RegistryClient } from "./client";
import { seededBytes } from "../test/shared-helpers";

export const MEDIA = {
  ociManifest: "application/vnd.oci.image.manifest.v1+json",
  ociIndex: "application/vnd.oci.image.index.v1+json",
  ociConfig: "application/vnd.oci.image.config.v1+json",
  ociLayer: "application/vnd.oci.image.layer.v1.tar+gzip",
  ociEmpty: "application/vnd.oci.empty.v1+json",
  dockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
  dockerList: "application/vnd.docker.distribution.manifest.list.v2+json",
  dockerConfig: "application/vnd.docker.container.image.v1+json",
  dockerLayer: "application/vnd.docker.image.rootfs.diff.tar.gzip",
  schema1: "application/vnd.docker.distribution.manifest.v1+prettyjws",
} as const;

// Deterministic bytes (xorshift32), so a failing run reproduces byte for byte: the same
// generator the unit and e2e tests use, re-exported for the runner's checks.
export { seededBytes };

export function digestOf(bytes: Uint8Array | string, algorithm: "sha256" | "sha512" = "sha256"): string {
  return `${algorithm}:${createHash(algorithm).update(bytes).digest("hex")}`;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
}

export function descriptor(mediaType: string, bytes: Uint8Array): Descriptor {
  return { mediaType, digest: digestOf(bytes), size: bytes.length };
}

export const encode = (value: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(value));

export interface ImageParts {
  config: Descriptor;
  layers: Descriptor[];
  mediaType?: string | null;
  subject?: Descriptor;
  artifactType?: string;
  annotations?: Record<string, string>;
}

/** An OCI (or, with mediaType, Docker schema 2) image manifest. mediaType null omits the
 *  field, as umoci does. */
export function imageManifest(parts: ImageParts): Uint8Array {
  const mediaType = parts.mediaType === undefined ? MEDIA.ociManifest : parts.mediaType;
  return encode({
    schemaVersion: 2,
    ...(mediaType === null ? {} : { mediaType }),
    ...(parts.artifactType ? { artifactType: parts.artifactType } : {}),
    config: parts.config,
    layers: parts.layers,
    ...(parts.subject ? { subject: parts.subject } : {}),
    ...(parts.annotations ? { annotations: parts.annotations } : {}),
  });
}

export function indexManifest(
  manifests: Descriptor[],
  mediaType: string = MEDIA.ociIndex,
  extra: Record<string, unknown> = {},
): Uint8Array {
  return encode({ schemaVersion: 2, mediaType, manifests, ...extra });
}

/** Pushes a blob (POST ?digest=, or POST then PUT when the registry answers 202). */
export async function pushBlob(
  client: RegistryClient,
  repo: string,
  bytes: Uint8Array,
  algorithm: "sha256" | "sha512" = "sha256",
): Promise<string> {
  const digest = digestOf(bytes, algorithm);
  const headers = { "Content-Type": "application/octet-stream" };
  const post = await client.request("POST", `/v2/${repo}/blobs/uploads/?digest=${digest}`, { headers, body: bytes });
  if (post.status === 201) return digest;
  expectStatus(post, 202);
  const location = new URL(post.headers.get("Location") ?? fail("POST 202 without Location"), client.base);
  location.searchParams.set("digest", digest);
  const put = await client.request("PUT", location.href, { headers, body: bytes });
  expectStatus(put, 201);
  return digest;
}

export async function pushManifest(
  client: RegistryClient,
  repo: string,
  reference: string,
  bytes: Uint8Array,
  contentType: string = MEDIA.ociManifest,
) {
  return client.request("PUT", `/v2/${repo}/manifests/${reference}`, {
    headers: { "Content-Type": contentType },
    body: bytes,
  });
}

export interface PushedImage {
  manifest: Uint8Array;
  digest: string;
  config: Uint8Array;
  layer: Uint8Array;
  descriptor: Descriptor;
}

/** Pushes config and layer blobs and an image manifest (tagged when `tag` is given). */
export async function pushImage(
  client: RegistryClient,
  repo: string,
  seed: number,
  tag?: string,
  extra: Partial<ImageParts> = {},
): Promise<PushedImage> {
  const config = encode({ architecture: "amd64", os: "linux", seed, rootfs: { type: "layers", diff_ids: [] } });
  const layer = seededBytes(1000 + seed, seed);
  await pushBlob(client, repo, config);
  await pushBlob(client, repo, layer);
  const manifest = imageManifest({
    config: descriptor(MEDIA.ociConfig, config),
    layers: [descriptor(MEDIA.ociLayer, layer)],
    ...extra,
  });
  const digest = digestOf(manifest);
  const reply = await pushManifest(
    client,
    repo,
    tag ?? digest,
    manifest,
    (extra.mediaType as string | undefined) ?? MEDIA.ociManifest,
  );
  expectStatus(reply, 201);
  return { manifest, digest, config, layer, descriptor: descriptor(MEDIA.ociManifest, manifest) };
}
