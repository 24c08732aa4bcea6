// Events and webhooks configuration: WEBHOOKS_JSON, WEBHOOKS_ALLOW_PRIVATE,
// EVENTS_RETENTION_DAYS, PULL_EVENTS_SAMPLE_RATE, WEBHOOKS_RETRY_DELAY_SECONDS and
// EVENTS_DEAD_LETTER_QUEUE, parsed for parseConfig. Pure. Messages name a webhook by its
// index and host only: its path and query may carry a token, and its secret is a secret.
import { configurationError } from "../errors";
import { parseJsonList } from "./json-list";
import { isValidPattern, matchesAny } from "./repository-pattern";
import { nonPublicReason } from "./public-address";
import { readBoolean, readDecimal, readInteger } from "./variables";

/** The kinds of event there are; a webhook's `events` lists some of them, or "*". */
export const EVENT_KINDS = ["push", "tag", "delete", "mount", "pull", "gc", "mirror"] as const;
export type EventKind = (typeof EVENT_KINDS)[number];

export type WebhookFormat = "distribution" | "cloudevents";

export interface Webhook {
  /** Position in WEBHOOKS_JSON: with `host`, the only way logs and messages name it. */
  index: number;
  url: string;
  host: string;
  kinds: ReadonlySet<EventKind>;
  repositories: string[];
  format: WebhookFormat;
  /** The HMAC-SHA256 key, read from the secret `secret_env` names. */
  secret: string;
}

export interface EventsConfig {
  webhooks: Webhook[];
  /** Days the activity log keeps an event; 0 keeps no log. */
  retentionDays: number;
  /** Fraction of pulls that emit an event, 0 (default: none) to 1 (all). */
  pullSampleRate: number;
  /** First retry of a failed delivery waits this long; each next one twice as long. */
  retryDelaySeconds: number;
  /** The dead-letter queue's name, as wrangler.toml's consumer names it: its messages are
   *  deliveries that ran out of retries. */
  deadLetterQueue: string;
}

/** One event becomes at most this many delivery messages, sent in one batch (Queues takes
 *  100 per sendBatch). */
const MAX_WEBHOOKS = 20;
/** An HMAC key shorter than this is guessable offline from one signed body. */
const MIN_SECRET_LENGTH = 16;
const FIELDS = new Set(["url", "events", "repositories", "format", "secret_env"]);

function fail(detail: string): never {
  throw configurationError(detail);
}

/** The webhook's URL, checked; errors name the host at most, never the path, query or
 *  credentials. */
function parseWebhookUrl(value: unknown, where: string, allowPrivate: boolean): URL {
  if (typeof value !== "string") fail(`${where}.url must be a string`);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    fail(`${where}.url is not a URL`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") fail(`${where}.url must be http or https`);
  if (url.username !== "" || url.password !== "")
    fail(`${where}.url must not carry credentials (the delivery is signed with secret_env's key)`);
  const reason = allowPrivate ? null : nonPublicReason(url.hostname);
  if (reason !== null)
    fail(
      `${where}.url points at a non-public address (${url.hostname}: ${reason}); set WEBHOOKS_ALLOW_PRIVATE=true to allow it`,
    );
  return url;
}

function parseKinds(value: unknown, where: string): Set<EventKind> {
  const known = new Set<string>(EVENT_KINDS);
  if (!Array.isArray(value) || value.length === 0 || !value.every((k) => typeof k === "string"))
    fail(`${where}.events must be a non-empty list of ${EVENT_KINDS.join(", ")} or "*"`);
  if (value.includes("*")) return new Set(EVENT_KINDS);
  const unknown = value.find((k) => !known.has(k));
  if (unknown !== undefined) fail(`${where}.events: unknown event "${unknown}"`);
  return new Set(value as EventKind[]);
}

function parseRepositories(value: unknown, where: string): string[] {
  if (value === undefined) return ["*"];
  const list = typeof value === "string" ? [value] : value;
  if (!Array.isArray(list) || list.length === 0 || !list.every((p) => typeof p === "string" && isValidPattern(p)))
    fail(`${where}.repositories must be a repository pattern or a list of them`);
  return list as string[];
}

function parseSecret(value: unknown, where: string, secrets: Record<string, unknown>): string {
  if (typeof value !== "string" || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(value))
    fail(`${where}.secret_env must name the secret holding the signing key`);
  const secret = secrets[value];
  if (typeof secret !== "string" || secret === "") fail(`${where}: secret ${value} (secret_env) is not set`);
  if (secret.length < MIN_SECRET_LENGTH)
    fail(`${where}: secret ${value} (secret_env) must be at least ${MIN_SECRET_LENGTH} characters`);
  return secret;
}

function parseWebhook(raw: unknown, index: number, secrets: Record<string, unknown>, allowPrivate: boolean): Webhook {
  const where = `WEBHOOKS_JSON[${index}]`;
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) fail(`${where} must be an object`);
  const entry = raw as Record<string, unknown>;
  // A misspelt field would otherwise be a silently ignored one; the value is never shown.
  const extra = Object.keys(entry).find((k) => !FIELDS.has(k));
  if (extra !== undefined) fail(`${where}: unknown field "${extra}" (fields: ${[...FIELDS].join(", ")})`);
  const url = parseWebhookUrl(entry.url, where, allowPrivate);
  const format = entry.format ?? "distribution";
  if (format !== "distribution" && format !== "cloudevents")
    fail(`${where}.format must be distribution or cloudevents`);
  return {
    index,
    url: url.href,
    host: url.host,
    kinds: parseKinds(entry.events, where),
    repositories: parseRepositories(entry.repositories, where),
    format,
    secret: parseSecret(entry.secret_env, where, secrets),
  };
}

function parseWebhooks(json: string | undefined, secrets: Record<string, unknown>, allowPrivate: boolean): Webhook[] {
  return parseJsonList("WEBHOOKS_JSON", json, MAX_WEBHOOKS).map((e, i) => parseWebhook(e, i, secrets, allowPrivate));
}

export interface EventsVariables {
  WEBHOOKS_JSON?: string;
  WEBHOOKS_ALLOW_PRIVATE?: string;
  EVENTS_RETENTION_DAYS?: string;
  PULL_EVENTS_SAMPLE_RATE?: string;
  WEBHOOKS_RETRY_DELAY_SECONDS?: string;
  EVENTS_DEAD_LETTER_QUEUE?: string;
}

/** `secrets` is the Env, read only for the names secret_env gives. */
export function parseEventsConfig(vars: EventsVariables, secrets: Record<string, unknown>): EventsConfig {
  return {
    webhooks: parseWebhooks(vars.WEBHOOKS_JSON, secrets, readBoolean(vars, "WEBHOOKS_ALLOW_PRIVATE", false)),
    retentionDays: readInteger(vars, "EVENTS_RETENTION_DAYS", 30, 0, 3650),
    pullSampleRate: readDecimal(vars, "PULL_EVENTS_SAMPLE_RATE", 0, 0, 1),
    // Queues delays a message by at most 12 hours; the doubling is capped there too.
    retryDelaySeconds: readInteger(vars, "WEBHOOKS_RETRY_DELAY_SECONDS", 10, 1, 3600),
    deadLetterQueue: vars.EVENTS_DEAD_LETTER_QUEUE || "registry-events-dlq",
  };
}

/** Whether the webhook wants the event: its kind is listed (a tag move also reaches "push"
 *  subscribers and a tag deletion "delete" ones, as distribution sends them under those
 *  actions) and its repository matches a pattern. A collector step names no repository and
 *  reaches every webhook that lists "gc". */
export function webhookWants(webhook: Webhook, kind: EventKind, tagAction: string | null, repository: string | null) {
  const listed =
    webhook.kinds.has(kind) || (kind === "tag" && webhook.kinds.has(tagAction === "moved" ? "push" : "delete"));
  return listed && (repository === null || matchesAny(webhook.repositories, repository));
}
