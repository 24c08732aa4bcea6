// What push and copy read from: an OCI layout, a docker archive, an engine, or a registry.
// Each gives the root descriptor (a manifest or an index) and byte ranges of its blobs, so
// an upload can resume from any offset without reading what went up already.
import type { Readable } from "node:stream";

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: Platform;
  annotations?: Record<string, string>;
}

export interface ImageSource {
  /** Human-readable origin, for progress and summaries. */
  readonly name: string;
  /** What the tag should point at: a manifest or an index, pushed byte for byte. */
  root(): Promise<Descriptor>;
  /** A whole manifest, index or config. */
  readBytes(desc: Descriptor): Promise<Buffer>;
  /** Bytes [start, end] (inclusive) of a blob. */
  openBlob(desc: Descriptor, start: number, end: number): Promise<Readable>;
  /** Whether the source holds the blob: image stores often hold one platform of an index. */
  has(desc: Descriptor): Promise<boolean>;
  close(): Promise<void>;
}

export const INDEX_TYPES = new Set([
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
]);
export const MANIFEST_TYPES = new Set([
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.v2+json",
]);
export const MANIFEST_ACCEPT = [...INDEX_TYPES, ...MANIFEST_TYPES].join(", ");

export interface ParsedManifest {
  mediaType: string;
  config?: Descriptor;
  layers?: Descriptor[];
  manifests?: Descriptor[];
  subject?: Descriptor;
}

/** Parses manifest bytes; the media type comes from the descriptor when the JSON has none
 *  (umoci omits it, and the image-spec allows that). */
export function parseManifest(bytes: Buffer, descriptorType: string): ParsedManifest {
  const json = JSON.parse(bytes.toString("utf8")) as ParsedManifest;
  return { ...json, mediaType: json.mediaType ?? descriptorType };
}

export function isIndex(mediaType: string): boolean {
  return INDEX_TYPES.has(mediaType);
}

export function formatPlatform(platform: Platform | undefined): string {
  if (!platform) return "unknown";
  return `${platform.os}/${platform.architecture}${platform.variant ? `/${platform.variant}` : ""}`;
}

/** "linux/arm64/v8" matches a descriptor with that os, architecture and (if given) variant. */
export function platformMatches(filter: string, platform: Platform | undefined): boolean {
  if (!platform) return false;
  const [os, architecture, variant] = filter.split("/");
  return platform.os === os && platform.architecture === architecture && (!variant || platform.variant === variant);
}
