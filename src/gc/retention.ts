// Retention decisions (rules parsed by src/config/retention.ts): which rule a repository
// falls under, and which tags a rule lets go. Pure; src/gc/repository-sweep.ts acts on them.
import type { RetentionRule } from "../config/retention";
import { matchesPattern } from "../config/repository-pattern";

/** The first rule whose pattern matches the repository applies, as in a firewall table. */
export function ruleFor(rules: readonly RetentionRule[], repo: string): RetentionRule | null {
  return rules.find((r) => matchesPattern(r.repository, repo)) ?? null;
}

export interface TagEntry {
  tag: string;
  taggedAt: number;
}

/** Tags the rule lets go: those matching beyond the newest `keep`, except the immutable
 *  ones. Ties break by name so the choice is stable from one run to the next. */
export function tagsToExpire(
  rule: RetentionRule | null,
  tags: readonly TagEntry[],
  locked: (tag: string) => boolean = () => false,
): string[] {
  if (!rule || rule.keep === null || !rule.tags) return [];
  const pattern = rule.tags;
  const matching = tags.filter((t) => pattern.test(t.tag));
  matching.sort((a, b) => b.taggedAt - a.taggedAt || (a.tag < b.tag ? -1 : 1));
  // An immutable tag counts among the newest it is, but never goes: a repository may then
  // keep more than `keep` matching tags.
  return matching
    .slice(rule.keep)
    .map((t) => t.tag)
    .filter((tag) => !locked(tag));
}
