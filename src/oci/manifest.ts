// Manifest validation (image-spec manifest.md, image-index.md; Docker schema 2).
// Pure: takes the pushed bytes and Content-Type, returns what the registry must check and
// store. Schema 1 is refused: it is deprecated, signed per-registry, and no current client
// needs it.
import { RegistryError } from "../errors";
import { tryParseDigest, type Digest } from "./digest";
import { findDuplicateKey, hasByteOrderMark, jsonShapeRefusal } from "./strict-json";

export const MEDIA_TYPES = {
  ociManifest: "application/vnd.oci.image.manifest.v1+json",
  ociIndex: "application/vnd.oci.image.index.v1+json",
  dockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
  dockerManifestList: "application/vnd.docker.distribution.manifest.list.v2+json",
} as const;

const SCHEMA1_TYPES = new Set([
  "application/vnd.docker.distribution.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.v1+prettyjws",
]);

const INDEX_TYPES = new Set<string>([MEDIA_TYPES.ociIndex, MEDIA_TYPES.dockerManifestList]);
const IMAGE_TYPES = new Set<string>([MEDIA_TYPES.ociManifest, MEDIA_TYPES.dockerManifest]);

/** Layers that clients never upload (Windows base layers): their blobs need not exist. */
const NON_DISTRIBUTABLE = /\.(foreign|nondistributable)\./;

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
}

export interface ParsedManifest {
  mediaType: string;
  kind: "image" | "index";
  /** Blobs that must exist in the repository (config and layers), each digest once. */
  blobs: Digest[];
  /** Child manifests that must exist in the repository (index entries), each digest once. */
  manifests: Digest[];
  subject: Digest | null;
  /** The artifactType a referrers list reports for this manifest. */
  artifactType: string | undefined;
  annotations: Record<string, string> | undefined;
  /** An index's entries' platforms, in order, for those that name one (events report them);
   *  empty for an image. */
  platforms: Platform[];
}

/** An index entry's `platform`, reduced to what identifies it. */
export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

/** The entry's platform when it names an os and an architecture as strings, else null: the
 *  field is optional and informational, so a malformed one is not a reason to refuse. */
function platformOf(entry: unknown): Platform | null {
  const p = (entry as { platform?: unknown }).platform;
  if (typeof p !== "object" || p === null) return null;
  const { os, architecture, variant } = p as Record<string, unknown>;
  if (typeof os !== "string" || typeof architecture !== "string") return null;
  return typeof variant === "string" ? { os, architecture, variant } : { os, architecture };
}

function invalid(detail: string): never {
  throw new RegistryError("MANIFEST_INVALID", detail);
}

function parseDescriptor(value: unknown, where: string): Descriptor & { parsedDigest: Digest } {
  if (typeof value !== "object" || value === null || Array.isArray(value))
    invalid(`${where}: descriptor must be an object`);
  const d = value as Record<string, unknown>;
  if (typeof d.mediaType !== "string" || d.mediaType === "") invalid(`${where}: mediaType must be a non-empty string`);
  if (typeof d.digest !== "string") invalid(`${where}: digest must be a string`);
  const parsedDigest = tryParseDigest(d.digest);
  if (!parsedDigest) invalid(`${where}: invalid digest ${d.digest.slice(0, 200)}`);
  if (typeof d.size !== "number" || !Number.isSafeInteger(d.size) || d.size < 0)
    invalid(`${where}: size must be a non-negative integer`);
  if (d.annotations !== undefined && !isStringMap(d.annotations))
    invalid(`${where}: annotations must map strings to strings`);
  return {
    mediaType: d.mediaType,
    digest: d.digest,
    size: d.size,
    artifactType: typeof d.artifactType === "string" ? d.artifactType : undefined,
    annotations: d.annotations as Record<string, string> | undefined,
    parsedDigest,
  };
}

/** Each digest once, in first-seen order: a manifest may name one blob many times, and each
 *  check of a digest costs storage operations (registry/manifests.ts). */
function uniqueDigests(digests: Digest[]): Digest[] {
  const seen = new Map<string, Digest>();
  for (const d of digests) {
    const key = `${d.algorithm}:${d.hex}`;
    if (!seen.has(key)) seen.set(key, d);
  }
  return [...seen.values()];
}

function isStringMap(value: unknown): boolean {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  return Object.values(value).every((v) => typeof v === "string");
}

/** Strips parameters ("; charset=utf-8") and case from a Content-Type. */
export function normalizeContentType(contentType: string | null | undefined): string | null {
  if (!contentType) return null;
  const base = contentType.split(";")[0]!.trim().toLowerCase();
  return base === "" ? null : base;
}

/** Decides the manifest's media type from Content-Type and the JSON's mediaType field. */
function resolveMediaType(contentType: string | null, json: Record<string, unknown>): string {
  const declared = json.mediaType;
  if (declared !== undefined && typeof declared !== "string") invalid("mediaType must be a string");
  if (
    json.schemaVersion === 1 ||
    (contentType && SCHEMA1_TYPES.has(contentType)) ||
    (declared && SCHEMA1_TYPES.has(declared))
  ) {
    invalid("Docker schema 1 manifests are not supported; push with a client that writes schema 2 or OCI manifests");
  }
  if (contentType && declared && contentType !== declared) {
    invalid(`mediaType ${declared} does not match Content-Type ${contentType}`);
  }
  const mediaType = contentType ?? declared;
  if (mediaType) return mediaType;
  // Neither says: fall back to the shape, as the image-spec permits for OCI content.
  if (Array.isArray(json.manifests)) return MEDIA_TYPES.ociIndex;
  if (json.config !== undefined) return MEDIA_TYPES.ociManifest;
  return invalid("cannot tell the manifest's media type: send a Content-Type");
}

/** Parses the bytes as JSON that every parser reads the same way (oci/strict-json.ts). */
function parseStrictJson(bytes: Uint8Array): unknown {
  if (hasByteOrderMark(bytes)) invalid("manifest starts with a byte order mark; send plain UTF-8 JSON");
  // Measured before JSON.parse, which would build the whole document first.
  const refusal = jsonShapeRefusal(bytes);
  if (refusal) invalid(`manifest refused: ${refusal}`);
  let text: string;
  let json: unknown;
  try {
    // ignoreBOM keeps any BOM as a character, which JSON.parse then refuses.
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
    json = JSON.parse(text);
  } catch {
    invalid("manifest is not valid UTF-8 JSON");
  }
  const duplicate = findDuplicateKey(text);
  if (duplicate !== null) invalid(`manifest repeats the key "${duplicate.slice(0, 100)}" in one object`);
  return json;
}

export function parseManifest(bytes: Uint8Array, contentType: string | null | undefined): ParsedManifest {
  const json = parseStrictJson(bytes);
  if (typeof json !== "object" || json === null || Array.isArray(json)) invalid("manifest must be a JSON object");
  const m = json as Record<string, unknown>;
  const mediaType = resolveMediaType(normalizeContentType(contentType), m);
  if (m.schemaVersion !== 2) invalid("schemaVersion must be 2");
  if (m.annotations !== undefined && !isStringMap(m.annotations)) invalid("annotations must map strings to strings");
  if (m.artifactType !== undefined && typeof m.artifactType !== "string") invalid("artifactType must be a string");
  const subject = m.subject === undefined ? null : parseDescriptor(m.subject, "subject").parsedDigest;
  const annotations = m.annotations as Record<string, string> | undefined;

  if (INDEX_TYPES.has(mediaType)) {
    if (!Array.isArray(m.manifests)) invalid("an index needs a manifests array");
    const manifests = uniqueDigests(m.manifests.map((d, i) => parseDescriptor(d, `manifests[${i}]`).parsedDigest));
    return {
      mediaType,
      kind: "index",
      blobs: [],
      manifests,
      subject,
      artifactType: m.artifactType as string | undefined,
      annotations,
      platforms: m.manifests.map(platformOf).filter((p): p is Platform => p !== null),
    };
  }
  if (IMAGE_TYPES.has(mediaType)) {
    const config = parseDescriptor(m.config, "config");
    if (!Array.isArray(m.layers)) invalid("an image manifest needs a layers array");
    const layers = m.layers.map((d, i) => parseDescriptor(d, `layers[${i}]`));
    const blobs = uniqueDigests(
      [config, ...layers.filter((l) => !NON_DISTRIBUTABLE.test(l.mediaType))].map((d) => d.parsedDigest),
    );
    const artifactType = (m.artifactType as string | undefined) ?? config.mediaType;
    return { mediaType, kind: "image", blobs, manifests: [], subject, artifactType, annotations, platforms: [] };
  }
  return invalid(`unsupported manifest media type: ${mediaType.slice(0, 200)}`);
}

/** The media types a manifest GET may answer with; the Accept header is informational
 *  because the registry serves the exact bytes it stored. */
export function isManifestMediaType(mediaType: string): boolean {
  return INDEX_TYPES.has(mediaType) || IMAGE_TYPES.has(mediaType);
}
