// The events queue's consumer (src/index.ts's `queue` handler). On the events queue: an
// "event" message is appended to the activity log, then fanned out as one "delivery" message
// per webhook that wants it, and acknowledged; a "delivery" message is POSTed to its webhook
// and acknowledged, retried with a doubling delay, or (a 4xx other than 408/429) dropped.
// Queues moves a delivery that has failed max_retries + 1 times (wrangler.toml) to the
// dead-letter queue, whose consumer (also here) records it; the event stays in the log.
// Logs name a webhook as "webhook #<index> (<host>)": never its path, query or secret.
import { type Webhook, webhookWants } from "../config/webhooks";
import type { Deps } from "../storage/deps";
import { appendActivity, enqueueEventMessages, recordDeadDelivery } from "../storage/events";
import { deliver, retryDelaySeconds } from "./delivery";
import type { RegistryEvent } from "./event";
import { type DeliveryMessage, readMessageBody } from "./messages";

/** The part of a Queues message the consumer uses (Cloudflare's `Message`). */
export interface ConsumedMessage {
  readonly id: string;
  readonly body: unknown;
  /** 1 on the first delivery of the message. */
  readonly attempts: number;
  ack(): void;
  retry(options?: { delaySeconds?: number }): void;
}

const named = (w: Webhook) => `webhook #${w.index} (${w.host})`;
const describe = (e: RegistryEvent) =>
  `event ${e.id} (${e.detail.repository === null ? e.detail.kind : `${e.detail.kind} ${e.detail.repository}`})`;

function wantedBy(webhook: Webhook | undefined, event: RegistryEvent): webhook is Webhook {
  const d = event.detail;
  return webhook !== undefined && webhookWants(webhook, d.kind, d.kind === "tag" ? d.action : null, d.repository);
}

async function logEvent(deps: Deps, event: RegistryEvent): Promise<void> {
  if (deps.config.events.retentionDays === 0) return;
  const facts = {
    id: event.id,
    timeMs: Date.parse(event.time),
    kind: event.detail.kind,
    repository: event.detail.repository,
    actor: event.actor?.name ?? null,
  };
  await appendActivity(deps.store, facts, event);
}

/** Logs the event, then fans it out. A failure retries the whole message: the log entry is
 *  rewritten in place, and fan-out is one batch, sent entirely or not at all. */
async function fanOut(deps: Deps, message: ConsumedMessage, event: RegistryEvent): Promise<void> {
  try {
    await logEvent(deps, event);
    const deliveries: DeliveryMessage[] = deps.config.events.webhooks
      .filter((w) => wantedBy(w, event))
      .map((w) => ({ type: "delivery", webhook: w.index, event }));
    // Without the producer binding nothing can be fanned out; retrying lets the message end
    // in the dead-letter queue, logged, rather than acked as if delivered.
    if (!(await enqueueEventMessages(deps.store, deliveries))) throw new Error("no EVENTS queue is bound");
    message.ack();
  } catch (error) {
    const delaySeconds = retryDelaySeconds(message.attempts, deps.config.events.retryDelaySeconds);
    console.error(`${describe(event)}: logging or fan-out failed, retrying in ${delaySeconds} s:`, String(error));
    message.retry({ delaySeconds });
  }
}

async function deliverOne(deps: Deps, message: ConsumedMessage, body: DeliveryMessage, fetcher: typeof fetch) {
  const { event } = body;
  const webhook = deps.config.events.webhooks[body.webhook];
  // WEBHOOKS_JSON may have changed since the fan-out: send only where the event is wanted now.
  if (!wantedBy(webhook, event)) {
    console.log(`${describe(event)}: webhook #${body.webhook} no longer wants it; dropped`);
    return message.ack();
  }
  const outcome = await deliver(
    {
      webhook,
      event,
      attempt: message.attempts,
      publicUrl: deps.config.publicUrl,
      retryBaseSeconds: deps.config.events.retryDelaySeconds,
    },
    fetcher,
  );
  const tried = `${named(webhook)}: ${describe(event)}, attempt ${message.attempts}`;
  if (outcome.kind === "delivered") {
    console.log(`${tried}: delivered (HTTP ${outcome.status})`);
    message.ack();
  } else if (outcome.kind === "retry") {
    console.warn(`${tried}: ${outcome.reason}; retrying in ${outcome.delaySeconds} s`);
    message.retry({ delaySeconds: outcome.delaySeconds });
  } else {
    console.warn(`${tried}: ${outcome.reason}; not retried`);
    message.ack();
  }
}

/** Messages that ran out of retries. A delivery is recorded (storage/events.ts,
 *  recordDeadDelivery); an event whose fan-out never succeeded gets one more try at the log. */
async function recordDead(deps: Deps, message: ConsumedMessage): Promise<void> {
  const body = readMessageBody(message.body);
  if (body === null) return message.ack();
  try {
    if (body.type === "event") {
      await logEvent(deps, body.event);
      console.error(`${describe(body.event)}: fan-out ran out of retries; logged, not delivered`);
    } else {
      const webhook = deps.config.events.webhooks[body.webhook];
      const host = webhook?.host ?? null;
      await recordDeadDelivery(deps.store, {
        eventId: body.event.id,
        eventTime: body.event.time,
        webhook: body.webhook,
        host,
        recordedAt: new Date().toISOString(),
      });
      console.error(
        `webhook #${body.webhook} (${host ?? "no longer configured"}): ${describe(body.event)} ran out of retries; recorded`,
      );
    }
    message.ack();
  } catch (error) {
    console.error(`dead-letter message ${message.id}: recording failed:`, String(error));
    message.retry();
  }
}

/** Handles one batch from `queue`: the dead-letter queue's, or the events queue's. */
export async function consumeEventBatch(
  deps: Deps,
  queue: string,
  messages: readonly ConsumedMessage[],
  fetcher: typeof fetch = fetch,
): Promise<void> {
  if (queue === deps.config.events.deadLetterQueue) {
    await Promise.all(messages.map((m) => recordDead(deps, m)));
    return;
  }
  await Promise.all(
    messages.map((message) => {
      const body = readMessageBody(message.body);
      if (body === null) {
        console.error(`events queue message ${message.id}: not an event or a delivery; dropped`);
        message.ack();
        return undefined;
      }
      return body.type === "event" ? fanOut(deps, message, body.event) : deliverOne(deps, message, body, fetcher);
    }),
  );
}
