// One delivery: an event POSTed to one webhook, formatted as the webhook asks, signed, with a
// timeout; and the decision that follows, as a value the consumer acts on. Retried (with
// doubling delays): 5xx, 408, 429, a timeout, a refused or broken connection. Not retried:
// any other 4xx (the receiver said the request itself is wrong; sending it again cannot
// help), and 3xx, because redirects are not followed: a redirect could lead a signed body to
// an address WEBHOOKS_JSON was never allowed to name.
import type { Webhook } from "../config/webhooks";
import { CLOUDEVENTS_MEDIA_TYPE, formatCloudEvent } from "./cloudevents";
import { DISTRIBUTION_MEDIA_TYPE, formatDistributionEnvelope } from "./distribution";
import type { RegistryEvent } from "./event";
import { SIGNATURE_HEADER, signBody } from "./signature";

/** A receiver gets this long to answer. Queues gives a consumer 15 minutes of wall time per
 *  batch; ten deliveries in parallel stay far below it. */
export const DELIVERY_TIMEOUT_MS = 10_000;
/** The longest delay Queues accepts for a retried message (12 hours). */
export const MAX_RETRY_DELAY_SECONDS = 43_200;
export const EVENT_ID_HEADER = "X-Registry-Event-Id";
export const ATTEMPT_HEADER = "X-Registry-Delivery-Attempt";

export type DeliveryOutcome =
  | { kind: "delivered"; status: number }
  | { kind: "retry"; delaySeconds: number; reason: string }
  | { kind: "refused"; reason: string };

/** The wait before attempt `attempts + 1`: base × 2^(attempts − 1), at least what the
 *  receiver's Retry-After asked (in seconds), at most Queues' limit. */
export function retryDelaySeconds(attempts: number, baseSeconds: number, retryAfter: string | null = null): number {
  const doubled = baseSeconds * 2 ** Math.max(0, attempts - 1);
  const asked = retryAfter !== null && /^\d{1,9}$/.test(retryAfter.trim()) ? Number(retryAfter.trim()) : 0;
  return Math.min(Math.max(doubled, asked), MAX_RETRY_DELAY_SECONDS);
}

/** What a receiver's answer means for the delivery. */
export function judgeStatus(
  status: number,
  retryAfter: string | null,
  attempts: number,
  baseSeconds: number,
): DeliveryOutcome {
  if (status >= 200 && status < 300) return { kind: "delivered", status };
  if (status >= 500 || status === 408 || status === 429)
    return {
      kind: "retry",
      delaySeconds: retryDelaySeconds(attempts, baseSeconds, retryAfter),
      reason: `HTTP ${status}`,
    };
  if (status >= 300 && status < 400) return { kind: "refused", reason: `HTTP ${status} (redirects are not followed)` };
  return { kind: "refused", reason: `HTTP ${status}` };
}

/** A fetch that threw: timed out, refused, reset. Always worth another try. */
export function judgeFailure(error: unknown, attempts: number, baseSeconds: number): DeliveryOutcome {
  const name = error instanceof Error ? error.name : "";
  const reason =
    name === "TimeoutError" || name === "AbortError"
      ? `no answer within ${DELIVERY_TIMEOUT_MS} ms`
      : "connection failed";
  return { kind: "retry", delaySeconds: retryDelaySeconds(attempts, baseSeconds), reason };
}

export function formatFor(webhook: Webhook, event: RegistryEvent, publicUrl: string | null) {
  return webhook.format === "cloudevents"
    ? { body: formatCloudEvent(event, publicUrl), contentType: CLOUDEVENTS_MEDIA_TYPE }
    : { body: formatDistributionEnvelope(event, publicUrl), contentType: DISTRIBUTION_MEDIA_TYPE };
}

export interface DeliveryAttempt {
  webhook: Webhook;
  event: RegistryEvent;
  /** 1 for the first try (Queues' message.attempts). */
  attempt: number;
  publicUrl: string | null;
  retryBaseSeconds: number;
}

export async function deliver(a: DeliveryAttempt, fetcher: typeof fetch): Promise<DeliveryOutcome> {
  const { body, contentType } = formatFor(a.webhook, a.event, a.publicUrl);
  const headers = {
    "Content-Type": contentType,
    "User-Agent": "r2-oci-registry-webhooks",
    [EVENT_ID_HEADER]: a.event.id,
    [ATTEMPT_HEADER]: String(a.attempt),
    [SIGNATURE_HEADER]: await signBody(a.webhook.secret, body),
  };
  let response: Response;
  try {
    response = await fetcher(a.webhook.url, {
      method: "POST",
      headers,
      body,
      redirect: "manual",
      signal: AbortSignal.timeout(DELIVERY_TIMEOUT_MS),
    });
  } catch (error) {
    return judgeFailure(error, a.attempt, a.retryBaseSeconds);
  }
  // The answer's body is not read; cancelling it frees the connection.
  await response.body?.cancel().catch(() => {});
  return judgeStatus(response.status, response.headers.get("Retry-After"), a.attempt, a.retryBaseSeconds);
}
