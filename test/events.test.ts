// Events (src/events/): the two webhook formats, the signature, the delivery decisions per
// answer, the queue consumer's fan-out, acks and retries (a fake fetch stands for the
// receivers, a recorder for the queue; R2 is the real local bucket), and the dead-letter
// record. The activity log and emitEvent: test/events-log.test.ts.
import { createHmac } from "node:crypto";
import { reset } from "cloudflare:test";
import { env } from "cloudflare:workers";
import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { formatCloudEvent, TYPE_PREFIX } from "../src/events/cloudevents";
import { consumeEventBatch } from "../src/events/consumer";
import { judgeStatus, retryDelaySeconds, MAX_RETRY_DELAY_SECONDS } from "../src/events/delivery";
import { formatDistributionEnvelope } from "../src/events/distribution";
import { createEvent, type EventDetail } from "../src/events/event";
import { signBody } from "../src/events/signature";
import { listActivity, listDeadDeliveries } from "../src/storage/events";
import { Storage } from "../src/storage/storage";
import { DIGEST, OTHER, PUBLIC_URL, actor, request, push, at, SECRET, testDeps, message } from "./event-fixtures";

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
    const unknownKind = message({ type: "delivery", webhook: 0, event: { ...at(push), detail: { kind: "upload" } } });
    const all = [gone, notWanted, junk, unknownKind];
    await consumeEventBatch(deps, "registry-events", all, fetcher as unknown as typeof fetch);
    expect(all.map((m) => m.calls)).toEqual([["ack"], ["ack"], ["ack"], ["ack"]]);
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
