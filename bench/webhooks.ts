// Pushes while a webhook receiver is slow: ten concurrent pushes (a 4 MiB blob and a manifest
// naming it, each to its own repository) on a fresh server without webhooks, then on one whose
// only webhook answers after 2 s. Events reach receivers from the queue's consumer, never
// from the push's own request, so both push times should match; the receiver's count shows
// that every push's event arrived, once.
import { createServer } from "node:http";
import { startRegistry } from "../test/e2e/registry-server";
import { MiB, payloadDigest } from "./data";
import { send } from "./http";
import { pushWhole, type Target } from "./scenarios";

const PUSHES = 10;
const BLOB = 4 * MiB;
const RECEIVER_DELAY_MS = 2000;
const MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json";

export interface WebhookRow {
  setup: string;
  /** From the first push's start until the last manifest PUT was answered. */
  pushSeconds: number;
  /** Events the receiver got (null without webhooks), and how long after the pushes the last came. */
  delivered: number | null;
  deliveredAfterSeconds: number | null;
}

async function pushAll(target: Target): Promise<number> {
  const digest = payloadDigest(BLOB);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MANIFEST_TYPE,
      config: { mediaType: "application/vnd.oci.image.config.v1+json", digest, size: BLOB },
      layers: [],
    }),
  );
  const started = performance.now();
  await Promise.all(
    Array.from({ length: PUSHES }, async (_, i) => {
      const repo = `bench/hooks-${i}`;
      await pushWhole(target, repo, BLOB, digest);
      const put = await send(
        `${target.url}/v2/${repo}/manifests/v1`,
        "PUT",
        { Authorization: target.auth!, "Content-Type": MANIFEST_TYPE, "Content-Length": String(manifest.length) },
        [manifest],
      );
      if (put.status !== 201) throw new Error(`manifest PUT: ${put.status} ${put.body}`);
    }),
  );
  return (performance.now() - started) / 1000;
}

/** Both setups, each on a fresh server; nothing is retried. */
export async function benchWebhooks(auth: { username: string; password: string }): Promise<WebhookRow[]> {
  const target = (url: string): Target => ({
    url,
    auth: `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString("base64")}`,
  });
  const base = { USERNAME: auth.username, PASSWORD: auth.password };
  const rows: WebhookRow[] = [];

  const plain = await startRegistry({ protocol: "http", vars: base });
  try {
    rows.push({
      setup: "webhooks off",
      pushSeconds: await pushAll(target(plain.url)),
      delivered: null,
      deliveredAfterSeconds: null,
    });
  } finally {
    await plain.stop();
  }

  const ids = new Set<string>();
  let received = 0;
  let lastAt = 0;
  const receiver = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      received++;
      ids.add(String(req.headers["x-registry-event-id"]));
      lastAt = performance.now();
      setTimeout(() => res.writeHead(204).end(), RECEIVER_DELAY_MS);
    });
  });
  await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", r));
  const address = receiver.address();
  const port = typeof address === "object" && address ? address.port : 0;
  const hooked = await startRegistry({
    protocol: "http",
    vars: {
      ...base,
      WEBHOOKS_JSON: JSON.stringify([
        { url: `http://127.0.0.1:${port}/slow`, events: ["push"], secret_env: "HOOK_KEY" },
      ]),
      WEBHOOKS_ALLOW_PRIVATE: "true",
      HOOK_KEY: "bench-hook-key-0123456789",
    },
  });
  try {
    const pushSeconds = await pushAll(target(hooked.url));
    const pushedAt = performance.now();
    const deadline = pushedAt + 120_000;
    while (ids.size < PUSHES && performance.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    rows.push({
      setup: `webhooks on, receiver answers after ${RECEIVER_DELAY_MS / 1000} s`,
      pushSeconds,
      delivered: ids.size,
      deliveredAfterSeconds: ids.size > 0 ? Math.max(0, (lastAt - pushedAt) / 1000) : null,
    });
    if (received > ids.size) console.log(`webhooks: ${received - ids.size} duplicate deliveries (at least once)`);
  } finally {
    await hooked.stop();
    receiver.close();
  }
  return rows;
}

export function webhooksTable(rows: WebhookRow[]): string {
  const lines = [
    `| setup | ${PUSHES} concurrent pushes (${BLOB / MiB} MiB blob + manifest each) | events delivered | last delivery after the pushes |`,
    "|---|---|---|---|",
  ];
  for (const r of rows)
    lines.push(
      `| ${r.setup} | ${r.pushSeconds.toFixed(2)} s | ${r.delivered === null ? "–" : `${r.delivered} of ${PUSHES}`} | ${r.deliveredAfterSeconds === null ? "–" : `${r.deliveredAfterSeconds.toFixed(1)} s`} |`,
    );
  return lines.join("\n");
}
