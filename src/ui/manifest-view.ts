// What the web UI shows of a manifest, an index and an image config, read from their JSON.
// Pure and total: anything malformed is shown as missing, never thrown, because a page must
// render whatever a client managed to push. Bounded: a view keeps at most ViewCaps of a
// document (rows, entries, characters) and counts the rest, so what a page renders does not
// grow with what a pusher repeats.
import { jsonShapeRefusal } from "../oci/strict-json";
import { platformName, type Platform } from "./format";

export interface DescriptorView {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  platform?: string;
}

export interface ManifestView {
  kind: "image" | "index" | "unknown";
  mediaType: string;
  artifactType?: string;
  config?: DescriptorView;
  /** The first layers, up to the caller's cap, and how many the manifest names. */
  layers: DescriptorView[];
  layerCount: number;
  /** The first index entries (platform images, attestations), and how many there are. */
  entries: DescriptorView[];
  entryCount: number;
  subject?: DescriptorView;
  annotations: [string, string][];
  annotationCount: number;
  /** Image: manifest, config and every layer; index: the index itself only. */
  totalSize: number;
}

/** How much of a document a view keeps: the rest is counted, not copied (ui/limits.ts). */
export interface ViewCaps {
  /** Layers, annotations, environment, labels and history rows kept. */
  rows: number;
  /** Index entries kept. */
  entries: number;
  /** Characters kept of any one string. */
  textChars: number;
}

export interface ConfigView {
  created?: string;
  platform: string;
  entrypoint?: string[];
  cmd?: string[];
  workingDir?: string;
  user?: string;
  env: string[];
  envCount: number;
  labels: [string, string][];
  labelCount: number;
  history: { created?: string; createdBy?: string; emptyLayer: boolean; comment?: string }[];
  historyCount: number;
}

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);

/** `text` cut to `max` characters, marked when cut. */
function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/** The first `caps.rows` strings of `v`, each clipped, and how many strings it holds. */
function strings(v: unknown, caps: ViewCaps): { shown: string[]; count: number } {
  if (!Array.isArray(v)) return { shown: [], count: 0 };
  const all = v.filter((s): s is string => typeof s === "string");
  return { shown: all.slice(0, caps.rows).map((s) => clip(s, caps.textChars)), count: all.length };
}

/** The string values of an object, at most `caps.rows` of them in key order, and how many. */
function stringPairs(v: unknown, caps: ViewCaps): { shown: [string, string][]; count: number } {
  if (!isObject(v)) return { shown: [], count: 0 };
  const keys = Object.keys(v).filter((k) => typeof v[k] === "string");
  // Sorting 500,000 keys of a hostile manifest costs more than the page; past the cap the
  // rows shown are the first in document order, sorted.
  const picked = keys.length > caps.rows ? keys.slice(0, caps.rows) : keys;
  const shown = picked
    .sort((a, b) => a.localeCompare(b))
    .map((k): [string, string] => [clip(k, caps.textChars), clip(v[k] as string, caps.textChars)]);
  return { shown, count: keys.length };
}

function descriptor(v: unknown, caps: ViewCaps): DescriptorView | null {
  if (!isObject(v) || typeof v.digest !== "string") return null;
  const artifactType = str(v.artifactType);
  return {
    mediaType: clip(str(v.mediaType) ?? "", caps.textChars),
    digest: v.digest,
    size: typeof v.size === "number" ? v.size : 0,
    artifactType: artifactType === undefined ? undefined : clip(artifactType, caps.textChars),
    platform: isObject(v.platform) ? clip(platformName(v.platform as Platform), caps.textChars) : undefined,
  };
}

/** The first `max` descriptors of `v`, and how many it holds. */
function descriptors(v: unknown, max: number, caps: ViewCaps): { shown: DescriptorView[]; count: number } {
  if (!Array.isArray(v)) return { shown: [], count: 0 };
  const shown: DescriptorView[] = [];
  let count = 0;
  for (const item of v) {
    if (!isObject(item) || typeof item.digest !== "string") continue;
    count++;
    if (shown.length < max) shown.push(descriptor(item, caps)!);
  }
  return { shown, count };
}

/** The document, or null when it is not JSON or too deep or large to parse within a page's
 *  memory (the push-time rule, oci/strict-json.ts): config blobs never went through it. */
export function parseJson(bytes: Uint8Array): unknown {
  if (jsonShapeRefusal(bytes)) return null;
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return null;
  }
}

/** Sum of the layers' sizes, without a view of each. */
function layerBytes(v: unknown): number {
  let sum = 0;
  if (Array.isArray(v)) for (const l of v) if (isObject(l) && typeof l.size === "number") sum += l.size;
  return sum;
}

export function describeManifest(bytes: Uint8Array, contentType: string, caps: ViewCaps): ManifestView {
  const json = parseJson(bytes);
  const m: Json = isObject(json) ? json : {};
  const mediaType = clip(str(m.mediaType) ?? contentType, caps.textChars);
  const entries = descriptors(m.manifests, caps.entries, caps);
  const config = descriptor(m.config, caps) ?? undefined;
  const layers = descriptors(m.layers, caps.rows, caps);
  const annotations = stringPairs(m.annotations, caps);
  const kind = Array.isArray(m.manifests) ? "index" : config ? "image" : "unknown";
  const totalSize = bytes.length + (config?.size ?? 0) + layerBytes(m.layers);
  const artifactType = str(m.artifactType);
  return {
    kind,
    mediaType,
    artifactType:
      artifactType !== undefined
        ? clip(artifactType, caps.textChars)
        : kind === "image" && config && !isImageConfig(config.mediaType)
          ? config.mediaType
          : undefined,
    config,
    layers: layers.shown,
    layerCount: layers.count,
    entries: entries.shown,
    entryCount: entries.count,
    subject: descriptor(m.subject, caps) ?? undefined,
    annotations: annotations.shown,
    annotationCount: annotations.count,
    totalSize,
  };
}

/** An image's own config (OCI or Docker), as opposed to an artifact's config: the empty
 *  descriptor of a signature or SBOM, or an artifact type. Only these have a Config section. */
export function isImageConfig(mediaType: string | undefined): boolean {
  return !!mediaType && (mediaType.includes("image.config") || mediaType.includes("container.image"));
}

export function describeConfig(bytes: Uint8Array, caps: ViewCaps): ConfigView | null {
  const json = parseJson(bytes);
  if (!isObject(json)) return null;
  const inner = isObject(json.config) ? json.config : {};
  const history = Array.isArray(json.history) ? json.history.filter(isObject) : [];
  const text = (v: unknown) => {
    const s = str(v);
    return s === undefined ? undefined : clip(s, caps.textChars);
  };
  const command = (v: unknown) => (Array.isArray(v) ? strings(v, caps).shown : undefined);
  const env = strings(inner.Env, caps);
  const labels = stringPairs(inner.Labels, caps);
  return {
    created: text(json.created),
    platform: clip(
      platformName({ os: str(json.os), architecture: str(json.architecture), variant: str(json.variant) }),
      caps.textChars,
    ),
    entrypoint: command(inner.Entrypoint),
    cmd: command(inner.Cmd),
    workingDir: text(inner.WorkingDir) || undefined,
    user: text(inner.User) || undefined,
    env: env.shown,
    envCount: env.count,
    labels: labels.shown,
    labelCount: labels.count,
    history: history.slice(0, caps.rows).map((h) => ({
      created: text(h.created),
      createdBy: text(h.created_by),
      emptyLayer: h.empty_layer === true,
      comment: text(h.comment),
    })),
    historyCount: history.length,
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
