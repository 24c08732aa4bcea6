// `npm run bench`: push and pull throughput and workerd memory, side by side with a bare
// worker that only streams bodies into and out of R2, and with Debian's docker-registry.
// Writes docs/benchmarks.md. Flags: --quick (200 MiB only, no 5 GiB blob), --runs=N (repeat
// each scenario N times and report the median; single runs on a shared machine swing ±30%),
// --costs (only storage operations per client operation and workerd CPU per MiB; see costs.ts),
// --wrk (manifest GET with auth under wrk -c50 over TLS beside docker-registry; see wrk.ts),
// --mixed (only the mixed load of bench/mixed.ts: GET latency while ten uploads stream),
// --webhooks (only bench/webhooks.ts: ten concurrent pushes, webhooks off and with a slow receiver),
// --delivery (only bench/delivery.ts: a docker-pushed 5-layer image pulled cold and warm with the
// edge cache, without it, and by presigned redirect). Like the other single-section flags they
// print and write nothing; the full run writes the delivery section too when docker answers.
import { execSync } from "node:child_process";
import { cpus, totalmem } from "node:os";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT, startRegistry, type RegistryServer, type StartOptions } from "../test/e2e/registry-server";
import { MiB, payloadDigest } from "./data";
import { workerdPeakRss, workerdRss } from "./memory";
import { mixedLoad, type MixedResult } from "./mixed";
import { peerAvailable, startPeer } from "./peer";
import { benchWebhooks, webhooksTable } from "./webhooks";
import { benchWrk, wrkTable } from "./wrk";
import { benchCosts, benchCpu, costTable, cpuTable } from "./costs";
import { benchDelivery, deliveryReport, dockerAvailable, type DeliveryRow } from "./delivery";
import { bareGet, barePut, pullBlob, pushChunked, pushStreamed, pushWhole, type Target } from "./scenarios";

const quick = process.argv.includes("--quick");
/** Repetitions of every scenario but the huge one; the table shows the median time. */
const RUNS = Math.max(1, Number(process.argv.find((a) => a.startsWith("--runs="))?.slice("--runs=".length) ?? 1));
const SIZES = quick ? [200 * MiB] : [200 * MiB, 1024 * MiB];
const HUGE = 5 * 1024 * MiB + 300 * MiB;
const CHUNK = 64 * MiB;
const AUTH = `Basic ${Buffer.from("bench:bench-password").toString("base64")}`;

/** Where the generated part of docs/benchmarks.md ends and the notes on it begin. */
const NOTES_MARKER = "<!-- notes: kept by npm run bench -->";

interface Row {
  scenario: string;
  size: number;
  seconds: number;
  peakRss: number | null;
  /** How far workerd's resident memory rose above its level at the start (pulls only). */
  growth: number | null;
}

const rows: Row[] = [];

async function timed(fn: () => Promise<void>): Promise<number> {
  const start = performance.now();
  await fn();
  return (performance.now() - start) / 1000;
}

async function onFreshServer(
  kind: "registry" | "bare",
  work: (server: RegistryServer) => Promise<void>,
  options: StartOptions = {},
): Promise<void> {
  const server = await startRegistry({
    ...options,
    protocol: "http",
    vars: kind === "registry" ? { USERNAME: "bench", PASSWORD: "bench-password" } : {},
    config: kind === "bare" ? join(ROOT, "bench/wrangler.bare.toml") : undefined,
  });
  try {
    await work(server);
  } finally {
    await server.stop();
  }
}

async function measure(
  server: RegistryServer,
  scenario: string,
  size: number,
  fn: () => Promise<void>,
  { growth = false } = {},
): Promise<void> {
  // The high-water mark of the whole server includes the push before; a pull's own cost is
  // how far resident memory rises above where it started, sampled as the isolate-memory test does.
  const before = growth ? workerdRss(server.pgid) : 0;
  let highest = before;
  const sampler = growth ? setInterval(() => (highest = Math.max(highest, workerdRss(server.pgid))), 200) : null;
  let seconds: number;
  try {
    seconds = await timed(fn);
  } finally {
    if (sampler) clearInterval(sampler);
  }
  const row: Row = {
    scenario,
    size,
    seconds,
    peakRss: server ? workerdPeakRss(server.pgid) : null,
    growth: growth ? Math.max(highest, workerdRss(server.pgid)) - before : null,
  };
  rows.push(row);
  console.log(
    `${scenario.padEnd(40)} ${(size / MiB).toFixed(0).padStart(6)} MiB ${(size / MiB / seconds).toFixed(1).padStart(7)} MiB/s  peak RSS ${row.peakRss ? `${(row.peakRss / MiB).toFixed(0)} MiB` : "-"}${row.growth !== null ? `, +${(row.growth / MiB).toFixed(0)} MiB during it` : ""}`,
  );
}

async function benchRegistry(size: number, digest: string): Promise<void> {
  await onFreshServer("registry", async (server) => {
    const target: Target = { url: server.url, auth: AUTH };
    await measure(server, "registry push, streamed (docker)", size, () =>
      pushStreamed(target, "bench/streamed", size, digest),
    );
    await measure(server, "registry pull", size, () => pullBlob(target, "bench/streamed", digest), { growth: true });
  });
  await onFreshServer("registry", async (server) => {
    const target: Target = { url: server.url, auth: AUTH };
    await measure(server, "registry push, 64 MiB chunks", size, () =>
      pushChunked(target, "bench/chunked", size, digest, CHUNK),
    );
  });
  await onFreshServer("registry", async (server) => {
    const target: Target = { url: server.url, auth: AUTH };
    await measure(server, "registry push, one PUT", size, () => pushWhole(target, "bench/whole", size, digest));
    await measure(server, "registry pull, one-PUT blob", size, () => pullBlob(target, "bench/whole", digest), {
      growth: true,
    });
  });
}

async function benchBare(size: number, digest: string): Promise<void> {
  await onFreshServer("bare", async (server) => {
    await measure(server, "bare worker put", size, () => barePut(server.url, "blob", size));
    await measure(server, "bare worker get", size, () => bareGet(server.url, "blob", digest));
  });
}

async function benchPeer(size: number, digest: string): Promise<void> {
  if (!peerAvailable()) return;
  const peer = await startPeer();
  try {
    const target: Target = { url: peer.url, auth: null };
    const none = { pgid: -1 } as RegistryServer;
    await measure(none, "docker-registry push, streamed", size, () =>
      pushStreamed(target, "bench/streamed", size, digest),
    );
    await measure(none, "docker-registry pull", size, () => pullBlob(target, "bench/streamed", digest));
    await measure(none, "docker-registry push, 64 MiB chunks", size, () =>
      pushChunked(target, "bench/chunked", size, digest, CHUNK),
    );
    await measure(none, "docker-registry push, one PUT", size, () => pushWhole(target, "bench/whole", size, digest));
  } finally {
    await peer.stop();
  }
}

interface MixedRow {
  setup: string;
  result: MixedResult;
}

const mixedRows: MixedRow[] = [];

/** The mixed load on the local runtime as shipped, on its front door with neither rule of
 *  scripts/local-runtime/body-lanes.ts (every request relayed as it comes, as before), and on docker-registry. */
async function benchMixed(): Promise<void> {
  const setups: { setup: string; options: StartOptions }[] = [
    { setup: "local runtime (2 body lanes, answers first)", options: {} },
    { setup: "local runtime, every request relayed as it comes", options: { bodyStreams: 0 } },
  ];
  for (const { setup, options } of setups) {
    await onFreshServer(
      "registry",
      async (server) => {
        const result = await mixedLoad({ url: server.url, auth: AUTH });
        mixedRows.push({ setup, result });
        console.log(`${setup.padEnd(52)} ${mixedCells(result).join("  ")}`);
      },
      options,
    );
  }
  if (!peerAvailable()) return;
  const peer = await startPeer();
  try {
    const result = await mixedLoad({ url: peer.url, auth: null });
    mixedRows.push({ setup: "docker-registry 2.8", result });
  } finally {
    await peer.stop();
  }
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
}

function mixedCells(result: MixedResult): string[] {
  const ms = (value: number) => `${value} ms`;
  return [
    ms(percentile(result.getMs, 50)),
    ms(percentile(result.getMs, 95)),
    ms(Math.max(...result.getMs)),
    `${result.uploadsSeconds.toFixed(1)} s`,
    String(result.failures.length),
  ];
}

function mixedTable(): string {
  const lines = [
    "| setup | GET p50 | GET p95 | slowest GET | 10 uploads done after | 5xx or unanswered |",
    "|---|---|---|---|---|---|",
  ];
  for (const { setup, result } of mixedRows) lines.push(`| ${setup} | ${mixedCells(result).join(" | ")} |`);
  return lines.join("\n");
}

/** The scenario's median time over its runs, with the highest peak RSS of any run. */
function find(scenario: string, size: number): Row | undefined {
  const runs = rows.filter((r) => r.scenario === scenario && r.size === size).sort((a, b) => a.seconds - b.seconds);
  if (runs.length === 0) return undefined;
  const peaks = runs.map((r) => r.peakRss ?? 0);
  const growths = runs.map((r) => r.growth ?? 0);
  return {
    ...runs[Math.floor((runs.length - 1) / 2)]!,
    peakRss: Math.max(...peaks) || null,
    growth: runs.some((r) => r.growth !== null) ? Math.max(...growths) : null,
  };
}

const rate = (r: Row | undefined) => (r ? `${(r.size / MiB / r.seconds).toFixed(1)} MiB/s` : "–");
const rss = (r: Row | undefined) =>
  r?.peakRss
    ? `${(r.peakRss / MiB).toFixed(0)} MiB${r.growth !== null ? ` (+${(r.growth / MiB).toFixed(0)} during the pull)` : ""}`
    : "–";
const ratio = (a: Row | undefined, b: Row | undefined) => (a && b ? `${(a.seconds / b.seconds).toFixed(2)}×` : "–");

function table(): string {
  const lines = [
    "| blob | operation | registry | workerd peak RSS | bare worker | time ratio (registry / bare) | docker-registry 2.8 |",
    "|---|---|---|---|---|---|---|",
  ];
  for (const size of [...SIZES, ...(quick ? [] : [HUGE])]) {
    const label = `${(size / MiB).toFixed(0)} MiB`;
    const barePutRow = find("bare worker put", size);
    const bareGetRow = find("bare worker get", size);
    const streamed = find("registry push, streamed (docker)", size);
    const chunked = find("registry push, 64 MiB chunks", size);
    const pull = find("registry pull", size);
    const whole = find("registry push, one PUT", size);
    const wholePull = find("registry pull, one-PUT blob", size);
    lines.push(
      `| ${label} | push, streamed (docker) | ${rate(streamed)} | ${rss(streamed)} | ${rate(barePutRow)} | ${ratio(streamed, barePutRow)} | ${rate(find("docker-registry push, streamed", size))} |`,
    );
    if (chunked)
      lines.push(
        `| ${label} | push, 64 MiB chunks | ${rate(chunked)} | ${rss(chunked)} | ${rate(barePutRow)} | ${ratio(chunked, barePutRow)} | ${rate(find("docker-registry push, 64 MiB chunks", size))} |`,
      );
    if (whole)
      lines.push(
        `| ${label} | push, one PUT with Content-Length (containerd, oras) | ${rate(whole)} | ${rss(whole)} | ${rate(barePutRow)} | ${ratio(whole, barePutRow)} | ${rate(find("docker-registry push, one PUT", size))} |`,
      );
    lines.push(
      `| ${label} | pull, multipart blob (streamed or chunked push) | ${rate(pull)} | ${rss(pull)} | ${rate(bareGetRow)} | ${ratio(pull, bareGetRow)} | ${rate(find("docker-registry pull", size))} |`,
    );
    if (wholePull)
      lines.push(
        `| ${label} | pull, single-object blob (one-PUT push) | ${rate(wholePull)} | ${rss(wholePull)} | ${rate(bareGetRow)} | ${ratio(wholePull, bareGetRow)} | – |`,
      );
  }
  return lines.join("\n");
}

function machine(): string {
  const cpu = cpus()[0]?.model ?? "unknown CPU";
  const wrangler = execSync("npx wrangler --version", { cwd: ROOT, encoding: "utf8" }).trim();
  return `${cpus().length} × ${cpu}, ${(totalmem() / 1024 ** 3).toFixed(0)} GiB RAM, Node ${process.version}, wrangler ${wrangler}, local R2 on disk`;
}

/** `--costs`: only the storage operation counts and the CPU per MiB (quick); prints, writes nothing. */
async function costsOnly(): Promise<void> {
  const costs = await benchCosts();
  const cpu = await benchCpu(quick ? 32 * MiB : 200 * MiB);
  console.log(`\n${costTable(costs)}\n\n${cpuTable(cpu)}`);
}

async function main(): Promise<void> {
  if (process.argv.includes("--costs")) return costsOnly();
  if (process.argv.includes("--wrk")) return void console.log(`\n${wrkTable(await benchWrk(quick ? 10 : 30))}`);
  if (process.argv.includes("--mixed")) {
    for (let run = 0; run < RUNS; run++) await benchMixed();
    return void console.log(`\n${mixedTable()}`);
  }
  const benchAuth = { username: "bench", password: "bench-password" };
  if (process.argv.includes("--webhooks"))
    return void console.log(`\n${webhooksTable(await benchWebhooks(benchAuth))}`);
  if (process.argv.includes("--delivery")) return void console.log(`\n${deliveryReport(await benchDelivery())}`);
  for (let run = 0; run < RUNS; run++) {
    for (const size of SIZES) {
      const digest = payloadDigest(size);
      await benchBare(size, digest);
      await benchRegistry(size, digest);
      await benchPeer(size, digest);
    }
  }
  for (let run = 0; run < RUNS; run++) await benchMixed();
  const webhookRows = await benchWebhooks(benchAuth);
  // A minute or two on three small runtimes; it needs a docker engine to push with.
  const deliveryRows: DeliveryRow[] | null = (await dockerAvailable()) ? await benchDelivery() : null;
  if (!quick) {
    const digest = payloadDigest(HUGE);
    await onFreshServer("registry", async (server) => {
      const target: Target = { url: server.url, auth: AUTH };
      await measure(server, "registry push, streamed (docker)", HUGE, () =>
        pushStreamed(target, "bench/huge", HUGE, digest),
      );
      await measure(server, "registry pull", HUGE, () => pullBlob(target, "bench/huge", digest), { growth: true });
    });
  }
  const report = [
    "# Benchmarks",
    "",
    `Produced by \`npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(" ")}` : ""}\` on ${new Date().toISOString().slice(0, 10)}. Machine: ${machine()}.`,
    `Every scenario runs on a fresh local runtime (scripts/local-runtime/runtime.ts, as \`npm start\`), ${RUNS} time(s) (the huge blob once); a rate is the median run's, and peak RSS is the highest workerd high-water mark (VmHWM) of any run; for a pull, the figure in brackets is how far workerd's resident memory rose above its level when the pull began (highest of any run).`,
    "Bare worker: `R2.put(key, request.body)` with Content-Length, and `R2.get(key)` streamed back.",
    "Nothing is retried: a failed request fails the run.",
    "",
    table(),
    "",
    "Mixed load (bench/mixed.ts): a manifest GET every 200 ms, 50 in all, while 10 docker-style uploads of 24-33 MiB stream (one PATCH with no length, then the closing PUT); each row is one run on a fresh server.",
    "",
    mixedTable(),
    "",
    "Pushes under webhooks (bench/webhooks.ts): 10 concurrent pushes, each a 4 MiB blob and a manifest to its own repository, on a fresh server without webhooks and on one whose only webhook answers after 2 s; events reach receivers from the queue's consumer, never from the push's request.",
    "",
    webhooksTable(webhookRows),
    "",
    ...(deliveryRows
      ? ["Delivery modes (bench/delivery.ts):", "", deliveryReport(deliveryRows), ""]
      : ["Delivery modes: skipped, no docker engine answered (bench/delivery.ts pushes with docker).", ""]),
  ].join("\n");
  const out = process.env.BENCH_OUT ?? join(ROOT, "docs/benchmarks.md");
  // The hand-written reading of the numbers below the marker survives a new run.
  const previous = existsSync(out) ? readFileSync(out, "utf8") : "";
  const notes = previous.includes(NOTES_MARKER) ? previous.slice(previous.indexOf(NOTES_MARKER)) : `${NOTES_MARKER}\n`;
  writeFileSync(out, `${report}\n${notes}`);
  console.log(`\n${table()}\n\nwritten to ${out}`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
