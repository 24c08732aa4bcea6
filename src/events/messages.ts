// What travels on the events queue. An "event" message is a change as the core emitted it;
// the consumer logs it and turns it into one "delivery" message per webhook that wants it, so
// each receiver has its own retries: one failing receiver never makes the queue re-deliver to
// one that already took the event. A delivery names its webhook by index (never its address);
// the consumer checks again that the webhook there still wants the event.
import { EVENT_KINDS } from "../config/webhooks";
import type { RegistryEvent } from "./event";

export interface EventMessage {
  type: "event";
  event: RegistryEvent;
}

export interface DeliveryMessage {
  type: "delivery";
  webhook: number;
  event: RegistryEvent;
}

export type QueueMessageBody = EventMessage | DeliveryMessage;

/** The body, if it is one of ours; anything else is dropped (and logged) by the consumer. */
export function readMessageBody(body: unknown): QueueMessageBody | null {
  if (typeof body !== "object" || body === null) return null;
  const m = body as { type?: unknown; webhook?: unknown; event?: unknown };
  const event = m.event as Partial<RegistryEvent> | undefined;
  if (typeof event !== "object" || event === null || typeof event.id !== "string" || typeof event.time !== "string")
    return null;
  const kind = (event.detail as { kind?: unknown } | null | undefined)?.kind;
  if (!EVENT_KINDS.some((k) => k === kind)) return null;
  if (m.type === "event") return { type: "event", event: event as RegistryEvent };
  if (m.type === "delivery" && typeof m.webhook === "number" && Number.isSafeInteger(m.webhook))
    return { type: "delivery", webhook: m.webhook, event: event as RegistryEvent };
  return null;
}
