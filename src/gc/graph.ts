// The manifest graph of one repository and what its tags reach. Pure.
// Edges: a tag reaches its manifest; an index reaches its children; a manifest reaches the
// referrers whose subject it is. A referrer whose subject is not in the repository is a root
// unless GC_ORPHAN_REFERRERS makes it garbage (the spec lets referrers arrive before their
// subject, so keeping them is the safe default).
import { formatDigest } from "../oci/digest";
import { parseManifest } from "../oci/manifest";
import type { ManifestNode, TagNode } from "./state";

/** Reads what a stored manifest refers to. One that no longer parses keeps everything its
 *  repository links (`opaque`), since the collector cannot tell what it needs. */
export function manifestNode(
  bytes: Uint8Array,
  contentType: string | undefined,
  at: number,
): ManifestNode & { opaque?: true } {
  try {
    const parsed = parseManifest(bytes, contentType ?? null);
    return {
      at,
      children: parsed.manifests.map(formatDigest),
      subject: parsed.subject ? formatDigest(parsed.subject) : null,
      blobs: parsed.blobs.map(formatDigest),
      size: bytes.length,
    };
  } catch {
    return { at, children: [], subject: null, blobs: [], size: bytes.length, opaque: true };
  }
}

export function isOrphanReferrer(manifests: Record<string, ManifestNode>, node: ManifestNode): boolean {
  return node.subject !== null && manifests[node.subject] === undefined;
}

export function reachableManifests(
  manifests: Record<string, ManifestNode>,
  tags: readonly TagNode[],
  orphanReferrersAreGarbage: boolean,
): Set<string> {
  const referrersOf = new Map<string, string[]>();
  const pending: string[] = tags.map((t) => t.digest);
  for (const [digest, node] of Object.entries(manifests)) {
    if ((node as { opaque?: true }).opaque) pending.push(digest);
    if (!node.subject) continue;
    if (isOrphanReferrer(manifests, node) && !orphanReferrersAreGarbage) pending.push(digest);
    referrersOf.set(node.subject, [...(referrersOf.get(node.subject) ?? []), digest]);
  }
  const seen = new Set<string>();
  while (pending.length > 0) {
    const digest = pending.pop()!;
    const node = manifests[digest];
    if (!node || seen.has(digest)) continue;
    seen.add(digest);
    pending.push(...node.children, ...(referrersOf.get(digest) ?? []));
  }
  return seen;
}

/** Every blob the given manifests name. */
export function markedBlobs(manifests: Record<string, ManifestNode>): Set<string> {
  const marks = new Set<string>();
  for (const node of Object.values(manifests)) for (const blob of node.blobs) marks.add(blob);
  return marks;
}

/** True when some manifest could not be read: then the repository's links are all kept. */
export function hasOpaque(manifests: Record<string, ManifestNode>): boolean {
  return Object.values(manifests).some((n) => (n as { opaque?: true }).opaque);
}
