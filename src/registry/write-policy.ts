// Who may change a repository: the read-only mirror rule (pushes and deletes), the delete
// rule (rights, mirrors, DELETES_ENABLED) and immutable tags (IMMUTABLE_TAGS_JSON). The core
// enforces them for both front ends, and the web UI asks them before it offers a Delete link,
// so the API and the UI never disagree.
import type { Identity } from "./identity";
import type { Config } from "../config/config";
import { RegistryError } from "../errors";
import { lockingRule } from "../config/immutable-tags";
import { matchesPattern } from "../config/repository-pattern";
import { isReadOnlyMirror } from "../config/upstreams";
import { formatDigest, type Digest } from "../oci/digest";

/** Pushes and deletes would make a mirrored repository differ from its upstream: refused
 *  unless the upstream's entry sets "allow_push". The reason, or null when writes may go. */
export function mirrorWriteRefusal(config: Config, repo: string): string | null {
  return isReadOnlyMirror(config.proxy, repo) ? `${repo} is a read-only mirror of an upstream registry` : null;
}

export function refuseMirrorWrite(config: Config, repo: string): void {
  const refusal = mirrorWriteRefusal(config, repo);
  if (refusal) throw new RegistryError("DENIED", refusal);
}

/** Why a delete is refused: the caller lacks the right, the repository mirrors an upstream
 *  read-only, or this registry takes no deletes at all. */
export type DeleteRefusal = "rights" | "mirror" | "disabled";

export type DeleteDecision =
  | { allowed: true }
  | { allowed: false; why: DeleteRefusal; code: "DENIED" | "UNSUPPORTED"; reason: string };

/** Checked in the API's order: rights first (so a caller learns nothing of a repository it
 *  may not touch), then the mirror, then DELETES_ENABLED. */
export function deletePolicy(config: Config, identity: Pick<Identity, "allows">, repo: string): DeleteDecision {
  if (!identity.allows(repo, "delete"))
    return { allowed: false, why: "rights", code: "DENIED", reason: `You may not delete in ${repo}.` };
  const mirror = mirrorWriteRefusal(config, repo);
  if (mirror) return { allowed: false, why: "mirror", code: "DENIED", reason: mirror };
  if (!config.deletesEnabled)
    return { allowed: false, why: "disabled", code: "UNSUPPORTED", reason: "deletes are disabled on this registry" };
  return { allowed: true };
}

/** The policy as the API's error: DENIED or UNSUPPORTED with the reason. */
export function refuseDelete(config: Config, identity: Pick<Identity, "allows">, repo: string): void {
  const decision = deletePolicy(config, identity, repo);
  if (!decision.allowed) throw new RegistryError(decision.code, decision.reason);
}

/** The label of the rule that locks `tag` in `repo` (what the web UI shows beside it), or
 *  null when the tag may move. */
export function tagLockRule(config: Config, repo: string, tag: string): string | null {
  return lockingRule(config.immutableTags, repo, tag)?.label ?? null;
}

/** Whether any rule could lock a tag of `repo`: when none can, no tag needs checking. */
export function mayLockTags(config: Config, repo: string): boolean {
  return config.immutableTags.some((rule) => matchesPattern(rule.repository, repo));
}

/** Why `tag` may neither move nor go, naming the rule so that clients show it; null when it
 *  is not locked. */
export function tagLockReason(config: Config, repo: string, tag: string): string | null {
  const rule = tagLockRule(config, repo, tag);
  return rule ? `tag ${tag} of ${repo} is immutable (rule ${rule})` : null;
}

/** A push may create a locked tag, or point it again at the manifest it points at; moving it
 *  elsewhere is DENIED. `current` is what the tag points at now (null: absent). */
export function refuseTagMove(config: Config, repo: string, tag: string, current: Digest | null, next: Digest): void {
  if (current === null || formatDigest(current) === formatDigest(next)) return;
  const reason = tagLockReason(config, repo, tag);
  if (reason) throw new RegistryError("DENIED", `${reason}: it points at ${formatDigest(current)}`);
}

/** Deleting a locked tag, or the manifest a locked tag points at, is DENIED. */
export function refuseTagRemoval(config: Config, repo: string, tags: readonly string[]): void {
  for (const tag of tags) {
    const reason = tagLockReason(config, repo, tag);
    if (reason) throw new RegistryError("DENIED", reason);
  }
}
