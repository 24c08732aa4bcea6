// Events (src/events/): the two webhook formats, the signature, the delivery decisions per
// answer, the queue consumer's fan-out, acks and retries (a fake fetch stands for the
// receivers, a recorder for the queue; R2 is the real local bucket), the activity log's
// paging and expiry, and emitEvent's sampling.
import { createHmac } from "node:crypto";
import { reset } from "cloudflare:test";
import { env } from "cloudflare:workers";
import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { parseConfig, type Env } from "../src/config/config";
import { formatCloudEvent, TYPE_PREFIX } from "../src/events/cloudevents";
import { type ConsumedMessage, consumeEventBatch } from "../src/events/consumer";
import { judgeStatus, retryDelaySeconds, MAX_RETRY_DELAY_SECONDS } from "../src/events/delivery";
import { formatDistributionEnvelope } from "../src/events/distribution";
import { emitEvent } from "../src/events/emit";
import { createEvent, type EventActor, type EventDetail, type RegistryEvent } from "../src/events/event";
import { freeExpiredEvents } from "../src/events/retention";
import { signBody } from "../src/events/signature";
import type { Deps } from "../src/storage/deps";
import { readActivity } from "../src/registry/activity";
import type { Identity } from "../src/registry/identity";
import { listActivity, listDeadDeliveries } from "../src/storage/events";
import { Storage } from "../src/storage/storage";

const DIGEST = `sha256:${"ab".repeat(32)}`;
const OTHER = `sha256:${"cd".repeat(32)}`;
const PUBLIC_URL = "https://registry.example.com";
const actor = { name: "alice" };
const request = { id: "req-1", method: "PUT", host: "registry.example.com", userAgent: "docker/27" };

const push: EventDetail = {
  kind: "push",
  action: "pushed",
  repository: "team-a/app",
  digest: DIGEST,
  mediaType: "application/vnd.oci.image.index.v1+json",
  size: 1234,
  tags: ["1.4"],
  previousDigest: OTHER,
  platforms: [{ os: "linux", architecture: "arm64", variant: "v8" }],
  platformsTruncated: false,
  subject: null,
};
const at = (detail: EventDetail, who: EventActor | null = actor): RegistryEvent => ({
  id: "6f1c1b9e-0000-4000-8000-000000000001",
  time: "2026-12-07T10:00:00.000Z",
  detail,
  actor: who,
  request,
});

describe("distribution's envelope", () => {
  const target = (detail: EventDetail) => JSON.parse(formatDistributionEnvelope(at(detail), PUBLIC_URL)).events[0];

  it("carries a push with target, request, actor and source as distribution documents them", () => {
    expect(JSON.parse(formatDistributionEnvelope(at(push), PUBLIC_URL))).toEqual({
      events: [
        {
          id: "6f1c1b9e-0000-4000-8000-000000000001",
          timestamp: "2026-12-07T10:00:00.000Z",
          action: "push",
          target: {
            mediaType: push.mediaType,
            digest: DIGEST,
            size: 1234,
            length: 1234,
            repository: "team-a/app",
            url: `${PUBLIC_URL}/v2/team-a/app/manifests/${DIGEST}`,
            tag: "1.4",
          },
          request: { id: "req-1", host: "registry.example.com", method: "PUT", useragent: "docker/27" },
          actor: { name: "alice" },
          source: { addr: "registry.example.com" },
        },
      ],
    });
  });

  it.each([
    [
      { kind: "tag", action: "moved", repository: "r", tag: "t", digest: DIGEST, previousDigest: OTHER },
      "push",
      { tag: "t", digest: DIGEST },
    ],
    [
      { kind: "tag", action: "deleted", repository: "r", tag: "t", digest: DIGEST, previousDigest: null },
      "delete",
      { tag: "t" },
    ],
    [
      { kind: "delete", action: "deleted", repository: "r", digest: DIGEST, mediaType: null },
      "delete",
      { digest: DIGEST, repository: "r" },
    ],
    [
      { kind: "mount", action: "mounted", repository: "r", digest: DIGEST, size: 9, fromRepository: "base" },
      "mount",
      { fromRepository: "base", size: 9, length: 9 },
    ],
    [
      { kind: "pull", action: "pulled", repository: "r", digest: DIGEST, mediaType: "m", size: 3, tag: null },
      "pull",
      { digest: DIGEST },
    ],
    [
      {
        kind: "mirror",
        action: "filled",
        repository: "r",
        digest: DIGEST,
        mediaType: "m",
        size: 3,
        tag: "latest",
        upstream: "docker.io",
      },
      "mirror",
      { tag: "latest" },
    ],
  ] as [EventDetail, string, Record<string, unknown>][])("maps %o to action %s", (detail, action, fields) => {
    const event = target(detail);
    expect(event.action).toBe(action);
    expect(event.target).toMatchObject(fields);
  });

  it("sends only the digest and repository for a manifest delete, and the freed counts for a collector step", () => {
    expect(
      target({ kind: "delete", action: "deleted", repository: "r", digest: DIGEST, mediaType: "m" }).target,
    ).toEqual({
      digest: DIGEST,
      repository: "r",
    });
    const freed = { tags: 1, manifests: 2, links: 3, blobs: 4, data: 4, bytesFreed: 5000 };
    const gc = JSON.parse(
      formatDistributionEnvelope(
        {
          ...at({
            kind: "gc",
            action: "collected",
            repository: null,
            stepId: "s1",
            trigger: "cron",
            cycleFinished: true,
            freed,
          }),
          actor: null,
          request: null,
        },
        null,
      ),
    ).events[0];
    expect(gc).toEqual({
      id: expect.any(String),
      timestamp: expect.any(String),
      action: "gc",
      target: {},
      actor: {},
      source: {},
      freed,
    });
  });
});

describe("CloudEvents 1.0", () => {
  it("is structured JSON with the required attributes, the subject and the data", () => {
    expect(JSON.parse(formatCloudEvent(at(push), PUBLIC_URL))).toEqual({
      specversion: "1.0",
      id: "6f1c1b9e-0000-4000-8000-000000000001",
      source: `${PUBLIC_URL}/v2/team-a/app`,
      type: `${TYPE_PREFIX}.push.pushed`,
      time: "2026-12-07T10:00:00.000Z",
      datacontenttype: "application/json",
      subject: `team-a/app@${DIGEST}`,
      data: {
        repository: "team-a/app",
        digest: DIGEST,
        mediaType: push.mediaType,
        size: 1234,
        tags: ["1.4"],
        previousDigest: OTHER,
        platforms: [{ os: "linux", architecture: "arm64", variant: "v8" }],
        platformsTruncated: false,
        subject: null,
        actor,
        request,
      },
    });
  });

  const name = fc.stringMatching(/^[a-z0-9]{1,8}(\/[a-z0-9]{1,8}){0,2}$/);
  const hex = fc.stringMatching(/^[0-9a-f]{64}$/);
  const detail = fc.record({ repository: name, hex, size: fc.nat(), tag: fc.option(fc.stringMatching(/^\w{1,12}$/)) });

  it("keeps id, time, digest and repository in both formats, and both are valid JSON (property)", () => {
    fc.assert(
      fc.property(detail, fc.option(fc.constant(PUBLIC_URL)), (d, publicUrl) => {
        const event = createEvent({
          detail: {
            kind: "pull",
            action: "pulled",
            repository: d.repository,
            digest: `sha256:${d.hex}`,
            mediaType: "m",
            size: d.size,
            tag: d.tag,
          },
          actor: null,
          request: null,
        });
        const ce = JSON.parse(formatCloudEvent(event, publicUrl));
        const dist = JSON.parse(formatDistributionEnvelope(event, publicUrl)).events;
        expect(dist).toHaveLength(1);
        expect([ce.id, dist[0].id]).toEqual([event.id, event.id]);
        expect([ce.time, dist[0].timestamp]).toEqual([event.time, event.time]);
        expect([ce.data.digest, dist[0].target.digest]).toEqual([`sha256:${d.hex}`, `sha256:${d.hex}`]);
        expect(dist[0].target.size).toBe(dist[0].target.length);
        expect(ce.source).toBe(`${publicUrl ?? ""}/v2/${d.repository}`);
        expect(ce.subject).toBe(`${d.repository}@sha256:${d.hex}`);
        expect(dist[0].target.url === undefined).toBe(publicUrl === null);
      }),
      { seed: 0x0e7e_2024, numRuns: 300 },
    );
  });

  it("bounds an index's platforms at 64 and says so", () => {
    const platforms = Array.from({ length: 500 }, (_, i) => ({ os: "linux", architecture: `a${i}` }));
    const event = createEvent({ detail: { ...push, platforms } as EventDetail, actor, request });
    expect(event.detail).toMatchObject({ platformsTruncated: true });
    expect((event.detail as { platforms: unknown[] }).platforms).toHaveLength(64);
  });
});

describe("signature", () => {
  it("is HMAC-SHA256 of the raw body in lower-case hex (RFC 4231 case 2, and node:crypto)", async () => {
    expect(await signBody("Jefe", "what do ya want for nothing?")).toBe(
      "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
    );
    const body = formatCloudEvent(at(push), PUBLIC_URL);
    const independent = createHmac("sha256", "hook-secret-0123456789").update(body, "utf8").digest("hex");
    expect(await signBody("hook-secret-0123456789", body)).toBe(`sha256=${independent}`);
  });
});

describe("delivery decisions", () => {
  it.each([
    [200, "delivered"],
    [201, "delivered"],
    [202, "delivered"],
    [204, "delivered"],
    [301, "refused"],
    [302, "refused"],
    [307, "refused"],
    [308, "refused"],
    [400, "refused"],
    [401, "refused"],
    [403, "refused"],
    [404, "refused"],
    [410, "refused"],
    [422, "refused"],
    [408, "retry"],
    [429, "retry"],
    [500, "retry"],
    [502, "retry"],
    [503, "retry"],
    [504, "retry"],
  ])("HTTP %i: %s", (status, kind) => {
    expect(judgeStatus(status, null, 1, 10).kind).toBe(kind);
  });

  it.each([
    [1, 10, null, 10],
    [2, 10, null, 20],
    [3, 10, null, 40],
    [8, 10, null, 1280],
    [2, 10, "120", 120],
    [3, 10, "5", 40],
    [1, 10, "soon", 10],
    [30, 10, null, MAX_RETRY_DELAY_SECONDS],
  ])("attempt %i, base %i s, Retry-After %s: wait %i s", (attempts, base, retryAfter, expected) => {
    expect(retryDelaySeconds(attempts, base, retryAfter)).toBe(expected);
  });
});

const SECRET = "hook-secret-0123456789";
const WEBHOOKS = [
  { url: "https://hooks.example.com/ci?token=QUERYSECRET", events: ["push"], secret_env: "HOOK_KEY" },
  {
    url: "https://audit.example.com/in",
    events: ["*"],
    format: "cloudevents",
    secret_env: "HOOK_KEY",
    repositories: "team-a/*",
  },
  { url: "https://gc.example.com/only", events: ["gc"], secret_env: "HOOK_KEY" },
];

/** The queue's sends, recorded instead of consumed, so the fan-out can be read back. */
function recordingQueue() {
  const sent: { body: unknown; delaySeconds?: number }[] = [];
  const queue = {
    async send(body: unknown) {
      sent.push({ body });
    },
    async sendBatch(messages: Iterable<{ body: unknown; delaySeconds?: number }>) {
      sent.push(...messages);
    },
  };
  return { sent, queue: queue as unknown as Queue };
}

function testDeps(vars: Record<string, string> = {}) {
  const recorder = recordingQueue();
  // HOOK_KEY is a secret only WEBHOOKS_JSON names, so Env does not know it.
  const target: Env = Object.assign({ ...env, WEBHOOKS_JSON: JSON.stringify(WEBHOOKS), ...vars }, { HOOK_KEY: SECRET });
  const waits: Promise<unknown>[] = [];
  const deps: Deps = {
    store: new Storage({ REGISTRY: target.REGISTRY, UPLOADS: target.UPLOADS, EVENTS: recorder.queue }),
    config: parseConfig(target),
    waitUntil: (p) => void waits.push(p),
  };
  return { deps, sent: recorder.sent, waits, settle: () => Promise.all(waits) };
}

function message(body: unknown, attempts = 1) {
  const calls: string[] = [];
  const m: ConsumedMessage & { calls: string[] } = {
    id: `m-${Math.random()}`,
    body,
    attempts,
    calls,
    ack: () => void calls.push("ack"),
    retry: (o) => void calls.push(`retry ${o?.delaySeconds ?? ""}`.trim()),
  };
  return m;
}

describe("the consumer", () => {
  const logged: string[] = [];
  beforeEach(async () => {
    await reset();
    logged.length = 0;
    for (const level of ["log", "warn", "error"] as const)
      vi.spyOn(console, level).mockImplementation((...args: unknown[]) => void logged.push(args.map(String).join(" ")));
  });
  afterEach(() => {
    vi.restoreAllMocks();
    // Receivers are named by index and host: never a path, a query or a secret.
    for (const line of logged) for (const hidden of ["QUERYSECRET", "/ci", SECRET]) expect(line).not.toContain(hidden);
  });

  it("logs an event, fans it out as one delivery per webhook that wants it, and acks", async () => {
    const { deps, sent } = testDeps();
    const event = at(push);
    const m = message({ type: "event", event });
    await consumeEventBatch(deps, "registry-events", [m], () => Promise.reject(new Error("no fetch here")));
    expect(m.calls).toEqual(["ack"]);
    expect(sent.map((s) => s.body)).toEqual([
      { type: "delivery", webhook: 0, event },
      { type: "delivery", webhook: 1, event },
    ]);
    expect((await listActivity(deps.store, 10, null)).entries).toEqual([event]);
  });

  it("POSTs a signed body with the event id, without following redirects, then acks", async () => {
    const { deps } = testDeps();
    const seen: Request[] = [];
    const fetcher = async (input: RequestInfo | URL, init?: RequestInit) => {
      seen.push(new Request(input, init));
      expect(init?.redirect).toBe("manual");
      expect(init?.signal).toBeInstanceOf(AbortSignal);
      return new Response("ok", { status: 202 });
    };
    const m = message({ type: "delivery", webhook: 1, event: at(push) }, 2);
    await consumeEventBatch(deps, "registry-events", [m], fetcher as typeof fetch);
    expect(m.calls).toEqual(["ack"]);
    const [sentRequest] = seen;
    expect(sentRequest!.url).toBe("https://audit.example.com/in");
    expect(sentRequest!.headers.get("Content-Type")).toBe("application/cloudevents+json");
    expect(sentRequest!.headers.get("X-Registry-Event-Id")).toBe(at(push).id);
    expect(sentRequest!.headers.get("X-Registry-Delivery-Attempt")).toBe("2");
    const body = await sentRequest!.text();
    const independent = createHmac("sha256", SECRET).update(body, "utf8").digest("hex");
    expect(sentRequest!.headers.get("X-Registry-Signature-256")).toBe(`sha256=${independent}`);
    expect(JSON.parse(body).id).toBe(at(push).id);
  });

  it.each([
    [500, 1, "retry 1"],
    [503, 3, "retry 4"],
    [429, 2, "retry 2"],
    [408, 1, "retry 1"],
    [400, 1, "ack"],
    [404, 5, "ack"],
    [410, 1, "ack"],
    [302, 1, "ack"],
    [200, 4, "ack"],
  ])("HTTP %i on attempt %i: %s", async (status, attempts, expected) => {
    const { deps } = testDeps({ WEBHOOKS_RETRY_DELAY_SECONDS: "1" });
    const m = message({ type: "delivery", webhook: 0, event: at(push) }, attempts);
    await consumeEventBatch(deps, "registry-events", [m], (async () => new Response(null, { status })) as typeof fetch);
    expect(m.calls).toEqual([expected]);
  });

  it.each([
    ["a refused connection", new TypeError("Network connection lost.")],
    ["a timeout", new DOMException("The operation timed out.", "TimeoutError")],
  ])("retries after %s", async (_what, error) => {
    const { deps } = testDeps();
    const m = message({ type: "delivery", webhook: 0, event: at(push) }, 2);
    await consumeEventBatch(deps, "registry-events", [m], (() => Promise.reject(error)) as typeof fetch);
    expect(m.calls).toEqual(["retry 20"]);
  });

  it("drops, unsent, a delivery for a webhook that no longer wants the event, and a message of no known shape", async () => {
    const { deps } = testDeps();
    const fetcher = vi.fn(async () => new Response(null, { status: 200 }));
    const gone = message({ type: "delivery", webhook: 7, event: at(push) });
    const notWanted = message({ type: "delivery", webhook: 2, event: at(push) });
    const junk = message({ hello: "world" });
    await consumeEventBatch(deps, "registry-events", [gone, notWanted, junk], fetcher as unknown as typeof fetch);
    expect([gone.calls, notWanted.calls, junk.calls]).toEqual([["ack"], ["ack"], ["ack"]]);
    expect(fetcher).not.toHaveBeenCalled();
  });

  it("retries an event it cannot fan out for want of the EVENTS binding, after logging it", async () => {
    const { deps } = testDeps();
    const unbound = { ...deps, store: new Storage({ REGISTRY: env.REGISTRY, UPLOADS: env.UPLOADS }) };
    const m = message({ type: "event", event: at(push) }, 2);
    await consumeEventBatch(unbound, "registry-events", [m]);
    expect(m.calls).toEqual(["retry 20"]);
    expect((await listActivity(deps.store, 10, null)).entries).toEqual([at(push)]);
  });

  it("records what reaches the dead-letter queue; the event stays in the activity log", async () => {
    const { deps } = testDeps();
    const event = at(push);
    await consumeEventBatch(deps, "registry-events", [message({ type: "event", event })]);
    const dead = message({ type: "delivery", webhook: 0, event });
    await consumeEventBatch(deps, "registry-events-dlq", [dead]);
    expect(dead.calls).toEqual(["ack"]);
    expect((await listDeadDeliveries(deps.store, 10, null)).entries).toEqual([
      {
        eventId: event.id,
        eventTime: event.time,
        webhook: 0,
        host: "hooks.example.com",
        recordedAt: expect.any(String),
      },
    ]);
    expect((await listActivity(deps.store, 10, null)).entries).toEqual([event]);
  });
});

describe("the activity log", () => {
  beforeEach(() => reset());

  const logged = async (deps: Deps, times: string[]) => {
    const events = times.map((time, i) => ({
      ...at(push),
      id: `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`,
      time,
    }));
    await consumeEventBatch(
      deps,
      "registry-events",
      events.map((event) => message({ type: "event", event })),
    );
    return events;
  };

  it("lists newest first, in pages, and rewrites an entry in place when its event comes again", async () => {
    const { deps } = testDeps();
    const times = Array.from({ length: 7 }, (_, i) => new Date(Date.UTC(2026, 11, 1 + i)).toISOString());
    const events = await logged(deps, times);
    await logged(deps, times.slice(0, 2)); // a consumer retry: same ids, same times
    const first = await listActivity<RegistryEvent>(deps.store, 3, null);
    const second = await listActivity<RegistryEvent>(deps.store, 3, first.cursor);
    const third = await listActivity<RegistryEvent>(deps.store, 3, second.cursor);
    expect([...first.entries, ...second.entries, ...third.entries].map((e) => e.time)).toEqual([...times].reverse());
    expect(third.cursor).toBeNull();
    expect(events).toHaveLength(7);
  });

  it("frees entries older than EVENTS_RETENTION_DAYS, at most `max` per call", async () => {
    const { deps } = testDeps({ EVENTS_RETENTION_DAYS: "2" });
    const now = new Date(Date.UTC(2026, 11, 10));
    const day = 24 * 3600 * 1000;
    const times = [0.5, 1.9, 2.1, 3, 4, 40].map((d) => new Date(now.getTime() - d * day).toISOString());
    await logged(deps, times);
    expect(await freeExpiredEvents(deps, now, 3)).toBe(3);
    expect(await freeExpiredEvents(deps, now, 3)).toBe(1);
    expect(await freeExpiredEvents(deps, now, 3)).toBe(0);
    const kept = (await listActivity<RegistryEvent>(deps.store, 10, null)).entries.map((e) => e.time);
    expect(kept).toEqual(times.slice(0, 2));
  });
});

describe("readActivity", () => {
  beforeEach(() => reset());

  const identity = (fields: Partial<Identity>, pulls: (repo: string) => boolean): Identity => ({
    subject: "someone",
    anonymous: false,
    allows: (repo, action) => action === "pull" && pulls(repo),
    catalog: true,
    admin: false,
    ...fields,
  });
  const admin = identity({ admin: true }, () => true);
  const teamA = identity({}, (repo) => repo.startsWith("team-a/"));
  const reader = identity({ everyRepository: true }, () => true);
  const query = { limit: 100, cursor: null, repository: null, actor: null, kind: null };
  const freed = { tags: 0, manifests: 1, links: 0, blobs: 0, data: 0, bytesFreed: 10 };

  async function logSome(deps: Deps) {
    const details: [EventDetail, string | null][] = [
      [push, "alice"],
      [{ ...push, repository: "team-b/app" } as EventDetail, "bob"],
      [{ kind: "delete", action: "deleted", repository: "team-a/app", digest: DIGEST, mediaType: null }, "bob"],
      [
        {
          kind: "gc",
          action: "collected",
          repository: null,
          stepId: "s",
          trigger: "cron",
          cycleFinished: false,
          freed,
        },
        null,
      ],
    ];
    const events = details.map(([detail, name], i) => ({
      ...at(detail, name === null ? null : { name }),
      id: `00000000-0000-4000-8000-00000000000${i}`,
      time: new Date(Date.UTC(2026, 11, 1, i)).toISOString(),
    }));
    await consumeEventBatch(
      deps,
      "registry-events",
      events.map((event) => message({ type: "event", event })),
    );
    return events.reverse(); // newest first
  }

  it("shows each caller what it may pull, collector steps to admins and every-repository readers only", async () => {
    const { deps } = testDeps();
    const [gc, del, teamB, teamAPush] = await logSome(deps);
    const ids = async (who: Identity, q = {}) =>
      (await readActivity(deps, who, { ...query, ...q })).entries.map((e) => e.id);
    expect(await ids(admin)).toEqual([gc!.id, del!.id, teamB!.id, teamAPush!.id]);
    expect(await ids(teamA)).toEqual([del!.id, teamAPush!.id]);
    expect(await ids(reader)).toEqual([gc!.id, del!.id, teamB!.id, teamAPush!.id]);
    expect(await ids(teamA, { repository: "team-b/app" })).toEqual([]);
    expect(await ids(admin, { actor: "bob" })).toEqual([del!.id, teamB!.id]);
    expect(await ids(admin, { kind: "push" })).toEqual([teamB!.id, teamAPush!.id]);
    expect(await ids(admin, { kind: "push", repository: "team-a/app" })).toEqual([teamAPush!.id]);
  });

  it("pages a filtered view without losing or repeating an event", async () => {
    const { deps } = testDeps();
    const all = await logSome(deps);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await readActivity(deps, admin, { ...query, limit: 1, cursor });
      seen.push(...page.entries.map((e) => e.id));
      cursor = page.cursor;
    } while (cursor !== null);
    expect(seen).toEqual(all.map((e) => e.id));
  });
});

describe("emitEvent", () => {
  it("sends the event inside waitUntil, and samples pulls by PULL_EVENTS_SAMPLE_RATE", async () => {
    const { deps, sent, waits, settle } = testDeps({ PULL_EVENTS_SAMPLE_RATE: "0.25" });
    const event = emitEvent(deps, { detail: push, actor, request });
    expect(waits).toHaveLength(1);
    await settle();
    expect(sent.map((s) => s.body)).toEqual([{ type: "event", event }]);
    const pull: EventDetail = {
      kind: "pull",
      action: "pulled",
      repository: "r",
      digest: DIGEST,
      mediaType: "m",
      size: 1,
      tag: null,
    };
    expect(emitEvent(deps, { detail: pull, actor, request }, () => 0.3)).toBeNull();
    expect(emitEvent(deps, { detail: pull, actor, request }, () => 0.2)).not.toBeNull();
  });

  it("sends nothing that nothing wants: no log and no webhook for the kind", async () => {
    const { deps, sent, settle } = testDeps({ EVENTS_RETENTION_DAYS: "0" });
    const mount: EventDetail = {
      kind: "mount",
      action: "mounted",
      repository: "x/y",
      digest: DIGEST,
      size: 1,
      fromRepository: null,
    };
    expect(emitEvent(deps, { detail: mount, actor, request })).toBeNull();
    expect(emitEvent(deps, { detail: push, actor, request })).not.toBeNull();
    await settle();
    expect(sent).toHaveLength(1);
  });

  it("answers without a queue: the event is logged as not sent, the caller goes on", async () => {
    const target: Env = env;
    const waits: Promise<unknown>[] = [];
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    const deps: Deps = {
      store: new Storage({ REGISTRY: target.REGISTRY, UPLOADS: target.UPLOADS }),
      config: parseConfig(target),
      waitUntil: (p) => void waits.push(p),
    };
    const event = emitEvent(deps, { detail: push, actor, request });
    await Promise.all(waits);
    expect(errors).toHaveBeenCalledWith(expect.stringContaining(`event ${event!.id} (push) not sent`));
    errors.mockRestore();
  });
});
