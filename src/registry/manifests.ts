// The registry's manifest rules: validation against the repository's content, tags,
// referrers, and deletes. Routes call these; storage/manifests.ts does the R2 work.
import { RegistryError } from "../errors";
import { digestBytes, formatDigest, type Digest } from "../oci/digest";
import { parseManifest, type Descriptor, type ParsedManifest } from "../oci/manifest";
import type { Reference } from "../oci/reference";
import { pullThroughManifest } from "../proxy/manifests";
import type { Identity } from "./identity";
import { refuseDelete, refuseMirrorWrite } from "./write-policy";
import type { Deps } from "../storage/deps";
import { keepManifest, missingAfterWrite } from "../storage/manifest-guard";
import { getBlobLink } from "../storage/blobs";
import {
  addToCatalog,
  deleteManifestObject,
  deleteReferrer,
  deleteTag,
  deleteTags,
  getManifest,
  getTag,
  listTagTargets,
  putManifest,
  putReferrer,
  getTagTarget,
  putTag,
  type StoredManifest,
} from "../storage/manifests";
import { cachedManifest, ENTRY_BYTES, rememberManifest } from "./manifest-cache";
import type { Storage } from "../storage/storage";

/**
 * A manifest by tag or digest. By tag, the tag is read every time; its bytes may then come
 * from the isolate's cache (registry/manifest-cache.ts): one storage call when warm.
 */
export async function fetchManifest(
  deps: Pick<Deps, "store">,
  repo: string,
  reference: Reference,
  withBody: boolean,
): Promise<StoredManifest> {
  const { store } = deps;
  let digest: Digest;
  if (reference.kind === "tag") {
    const target = await getTagTarget(store, repo, reference.tag);
    if (!target) throw new RegistryError("MANIFEST_UNKNOWN", `manifest unknown: ${repo}:${reference.tag}`);
    digest = target.digest;
    const cached = target.manifest ? cachedManifest(repo, formatDigest(digest), target.manifest.mediaType) : null;
    if (cached)
      return {
        digest,
        contentType: target.manifest!.mediaType,
        size: cached.length,
        body: withBody ? new Response(cached).body : null,
        uploadedAt: 0,
      };
  } else {
    digest = reference.digest;
  }
  const manifest = await getManifest(store, repo, digest, withBody);
  if (!manifest) throw new RegistryError("MANIFEST_UNKNOWN", `manifest unknown: ${repo}@${formatDigest(digest)}`);
  if (!manifest.body || manifest.size > ENTRY_BYTES) return manifest;
  const bytes = new Uint8Array(await new Response(manifest.body).arrayBuffer());
  rememberManifest(repo, formatDigest(digest), manifest.contentType, bytes);
  return { ...manifest, body: new Response(bytes).body };
}

/** Every blob and child manifest the manifest names must already be in the repository. */
async function checkReferences(store: Storage, repo: string, parsed: ParsedManifest): Promise<void> {
  const missing: string[] = [];
  await Promise.all([
    ...parsed.blobs.map(async (d) => {
      if (!(await getBlobLink(store, repo, d))) missing.push(formatDigest(d));
    }),
    ...parsed.manifests.map(async (d) => {
      if (!(await getManifest(store, repo, d, false))) missing.push(formatDigest(d));
    }),
  ]);
  if (missing.length > 0) {
    throw new RegistryError("MANIFEST_BLOB_UNKNOWN", { missing: missing.slice(0, 20) });
  }
}

/**
 * A manifest PUT's storage work grows with what it names and how it is tagged, and Workers
 * allow 1,000 subrequests per request on the Free plan. Each distinct digest costs up to 3
 * operations (the check before the write, then the link and the record re-read after it:
 * manifest-guard.ts), each tag up to 4 (its old target, the conditional put's head and put,
 * and the put back if the push fails), and the rest about a dozen:
 * 256 × 3 + 20 × 4 + 12 = 860. docker builds stop at 127 layers; 256 leaves room for a
 * config, an index of many platforms, and retries against the collector.
 */
export const MAX_MANIFEST_REFERENCES = 256;
export const MAX_TAGS_PER_PUT = 20;

/** A manifest with a subject has its annotations copied into every referrers response that
 *  lists it; this caps them (as JSON, in bytes), so one page stays small (routes/referrers.ts). */
export const MAX_REFERRER_ANNOTATION_BYTES = 16 * 1024;

/** Refuses, before any storage work, a manifest or tag set whose checks could not fit. */
function checkPutBounds(parsed: ParsedManifest, tags: string[]): void {
  if (parsed.subject && parsed.annotations) {
    const size = new TextEncoder().encode(JSON.stringify(parsed.annotations)).length;
    if (size > MAX_REFERRER_ANNOTATION_BYTES) {
      throw new RegistryError(
        "MANIFEST_INVALID",
        `the annotations of a manifest with a subject take ${size} bytes; this registry keeps at most ${MAX_REFERRER_ANNOTATION_BYTES} for the referrers list`,
      );
    }
  }
  const references = parsed.blobs.length + parsed.manifests.length;
  if (references > MAX_MANIFEST_REFERENCES) {
    throw new RegistryError(
      "MANIFEST_INVALID",
      `the manifest names ${references} distinct blobs and manifests; this registry accepts at most ${MAX_MANIFEST_REFERENCES}`,
    );
  }
  if (tags.length > MAX_TAGS_PER_PUT) {
    throw new RegistryError(
      "TAG_INVALID",
      `${tags.length} tags in one PUT; this registry accepts at most ${MAX_TAGS_PER_PUT} (push again for more)`,
    );
  }
}

export interface PutManifestInput {
  repo: string;
  reference: Reference;
  extraTags: string[];
  bytes: Uint8Array;
  contentType: string | null;
}

export interface PutManifestResult {
  digest: Digest;
  tags: string[];
  subject: Digest | null;
}

/** PUT of a manifest (end-7): refused for a read-only mirror, then validated, stored, tagged. */
export async function storeManifest(deps: Deps, input: PutManifestInput): Promise<PutManifestResult> {
  refuseMirrorWrite(deps.config, input.repo);
  const { store } = deps;
  const parsed = parseManifest(input.bytes, input.contentType);
  const algorithm = input.reference.kind === "digest" ? input.reference.digest.algorithm : "sha256";
  const digest = await digestBytes(algorithm, input.bytes);
  if (input.reference.kind === "digest" && input.reference.digest.hex !== digest.hex) {
    throw new RegistryError(
      "DIGEST_INVALID",
      `manifest digest is ${formatDigest(digest)}, not ${formatDigest(input.reference.digest)}`,
    );
  }
  const tags = [...new Set([...(input.reference.kind === "tag" ? [input.reference.tag] : []), ...input.extraTags])];
  checkPutBounds(parsed, tags);
  await checkReferences(store, input.repo, parsed);
  // What this push may overwrite, so a failure can put it back (see undoManifestPut).
  const before: PriorState = {
    manifestExisted: (await getManifest(store, input.repo, digest, false)) !== null,
    tags: await Promise.all(tags.map(async (tag) => ({ tag, digest: await getTag(store, input.repo, tag) }))),
  };
  // Write, then re-read what it names: the garbage collector may be deleting it right now.
  const write = async () => {
    await putManifest(store, input.repo, digest, input.bytes, parsed.mediaType);
    return missingAfterWrite(store, input.repo, parsed);
  };
  let missing = await write();
  try {
    if (missing.length === 0) {
      if (parsed.subject)
        await putReferrer(store, input.repo, parsed.subject, referrerDescriptor(parsed, digest, input.bytes.length));
      await putTags(store, input.repo, tags, digest, { mediaType: parsed.mediaType, size: input.bytes.length });
      await addToCatalog(store, input.repo);
      missing = await keepManifest(store, input.repo, digest, write);
    }
  } catch (error) {
    await undoManifestPut(store, input.repo, digest, parsed.subject, before).catch(() => {});
    throw error;
  }
  if (missing.length > 0) {
    await undoManifestPut(store, input.repo, digest, parsed.subject, before).catch(() => {});
    throw new RegistryError("MANIFEST_BLOB_UNKNOWN", {
      missing: missing.slice(0, 20),
      reason: "garbage-collected during the push",
    });
  }
  return { digest, tags, subject: parsed.subject };
}

/** Writes every tag and lets every write settle before reporting a failure, so the undo
 *  never races a write still in flight. */
async function putTags(
  store: Storage,
  repo: string,
  tags: string[],
  digest: Digest,
  manifest: { mediaType: string; size: number },
): Promise<void> {
  const results = await Promise.allSettled(tags.map((tag) => putTag(store, repo, tag, digest, null, manifest)));
  const failure = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failure) throw failure.reason;
}

interface PriorState {
  manifestExisted: boolean;
  tags: { tag: string; digest: Digest | null }[];
}

/** Leaves nothing half-written that a later read could see, and takes nothing away that was
 *  there before: tags go back to their old targets, and a manifest (with its referrer entry)
 *  that already existed stays, because other tags and indexes may point to it. */
async function undoManifestPut(
  store: Storage,
  repo: string,
  digest: Digest,
  subject: Digest | null,
  before: PriorState,
): Promise<void> {
  await Promise.all(
    before.tags.map((t) => (t.digest ? putTag(store, repo, t.tag, t.digest) : deleteTag(store, repo, t.tag))),
  );
  if (before.manifestExisted) return;
  if (subject) await deleteReferrer(store, repo, subject, digest);
  await deleteManifestObject(store, repo, digest);
}

function referrerDescriptor(parsed: ParsedManifest, digest: Digest, size: number): Descriptor {
  const descriptor: Descriptor = { mediaType: parsed.mediaType, digest: formatDigest(digest), size };
  if (parsed.artifactType !== undefined) descriptor.artifactType = parsed.artifactType;
  if (parsed.annotations !== undefined) descriptor.annotations = parsed.annotations;
  return descriptor;
}

/** DELETE of /v2/<name>/manifests/<reference> (end-9), for the API and the web UI: the delete
 *  policy first (registry/write-policy.ts), then by digest or by tag. */
export async function deleteManifest(
  deps: Deps,
  identity: Pick<Identity, "allows">,
  repo: string,
  reference: Reference,
): Promise<void> {
  refuseDelete(deps.config, identity, repo);
  if (reference.kind === "digest") await deleteManifestByDigest(deps.store, repo, reference.digest);
  else await deleteTagOnly(deps.store, repo, reference.tag);
}

/** By digest: the manifest, every tag pointing at it, and its referrer entry. */
async function deleteManifestByDigest(store: Storage, repo: string, digest: Digest): Promise<void> {
  const stored = await getManifest(store, repo, digest, true);
  if (!stored) throw new RegistryError("MANIFEST_UNKNOWN", `manifest unknown: ${repo}@${formatDigest(digest)}`);
  const bytes = new Uint8Array(await new Response(stored.body).arrayBuffer());
  const target = formatDigest(digest);
  const tags = (await listTagTargets(store, repo)).filter((t) => t.digest === target);
  // One call per 1,000 tags, not two per tag: a manifest may carry thousands.
  await deleteTags(
    store,
    repo,
    tags.map((t) => t.tag),
  );
  let subject: Digest | null = null;
  try {
    subject = parseManifest(bytes, stored.contentType).subject;
  } catch {
    subject = null;
  }
  if (subject) await deleteReferrer(store, repo, subject, digest);
  await deleteManifestObject(store, repo, digest);
}

/** By tag: the tag only; the manifest stays, reachable by digest. */
async function deleteTagOnly(store: Storage, repo: string, tag: string): Promise<void> {
  if (!(await deleteTag(store, repo, tag))) throw new RegistryError("MANIFEST_UNKNOWN", `tag unknown: ${repo}:${tag}`);
}

/** A manifest as served: stored here, or from an upstream (then perhaps with a Warning). */
export interface ServedManifest extends StoredManifest {
  /** Set when a mirror serves a stale copy because its upstream could not revalidate it. */
  warning?: string;
}

export async function findManifest(
  deps: Deps,
  repo: string,
  reference: Reference,
  withBody: boolean,
): Promise<ServedManifest> {
  return (
    (await pullThroughManifest(deps, repo, reference, withBody)) ??
    (await fetchManifest(deps, repo, reference, withBody))
  );
}
