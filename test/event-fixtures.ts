// Shared by the events tests (test/events.test.ts, test/events-log.test.ts): a sample push
// event, three webhooks, a recorder standing for the queue, deps over the real local R2, and
// queue messages that record how they were acknowledged.
import { env } from "cloudflare:workers";
import { parseConfig, type Env } from "../src/config/config";
import type { ConsumedMessage } from "../src/events/consumer";
import type { EventActor, EventDetail, PushDetail, RegistryEvent } from "../src/events/event";
import type { Deps } from "../src/storage/deps";
import { Storage } from "../src/storage/storage";

export const DIGEST = `sha256:${"ab".repeat(32)}`;
export const OTHER = `sha256:${"cd".repeat(32)}`;
export const PUBLIC_URL = "https://registry.example.com";
export const actor = { name: "alice" };
export const request = {
  id: "req-1",
  method: "PUT",
  path: "/v2/team-a/app/manifests/1.4",
  host: "registry.example.com",
  userAgent: "docker/27",
};

export const push: PushDetail = {
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
export const at = (detail: EventDetail, who: EventActor | null = actor): RegistryEvent => ({
  id: "6f1c1b9e-0000-4000-8000-000000000001",
  time: "2026-12-07T10:00:00.000Z",
  detail,
  actor: who,
  request,
});

export const SECRET = "hook-secret-0123456789";
export const WEBHOOKS = [
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
export function recordingQueue() {
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

export function testDeps(vars: Record<string, string> = {}) {
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

export function message(body: unknown, attempts = 1) {
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
