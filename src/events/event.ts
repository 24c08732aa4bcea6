// The registry's events: one per durable change (and, sampled, per pull), in the one shape
// the queue carries, the activity log keeps and both webhook formats are made from
// (distribution.ts, cloudevents.ts). docs/events.md describes every field. The kinds are
// listed in config/webhooks.ts (EVENT_KINDS), where webhook filters are checked against them.
import type { Platform } from "../oci/manifest";

/** Who made the change: the identity's subject (a user name or a token's subject), never a
 *  credential. Null for the anonymous caller and for the cron trigger. */
export interface EventActor {
  name: string;
}

/** The request that made the change; null for the cron trigger's collector steps. No client
 *  address: the log is kept for EVENTS_RETENTION_DAYS, and an address is personal data. */
export interface EventRequest {
  id: string;
  method: string;
  /** The URL's path, never its query (upload URLs carry a state token there). */
  path: string;
  host: string | null;
  userAgent: string | null;
}

/** At most this many platforms ride on a push event; `platformsTruncated` says when more
 *  were listed. An index may hold thousands (a manifest can be 4 MiB), a queue message 128 KB. */
export const MAX_EVENT_PLATFORMS = 64;

export interface PushDetail {
  kind: "push";
  action: "pushed";
  repository: string;
  digest: string;
  mediaType: string;
  size: number;
  /** The tag the manifest was pushed under, if any (the only way one PUT names a tag). */
  tags: string[];
  /** The digest the tag named before this push, when the push moved it. */
  previousDigest: string | null;
  platforms: Platform[];
  platformsTruncated: boolean;
  /** The manifest's `subject` (it is a referrer), if any. */
  subject: string | null;
}

export interface TagDetail {
  kind: "tag";
  action: "moved" | "deleted";
  repository: string;
  tag: string;
  /** The manifest the tag names now ("moved"), or named until it went ("deleted"). */
  digest: string;
  previousDigest: string | null;
}

export interface DeleteDetail {
  kind: "delete";
  action: "deleted";
  repository: string;
  digest: string;
  mediaType: string | null;
}

export interface MountDetail {
  kind: "mount";
  action: "mounted";
  repository: string;
  digest: string;
  size: number;
  /** The repository named in `from=`, or null when the blob was found without one. */
  fromRepository: string | null;
}

export interface PullDetail {
  kind: "pull";
  action: "pulled";
  repository: string;
  digest: string;
  mediaType: string;
  size: number;
  tag: string | null;
}

export interface MirrorDetail {
  kind: "mirror";
  action: "filled";
  repository: string;
  digest: string;
  mediaType: string;
  size: number;
  tag: string | null;
  /** The upstream by the name clients see (its prefix, or "*"), never its address. */
  upstream: string;
}

/** One collector step that freed something (dry runs change nothing and emit nothing). */
export interface GcDetail {
  kind: "gc";
  action: "collected";
  repository: null;
  stepId: string;
  trigger: "cron" | "manual";
  cycleFinished: boolean;
  freed: { tags: number; manifests: number; links: number; blobs: number; data: number; bytesFreed: number };
}

export type EventDetail = PushDetail | TagDetail | DeleteDetail | MountDetail | PullDetail | MirrorDetail | GcDetail;

/** What the core hands emitEvent: the change, who made it and in which request. */
export interface EventInput {
  detail: EventDetail;
  actor: EventActor | null;
  request: EventRequest | null;
}

export interface RegistryEvent extends EventInput {
  /** Unique per event (a UUID); every delivery of it carries it, so receivers drop repeats. */
  id: string;
  /** When the change became durable, ISO 8601 in UTC with milliseconds. */
  time: string;
}

export function createEvent(input: EventInput, now: Date = new Date()): RegistryEvent {
  const detail = input.detail;
  const bounded =
    detail.kind === "push" && detail.platforms.length > MAX_EVENT_PLATFORMS
      ? { ...detail, platforms: detail.platforms.slice(0, MAX_EVENT_PLATFORMS), platformsTruncated: true }
      : detail;
  return {
    id: crypto.randomUUID(),
    time: now.toISOString(),
    detail: bounded,
    actor: input.actor,
    request: input.request,
  };
}
