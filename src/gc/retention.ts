// Retention rules (GC_RETENTION_JSON): per repository pattern, keep the last N tags whose
// name matches, and free untagged manifests once they are older than an age. Pure: parsing
// and the decisions; src/gc/repository-sweep.ts acts on them.
import { isValidPattern, matchesPattern } from "../auth/repository-pattern";
import { RegistryError } from "../errors";

export interface RetentionRule {
  /** Repository pattern, as in the users configuration: `*` is any run of characters. */
  repository: string;
  /** Tags this rule counts (a regular expression matched against the whole tag). */
  tags: RegExp | null;
  /** Keep this many of the matching tags, newest first by when they were pushed. */
  keep: number | null;
  /** Untagged manifests older than this are freed even when GC_UNTAGGED is off. */
  untaggedAfterSeconds: number | null;
}

function fail(detail: string): never {
  throw new RegistryError("UNKNOWN", `configuration: GC_RETENTION_JSON ${detail}`);
}

function optionalCount(value: unknown, where: string): number | null {
  if (value === undefined) return null;
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0)
    fail(`${where} must be a non-negative integer`);
  return value;
}

function parseRule(value: unknown, i: number): RetentionRule {
  if (typeof value !== "object" || value === null || Array.isArray(value)) fail(`[${i}] must be an object`);
  const raw = value as Record<string, unknown>;
  if (typeof raw.repository !== "string" || !isValidPattern(raw.repository))
    fail(`[${i}].repository must be a repository pattern`);
  if (raw.tags !== undefined && typeof raw.tags !== "string") fail(`[${i}].tags must be a regular expression`);
  let tags: RegExp | null = null;
  try {
    tags = typeof raw.tags === "string" ? new RegExp(`^(?:${raw.tags})$`) : null;
  } catch {
    fail(`[${i}].tags is not a valid regular expression`);
  }
  const keep = optionalCount(raw.keep, `[${i}].keep`);
  const untaggedAfterSeconds = optionalCount(raw.untaggedAfterSeconds, `[${i}].untaggedAfterSeconds`);
  if (keep === null && untaggedAfterSeconds === null) fail(`[${i}] needs keep or untaggedAfterSeconds`);
  return { repository: raw.repository, tags: tags ?? (keep !== null ? /^/ : null), keep, untaggedAfterSeconds };
}

export function parseRetention(raw: string | undefined): RetentionRule[] {
  if (raw === undefined || raw.trim() === "") return [];
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    fail("is not valid JSON");
  }
  if (!Array.isArray(json)) fail("must be a JSON array of rules");
  return json.map(parseRule);
}

/** The first rule whose pattern matches the repository applies, as in a firewall table. */
export function ruleFor(rules: readonly RetentionRule[], repo: string): RetentionRule | null {
  return rules.find((r) => matchesPattern(r.repository, repo)) ?? null;
}

export interface TagEntry {
  tag: string;
  taggedAt: number;
}

/** Tags the rule lets go: those matching beyond the newest `keep`. Ties break by name so
 *  the choice is stable from one run to the next. */
export function tagsToExpire(rule: RetentionRule | null, tags: readonly TagEntry[]): string[] {
  if (!rule || rule.keep === null || !rule.tags) return [];
  const pattern = rule.tags;
  const matching = tags.filter((t) => pattern.test(t.tag));
  matching.sort((a, b) => b.taggedAt - a.taggedAt || (a.tag < b.tag ? -1 : 1));
  return matching.slice(rule.keep).map((t) => t.tag);
}
