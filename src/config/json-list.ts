// Variables that hold a JSON list of entries (GC_RETENTION_JSON, IMMUTABLE_TAGS_JSON,
// REGISTRIES_JSON, WEBHOOKS_JSON): one reading of "unset", "not JSON", "not a list" and
// "too long", so every such variable refuses the same mistakes with the same words.
import { configurationError } from "../errors";

/** The entries of `name`'s JSON array; none when it is unset or blank. At most `max`. */
export function parseJsonList(name: string, raw: string | undefined, max: number): unknown[] {
  if (raw === undefined || raw.trim() === "") return [];
  const fail = (detail: string): never => {
    throw configurationError(`${name} ${detail}`);
  };
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    fail("is not valid JSON");
  }
  if (!Array.isArray(json)) fail("must be a JSON array");
  const entries = json as unknown[];
  if (entries.length > max) fail(`lists ${entries.length} entries; at most ${max} are allowed`);
  return entries;
}
