// Webhooks end to end under the local runtime (scripts/local-runtime/runtime.ts, what
// `npm start` runs, with wrangler.toml's queues): receivers on 127.0.0.1
// (WEBHOOKS_ALLOW_PRIVATE=true) get events through the real queue, consumer, retries and
// dead-letter queue. The test sends its event to the EVENTS queue itself, through the
// runtime's in-process binding, so delivery is tested apart from the core's emission
// (test/e2e/webhooks-docker.test.ts).
// Signatures are checked with Python's hmac, an implementation independent of the Worker's.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { startRuntime, type Runtime } from "../../scripts/local-runtime/runtime";
import { createEvent, type RegistryEvent } from "../../src/events/event";
import { listActivity, listDeadDeliveries } from "../../src/storage/events";
import { openStorage, type Storage } from "../../src/storage/storage";

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  status: number;
}

/** A receiver answering each POST with the next status of `statuses` (the last repeats). */
async function receiver(statuses: number[]): Promise<{ server: Server; port: number; received: Received[] }> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const status = statuses[Math.min(received.length, statuses.length - 1)]!;
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString("utf8"), status });
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const address = server.address();
  return { server, port: typeof address === "object" && address ? address.port : 0, received };
}

/** Verifies `X-Registry-Signature-256` over the raw body with Python's hmac module. */
function pythonVerifies(secret: string, body: string, signature: string): boolean {
  const script = [
    "import hmac, hashlib, os, sys",
    "body = sys.stdin.buffer.read()",
    "mac = hmac.new(os.environb[b'KEY'], body, hashlib.sha256).hexdigest()",
    "print('ok' if hmac.compare_digest('sha256=' + mac, sys.argv[1]) else 'bad')",
  ].join("\n");
  const out = execFileSync("python3", ["-c", script, signature], { input: body, env: { ...process.env, KEY: secret } });
  return out.toString().trim() === "ok";
}

/** Polls `check` until it returns a value, for at most `ms`: queue deliveries and retries
 *  run on their own schedule (here 1, 2 and 4 s between attempts). */
async function until<T>(what: string, ms: number, check: () => Promise<T | null> | T | null): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== null) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}\n${lines.join("")}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const FLAKY_KEY = "flaky-receiver-key-0123456789";
const DOWN_KEY = "down-receiver-key-0123456789";
const lines: string[] = [];
let runtime: Runtime;
let stateDir: string;
let store: Storage;
let flaky: Awaited<ReturnType<typeof receiver>>;
let down: Awaited<ReturnType<typeof receiver>>;
let steady: Awaited<ReturnType<typeof receiver>>;

beforeAll(async () => {
  flaky = await receiver([503, 500, 200]);
  down = await receiver([500]);
  steady = await receiver([204]);
  const url = (port: number, path: string) => `http://127.0.0.1:${port}${path}?token=receiver-query-token`;
  const webhooks = [
    { url: url(flaky.port, "/flaky-hook"), events: ["push"], format: "cloudevents", secret_env: "FLAKY_KEY" },
    { url: url(down.port, "/down-hook"), events: ["*"], secret_env: "DOWN_KEY" },
    { url: url(steady.port, "/steady-hook"), events: ["push"], repositories: "team-a/*", secret_env: "FLAKY_KEY" },
  ];
  stateDir = mkdtempSync(join(tmpdir(), "registry-webhooks-"));
  runtime = await startRuntime({
    stateDir,
    log: (line) => void lines.push(line),
    vars: {
      WEBHOOKS_JSON: JSON.stringify(webhooks),
      WEBHOOKS_ALLOW_PRIVATE: "true",
      WEBHOOKS_RETRY_DELAY_SECONDS: "1",
      FLAKY_KEY,
      DOWN_KEY,
    },
  });
  store = openStorage({ REGISTRY: await runtime.r2Bucket("REGISTRY"), UPLOADS: await runtime.kvNamespace("UPLOADS") });
});

afterAll(async () => {
  await runtime?.stop();
  for (const r of [flaky, down, steady]) r?.server.close();
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
});

it("retries a failing receiver to success, sends the rest once each, and records what runs out of retries", async () => {
  const digest = `sha256:${"1f".repeat(32)}`;
  const event: RegistryEvent = createEvent({
    detail: {
      kind: "push",
      action: "pushed",
      repository: "team-a/app",
      digest,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      size: 512,
      tags: ["1.4"],
      previousDigest: null,
      platforms: [],
      platformsTruncated: false,
      subject: null,
    },
    actor: { name: "alice" },
    request: { id: "req-e2e-1", method: "PUT", path: "/v2/e2e/app/manifests/1", host: "127.0.0.1", userAgent: "e2e" },
  });
  await (await runtime.queueProducer("EVENTS")).send({ type: "event", event }, { contentType: "json" });

  // Fails twice (503, 500), then takes it: the third try delivers, with the same id and body.
  await until("the third delivery to the flaky receiver", 30_000, () => (flaky.received.length >= 3 ? true : null));
  expect(flaky.received.map((r) => r.status)).toEqual([503, 500, 200]);
  expect(flaky.received.map((r) => r.headers["x-registry-delivery-attempt"])).toEqual(["1", "2", "3"]);
  for (const r of flaky.received) {
    expect(r.headers["x-registry-event-id"]).toBe(event.id);
    expect(r.headers["content-type"]).toBe("application/cloudevents+json");
    expect(r.body).toBe(flaky.received[0]!.body);
    expect(pythonVerifies(FLAKY_KEY, r.body, String(r.headers["x-registry-signature-256"]))).toBe(true);
  }
  // A signature made with another key does not verify: the check is not vacuous.
  expect(
    pythonVerifies(DOWN_KEY, flaky.received[0]!.body, String(flaky.received[0]!.headers["x-registry-signature-256"])),
  ).toBe(false);
  expect(JSON.parse(flaky.received[2]!.body)).toMatchObject({
    specversion: "1.0",
    id: event.id,
    type: "dev.r2-oci-registry.push.pushed",
    subject: `team-a/app@${digest}`,
    data: { digest, tags: ["1.4"], actor: { name: "alice" } },
  });

  // Always 500: four attempts (max_retries = 3 locally), then the dead-letter queue, whose
  // consumer records it; the activity log has the event all the same.
  const dead = await until("the dead-letter record", 60_000, async () => {
    const page = await listDeadDeliveries(store, 10, null);
    return page.entries.length > 0 ? page.entries : null;
  });
  expect(dead).toEqual([
    {
      eventId: event.id,
      eventTime: event.time,
      webhook: 1,
      host: `127.0.0.1:${down.port}`,
      recordedAt: expect.any(String),
    },
  ]);
  expect(down.received).toHaveLength(4);
  const envelope = JSON.parse(down.received[0]!.body);
  expect(envelope.events).toEqual([expect.objectContaining({ id: event.id, action: "push" })]);
  expect(down.received[0]!.headers["content-type"]).toBe("application/vnd.docker.distribution.events.v2+json");
  for (const r of down.received)
    expect(pythonVerifies(DOWN_KEY, r.body, String(r.headers["x-registry-signature-256"]))).toBe(true);
  expect((await listActivity<RegistryEvent>(store, 10, null)).entries).toEqual([event]);

  // The steady receiver got it once: the others' failures re-delivered nothing to it.
  expect(steady.received).toHaveLength(1);
  expect(
    pythonVerifies(
      FLAKY_KEY,
      steady.received[0]!.body,
      String(steady.received[0]!.headers["x-registry-signature-256"]),
    ),
  ).toBe(true);

  // Receivers are logged by index and host, never by path, query or key.
  const log = lines.join("");
  expect(log).toContain(`webhook #0 (127.0.0.1:${flaky.port})`);
  for (const hidden of ["flaky-hook", "down-hook", "receiver-query-token", FLAKY_KEY, DOWN_KEY])
    expect(log).not.toContain(hidden);
});
