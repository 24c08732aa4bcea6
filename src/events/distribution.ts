// CNCF distribution's notification envelope ({"events": [...]}, media type
// application/vnd.docker.distribution.events.v2+json), made from a registry event. Pure.
// Fields as distribution documents them (docs/content/about/notifications.md): id, timestamp,
// action, target {mediaType, digest, size, length, repository, url, tag, fromRepository},
// request {id, host, method, useragent}, actor {name}, source {addr}. The actions it knows are
// push, pull, mount and delete; a tag move is a push of the tag and a tag deletion a delete
// with target.tag, as distribution sends them. Collector steps and mirror fills have no
// distribution action: they go out as "gc" and "mirror", which receivers that follow
// distribution's advice ("be accepting") ignore.
import type { RegistryEvent } from "./event";

export const DISTRIBUTION_MEDIA_TYPE = "application/vnd.docker.distribution.events.v2+json";

interface DistributionTarget {
  mediaType?: string;
  digest?: string;
  size?: number;
  /** Distribution keeps `length` beside `size` for older receivers. */
  length?: number;
  repository?: string;
  url?: string;
  tag?: string;
  fromRepository?: string;
}

export interface DistributionEvent {
  id: string;
  timestamp: string;
  action: string;
  target: DistributionTarget;
  request?: { id: string; host?: string; method: string; useragent?: string };
  actor: { name?: string };
  source: { addr?: string };
  /** Extension: what a collector step freed (action "gc" only). */
  freed?: Record<string, number>;
  /** Extension: the upstream a mirror fill came from, by its name (action "mirror" only). */
  upstream?: string;
}

/** Where a manifest or blob of the event can be read, when the registry knows its public
 *  origin (PUBLIC_URL); without it there is no address to give. */
function contentUrl(publicUrl: string | null, repository: string, part: "manifests" | "blobs", ref: string) {
  return publicUrl === null ? undefined : `${publicUrl}/v2/${repository}/${part}/${ref}`;
}

function sized(mediaType: string, digest: string, size: number) {
  return { mediaType, digest, size, length: size };
}

function actionAndTarget(event: RegistryEvent, publicUrl: string | null): [string, DistributionTarget] {
  const d = event.detail;
  switch (d.kind) {
    case "push":
    case "pull":
    case "mirror": {
      const tag = d.kind === "push" ? d.tags[0] : (d.tag ?? undefined);
      const url = contentUrl(publicUrl, d.repository, "manifests", d.digest);
      const action = d.kind === "pull" ? "pull" : d.kind;
      return [action, { ...sized(d.mediaType, d.digest, d.size), repository: d.repository, url, tag }];
    }
    case "tag":
      return [
        d.action === "moved" ? "push" : "delete",
        {
          digest: d.digest,
          repository: d.repository,
          tag: d.tag,
          url: contentUrl(publicUrl, d.repository, "manifests", d.digest),
        },
      ];
    case "delete":
      // Distribution sends only the digest and the repository for deletes.
      return ["delete", { digest: d.digest, repository: d.repository }];
    case "mount":
      return [
        "mount",
        {
          digest: d.digest,
          size: d.size,
          length: d.size,
          repository: d.repository,
          url: contentUrl(publicUrl, d.repository, "blobs", d.digest),
          fromRepository: d.fromRepository ?? undefined,
        },
      ];
    case "gc":
      return ["gc", {}];
  }
}

export function toDistributionEvent(event: RegistryEvent, publicUrl: string | null): DistributionEvent {
  const [action, target] = actionAndTarget(event, publicUrl);
  const r = event.request;
  const out: DistributionEvent = {
    id: event.id,
    timestamp: event.time,
    action,
    target,
    actor: event.actor ? { name: event.actor.name } : {},
    source: publicUrl === null ? {} : { addr: new URL(publicUrl).host },
  };
  if (r) out.request = { id: r.id, host: r.host ?? undefined, method: r.method, useragent: r.userAgent ?? undefined };
  if (event.detail.kind === "gc") out.freed = { ...event.detail.freed };
  if (event.detail.kind === "mirror") out.upstream = event.detail.upstream;
  return out;
}

/** The envelope one delivery carries: one event (deliveries are per event, so a receiver's
 *  failure holds back nothing else). */
export function formatDistributionEnvelope(event: RegistryEvent, publicUrl: string | null): string {
  return JSON.stringify({ events: [toDistributionEvent(event, publicUrl)] });
}
