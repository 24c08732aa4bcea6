// The local runtime, the one way this project runs the Worker on a machine: `npm start`, the
// e2e harness and `npm run bench` all come through startRuntime(). It bundles the Worker as a
// deploy would, serves it with Miniflare (workerd, the engine under wrangler dev) and R2/KV
// persisted on disk, and puts a front door on the public port.
//
// Why not `wrangler dev`: its proxy worker turns a failed hop to the Worker into
// `503 Your worker restarted mid-request` for every non-GET request and leaves GETs queued
// unanswered (see docs/local-runtime.md), which real clients hit after long uploads.
// Why a front door (scripts/local-runtime/front-door.ts): it refuses TLS at once, so clients fall back to
// HTTP without a 10 s stall, and gives each request a fresh connection to workerd. It listens
// only once the Worker has answered GET /v2/, so a connection it accepts is answered.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from "node:fs";
import { get as httpGet } from "node:http";
import { get as httpsGet } from "node:https";
import type { Server, Socket } from "node:net";
import { CRON_TRIGGER_HOST, cronTrigger } from "./cron-trigger";
import { frontDoor } from "./front-door";
import { type LogOptions, lineWriter, READY_PROBE_PATH } from "./request-log";
import { startStorageHost, type StorageHost } from "./storage-host";
import { type Watchdog, watchWorkerd } from "./watchdog";
import { startWorkerdWithV8Flags } from "./workerd-v8-flags-launch";
import { dirname, join, resolve } from "node:path";
import { promisify } from "node:util";
import { Log, LogLevel, Miniflare } from "miniflare";
import { parse as parseToml } from "smol-toml";

export const ROOT = resolve(import.meta.dirname, "../..");
const READY_TIMEOUT_MS = 60_000;
/** Measured with 10 uploads beside 50 manifest GETs (docs/local-runtime.md). */
export const DEFAULT_BODY_STREAMS = 2;

export interface RuntimeOptions {
  /** wrangler config whose bindings and vars are used (default: the project's wrangler.toml). */
  config?: string;
  host?: string;
  /** Public port; 0 picks a free one. */
  port?: number;
  /** R2 and KV live under `<stateDir>/v3`, the layout wrangler dev uses, so data carries over. */
  stateDir: string;
  /** Variables and secrets on top of the config's [vars]. Nothing is read from .dev.vars here. */
  vars?: Record<string, string>;
  /** Serve https with a self-signed certificate on the public port instead (no front door). */
  https?: boolean;
  /** Miniflare's inspector (Chrome DevTools protocol), e.g. to read the isolate's heap. */
  inspectorPort?: number;
  /** Loopback port of the cron trigger (scripts/local-runtime/cron-trigger.ts); 0 or unset picks a free one. */
  cronPort?: number;
  /** How many request bodies stream into workerd at once (scripts/local-runtime/body-lanes.ts); default
   *  DEFAULT_BODY_STREAMS, Infinity for no limit. */
  bodyStreams?: number;
  /** Serve the local stand-in for the storage host blob redirects send clients to
   *  (scripts/local-runtime/storage-host.ts) at this address; port 0 picks a free one. */
  storageHost?: { host: string; port: number };
  /** Worker logs and runtime output; default: this process's stdout and stderr. */
  log?: (line: string) => void;
  /** How request lines are shown (scripts/local-runtime/request-log.ts); default: text, one per request. */
  logOptions?: LogOptions;
}

export interface Runtime {
  /** The one URL clients use, e.g. http://127.0.0.1:8787. */
  url: string;
  /** The host in `url`: clients on this machine reach a wildcard address through 127.0.0.1. */
  host: string;
  port: number;
  stateDir: string;
  inspectorPort: number | null;
  /** GET this (with `?cron=EXPR`) to fire the scheduled handler; loopback only. */
  cronUrl: string;
  /** The local storage host's origin (RuntimeOptions.storageHost), else null. */
  storageHostUrl: string | null;
  /** For a test in this process only (never reachable over the network): a queue producer,
   *  R2 bucket or KV namespace the Worker is bound to, by binding name, as Miniflare exposes
   *  them. The events e2e test sends to the queue and reads the logs through src/storage/. */
  queueProducer(binding: string): Promise<Queue>;
  r2Bucket(binding: string): Promise<R2Bucket>;
  kvNamespace(binding: string): Promise<KVNamespace>;
  stop(): Promise<void>;
}

/** A hash of everything the bundle depends on: the config, the lockfile and every file
 *  under the directory of the config's `main`. */
function sourceHash(config: string, main: string): string {
  const hash = createHash("sha256");
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else hash.update(path).update(readFileSync(path));
    }
  };
  hash.update(readFileSync(config));
  hash.update(readFileSync(join(ROOT, "package-lock.json")));
  walk(dirname(main));
  return hash.digest("hex").slice(0, 16);
}

/** Bundles the Worker exactly as `wrangler deploy` would (nodejs_compat polyfills included),
 *  once per source state: wrangler takes seconds, and the e2e suites start many registries. */
async function bundle(config: string, main: string): Promise<string> {
  const cacheDir = join(ROOT, "node_modules/.cache/registry-bundle");
  const outDir = join(cacheDir, sourceHash(config, main));
  const cached = existsSync(outDir) ? readdirSync(outDir).find((name) => name.endsWith(".js")) : undefined;
  if (cached) return join(outDir, cached);
  mkdirSync(cacheDir, { recursive: true });
  const building = mkdtempSync(join(cacheDir, "building-"));
  const wrangler = join(ROOT, "node_modules/wrangler/bin/wrangler.js");
  try {
    await promisify(execFile)(
      process.execPath,
      [wrangler, "deploy", "--dry-run", "--config", config, "--outdir", building],
      {
        cwd: ROOT,
        env: {
          ...process.env,
          WRANGLER_SEND_METRICS: "false",
          WRANGLER_SEND_ERROR_REPORTS: "false",
          WRANGLER_HIDE_BANNER: "true",
        },
      },
    );
  } catch (error) {
    rmSync(building, { recursive: true, force: true });
    const { stdout = "", stderr = "" } = error as { stdout?: string; stderr?: string };
    throw new Error(`bundling ${config} failed:\n${stdout}${stderr}`);
  }
  // Another start may have built the same sources meanwhile; either copy is the same.
  try {
    renameSync(building, outDir);
  } catch {
    rmSync(building, { recursive: true, force: true });
  }
  pruneBundles(cacheDir);
  const script = readdirSync(outDir).find((name) => name.endsWith(".js"));
  if (!script) throw new Error(`bundling ${config} wrote no .js file to ${outDir}`);
  return join(outDir, script);
}

/** Keeps the cache bounded: the newest KEPT_BUNDLES builds (about 1 MB each) stay. */
const KEPT_BUNDLES = 8;
function pruneBundles(cacheDir: string): void {
  const builds = readdirSync(cacheDir)
    .filter((name) => !name.startsWith("building-"))
    .map((name) => ({ path: join(cacheDir, name), time: statSync(join(cacheDir, name)).mtimeMs }))
    .sort((a, b) => b.time - a.time);
  for (const old of builds.slice(KEPT_BUNDLES)) rmSync(old.path, { recursive: true, force: true });
}

/** Miniflare's logger, writing through the runtime's `log` instead of console.log. */
class LineLog extends Log {
  constructor(private readonly write: (chunk: string) => void) {
    super(LogLevel.INFO, { prefix: "registry" });
  }
  override log(message: string): void {
    this.write(`${message}\n`);
  }
  /** Miniflare announces workerd's internal address; the front door prints the one to use. */
  override logReady(): void {}
}

interface WranglerConfig {
  main?: string;
  compatibility_date?: string;
  compatibility_flags?: string[];
  vars?: Record<string, unknown>;
  r2_buckets?: { binding: string; bucket_name?: string }[];
  kv_namespaces?: { binding: string; id?: string }[];
  ratelimits?: { name: string; simple: { limit: number; period?: 10 | 60 } }[];
  triggers?: { crons?: string[] };
  queues?: {
    producers?: { binding: string; queue: string; delivery_delay?: number }[];
    consumers?: {
      queue: string;
      max_batch_size?: number;
      max_batch_timeout?: number;
      max_retries?: number;
      dead_letter_queue?: string;
      retry_delay?: number;
    }[];
  };
}

/** wrangler.toml's queues as Miniflare runs them (in memory, as under wrangler dev): every
 *  consumer setting that changes delivery (batching, retries, the dead-letter queue) is
 *  carried over, so a receiver fails locally as it would in production. */
function queueOptions(parsed: WranglerConfig) {
  const producers = parsed.queues?.producers ?? [];
  const consumers = parsed.queues?.consumers ?? [];
  return {
    queueProducers: Object.fromEntries(
      producers.map((p) => [p.binding, { queueName: p.queue, deliveryDelay: p.delivery_delay }]),
    ),
    queueConsumers: Object.fromEntries(
      consumers.map((c) => [
        c.queue,
        {
          maxBatchSize: c.max_batch_size,
          maxBatchTimeout: c.max_batch_timeout,
          maxRetries: c.max_retries,
          deadLetterQueue: c.dead_letter_queue,
          retryDelay: c.retry_delay,
        },
      ]),
    ),
  };
}

/** Miniflare options from the top level of the wrangler config. wrangler's own helper for
 *  this reads .dev.vars and .env too (tests must never see the user's), and importing wrangler
 *  costs seconds per start, so the few settings the Worker uses are mapped here. */
function workerOptions(parsed: WranglerConfig, vars: Record<string, string>) {
  const plainVars: Record<string, string> = {};
  for (const [key, value] of Object.entries(parsed.vars ?? {}))
    plainVars[key] = typeof value === "string" ? value : JSON.stringify(value);
  return {
    compatibilityDate: parsed.compatibility_date,
    compatibilityFlags: parsed.compatibility_flags ?? [],
    r2Buckets: Object.fromEntries((parsed.r2_buckets ?? []).map((b) => [b.binding, b.bucket_name ?? b.binding])),
    kvNamespaces: Object.fromEntries((parsed.kv_namespaces ?? []).map((k) => [k.binding, k.id ?? k.binding])),
    // Simulated in memory by Miniflare, as under wrangler dev.
    ratelimits: Object.fromEntries((parsed.ratelimits ?? []).map((r) => [r.name, { simple: r.simple }])),
    ...queueOptions(parsed),
    bindings: { ...plainVars, ...vars },
  };
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolvePort, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      const address = server.address();
      resolvePort(typeof address === "object" && address ? address.port : port);
    });
  });
}

/** The status of GET `url`; an https origin's self-signed certificate is accepted (it is our own). */
function statusOf(url: string): Promise<number> {
  return new Promise((resolveStatus, reject) => {
    const get = url.startsWith("https:") ? httpsGet : httpGet;
    const req = get(url, { rejectUnauthorized: false, agent: false }, (res) => {
      res.resume();
      res.on("end", () => resolveStatus(res.statusCode ?? 0));
    });
    req.on("error", reject);
  });
}

/** Waits until the Worker answers GET READY_PROBE_PATH (any status below 500) through `url`. */
async function untilAnswering(url: string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    try {
      if ((await statusOf(`${url}${READY_PROBE_PATH}`)) < 500) return;
    } catch {}
    if (Date.now() > deadline)
      throw new Error(`the Worker did not answer ${url}${READY_PROBE_PATH} within ${READY_TIMEOUT_MS / 1000} s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The address clients on this machine use for a server listening on `host`: a wildcard
 *  (every interface) is reached through loopback. */
function clientHost(host: string): string {
  return host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host;
}

function originOf(protocol: string, host: string, port: number): string {
  return `${protocol}://${host.includes(":") ? `[${host}]` : host}:${port}`;
}

export async function startRuntime(options: RuntimeOptions): Promise<Runtime> {
  const host = options.host ?? "127.0.0.1";
  // workerd's own sockets stay on loopback behind the front door: only the door is public.
  const innerHost = options.https ? host : "127.0.0.1";
  const config = resolve(ROOT, options.config ?? "wrangler.toml");
  const stateDir = resolve(options.stateDir);
  mkdirSync(stateDir, { recursive: true });
  const parsed = parseToml(readFileSync(config, "utf8")) as WranglerConfig;
  if (!parsed.main) throw new Error(`${config} names no main script`);
  const scriptPath = await bundle(config, resolve(dirname(config), parsed.main));
  const log = options.log ?? ((line: string) => process.stdout.write(line));
  const logOptions = options.logOptions ?? { format: "text", requests: true };
  const registryWorker = {
    name: "registry",
    modules: true,
    scriptPath,
    modulesRoot: dirname(scriptPath),
    ...workerOptions(parsed, options.vars ?? {}),
  };
  // The storage host also stands in for BLOB_REDIRECT=public's domain, whose bucket
  // (PUBLIC_BLOBS) a deployment binds only when it uses that mode.
  if (options.storageHost) registryWorker.r2Buckets = { ...registryWorker.r2Buckets, PUBLIC_BLOBS: "public-blobs" };
  // Hands requests with a body to the registry and reads each body to its end before the
  // answer goes out (see drain-worker.js for why). Behind the front door it has a socket of its
  // own, and only requests with a body go there: a response passing through one more worker
  // costs the pull of a 1 GiB multipart blob 0.35 GiB more workerd memory (600 against 237 MiB
  // peak, two runs each). With https there is no front door, so it takes every request.
  const drainWorker = {
    name: "drain",
    modules: true,
    scriptPath: join(ROOT, "scripts/local-runtime/drain-worker.js"),
    compatibilityDate: registryWorker.compatibilityDate,
    serviceBindings: { REGISTRY: "registry" },
  };
  const workers = options.https
    ? [drainWorker, registryWorker]
    : [registryWorker, { ...drainWorker, unsafeDirectSockets: [{ host: innerHost, port: 0 }] }];
  const miniflareOptions = {
    log: new LineLog(lineWriter(log, logOptions)),
    // The Worker's usage line is the one line per request (scripts/local-runtime/request-log.ts).
    logRequests: false,
    workers,
    defaultPersistRoot: join(stateDir, "v3"),
    r2Persist: true,
    kvPersist: true,
    // No /cdn-cgi/handler/scheduled: it would answer on the public port (with https, workerd
    // serves that port itself) and ask for no credential. The cron trigger below replaces it.
    unsafeTriggerHandlers: false,
    // No fetch of Request.cf from the internet; a placeholder object is used.
    cf: false,
    host: innerHost,
    // With https workerd listens on the public port itself; otherwise on a free internal one.
    port: options.https ? (options.port ?? 0) : 0,
    https: options.https ?? false,
    inspectorPort: options.inspectorPort,
    handleRuntimeStdio(stdout, stderr) {
      const out = lineWriter(log, logOptions);
      const err = lineWriter(log, logOptions);
      // Decoded as a stream, so a character split between two chunks stays whole.
      stdout.setEncoding("utf8").on("data", out);
      stderr.setEncoding("utf8").on("data", err);
    },
  } satisfies ConstructorParameters<typeof Miniflare>[0];
  startWorkerdWithV8Flags();
  const mf = new Miniflare(miniflareOptions);
  let door: Server | null = null;
  let watchdog: Watchdog | null = null;
  let storageHost: StorageHost | null = null;
  const open = new Set<Socket>();
  const trigger = cronTrigger(mf, registryWorker.name, parsed.triggers?.crons?.[0] ?? "* * * * *");
  const stop = async () => {
    watchdog?.stop();
    await storageHost?.stop();
    const closed = new Promise<void>((r) => (door ? door.close(() => r()) : r()));
    for (const socket of open) socket.destroy();
    trigger.server.closeAllConnections();
    await Promise.all([closed, new Promise((r) => trigger.server.close(r))]);
    await mf.dispose().catch(() => {});
  };
  try {
    const inner = await mf.ready;
    await untilAnswering(inner.origin);
    const cronPort = await listen(trigger.server, options.cronPort ?? 0, CRON_TRIGGER_HOST);
    const cronUrl = `http://${CRON_TRIGGER_HOST}:${cronPort}${trigger.path}`;
    const bindings = {
      queueProducer: (binding: string) => mf.getQueueProducer(binding, registryWorker.name) as Promise<Queue>,
      r2Bucket: (binding: string) => mf.getR2Bucket(binding, registryWorker.name) as unknown as Promise<R2Bucket>,
      kvNamespace: (binding: string) =>
        mf.getKVNamespace(binding, registryWorker.name) as unknown as Promise<KVNamespace>,
    };
    if (options.storageHost)
      storageHost = await startLocalStorageHost(options.storageHost, options.vars ?? {}, bindings, log);
    const storageHostUrl = storageHost?.origin ?? null;
    if (options.https) {
      return {
        storageHostUrl,
        url: originOf("https", clientHost(host), Number(inner.port)),
        host: clientHost(host),
        port: Number(inner.port),
        stateDir,
        inspectorPort: options.inspectorPort ?? null,
        cronUrl,
        ...bindings,
        stop,
      };
    }
    /** Where workerd listens now: its entry, and the drain worker's socket. */
    const upstreamsNow = async () => {
      const [entry, drain] = [await mf.ready, await mf.unsafeGetDirectURL("drain")];
      return {
        withoutBody: { port: Number(entry.port), host: entry.hostname },
        withBody: { port: Number(drain.port), host: drain.hostname },
      };
    };
    const upstreams = await upstreamsNow();
    door = frontDoor(upstreams, open, options.bodyStreams ?? DEFAULT_BODY_STREAMS);
    const port = await listen(door, options.port ?? 0, host);
    // A workerd that hangs is restarted (scripts/local-runtime/watchdog.ts); the front door
    // reads the upstreams' addresses per request, so it follows the new process.
    watchdog = watchWorkerd(
      // Through the front door, as clients come: its answers-first rule (body-lanes.ts) gets
      // a request without a body answered within seconds even beside a 1 GiB pull and five
      // uploads, where one sent to workerd directly waited past 30 s (a CI run restarted a
      // workerd that was only busy).
      () => statusOf(`http://${clientHost(host)}:${port}${READY_PROBE_PATH}`),
      async () => {
        await mf.setOptions(miniflareOptions);
        Object.assign(upstreams, await upstreamsNow());
        await untilAnswering((await mf.ready).origin);
        log("local runtime: workerd restarted\n");
      },
      log,
    );
    return {
      storageHostUrl,
      url: originOf("http", clientHost(host), port),
      host: clientHost(host),
      port,
      stateDir,
      inspectorPort: options.inspectorPort ?? null,
      cronUrl,
      ...bindings,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** The storage host, with the bucket name and credentials the Worker signs with. */
function startLocalStorageHost(
  address: { host: string; port: number },
  vars: Record<string, string>,
  bindings: { r2Bucket(binding: string): Promise<R2Bucket> },
  log: (line: string) => void,
): Promise<StorageHost> {
  const { R2_BUCKET_NAME, R2_ACCESS_KEY_ID, R2_SECRET_ACCESS_KEY } = vars;
  if (!R2_BUCKET_NAME || !R2_ACCESS_KEY_ID || !R2_SECRET_ACCESS_KEY)
    throw new Error("--storage-host needs R2_BUCKET_NAME, R2_ACCESS_KEY_ID and R2_SECRET_ACCESS_KEY (--var)");
  return startStorageHost({
    ...address,
    bucketName: R2_BUCKET_NAME,
    accessKeyId: R2_ACCESS_KEY_ID,
    secretAccessKey: R2_SECRET_ACCESS_KEY,
    // Asked per request: a restarted workerd (the watchdog) has new bindings. A binding the
    // config does not name (PUBLIC_BLOBS, unless set) is none.
    bucket: (binding) => bindings.r2Bucket(binding).catch(() => null),
    log,
  });
}

/** Bytes under `dir` (the state directory's size, for npm start's banner). */
export function directorySize(dir: string): number {
  let total = 0;
  let entries: string[] = [];
  try {
    entries = readdirSync(dir);
  } catch {
    return 0;
  }
  for (const name of entries) {
    const path = join(dir, name);
    const stat = statSync(path, { throwIfNoEntry: false });
    if (!stat) continue;
    total += stat.isDirectory() ? directorySize(path) : stat.size;
  }
  return total;
}
