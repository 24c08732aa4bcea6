// What the web UI shows of a manifest, an index and an image config, read from their JSON.
// Pure and total: anything malformed is shown as missing, never thrown, because a page must
// render whatever a client managed to push.
import { platformName, type Platform } from "./format";

export interface DescriptorView {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  platform?: string;
  annotations: [string, string][];
}

export interface ManifestView {
  kind: "image" | "index" | "unknown";
  mediaType: string;
  artifactType?: string;
  config?: DescriptorView;
  layers: DescriptorView[];
  /** Index entries (platform images, attestations). */
  children: DescriptorView[];
  subject?: DescriptorView;
  annotations: [string, string][];
  /** Image: manifest, config and layers; index: the index itself only. */
  totalSize: number;
}

export interface ConfigView {
  created?: string;
  platform: string;
  entrypoint?: string[];
  cmd?: string[];
  workingDir?: string;
  user?: string;
  env: string[];
  labels: [string, string][];
  history: { created?: string; createdBy?: string; emptyLayer: boolean; comment?: string }[];
}

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);
const strings = (v: unknown): string[] | undefined =>
  Array.isArray(v) ? v.filter((s): s is string => typeof s === "string") : undefined;

function stringPairs(v: unknown): [string, string][] {
  if (!isObject(v)) return [];
  return Object.entries(v)
    .filter((e): e is [string, string] => typeof e[1] === "string")
    .sort(([a], [b]) => a.localeCompare(b));
}

function descriptor(v: unknown): DescriptorView | null {
  if (!isObject(v) || typeof v.digest !== "string") return null;
  return {
    mediaType: str(v.mediaType) ?? "",
    digest: v.digest,
    size: typeof v.size === "number" ? v.size : 0,
    artifactType: str(v.artifactType),
    platform: isObject(v.platform) ? platformName(v.platform as Platform) : undefined,
    annotations: stringPairs(v.annotations),
  };
}

function descriptors(v: unknown): DescriptorView[] {
  return Array.isArray(v) ? v.map(descriptor).filter((d): d is DescriptorView => d !== null) : [];
}

export function parseJson(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return null;
  }
}

export function describeManifest(bytes: Uint8Array, contentType: string): ManifestView {
  const json = parseJson(bytes);
  const m: Json = isObject(json) ? json : {};
  const mediaType = str(m.mediaType) ?? contentType;
  const children = descriptors(m.manifests);
  const config = descriptor(m.config) ?? undefined;
  const layers = descriptors(m.layers);
  const kind = Array.isArray(m.manifests) ? "index" : config ? "image" : "unknown";
  const totalSize = bytes.length + (config?.size ?? 0) + layers.reduce((sum, l) => sum + l.size, 0);
  return {
    kind,
    mediaType,
    artifactType:
      str(m.artifactType) ??
      (kind === "image" && config && !isImageConfig(config.mediaType) ? config.mediaType : undefined),
    config,
    layers,
    children,
    subject: descriptor(m.subject) ?? undefined,
    annotations: stringPairs(m.annotations),
    totalSize,
  };
}

/** An image's own config (OCI or Docker), as opposed to an artifact's config: the empty
 *  descriptor of a signature or SBOM, or an artifact type. Only these have a Config section. */
export function isImageConfig(mediaType: string | undefined): boolean {
  return !!mediaType && (mediaType.includes("image.config") || mediaType.includes("container.image"));
}

export function describeConfig(bytes: Uint8Array): ConfigView | null {
  const json = parseJson(bytes);
  if (!isObject(json)) return null;
  const inner = isObject(json.config) ? json.config : {};
  const history = Array.isArray(json.history) ? json.history.filter(isObject) : [];
  return {
    created: str(json.created),
    platform: platformName({ os: str(json.os), architecture: str(json.architecture), variant: str(json.variant) }),
    entrypoint: strings(inner.Entrypoint),
    cmd: strings(inner.Cmd),
    workingDir: str(inner.WorkingDir) || undefined,
    user: str(inner.User) || undefined,
    env: strings(inner.Env) ?? [],
    labels: stringPairs(inner.Labels),
    history: history.map((h) => ({
      created: str(h.created),
      createdBy: str(h.created_by),
      emptyLayer: h.empty_layer === true,
      comment: str(h.comment),
    })),
  };
}

/** Referrers grouped by artifactType, groups in name order. */
export function groupByArtifactType<T extends { artifactType?: string }>(items: T[]): [string, T[]][] {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const key = item.artifactType ?? "(no artifact type)";
    groups.set(key, [...(groups.get(key) ?? []), item]);
  }
  return [...groups].sort(([a], [b]) => a.localeCompare(b));
}

/** A friendly name for well-known artifact types. */
export function artifactLabel(artifactType: string): string {
  if (/cosign|sigstore|signature|notary/i.test(artifactType)) return "Signatures";
  if (/spdx|cyclonedx|sbom|syft/i.test(artifactType)) return "SBOMs";
  if (/in-toto|attestation|provenance|slsa/i.test(artifactType)) return "Attestations";
  return "Artifacts";
}
