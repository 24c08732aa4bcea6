// Walks an image from its root descriptor: every manifest (children before the index that
// names them) and every blob they reference, deduplicated. A --platform filter keeps the
// matching children of an index; one match is pushed as that manifest itself, several as a
// new index that lists only them.
import { createHash } from "node:crypto";
import { CliError } from "./errors.js";
import {
  formatPlatform,
  isIndex,
  parseManifest,
  platformMatches,
  type Descriptor,
  type ImageSource,
} from "./image-source.js";

export interface ManifestItem {
  desc: Descriptor;
  bytes: Buffer;
}

export interface ImagePlan {
  /** Config and layer blobs, each once. */
  blobs: Descriptor[];
  /** Manifests to PUT by digest, children first. */
  manifests: ManifestItem[];
  /** What the tag points at. */
  target: ManifestItem;
  /** True when the filter forced a new index, whose digest differs from the source's. */
  rewritten: boolean;
}

async function loadItem(source: ImageSource, desc: Descriptor): Promise<ManifestItem> {
  return { desc, bytes: await source.readBytes(desc) };
}

async function selectChildren(source: ImageSource, children: Descriptor[], platforms: string[]): Promise<Descriptor[]> {
  const chosen =
    platforms.length === 0 ? children : children.filter((c) => platforms.some((p) => platformMatches(p, c.platform)));
  if (chosen.length === 0) {
    throw new CliError(
      `no manifest in the index matches --platform ${platforms.join(",")}`,
      `platforms there: ${children.map((c) => formatPlatform(c.platform)).join(", ")}`,
    );
  }
  for (const child of chosen) {
    if (!(await source.has(child))) {
      throw new CliError(
        `${source.name} lacks the manifest for ${formatPlatform(child.platform)} (${child.digest})`,
        "engines often keep one platform of an index: push it alone with --platform os/arch",
      );
    }
  }
  return chosen;
}

/** Adds a manifest (and, for an index, all its children) to the plan. */
async function walk(
  source: ImageSource,
  item: ManifestItem,
  plan: Omit<ImagePlan, "target" | "rewritten">,
  seen: Set<string>,
): Promise<void> {
  const parsed = parseManifest(item.bytes, item.desc.mediaType);
  if (isIndex(parsed.mediaType)) {
    for (const child of parsed.manifests ?? []) {
      if (!(await source.has(child)))
        throw new CliError(
          `${source.name} lacks ${child.digest} (${formatPlatform(child.platform)})`,
          "push one platform with --platform os/arch",
        );
      await walk(source, await loadItem(source, child), plan, seen);
    }
  } else {
    for (const blob of [parsed.config, ...(parsed.layers ?? [])]) {
      if (blob && !seen.has(blob.digest)) {
        seen.add(blob.digest);
        plan.blobs.push(blob);
      }
    }
  }
  if (!plan.manifests.some((m) => m.desc.digest === item.desc.digest)) plan.manifests.push(item);
}

function filteredIndex(original: ManifestItem, children: Descriptor[]): ManifestItem {
  const json = JSON.parse(original.bytes.toString("utf8")) as Record<string, unknown>;
  const bytes = Buffer.from(JSON.stringify({ ...json, manifests: children }));
  const digest = `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
  return { desc: { ...original.desc, digest, size: bytes.length }, bytes };
}

export async function planImage(source: ImageSource, platforms: string[]): Promise<ImagePlan> {
  const root = await loadItem(source, await source.root());
  const parsed = parseManifest(root.bytes, root.desc.mediaType);
  root.desc = { ...root.desc, mediaType: parsed.mediaType };
  const plan = { blobs: [] as Descriptor[], manifests: [] as ManifestItem[] };
  const seen = new Set<string>();
  if (!isIndex(parsed.mediaType) || platforms.length === 0) {
    if (isIndex(parsed.mediaType)) await selectChildren(source, parsed.manifests ?? [], []);
    await walk(source, root, plan, seen);
    return { ...plan, target: root, rewritten: false };
  }
  const chosen = await selectChildren(source, parsed.manifests ?? [], platforms);
  for (const child of chosen) await walk(source, await loadItem(source, child), plan, seen);
  if (chosen.length === 1)
    return { ...plan, target: plan.manifests.find((m) => m.desc.digest === chosen[0]!.digest)!, rewritten: false };
  const index = filteredIndex(root, chosen);
  plan.manifests.push(index);
  return { ...plan, target: index, rewritten: true };
}
