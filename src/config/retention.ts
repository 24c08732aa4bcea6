// Retention rules (GC_RETENTION_JSON): per repository pattern, keep the last N tags whose
// name matches, and free untagged manifests once they are older than an age. Parsing only;
// the decisions are src/gc/retention.ts, and src/gc/repository-sweep.ts acts on them.
import { parseJsonList } from "./json-list";
import { isValidPattern } from "./repository-pattern";
import { configurationError } from "../errors";

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
  throw configurationError(`GC_RETENTION_JSON ${detail}`);
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

/** Every repository sweep walks the list, once per repository. */
const MAX_RULES = 100;

export function parseRetention(raw: string | undefined): RetentionRule[] {
  return parseJsonList("GC_RETENTION_JSON", raw, MAX_RULES).map(parseRule);
}
