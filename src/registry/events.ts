// The core's one way into the events service: each write path calls emitChange once its
// change is durable (never for a refused request), and the request it serves (deps.request,
// built by the front end) becomes the event's actor and request. An event is worth less than
// the change it describes, so emitting never fails the request: emitEvent sends inside
// waitUntil and logs a failure, and anything it throws here is logged and dropped.
import { emitEvent } from "../events/emit";
import type { EventDetail, GcDetail } from "../events/event";
import type { StepReport } from "../gc/reports";
import type { Deps } from "../storage/deps";

export function emitChange(deps: Deps, detail: EventDetail): void {
  const origin = deps.request;
  try {
    emitEvent(deps, {
      detail,
      actor: origin?.actor ? { name: origin.actor } : null,
      request: origin
        ? { id: origin.id, method: origin.method, path: origin.path, host: origin.host, userAgent: origin.userAgent }
        : null,
    });
  } catch (error) {
    console.error(`${detail.kind} event not sent:`, error instanceof Error ? error.message : error);
  }
}

/** A collector step's event: only for a real step (not a dry run) that freed something. */
export function emitCollected(deps: Deps, report: StepReport): void {
  if (report.dryRun) return;
  const { tags, manifests, links, blobs, data, bytesFreed } = report.freed;
  if (tags + manifests + links + blobs + data + bytesFreed === 0) return;
  const detail: GcDetail = {
    kind: "gc",
    action: "collected",
    repository: null,
    stepId: report.id,
    trigger: report.trigger,
    cycleFinished: report.cycleFinished,
    freed: { tags, manifests, links, blobs, data, bytesFreed },
  };
  emitChange(deps, detail);
}
