// CloudEvents 1.0 in structured JSON mode (application/cloudevents+json), made from a
// registry event. Pure. https://github.com/cloudevents/spec/blob/v1.0.2/cloudevents/spec.md
// and formats/json-format.md: one JSON object with the context attributes and `data`.
import type { RegistryEvent } from "./event";

export const CLOUDEVENTS_MEDIA_TYPE = "application/cloudevents+json";

/** `type` is `<TYPE_PREFIX>.<kind>.<action>`, e.g. "dev.r2-oci-registry.push.pushed". The spec
 *  asks for a reverse-DNS prefix so types from different producers cannot collide. */
export const TYPE_PREFIX = "dev.r2-oci-registry";

export interface CloudEvent {
  specversion: "1.0";
  id: string;
  source: string;
  type: string;
  time: string;
  datacontenttype: "application/json";
  subject: string;
  data: Record<string, unknown>;
}

/** The subject a receiver filters on: `repo:tag` for a tag, `repo@digest` for content, the
 *  step id for a collector step. */
function subjectOf(event: RegistryEvent): string {
  const d = event.detail;
  if (d.kind === "gc") return d.stepId;
  if (d.kind === "tag") return `${d.repository}:${d.tag}`;
  return `${d.repository}@${d.digest}`;
}

/** `source` is a URI-reference naming the repository (or the collector) on this registry:
 *  absolute under PUBLIC_URL when it is set, else the path alone, which the spec allows. */
function sourceOf(event: RegistryEvent, publicUrl: string | null): string {
  const path = event.detail.repository === null ? "/v2/_gc" : `/v2/${event.detail.repository}`;
  return `${publicUrl ?? ""}${path}`;
}

export function toCloudEvent(event: RegistryEvent, publicUrl: string | null): CloudEvent {
  const { kind: _kind, action: _action, ...fields } = event.detail;
  return {
    specversion: "1.0",
    id: event.id,
    source: sourceOf(event, publicUrl),
    type: `${TYPE_PREFIX}.${event.detail.kind}.${event.detail.action}`,
    time: event.time,
    datacontenttype: "application/json",
    subject: subjectOf(event),
    data: { ...fields, actor: event.actor, request: event.request },
  };
}

export function formatCloudEvent(event: RegistryEvent, publicUrl: string | null): string {
  return JSON.stringify(toCloudEvent(event, publicUrl));
}
