import { reset } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { parseConfig, type Env } from "../src/config/config";
import { consumeEventBatch } from "../src/events/consumer";
import { emitEvent } from "../src/events/emit";
import type { EventDetail, RegistryEvent } from "../src/events/event";
import { freeExpiredEvents } from "../src/events/retention";
import type { Deps } from "../src/storage/deps";
import { readActivity } from "../src/registry/activity";
import type { Identity } from "../src/registry/identity";
import { listActivity } from "../src/storage/events";
import { Storage } from "../src/storage/storage";
import { DIGEST, actor, request, push, at, testDeps, message } from "./event-fixtures";

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
