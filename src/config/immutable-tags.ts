// Immutable tags (IMMUTABLE_TAGS_JSON): tags that, once they point at a manifest, never move
// and are never deleted: not by a push, a DELETE, the web UI, retention or the collector.
// A JSON list of rules, each
//   { "repository": "<pattern>", "tags": "<regular expression>", "except": "<regular expression>", "name": "<label>" }
// where `repository` is a pattern as in the users configuration (`*` is any run of
// characters), `tags` and `except` match the whole tag, and `except` and `name` are optional.
// A tag is locked when any rule's repository and tags match it and that rule's except does
// not. Parsing and the pure test only; src/registry/write-policy.ts applies them.
import { configurationError } from "../errors";
import { parseJsonList } from "./json-list";
import { isValidPattern, matchesPattern } from "./repository-pattern";

export interface ImmutableTagRule {
  /** What refusals call the rule: its `name`, else its place in the list. */
  label: string;
  repository: string;
  tags: RegExp;
  except: RegExp | null;
}

/** A rule list this long is a mistake, and every push and delete walks it. */
const MAX_RULES = 100;
const MAX_LABEL_LENGTH = 100;

function fail(detail: string): never {
  throw configurationError(`IMMUTABLE_TAGS_JSON ${detail}`);
}

function wholeMatch(value: unknown, where: string): RegExp {
  if (typeof value !== "string" || value === "") fail(`${where} must be a regular expression`);
  try {
    return new RegExp(`^(?:${value})$`);
  } catch {
    fail(`${where} is not a valid regular expression`);
  }
}

function parseRule(value: unknown, i: number): ImmutableTagRule {
  if (typeof value !== "object" || value === null || Array.isArray(value)) fail(`[${i}] must be an object`);
  const raw = value as Record<string, unknown>;
  for (const key of Object.keys(raw))
    if (!["repository", "tags", "except", "name"].includes(key))
      fail(`[${i}] has an unknown field "${key.slice(0, 40)}"`);
  if (typeof raw.repository !== "string" || !isValidPattern(raw.repository))
    fail(`[${i}].repository must be a repository pattern`);
  if (raw.name !== undefined && (typeof raw.name !== "string" || raw.name === "" || raw.name.length > MAX_LABEL_LENGTH))
    fail(`[${i}].name must be a non-empty string of at most ${MAX_LABEL_LENGTH} characters`);
  const tags = wholeMatch(raw.tags, `[${i}].tags`);
  const except = raw.except === undefined ? null : wholeMatch(raw.except, `[${i}].except`);
  const label = typeof raw.name === "string" ? raw.name : `IMMUTABLE_TAGS_JSON[${i}]`;
  return { label, repository: raw.repository, tags, except };
}

export function parseImmutableTags(raw: string | undefined): ImmutableTagRule[] {
  return parseJsonList("IMMUTABLE_TAGS_JSON", raw, MAX_RULES).map(parseRule);
}

/** The first rule that locks `tag` in `repo`, or null when the tag may move. */
export function lockingRule(rules: readonly ImmutableTagRule[], repo: string, tag: string): ImmutableTagRule | null {
  return (
    rules.find(
      (rule) => matchesPattern(rule.repository, repo) && rule.tags.test(tag) && !(rule.except?.test(tag) ?? false),
    ) ?? null
  );
}
