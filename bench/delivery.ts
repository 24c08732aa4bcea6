// `npm run bench -- --delivery`: the three ways a blob GET can be delivered (docs/delivery.md),
// side by side in one run: the Worker streaming from R2 and filling the edge cache (the
// default), the Worker streaming from R2 with the cache off (EDGE_CACHE_MAX_BYTES=0), and a 307
// to a presigned URL on R2's S3 endpoint (BLOB_REDIRECT=presigned; locally the runtime's
// storage host, scripts/local-runtime/storage-host.ts). Each mode gets the same 5-layer image
// pushed with docker, then a cold and a warm pull done as a client does over HTTP, with the
// storage operations, Worker requests, workerd CPU and times of each pull, and what 1,000
// such pulls cost at list prices.
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { workerdCpuSeconds } from "../scripts/local-runtime/workerd-cpu";
import { run, runOk } from "../test/e2e/clients/run";
import { DockerCli } from "../test/e2e/clients/tools";
import { freePort, startRegistry, type RegistryServer, type StartOptions } from "../test/e2e/registry-server";
import { BEHIND_ANSWER_LABELS, countsSince } from "./costs";
import { MiB } from "./data";
import { absolute, send } from "./http";

const USER = { username: "bench", password: "bench-password" };
const AUTH = `Basic ${Buffer.from(`${USER.username}:${USER.password}`).toString("base64")}`;
const REPO = "bench/delivery";
const LAYERS = 5;
const LAYER_BYTES = 4 * MiB;
/** What a pull asks for by tag: docker pushes its own schema 2; OCI and lists for good measure. */
const ACCEPT = [
  "application/vnd.docker.distribution.manifest.v2+json",
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
  "application/vnd.oci.image.index.v1+json",
].join(", ");

/** The presigned URLs' bucket and key: only the storage host checks them. */
const S3 = { bucket: "registry-bench", keyId: "bench-access-key-id", secret: "bench-secret-access-key" };

type Mode = "worker, edge cache" | "worker, no cache" | "presigned" | "public";
const MODES: Mode[] = ["worker, edge cache", "worker, no cache", "presigned", "public"];

export interface DeliveryRow {
  mode: Mode;
  pull: "cold" | "warm";
  /** Registry requests: each is one Worker request. */
  workerRequests: number;
  r2ClassA: number;
  /** Class B reads by the Worker's requests, by the edge cache's fills, and the storage host's
   *  presigned GETs (each one class B operation on R2's S3 endpoint). */
  classB: { worker: number; fills: number; storageHost: number };
  kvReads: number;
  cpuSeconds: number;
  wallSeconds: number;
  firstLayerTtfbMs: number;
}

/** The runtime's options for `mode`; presigned needs a storage host on a loopback address of
 *  its own, as R2's endpoint is another host than the registry's (clients drop Authorization
 *  on a redirect to another host, as delivery.test.ts checks). */
async function optionsFor(mode: Mode, stateDir: string): Promise<StartOptions> {
  const base: StartOptions = {
    protocol: "http",
    stateDir,
    logFormat: "json",
    vars: { USERNAME: USER.username, PASSWORD: USER.password },
  };
  if (mode === "worker, no cache") return { ...base, vars: { ...base.vars, EDGE_CACHE_MAX_BYTES: "0" } };
  if (mode === "worker, edge cache") return base;
  const port = await freePort("127.0.0.2");
  const storage = `http://127.0.0.2:${port}`;
  // Public: the repository is anonymously pullable, so its blobs are copied to the public
  // bucket on the first pull and redirected to after.
  const redirect: Record<string, string> =
    mode === "public"
      ? { BLOB_REDIRECT: `public:${storage}`, ANONYMOUS_PULL: `${REPO}` }
      : { BLOB_REDIRECT: "presigned" };
  return {
    ...base,
    storageHost: `127.0.0.2:${port}`,
    vars: {
      ...base.vars,
      ...redirect,
      R2_S3_ENDPOINT: storage,
      R2_BUCKET_NAME: S3.bucket,
      R2_ACCESS_KEY_ID: S3.keyId,
      R2_SECRET_ACCESS_KEY: S3.secret,
    },
  };
}

/** A docker image of LAYERS layers of random bytes (one file each, FROM scratch) and a
 *  config, built once and pushed to every mode's registry, so all pull the same blobs. The
 *  legacy builder is used because this dockerd has no BuildKit front end. */
async function buildImage(docker: DockerCli, work: string): Promise<string> {
  const context = join(work, "context");
  const lines = ["FROM scratch"];
  mkdirSync(context, { recursive: true });
  for (let i = 1; i <= LAYERS; i++) {
    writeFileSync(join(context, `layer${i}.bin`), randomBytes(LAYER_BYTES));
    lines.push(`COPY layer${i}.bin /`);
  }
  writeFileSync(join(context, "Dockerfile"), `${lines.join("\n")}\n`);
  const name = `bench-delivery-${randomBytes(4).toString("hex")}:source`;
  await runOk("docker", ["--config", docker.configDir, "build", "-q", "-t", name, context], {
    env: { DOCKER_BUILDKIT: "0" },
  });
  return name;
}

/** docker login and docker push of the image to `server`, as a user pushes. */
async function dockerPush(docker: DockerCli, source: string, server: RegistryServer): Promise<void> {
  const target = `${server.host}/${REPO}:v1`;
  const login = await docker.login(server.host, USER.username, USER.password);
  if (login.code !== 0) throw new Error(`docker login: ${login.stderr}`);
  await docker.run(["tag", source, target]);
  try {
    await docker.run(["push", target]);
  } finally {
    await docker.attempt(["rmi", target]);
  }
}

interface PullResult {
  firstLayerTtfbMs: number;
  redirects: number;
}

/** A GET with the registry's credentials; a 307 is followed without them, as clients do. */
async function getBlob(server: RegistryServer, digest: string): Promise<{ ttfbMs: number; redirected: boolean }> {
  const started = performance.now();
  const answer = await send(`${server.url}/v2/${REPO}/blobs/${digest}`, "GET", { Authorization: AUTH }, null, {
    hash: true,
  });
  if (answer.status === 307) {
    const location = absolute(server.url, String(answer.headers.location));
    const hop = performance.now();
    const reply = await send(location, "GET", {}, null, { hash: true });
    if (reply.status !== 200 || reply.sha256 !== digest)
      throw new Error(`GET ${location}: ${reply.status}, got ${reply.sha256}`);
    // The client's first byte arrives after the registry's whole answer and storage's first byte.
    return { ttfbMs: hop - started + reply.firstByteMs, redirected: true };
  }
  if (answer.status !== 200 || answer.sha256 !== digest)
    throw new Error(`GET blob ${digest}: ${answer.status}, got ${answer.sha256}`);
  return { ttfbMs: answer.firstByteMs, redirected: false };
}

async function getManifest(server: RegistryServer, reference: string): Promise<{ digest: string; blobs: string[] }> {
  const reply = await send(
    `${server.url}/v2/${REPO}/manifests/${reference}`,
    "GET",
    { Authorization: AUTH, Accept: ACCEPT },
    null,
    { bodyChars: MiB },
  );
  if (reply.status !== 200) throw new Error(`GET manifest ${reference}: ${reply.status} ${reply.body}`);
  const manifest = JSON.parse(reply.body) as { config: { digest: string }; layers: { digest: string }[] };
  return {
    digest: String(reply.headers["docker-content-digest"]),
    blobs: [manifest.config.digest, ...manifest.layers.map((l) => l.digest)],
  };
}

/** A client's pull: manifest by tag, the same by digest, then the config and each layer. */
async function pull(server: RegistryServer): Promise<PullResult> {
  const { digest } = await getManifest(server, "v1");
  const { blobs } = await getManifest(server, digest);
  if (blobs.length !== LAYERS + 1) throw new Error(`the manifest names ${blobs.length} blobs`);
  let firstLayerTtfbMs = 0;
  let redirects = 0;
  for (const [index, blob] of blobs.entries()) {
    const { ttfbMs, redirected } = await getBlob(server, blob);
    if (index === 1) firstLayerTtfbMs = ttfbMs;
    if (redirected) redirects++;
  }
  return { firstLayerTtfbMs, redirects };
}

const count = (text: string, pattern: RegExp) => [...text.matchAll(pattern)].length;
const REQUEST_LINE = /^\{"type":"request"/gm;
/** A JSON log line of work behind an answer (an edge cache fill, a public copy). */
const FILL_LINE = new RegExp(`^\\{"type":"log"[^\\n]*${BEHIND_ANSWER_LABELS} `, "gm");
/** A GET the storage host served: presigned (verified) or from the public bucket. */
const STORAGE_GET = /^storage-host GET \S+ 20[06] (?:verified|public) /gm;

/** Both servers log a request once its answer is out, and the edge cache's fill logs when it
 *  is done behind the answer: wait until every request and redirect has its line and no fill
 *  has ended for a while, so the counts and the CPU reading include all of them. */
async function settle(server: RegistryServer, from: number, requests: number, redirects: number): Promise<void> {
  const deadline = Date.now() + 20_000;
  let fills = -1;
  let quietSince = Date.now();
  for (;;) {
    const log = server.log().slice(from);
    const now = count(log, FILL_LINE);
    if (now !== fills) [fills, quietSince] = [now, Date.now()];
    const logged = count(log, REQUEST_LINE) >= requests && count(log, STORAGE_GET) >= redirects;
    if (logged && Date.now() - quietSince >= 1500) return;
    if (Date.now() > deadline) throw new Error(`the pull's log lines did not arrive:\n${log.slice(-4000)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function measuredPull(server: RegistryServer, mode: Mode, which: "cold" | "warm"): Promise<DeliveryRow> {
  const from = server.log().length;
  const cpuBefore = workerdCpuSeconds({ group: server.pgid });
  const started = performance.now();
  const { firstLayerTtfbMs, redirects } = await pull(server);
  const wallSeconds = (performance.now() - started) / 1000;
  await settle(server, from, 2 + LAYERS + 1, redirects);
  const cpuSeconds = workerdCpuSeconds({ group: server.pgid }) - cpuBefore;
  const log = server.log().slice(from);
  const all = countsSince(server, from);
  const row: DeliveryRow = {
    mode,
    pull: which,
    workerRequests: all.requests,
    r2ClassA: all.r2ClassA,
    classB: { worker: all.r2ClassB - all.behindClassB, fills: all.behindClassB, storageHost: count(log, STORAGE_GET) },
    kvReads: all.kvReads,
    cpuSeconds,
    wallSeconds,
    firstLayerTtfbMs,
  };
  console.log(`${mode.padEnd(20)} ${which}  ${cells(row).join("  ")}`);
  // Which request read what, on the console only: where a warm pull still reads R2.
  const perRequest = [...log.matchAll(/^(\{"type":"request"[^\n]*\})$/gm)].map((match) => {
    const line = JSON.parse(match[1]!) as { path: string; status: number; r2ClassA?: number; r2ClassB?: number };
    const what = line.path.replace(/^\/v2\/[^ ]*\/(manifests|blobs)\/(sha256:)?(.{0,8}).*$/, "$1/$3");
    return `${what} ${line.status} A${line.r2ClassA ?? 0}B${line.r2ClassB ?? 0}`;
  });
  console.log(`  ${perRequest.join(", ")}`);
  return row;
}

/** Whether a docker engine answers (the full run skips this section without one). */
export async function dockerAvailable(): Promise<boolean> {
  try {
    return (await run("docker", ["info", "--format", "{{.ServerVersion}}"], { timeoutMs: 15_000 })).code === 0;
  } catch {
    return false;
  }
}

/** Every mode in turn on runtimes of its own: docker push on one, then the cold and the warm
 *  pull on a second runtime over the same state, so the cold pull meets a new isolate (empty
 *  memory, empty edge cache), as a pull does in production that lands elsewhere than its push. */
export async function benchDelivery(): Promise<DeliveryRow[]> {
  if (!(await dockerAvailable())) throw new Error("--delivery pushes with docker: no engine answers (set DOCKER_HOST)");
  const work = mkdtempSync(join(tmpdir(), "bench-delivery-"));
  const docker = new DockerCli(join(work, "docker-config"));
  const rows: DeliveryRow[] = [];
  let source: string | null = null;
  try {
    source = await buildImage(docker, work);
    for (const mode of MODES) {
      const stateDir = join(work, `state-${MODES.indexOf(mode)}`);
      mkdirSync(stateDir);
      const pusher = await startRegistry(await optionsFor(mode, stateDir));
      try {
        await dockerPush(docker, source, pusher);
      } finally {
        await pusher.stop();
      }
      const server = await startRegistry(await optionsFor(mode, stateDir));
      try {
        rows.push(await measuredPull(server, mode, "cold"));
        rows.push(await measuredPull(server, mode, "warm"));
      } finally {
        await server.stop();
      }
    }
  } finally {
    if (source) await docker.attempt(["rmi", source]);
    rmSync(work, { recursive: true, force: true });
  }
  return rows;
}

const classB = (r: DeliveryRow) => r.classB.worker + r.classB.fills + r.classB.storageHost;

function cells(r: DeliveryRow): string[] {
  return [
    String(r.workerRequests),
    String(r.r2ClassA),
    `${classB(r)} (${r.classB.worker} / ${r.classB.fills} / ${r.classB.storageHost})`,
    String(r.kvReads),
    `${(r.cpuSeconds * 1000).toFixed(0)} ms`,
    `${(r.wallSeconds * 1000).toFixed(0)} ms`,
    `${r.firstLayerTtfbMs.toFixed(0)} ms`,
  ];
}

/** List prices as published by Cloudflare (read 2026-12-07), in dollars per unit. */
const PRICE = {
  classA: 4.5 / 1e6,
  classB: 0.36 / 1e6,
  request: 0.3 / 1e6,
  cpuMs: 0.02 / 1e6,
};

/** Dollars per 1,000 pulls like `r`: R2's operations, and the Worker's requests and CPU. */
function perThousand(r: DeliveryRow): { r2: number; requests: number; cpu: number } {
  return {
    r2: 1000 * (r.r2ClassA * PRICE.classA + classB(r) * PRICE.classB),
    requests: 1000 * r.workerRequests * PRICE.request,
    cpu: 1000 * r.cpuSeconds * 1000 * PRICE.cpuMs,
  };
}

const dollars = (value: number) => `$${value.toFixed(5)}`;

/** The section's markdown: what was measured, the table, and the cost of 1,000 pulls. */
export function deliveryReport(rows: DeliveryRow[]): string {
  const table = [
    "| mode | pull | Worker requests | R2 class A | R2 class B (Worker / behind the answer / storage host) | KV reads | workerd CPU | wall time | first layer's TTFB |",
    "|---|---|---|---|---|---|---|---|---|",
    ...rows.map((r) => `| ${r.mode} | ${r.pull} | ${cells(r).join(" | ")} |`),
  ];
  const costs = [
    "| mode | pull | R2 | Worker requests | Worker CPU (upper bound) | total per 1,000 pulls |",
    "|---|---|---|---|---|---|",
    ...rows.map((r) => {
      const c = perThousand(r);
      return `| ${r.mode} | ${r.pull} | ${dollars(c.r2)} | ${dollars(c.requests)} | ${dollars(c.cpu)} | ${dollars(c.r2 + c.requests + c.cpu)} |`;
    }),
  ];
  return [
    `A ${LAYERS}-layer image (${LAYERS} layers of ${LAYER_BYTES / MiB} MiB of random bytes, one file each, plus its config) built with \`docker build\` (FROM scratch) and pushed with \`docker push\` to each mode's registry; then, on a fresh runtime over the same state (a new isolate, an empty edge cache), a cold pull and the same pull again (warm) as a client makes it over HTTP: manifest by tag, manifest by digest, the config and the ${LAYERS} layers by digest, a 307 followed without the Authorization header. Basic credentials on every request, so no token round trip (docker would add \`GET /v2/\` and a token request per pull).`,
    "Modes: **worker, edge cache** (the default: the Worker streams from R2 and fills the Workers Cache API behind the answer with a read of its own); **worker, no cache** (`EDGE_CACHE_MAX_BYTES=0`); **presigned** (`BLOB_REDIRECT=presigned`: a 307 to a presigned GET on R2's S3 endpoint, locally the runtime's storage host, whose every verified GET is counted as the class B operation it would be on R2); **public** (`BLOB_REDIRECT=public:…` with the repository anonymously pullable: the first pull of a blob is streamed and copies it to the public bucket behind the answer, later pulls get a 307 to the copy on the bucket's domain, locally the storage host; each of its GETs is counted as a class B operation, which is what a CDN miss costs: a GET the CDN answers from its cache costs none).",
    "R2 and KV counts are the registry's own per-request log lines, the lines of the work done behind the answer (`edge-cache fill`, `public-blobs copy`: the copy's put is its class A operation) and the storage host's `storage-host GET` lines. workerd CPU is read from /proc over the pull and until its last log line: it is all of workerd locally, local R2 and the Cache API's emulation included (in presigned mode, also local R2 serving the storage host's reads, which R2 does in production), so an upper bound on the Worker's CPU. Wall time and time to first byte are on loopback; the first layer's TTFB runs from its registry GET to its first body byte, redirect included.",
    "",
    table.join("\n"),
    "",
    "Cost per 1,000 pulls at list prices as published by Cloudflare, read 2026-12-07: R2 Standard class A $4.50 per million, class B $0.36 per million, egress free; Workers Paid (Standard usage model) $0.30 per million requests beyond the included 10 million a month and $0.02 per million CPU milliseconds beyond the included 30 million. Per 1,000 pulls: R2 = 1000 × (class A × 4.50 + class B × 0.36) / 10⁶; Worker = 1000 × (requests × 0.30 + CPU ms × 0.02) / 10⁶, past the included amounts (storage-host GETs are not Worker requests). The CPU column prices the /proc upper bound.",
    "",
    costs.join("\n"),
  ].join("\n");
}
