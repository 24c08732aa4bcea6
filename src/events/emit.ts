// The one entry point the registry core calls, right after a change is durable (never for a
// refused request): emitEvent(deps, input). It stamps the event (id, time) and sends it to
// the events queue inside waitUntil, so the response never waits for the queue, let alone a
// receiver. Pulls are sampled (PULL_EVENTS_SAMPLE_RATE, 0 by default). Nothing is sent when
// nothing would use the event: no activity log (EVENTS_RETENTION_DAYS=0) and no webhook
// that wants it.
import { webhookWants } from "../config/webhooks";
import type { Deps } from "../storage/deps";
import { enqueueEventMessages } from "../storage/events";
import { createEvent, type EventInput, type RegistryEvent } from "./event";
import type { EventMessage } from "./messages";

function wanted(deps: Deps, event: RegistryEvent): boolean {
  const { retentionDays, webhooks } = deps.config.events;
  const d = event.detail;
  const tagAction = d.kind === "tag" ? d.action : null;
  return retentionDays > 0 || webhooks.some((w) => webhookWants(w, d.kind, tagAction, d.repository));
}

/** Emits the event; returns it (for the caller's log line), or null when it was not sent
 *  (a pull left out by sampling, or nothing wants it). `random` is for tests. */
export function emitEvent(deps: Deps, input: EventInput, random: () => number = Math.random): RegistryEvent | null {
  if (input.detail.kind === "pull" && !(random() < deps.config.events.pullSampleRate)) return null;
  const event = createEvent(input);
  if (!wanted(deps, event)) return null;
  const message: EventMessage = { type: "event", event };
  deps.waitUntil(
    enqueueEventMessages(deps.store, [message]).then(
      (sent) => {
        if (!sent) console.error(`event ${event.id} (${event.detail.kind}) not sent: no EVENTS queue is bound`);
      },
      (error: unknown) => {
        // The change itself is durable; only its event is lost. Said once, with its id.
        console.error(
          `event ${event.id} (${event.detail.kind}) not sent:`,
          error instanceof Error ? error.message : error,
        );
      },
    ),
  );
  return event;
}
