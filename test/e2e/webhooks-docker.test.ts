// The core's events end to end: docker push, docker tag + push, DELETE by tag and by digest,
// and a collector step (POST /v2/_gc) against the local runtime, each delivered to a receiver
// on 127.0.0.1 (WEBHOOKS_ALLOW_PRIVATE=true) as exactly the events expected, through the real
// queue and consumer; a push refused by an immutable tag delivers nothing. test/e2e/webhooks.test.ts
// covers delivery itself (retries, the dead-letter queue, signatures) with an event it sends.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { needClients } from "./clients/availability";
import { runOk } from "./clients/run";
import { DockerCli } from "./clients/tools";
import { E2E_AUTH, E2E_CREDENTIALS, registrySuite, type RegistryServer } from "./registry-server";

interface CloudEvent {
  id: string;
  type: string;
  subject: string;
  data: Record<string, unknown> & { actor: { name: string } | null; request: Record<string, unknown> | null };
}

const received: CloudEvent[] = [];
let receiverServer: Server;
let receiverPort = 0;
let server: RegistryServer;
let work: string;
let docker: DockerCli;

// The receiver must listen before the registry starts: its address is in WEBHOOKS_JSON.
registrySuite(
  async () => {
    receiverServer = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        received.push(JSON.parse(Buffer.concat(chunks).toString("utf8")) as CloudEvent);
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => receiverServer.listen(0, "127.0.0.1", r));
    const address = receiverServer.address();
    receiverPort = typeof address === "object" && address ? address.port : 0;
    return {
      vars: {
        WEBHOOKS_JSON: JSON.stringify([
          {
            url: `http://127.0.0.1:${receiverPort}/hook`,
            events: ["*"],
            format: "cloudevents",
            secret_env: "HOOK_KEY",
          },
        ]),
        WEBHOOKS_ALLOW_PRIVATE: "true",
        HOOK_KEY: "e2e-hook-key-0123456789",
        IMMUTABLE_TAGS_JSON: JSON.stringify([{ repository: "e2e/hooks", tags: "release", name: "releases" }]),
        GC_GRACE_SECONDS: "0",
      },
    };
  },
  (s) => {
    server = s;
  },
);

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "registry-webhooks-docker-"));
  docker = new DockerCli(join(work, "docker-config"));
});

afterAll(async () => {
  receiverServer?.close();
  if (server && docker) {
    const images = ["v1", "stable", "release"].map((t) => `${server.host}/e2e/hooks:${t}`);
    await docker.attempt(["rmi", "--force", ...images]);
  }
  if (work) rmSync(work, { recursive: true, force: true });
});

/** Waits until `n` events have arrived in all, then returns the ones since `from`. Queue
 *  deliveries run on their own schedule, so this polls; it never waits past what arrives. */
async function eventsUntil(from: number, n: number, what: string): Promise<CloudEvent[]> {
  const deadline = Date.now() + 30_000;
  while (received.length < n) {
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}: ${JSON.stringify(received.slice(from))}\n${server.log()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return received.slice(from);
}

/** A one-layer image imported into docker as `name`, made of one file holding `content`. */
async function importImage(name: string, content: string): Promise<void> {
  const dir = join(work, `rootfs-${received.length}-${Math.random().toString(36).slice(2)}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "hello.txt"), content);
  const tarball = `${dir}.tar`;
  await runOk("tar", ["--sort=name", "--mtime=@0", "--owner=0", "--group=0", "-C", dir, "-cf", tarball, "."]);
  await docker.run(["import", "--change", 'CMD ["/hello.txt"]', tarball, name]);
}

function pushedDigest(output: string): string {
  const match = /digest: (sha256:[0-9a-f]{64})/.exec(output);
  if (!match?.[1]) throw new Error(`no digest in docker push output:\n${output}`);
  return match[1];
}

const api = (path: string, init: RequestInit = {}) =>
  fetch(`${server.url}${path}`, { ...init, headers: { Authorization: E2E_AUTH, ...init.headers } });

it("docker push, tag, deletes and a collector step each deliver exactly their events; a refused push none", async (context) => {
  await needClients(context, "docker");
  const repo = `${server.host}/e2e/hooks`;
  const actor = { name: `admin:${E2E_CREDENTIALS.username}` };
  expect((await docker.login(server.host, E2E_CREDENTIALS.username, E2E_CREDENTIALS.password)).code).toBe(0);

  // docker push: one push event (its blob uploads are no events).
  await importImage(`${repo}:v1`, "events e2e one\n");
  const digest = pushedDigest((await docker.run(["push", `${repo}:v1`])).stdout);
  const [pushed, ...extra] = await eventsUntil(0, 1, "the push");
  expect(extra).toEqual([]);
  expect(pushed).toMatchObject({
    type: "dev.r2-oci-registry.push.pushed",
    subject: `e2e/hooks@${digest}`,
    data: {
      repository: "e2e/hooks",
      digest,
      mediaType: expect.stringMatching(/manifest/),
      size: expect.any(Number),
      tags: ["v1"],
      previousDigest: null,
      subject: null,
      actor,
      request: { method: "PUT", path: "/v2/e2e/hooks/manifests/v1", userAgent: expect.stringContaining("docker") },
    },
  });

  // docker tag + push: the manifest is stored, so the new tag is a move, and nothing else.
  await docker.run(["tag", `${repo}:v1`, `${repo}:stable`]);
  expect(pushedDigest((await docker.run(["push", `${repo}:stable`])).stdout)).toBe(digest);
  const tagged = await eventsUntil(1, 2, "the tag");
  expect(tagged).toMatchObject([
    {
      type: "dev.r2-oci-registry.tag.moved",
      subject: "e2e/hooks:stable",
      data: { repository: "e2e/hooks", tag: "stable", digest, previousDigest: null, actor },
    },
  ]);

  // A locked tag: the first push is a push; pushing another image over it is refused (DENIED,
  // naming the rule) and delivers nothing. The delete by tag after it is the next event.
  await importImage(`${repo}:release`, "events e2e release\n");
  await docker.run(["push", `${repo}:release`]);
  expect((await eventsUntil(2, 3, "the release push")).map((e) => e.type)).toEqual(["dev.r2-oci-registry.push.pushed"]);
  await importImage(`${repo}:release`, "events e2e release, again\n");
  const refused = await docker.attempt(["push", `${repo}:release`]);
  expect(refused.code).not.toBe(0);
  expect(refused.stdout + refused.stderr).toContain("releases");

  expect((await api("/v2/e2e/hooks/manifests/stable", { method: "DELETE" })).status).toBe(202);
  expect(await eventsUntil(3, 4, "the tag deletion")).toMatchObject([
    {
      type: "dev.r2-oci-registry.tag.deleted",
      subject: "e2e/hooks:stable",
      data: { repository: "e2e/hooks", tag: "stable", digest, actor, request: { method: "DELETE" } },
    },
  ]);
  expect((await api(`/v2/e2e/hooks/manifests/${digest}`, { method: "DELETE" })).status).toBe(202);
  expect(await eventsUntil(4, 5, "the manifest deletion")).toMatchObject([
    {
      type: "dev.r2-oci-registry.delete.deleted",
      subject: `e2e/hooks@${digest}`,
      data: { repository: "e2e/hooks", digest, mediaType: pushed!.data.mediaType, actor },
    },
  ]);

  // Collector steps until the cycle ends: one event per step that freed something, with
  // what the step's report says it freed.
  let expected = 5;
  const reports: { id: string; freed: Record<string, number>; cycleFinished: boolean }[] = [];
  for (let step = 0; step < 20; step++) {
    const report = (await (await api("/v2/_gc", { method: "POST" })).json()) as (typeof reports)[number];
    if (Object.values(report.freed).some((n) => n > 0)) {
      reports.push(report);
      expected++;
    }
    if (report.cycleFinished) break;
  }
  expect(reports.length).toBeGreaterThan(0);
  const collected = await eventsUntil(5, expected, "the collector steps");
  expect(collected.map((e) => e.type)).toEqual(reports.map(() => "dev.r2-oci-registry.gc.collected"));
  expect(collected.map((e) => [e.subject, e.data.freed, e.data.trigger])).toEqual(
    reports.map((r) => [r.id, r.freed, "manual"]),
  );
  // Each event once, and none for the refused push: every id is distinct and every push
  // event names a digest that was stored.
  expect(new Set(received.map((e) => e.id)).size).toBe(received.length);
  expect(received.filter((e) => e.type === "dev.r2-oci-registry.push.pushed")).toHaveLength(2);
  expect(received).toHaveLength(expected);
});
