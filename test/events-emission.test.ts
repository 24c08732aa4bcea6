// The core's events, one per durable change, whichever request made it: each write path
// emits exactly one event with the right fields, and a refused request emits none. Requests
// go through the whole app with the events queue replaced by a recorder (event-fixtures.ts),
// and each test waits for the request's waitUntil work before reading what was sent.
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, inject, it } from "vitest";
import { createApp } from "../src/app";
import { parseConfig, type Env } from "../src/config/config";
import type { RegistryEvent } from "../src/events/event";
import type { EventMessage } from "../src/events/messages";
import { runScheduled } from "../src/registry/scheduled";
import { appendActivity, listActivity } from "../src/storage/events";
import { Storage } from "../src/storage/storage";
import { recordingQueue } from "./event-fixtures";
import {
  AUTH,
  basic,
  OCI_INDEX,
  OCI_MANIFEST,
  pushBlob,
  pushImage,
  READONLY_AUTH,
  seededBytes,
  singleLayerImage,
} from "./helpers";
import { client, csrfIn } from "./ui-client";

const app = createApp();

/** The app under `vars`, its events recorded: `send` answers once the request's waitUntil
 *  work is done, `take` returns (and forgets) the events sent so far. */
function recorded(vars: Record<string, string> = {}) {
  const recorder = recordingQueue();
  const target: Env = { ...(env as unknown as Env), ...vars, EVENTS: recorder.queue };
  const send = async (path: string, init: RequestInit & { auth?: string | null } = {}) => {
    const headers = new Headers(init.headers);
    const auth = init.auth === undefined ? AUTH : init.auth;
    if (auth) headers.set("Authorization", auth);
    const ctx = createExecutionContext();
    const response = await app.fetch(new Request(`http://registry.test${path}`, { ...init, headers }), target, ctx);
    await waitOnExecutionContext(ctx);
    return response;
  };
  const take = (): RegistryEvent[] => {
    const events = recorder.sent.map((s) => (s.body as EventMessage & { type: "event" }).event);
    recorder.sent.length = 0;
    return events;
  };
  return { send, take, target, recorder };
}

/** Blobs of a one-layer image pushed to `repo` (uploads emit nothing); the manifest is not. */
async function imageBlobs(repo: string, seed: number) {
  const image = singleLayerImage({ architecture: "amd64", os: "linux", seed }, seededBytes(500 + seed, seed));
  await pushBlob(repo, image.config);
  await pushBlob(repo, image.layer);
  return image;
}

const put = (body: string, type = OCI_MANIFEST, extra: Record<string, string> = {}) => ({
  method: "PUT",
  body,
  headers: { "Content-Type": type, ...extra },
});

describe("events from the core", () => {
  it("a push emits one push event naming the change, the actor and the request", async () => {
    const { send, take } = recorded();
    const image = await imageBlobs("ev/push", 1);
    const response = await send(
      "/v2/ev/push/manifests/1.0?tag=latest",
      put(image.body, OCI_MANIFEST, { "cf-ray": "8f2a9c-TEST", "User-Agent": "docker/27.3.1" }),
    );
    expect(response.status).toBe(201);
    const events = take();
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      detail: {
        kind: "push",
        action: "pushed",
        repository: "ev/push",
        digest: image.digest,
        mediaType: OCI_MANIFEST,
        size: new TextEncoder().encode(image.body).length,
        tags: ["1.0", "latest"],
        previousDigest: null,
        platforms: [],
        platformsTruncated: false,
        subject: null,
      },
      actor: { name: "admin:tester" },
      request: {
        id: "8f2a9c-TEST",
        method: "PUT",
        path: "/v2/ev/push/manifests/1.0",
        host: "registry.test",
        userAgent: "docker/27.3.1",
      },
    });
    // Re-pushing what every tag already names changes nothing, and says nothing.
    expect((await send("/v2/ev/push/manifests/1.0", put(image.body))).status).toBe(201);
    expect(take()).toEqual([]);
  });

  it("a request without cf-ray gets an id of its own; an index push lists its platforms and a referrer its subject", async () => {
    const { send, take } = recorded();
    const a = await imageBlobs("ev/index", 2);
    const b = await imageBlobs("ev/index", 3);
    for (const image of [a, b])
      expect((await send(`/v2/ev/index/manifests/${image.digest}`, put(image.body))).status).toBe(201);
    const pushed = take();
    expect(pushed.map((e) => e.detail.kind)).toEqual(["push", "push"]);
    expect(pushed[0]!.request!.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(pushed[0]!.request!.id).not.toBe(pushed[1]!.request!.id);
    expect(pushed[0]!.detail).toMatchObject({ tags: [] });
    const index = JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: [
        {
          mediaType: OCI_MANIFEST,
          digest: a.digest,
          size: a.body.length,
          platform: { os: "linux", architecture: "amd64" },
        },
        {
          mediaType: OCI_MANIFEST,
          digest: b.digest,
          size: b.body.length,
          platform: { os: "linux", architecture: "arm64", variant: "v8" },
        },
      ],
    });
    expect((await send("/v2/ev/index/manifests/multi", put(index, OCI_INDEX))).status).toBe(201);
    const [indexEvent, ...rest] = take();
    expect(rest).toEqual([]);
    expect(indexEvent!.detail).toMatchObject({
      kind: "push",
      mediaType: OCI_INDEX,
      tags: ["multi"],
      platforms: [
        { os: "linux", architecture: "amd64" },
        { os: "linux", architecture: "arm64", variant: "v8" },
      ],
    });
    const referrer = singleLayerImage({ seed: 4 }, seededBytes(600, 4), {
      subject: { mediaType: OCI_MANIFEST, digest: a.digest, size: a.body.length },
    });
    await pushBlob("ev/index", referrer.config);
    await pushBlob("ev/index", referrer.layer);
    expect((await send(`/v2/ev/index/manifests/${referrer.digest}`, put(referrer.body))).status).toBe(201);
    expect(take().map((e) => e.detail)).toMatchObject([{ kind: "push", digest: referrer.digest, subject: a.digest }]);
  });

  it("pointing a tag at a stored manifest is a tag move; pushing a new manifest over a tag is a push with the previous digest", async () => {
    const { send, take } = recorded();
    const a = await imageBlobs("ev/tags", 5);
    const b = await imageBlobs("ev/tags", 6);
    await send("/v2/ev/tags/manifests/1", put(a.body));
    take();
    // docker tag + push: the manifest is stored, the tag is new.
    expect((await send("/v2/ev/tags/manifests/stable", put(a.body))).status).toBe(201);
    expect(take().map((e) => e.detail)).toEqual([
      { kind: "tag", action: "moved", repository: "ev/tags", tag: "stable", digest: a.digest, previousDigest: null },
    ]);
    expect((await send("/v2/ev/tags/manifests/stable", put(b.body))).status).toBe(201);
    expect(take().map((e) => e.detail)).toMatchObject([
      { kind: "push", digest: b.digest, tags: ["stable"], previousDigest: a.digest },
    ]);
    expect((await send("/v2/ev/tags/manifests/stable", put(a.body))).status).toBe(201);
    expect(take().map((e) => e.detail)).toEqual([
      {
        kind: "tag",
        action: "moved",
        repository: "ev/tags",
        tag: "stable",
        digest: a.digest,
        previousDigest: b.digest,
      },
    ]);
    // A new manifest under a new tag and a moved one: the previous digest is the moved tag's.
    const c = await imageBlobs("ev/tags", 18);
    expect((await send("/v2/ev/tags/manifests/fresh?tag=stable", put(c.body))).status).toBe(201);
    expect(take().map((e) => e.detail)).toMatchObject([
      { kind: "push", digest: c.digest, tags: ["fresh", "stable"], previousDigest: a.digest },
    ]);
  });

  it("refused pushes emit nothing: a missing blob, a locked tag, a caller without the right", async () => {
    const { send, take } = recorded({
      IMMUTABLE_TAGS_JSON: JSON.stringify([{ repository: "ev/refused", tags: "v[0-9]+", name: "releases" }]),
    });
    const a = await imageBlobs("ev/refused", 7);
    const b = await imageBlobs("ev/refused", 8);
    const missing = singleLayerImage({ seed: 9 }, seededBytes(700, 9));
    const refused = await send("/v2/ev/refused/manifests/x", put(missing.body));
    expect(refused.status).toBe(404);
    expect(await refused.text()).toContain("MANIFEST_BLOB_UNKNOWN");
    expect((await send("/v2/ev/refused/manifests/v1", put(a.body))).status).toBe(201);
    expect(take()).toHaveLength(1);
    const locked = await send("/v2/ev/refused/manifests/v1", put(b.body));
    expect(locked.status).toBe(403);
    expect(await locked.text()).toContain("DENIED");
    expect((await send("/v2/ev/refused/manifests/v1", { method: "DELETE" })).status).toBe(403);
    expect((await send(`/v2/ev/refused/manifests/${a.digest}`, { method: "DELETE" })).status).toBe(403);
    const reader = await send("/v2/ev/refused/manifests/y", { ...put(a.body), auth: READONLY_AUTH });
    expect([401, 403]).toContain(reader.status);
    const anonymous = await send("/v2/ev/refused/manifests/y", { ...put(a.body), auth: null });
    expect(anonymous.status).toBe(401);
    expect(take()).toEqual([]);
  });

  it("a DELETE by tag emits a tag deletion, one by digest a manifest deletion (its tags go with it)", async () => {
    const { send, take } = recorded();
    const a = await imageBlobs("ev/delete", 10);
    await send("/v2/ev/delete/manifests/1?tag=2", put(a.body));
    take();
    expect((await send("/v2/ev/delete/manifests/1", { method: "DELETE" })).status).toBe(202);
    expect(take()).toMatchObject([
      {
        detail: {
          kind: "tag",
          action: "deleted",
          repository: "ev/delete",
          tag: "1",
          digest: a.digest,
          previousDigest: null,
        },
        actor: { name: "admin:tester" },
        request: { method: "DELETE", path: "/v2/ev/delete/manifests/1" },
      },
    ]);
    expect((await send("/v2/ev/delete/manifests/1", { method: "DELETE" })).status).toBe(404);
    expect((await send(`/v2/ev/delete/manifests/${a.digest}`, { method: "DELETE" })).status).toBe(202);
    expect(take().map((e) => e.detail)).toEqual([
      { kind: "delete", action: "deleted", repository: "ev/delete", digest: a.digest, mediaType: OCI_MANIFEST },
    ]);
  });

  it("a mount emits one mount event; a mount that falls back to an upload emits none", async () => {
    const { send, take } = recorded();
    const a = await imageBlobs("ev/mount-from", 11);
    const mounted = await send(`/v2/ev/mount-to/blobs/uploads/?mount=${a.layerDigest}&from=ev/mount-from`, {
      method: "POST",
    });
    expect(mounted.status).toBe(201);
    expect(take().map((e) => e.detail)).toEqual([
      {
        kind: "mount",
        action: "mounted",
        repository: "ev/mount-to",
        digest: a.layerDigest,
        size: a.layer.length,
        fromRepository: "ev/mount-from",
      },
    ]);
    const fallback = await send(`/v2/ev/mount-to/blobs/uploads/?mount=sha256:${"0".repeat(64)}&from=ev/mount-from`, {
      method: "POST",
    });
    expect(fallback.status).toBe(202);
    expect(take()).toEqual([]);
  });

  it("a manifest GET is a pull when sampled, a HEAD never", async () => {
    const { send, take } = recorded({ PULL_EVENTS_SAMPLE_RATE: "1" });
    const a = await imageBlobs("ev/pull", 12);
    await send("/v2/ev/pull/manifests/1", put(a.body));
    take();
    expect((await send("/v2/ev/pull/manifests/1", { method: "HEAD" })).status).toBe(200);
    expect(take()).toEqual([]);
    expect((await send("/v2/ev/pull/manifests/1", { auth: basic("reader", "reader-password") })).status).toBe(200);
    expect(take()).toMatchObject([
      {
        detail: { kind: "pull", action: "pulled", repository: "ev/pull", digest: a.digest, tag: "1" },
        actor: { name: "readonly:reader" },
        request: { method: "GET" },
      },
    ]);
    const unsampled = recorded();
    expect((await unsampled.send("/v2/ev/pull/manifests/1")).status).toBe(200);
    expect(unsampled.take()).toEqual([]);
  });

  it("a collector step that frees something emits one gc event with what it freed; a dry run emits none", async () => {
    const { send, take } = recorded({ GC_GRACE_SECONDS: "0" });
    const a = await imageBlobs("ev/gc", 13);
    await send(`/v2/ev/gc/manifests/${a.digest}`, put(a.body));
    await send(`/v2/ev/gc/manifests/${a.digest}`, { method: "DELETE" });
    take();
    expect((await send("/v2/_gc?dry_run=1", { method: "POST" })).status).toBe(200);
    expect(take()).toEqual([]);
    let freedTotal = 0;
    for (let step = 0; step < 20; step++) {
      const report = (await (await send("/v2/_gc", { method: "POST" })).json()) as {
        id: string;
        cycleFinished: boolean;
        freed: Record<string, number>;
      };
      const freed = Object.values(report.freed).reduce((s, n) => s + n, 0);
      freedTotal += freed;
      const events = take();
      if (freed === 0) expect(events).toEqual([]);
      else
        expect(events).toMatchObject([
          {
            detail: {
              kind: "gc",
              action: "collected",
              repository: null,
              stepId: report.id,
              trigger: "manual",
              cycleFinished: report.cycleFinished,
              freed: report.freed,
            },
            actor: { name: "admin:tester" },
            request: { method: "POST", path: "/v2/_gc" },
          },
        ]);
      if (report.cycleFinished) break;
    }
    expect(freedTotal).toBeGreaterThan(0);
  });

  it("the cron run emits its collector steps with no actor and no request, and frees expired log entries", async () => {
    const { take, target } = recorded({ GC_GRACE_SECONDS: "0", EVENTS_RETENTION_DAYS: "1" });
    const store = new Storage({ REGISTRY: target.REGISTRY, UPLOADS: target.UPLOADS, EVENTS: target.EVENTS });
    const deps = { store, config: parseConfig(target), waitUntil: (p: Promise<unknown>) => void waits.push(p) };
    const waits: Promise<unknown>[] = [];
    const old = { id: "00000000-0000-4000-8000-00000000e1d0", timeMs: Date.now() - 3 * 24 * 3600 * 1000 };
    await appendActivity(store, { ...old, kind: "push", repository: "ev/old", actor: null }, { id: old.id });
    const a = await imageBlobs("ev/cron", 14);
    const app2 = recorded();
    await app2.send(`/v2/ev/cron/manifests/${a.digest}`, put(a.body));
    await app2.send(`/v2/ev/cron/manifests/${a.digest}`, { method: "DELETE" });
    const gcEvents: RegistryEvent[] = [];
    for (let run = 0; run < 20 && gcEvents.every((e) => e.detail.kind !== "gc" || !e.detail.cycleFinished); run++) {
      await runScheduled(deps);
      await Promise.all(waits);
      gcEvents.push(...take());
    }
    expect(gcEvents.length).toBeGreaterThan(0);
    for (const event of gcEvents) {
      expect(event.detail).toMatchObject({ kind: "gc", trigger: "cron" });
      expect(event.actor).toBeNull();
      expect(event.request).toBeNull();
    }
    const left = await listActivity<{ id: string }>(store, 100, null, (f) => f.repository === "ev/old");
    expect(left.entries).toEqual([]);
  });

  it("the web UI's delete emits the same event as the API's, naming the UI's request", async () => {
    const recorder = recordingQueue();
    const c = client({ EVENTS: recorder.queue });
    await c.signIn("tester", "test-password");
    const image = await pushImage("ev/ui", "gone", 15);
    const confirm = await (await c.fetchPage("/r/ev/ui/-/delete?tag=gone")).text();
    expect((await c.post("/r/ev/ui/-/delete", { tag: "gone", _csrf: csrfIn(confirm) })).status).toBe(303);
    expect(recorder.sent.map((s) => (s.body as EventMessage & { type: "event" }).event)).toMatchObject([
      {
        detail: { kind: "tag", action: "deleted", repository: "ev/ui", tag: "gone", digest: image.digest },
        actor: { name: "admin:tester" },
        request: { method: "POST", path: "/r/ev/ui/-/delete" },
      },
    ]);
  });

  it("a pull-through fill emits one mirror event naming the upstream by its prefix; a cached pull none", async () => {
    const upstream = inject("upstreamUrl");
    const { send, take } = recorded({ REGISTRIES_JSON: JSON.stringify([{ registry: upstream, prefix: "up" }]) });
    const image = singleLayerImage({ os: "linux", seed: 16 }, seededBytes(800, 16));
    const res = await fetch(`${upstream}/_content/evmirror/manifests/${image.digest}`, {
      method: "PUT",
      body: image.body,
      headers: { "Content-Type": OCI_MANIFEST },
    });
    expect(res.status).toBe(201);
    expect((await send(`/v2/up/evmirror/manifests/${image.digest}`)).status).toBe(200);
    expect(take().map((e) => e.detail)).toEqual([
      {
        kind: "mirror",
        action: "filled",
        repository: "up/evmirror",
        digest: image.digest,
        mediaType: OCI_MANIFEST,
        size: new TextEncoder().encode(image.body).length,
        tag: null,
        upstream: "up",
      },
    ]);
    expect((await send(`/v2/up/evmirror/manifests/${image.digest}`)).status).toBe(200);
    expect(take()).toEqual([]);
  });
});

describe("reading the activity log", () => {
  const store = new Storage({ REGISTRY: (env as unknown as Env).REGISTRY, UPLOADS: (env as unknown as Env).UPLOADS });
  const base = Date.UTC(2026, 10, 1);
  const logged: RegistryEvent[] = [
    ["ev/read", "alice", 1],
    ["ev/read", "bob", 2],
    ["ev/read", "alice", 3],
    ["ev/other", "alice", 4],
  ].map(([repository, name, i]) => ({
    id: `00000000-0000-4000-8000-0000000ead0${i}`,
    time: new Date(base + Number(i) * 1000).toISOString(),
    detail: {
      kind: "tag",
      action: "deleted",
      repository: String(repository),
      tag: `t${i}`,
      digest: `sha256:${"ab".repeat(32)}`,
      previousDigest: null,
    },
    actor: { name: String(name) },
    request: null,
  }));
  const plant = () =>
    Promise.all(
      logged.map((e) =>
        appendActivity(
          store,
          {
            id: e.id,
            timeMs: Date.parse(e.time),
            kind: e.detail.kind,
            repository: e.detail.repository,
            actor: e.actor!.name,
          },
          e,
        ),
      ),
    );

  it("GET /v2/_activity: admins only, newest first, filtered, paged with Link", async () => {
    await plant();
    const { send } = recorded();
    const first = await send("/v2/_activity?repository=ev/read&n=2");
    expect(first.status).toBe(200);
    const body = (await first.json()) as { events: RegistryEvent[] };
    expect(body.events.map((e) => e.id)).toEqual([logged[2]!.id, logged[1]!.id]);
    const link = first.headers.get("Link")!;
    expect(link).toMatch(/^<\/v2\/_activity\?repository=ev%2Fread&n=2&last=[^>]+>; rel="next"$/);
    const second = await send(link.slice(1, link.indexOf(">")));
    expect(((await second.json()) as { events: RegistryEvent[] }).events.map((e) => e.id)).toEqual([logged[0]!.id]);
    const alice = await send("/v2/_activity?repository=ev/read&actor=alice&kind=tag");
    expect(((await alice.json()) as { events: RegistryEvent[] }).events.map((e) => e.id)).toEqual([
      logged[2]!.id,
      logged[0]!.id,
    ]);
    expect((await send("/v2/_activity?kind=everything")).status).toBe(400);
    expect((await send("/v2/_activity?n=x")).status).toBe(400);
    expect((await send("/v2/_activity", { auth: READONLY_AUTH })).status).toBe(403);
    expect((await send("/v2/_activity", { auth: null })).status).toBe(401);
  });

  it("the Activity page (admins) filters the log; a repository page shows its recent activity", async () => {
    await plant();
    const admin = client();
    await admin.signIn("tester", "test-password");
    const page = await admin.fetchPage("/-/activity?repository=ev/read&actor=bob");
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain("deleted tag t2");
    expect(html).not.toContain("deleted tag t1");
    expect(html).toContain('href="/-/activity"');
    const reader = client();
    await reader.signIn("reader", "reader-password");
    expect((await reader.fetchPage("/-/activity")).status).toBe(403);
    expect(await (await reader.fetchPage("/")).text()).not.toContain('href="/-/activity"');
    await pushImage("ev/read", "latest", 17);
    const repoPage = await (await admin.fetchPage("/r/ev/read")).text();
    expect(repoPage).toContain("Recent activity");
    expect(repoPage).toContain("deleted tag t3");
    expect(repoPage).not.toContain("deleted tag t4");
  });
});
