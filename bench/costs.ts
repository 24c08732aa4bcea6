// `npm run bench -- --costs`: storage operations per client operation (R2 class A / B, KV)
// summed from the registry's own per-request log lines, and workerd CPU time per MiB for each
// upload path and for a pull, read from /proc. Quick on purpose: small blobs, one runtime each.
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { workerdCpuSeconds } from "../scripts/local-runtime/workerd-cpu";
import { ROOT, startRegistry, type RegistryServer } from "../test/e2e/registry-server";
import { absolute, send } from "./http";
import { MiB, payload, payloadDigest } from "./data";
import { bareGet, barePut, pullBlob, pushChunked, pushStreamed, pushWhole, type Target } from "./scenarios";

const AUTH = `Basic ${Buffer.from("bench:bench-password").toString("base64")}`;
const VARS = { USERNAME: "bench", PASSWORD: "bench-password" };
const COUNTERS = ["r2ClassA", "r2ClassB", "r2Free", "kvReads", "kvWrites"] as const;
/** The counts, and of them the class B reads made behind the answers (the edge cache's
 *  fills, the public bucket's copies: src/storage/behind-answer.ts). */
export type Counts = Record<(typeof COUNTERS)[number], number> & { requests: number; behindClassB: number };

/** The labels of the log lines of storage work done behind an answer, as a regex group. */
export const BEHIND_ANSWER_LABELS = `(?:edge-cache fill|public-blobs copy)`;
/** Such a line's message: its label, then its counts as JSON. */
const BEHIND_ANSWER_LINE = new RegExp(`^${BEHIND_ANSWER_LABELS} (\\{.*\\})$`);

/** Sums the counts of the request lines the runtime logged after `from` (a log offset), and
 *  of the edge cache's fills and the public bucket's copies, which read (and write) behind
 *  the answer on a meter of their own. */
export function countsSince(server: RegistryServer, from: number): Counts {
  const sum: Counts = { requests: 0, r2ClassA: 0, r2ClassB: 0, r2Free: 0, kvReads: 0, kvWrites: 0, behindClassB: 0 };
  for (const match of server
    .log()
    .slice(from)
    .matchAll(/^(\{"type":"(?:request|log)"[^\n]*\})$/gm)) {
    const line = JSON.parse(match[1]!) as Record<string, unknown>;
    let counts = line as Record<string, number>;
    if (line.type === "log") {
      // Work behind the answer on a meter of its own: the edge cache's fill, a public copy.
      const behind = BEHIND_ANSWER_LINE.exec(String(line.message));
      if (!behind) continue;
      counts = JSON.parse(behind[1]!);
      sum.behindClassB += counts.r2ClassB ?? 0;
    } else sum.requests++;
    for (const key of COUNTERS) sum[key] += counts[key] ?? 0;
  }
  return sum;
}

/** Runs `work` and returns the storage counts of the requests it made. The log line is written
 *  when the response is ready, so a short pause lets the last one arrive. */
async function counted(server: RegistryServer, work: () => Promise<void>): Promise<Counts> {
  const from = server.log().length;
  await work();
  await new Promise((r) => setTimeout(r, 300));
  return countsSince(server, from);
}

const blobBytes = (i: number) => Buffer.concat([...payload(64 * 1024 + i)]);
const sha = (b: Buffer) => `sha256:${createHash("sha256").update(b).digest("hex")}`;

/** docker push of one blob: HEAD (404), POST, streamed PATCH, PUT ?digest=. */
async function dockerPushBlob(target: Target, repo: string, body: Buffer): Promise<void> {
  await send(`${target.url}/v2/${repo}/blobs/${sha(body)}`, "HEAD", { Authorization: AUTH }, null);
  const open = await send(
    `${target.url}/v2/${repo}/blobs/uploads/`,
    "POST",
    { Authorization: AUTH, "Content-Length": "0" },
    null,
  );
  const patch = await send(
    absolute(target.url, String(open.headers.location)),
    "PATCH",
    { Authorization: AUTH, "Content-Type": "application/octet-stream" },
    [body],
  );
  const close = new URL(absolute(target.url, String(patch.headers.location)));
  close.searchParams.set("digest", sha(body));
  const reply = await send(close.toString(), "PUT", { Authorization: AUTH, "Content-Length": "0" }, null);
  if (reply.status !== 201) throw new Error(`push blob: ${open.status} ${patch.status} ${reply.status} ${reply.body}`);
}

/** A 5-layer image (64 KiB layers) pushed as docker does, then tagged `v1`. */
export async function pushImage(target: Target, repo: string): Promise<string[]> {
  const layers = [0, 1, 2, 3, 4].map(blobBytes);
  const config = Buffer.from(
    JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: layers.map(sha) } }),
  );
  for (const blob of [...layers, config]) await dockerPushBlob(target, repo, blob);
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: sha(config), size: config.length },
    layers: layers.map((l) => ({
      mediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
      digest: sha(l),
      size: l.length,
    })),
  });
  const reply = await send(
    `${target.url}/v2/${repo}/manifests/v1`,
    "PUT",
    { Authorization: AUTH, "Content-Type": "application/vnd.oci.image.manifest.v1+json" },
    [Buffer.from(manifest)],
  );
  if (reply.status !== 201) throw new Error(`PUT manifest: ${reply.status} ${reply.body}`);
  return [sha(config), ...layers.map(sha)];
}

async function get(target: Target, path: string, accept = "application/vnd.oci.image.manifest.v1+json"): Promise<void> {
  const reply = await send(`${target.url}${path}`, "GET", { Authorization: AUTH, Accept: accept }, null);
  if (reply.status !== 200) throw new Error(`GET ${path}: ${reply.status} ${reply.body}`);
}

export interface CostRow {
  scenario: string;
  counts: Counts;
}
export interface CpuRow {
  scenario: string;
  size: number;
  cpuSeconds: number;
  wallSeconds: number;
}

/** Push on one runtime; read on a fresh runtime over the same state, so "cold" is a new isolate. */
export async function benchCosts(): Promise<CostRow[]> {
  const rows: CostRow[] = [];
  const stateDir = mkdtempSync(join(tmpdir(), "bench-costs-"));
  const first = await startRegistry({ protocol: "http", vars: VARS, stateDir, logFormat: "json" });
  const target = (s: RegistryServer): Target => ({ url: s.url, auth: AUTH });
  let digests: string[] = [];
  try {
    rows.push({
      scenario: "push a 5-layer image (docker: HEAD, POST, PATCH, PUT per blob + config; manifest PUT)",
      counts: await counted(first, async () => {
        digests = await pushImage(target(first), "bench/image");
      }),
    });
  } finally {
    await first.stop().catch(() => {});
  }
  const second = await startRegistry({ protocol: "http", vars: VARS, stateDir, logFormat: "json" });
  try {
    const t = target(second);
    rows.push({
      scenario: "manifest GET by tag, cold isolate",
      counts: await counted(second, () => get(t, "/v2/bench/image/manifests/v1")),
    });
    rows.push({
      scenario: "manifest GET by tag, warm isolate",
      counts: await counted(second, () => get(t, "/v2/bench/image/manifests/v1")),
    });
    rows.push({
      scenario: "tag list (one page)",
      counts: await counted(second, () => get(t, "/v2/bench/image/tags/list?n=100")),
    });
    rows.push({ scenario: "catalog page", counts: await counted(second, () => get(t, "/v2/_catalog?n=100")) });
    const pullImage = async () => {
      await get(t, "/v2/bench/image/manifests/v1");
      for (const digest of digests) await pullBlob(t, "bench/image", digest);
    };
    rows.push({
      scenario: "pull the 5-layer image, cold edge cache (manifest by tag, warm; config; 5 layers; the cache's fills)",
      counts: await counted(second, pullImage),
    });
    rows.push({
      scenario: "pull the 5-layer image again, warm edge cache and links",
      counts: await counted(second, pullImage),
    });
  } finally {
    await second.stop();
    rmSync(stateDir, { recursive: true, force: true });
  }
  return rows;
}

/** workerd CPU seconds per upload path and per pull, each on a fresh runtime. */
export async function benchCpu(size: number): Promise<CpuRow[]> {
  const digest = payloadDigest(size);
  const rows: CpuRow[] = [];
  const paths: [string, (t: Target) => Promise<void>][] = [
    ["push, one PUT with Content-Length", (t) => pushWhole(t, "bench/cpu", size, digest)],
    ["push, streamed chunked PATCH then PUT (docker)", (t) => pushStreamed(t, "bench/cpu", size, digest)],
    [
      "push, 16 MiB PATCHes with Content-Range (read-back at close)",
      (t) => pushChunked(t, "bench/cpu", size, digest, 16 * MiB),
    ],
  ];
  // The bare worker (R2.put of the body, R2.get back) measures the same workerd process doing
  // almost nothing but the local R2 emulator's work: the baseline to subtract.
  const bare = await startRegistry({ protocol: "http", config: join(ROOT, "bench/wrangler.bare.toml") });
  try {
    await send(`${bare.url}/warm`, "GET", {}, null);
    rows.push(
      await cpuOf(bare, "bare worker put (R2.put of the body; emulator baseline)", size, () =>
        barePut(bare.url, "blob", size),
      ),
    );
    rows.push(await cpuOf(bare, "bare worker get (emulator baseline)", size, () => bareGet(bare.url, "blob", digest)));
  } finally {
    await bare.stop();
  }
  for (const [scenario, push] of paths) {
    const server = await startRegistry({ protocol: "http", vars: VARS, logFormat: "json" });
    try {
      const t: Target = { url: server.url, auth: AUTH };
      await send(`${server.url}/v2/`, "GET", { Authorization: AUTH }, null); // warm the isolate
      rows.push(await cpuOf(server, scenario, size, () => push(t)));
      if (scenario.startsWith("push, streamed"))
        rows.push(await cpuOf(server, "pull (multipart blob)", size, () => pullBlob(t, "bench/cpu", digest)));
      if (scenario.startsWith("push, one PUT"))
        rows.push(await cpuOf(server, "pull (single-object blob)", size, () => pullBlob(t, "bench/cpu", digest)));
    } finally {
      await server.stop();
    }
  }
  return rows;
}

async function cpuOf(
  server: RegistryServer,
  scenario: string,
  size: number,
  work: () => Promise<void>,
): Promise<CpuRow> {
  const before = workerdCpuSeconds({ group: server.pgid });
  const start = performance.now();
  await work();
  const row = {
    scenario,
    size,
    cpuSeconds: workerdCpuSeconds({ group: server.pgid }) - before,
    wallSeconds: (performance.now() - start) / 1000,
  };
  console.log(
    `${scenario.padEnd(62)} ${(size / MiB).toFixed(0)} MiB  workerd CPU ${((row.cpuSeconds * 1000) / (size / MiB)).toFixed(1)} ms/MiB`,
  );
  return row;
}

export function costTable(rows: CostRow[]): string {
  const lines = [
    "| client operation | requests | R2 class A | R2 class B | R2 free (delete, abort) | KV reads | KV writes |",
    "|---|---|---|---|---|---|---|",
  ];
  for (const { scenario, counts: c } of rows)
    lines.push(
      `| ${scenario} | ${c.requests} | ${c.r2ClassA} | ${c.r2ClassB} | ${c.r2Free} | ${c.kvReads} | ${c.kvWrites} |`,
    );
  return lines.join("\n");
}

export function cpuTable(rows: CpuRow[]): string {
  const lines = ["| operation | blob | workerd CPU | CPU per MiB | wall time |", "|---|---|---|---|---|"];
  for (const r of rows)
    lines.push(
      `| ${r.scenario} | ${(r.size / MiB).toFixed(0)} MiB | ${r.cpuSeconds.toFixed(2)} s | ${((r.cpuSeconds * 1000) / (r.size / MiB)).toFixed(1)} ms | ${r.wallSeconds.toFixed(1)} s |`,
    );
  return lines.join("\n");
}
