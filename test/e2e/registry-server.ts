// Starts the registry on a free port with its own fresh state directory, for the end-to-end
// suites and the benchmark: through `npm start`'s own command (scripts/local-runtime/dev.ts, the local
// runtime), or under `wrangler dev` itself for the scenarios that keep checking it; the
// hooks of a suite with its own registry; its credentials, and a blob push over the API.
// (The helpers both test projects share are in test/shared-helpers.ts.)
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, afterEach, beforeAll } from "vitest";
import { basic, sha256 } from "../shared-helpers";

export const ROOT = resolve(import.meta.dirname, "../..");

export const E2E_CREDENTIALS = { username: "e2e-user", password: "e2e-password" };
/** The Authorization header value for E2E_CREDENTIALS. */
export const E2E_AUTH = basic(E2E_CREDENTIALS.username, E2E_CREDENTIALS.password);

/** A registry to push to, and the Authorization header to push with. */
export interface Pusher {
  url: string;
  auth: string;
}

/** Pushes one blob in a single POST ?digest=; returns its digest and size, or throws unless
 *  the registry answered 201. */
export async function pushBlob(p: Pusher, repo: string, bytes: Uint8Array): Promise<{ digest: string; size: number }> {
  const digest = sha256(bytes);
  const response = await fetch(`${p.url}/v2/${repo}/blobs/uploads/?digest=${digest}`, {
    method: "POST",
    body: bytes,
    headers: { Authorization: p.auth, "Content-Type": "application/octet-stream" },
  });
  if (response.status !== 201)
    throw new Error(`blob push to ${repo} answered ${response.status}: ${await response.text()}`);
  return { digest, size: bytes.length };
}

export interface RegistryServer {
  /** "127.0.0.1:PORT", as clients name the registry. */
  host: string;
  port: number;
  /** Base URL, http:// or https://. */
  url: string;
  protocol: "http" | "https";
  stateDir: string;
  /** Process group of the runtime and its workerd processes (for memory readings). */
  pgid: number;
  /** The Worker's inspector port (Chrome DevTools protocol), when asked for. */
  inspectorPort: number | null;
  /** The local runtime's loopback-only cron trigger (scripts/local-runtime/cron-trigger.ts); null under
   *  wrangler dev, whose --test-scheduled serves /__scheduled instead. */
  cronUrl: string | null;
  runtime: "local" | "wrangler";
  /** Collected stdout and stderr of the runtime, with one line per request, for failure messages. */
  log(): string;
  stop(): Promise<void>;
}

export interface StartOptions {
  protocol?: "http" | "https";
  vars?: Record<string, string>;
  /** Reuse a state directory (to test restarts); a fresh one otherwise. */
  stateDir?: string;
  port?: number;
  /** Another wrangler config (the benchmark's bare worker). */
  config?: string;
  /** "local" (default): scripts/local-runtime/dev.ts, as `npm start` runs. "wrangler": `wrangler dev`. */
  runtime?: "local" | "wrangler";
  /** Open Miniflare's inspector on this port (local runtime only). */
  inspectorPort?: number;
  /** Request bodies streamed into workerd at once, 0 for no limit (local runtime only;
   *  default: the runtime's own). */
  bodyStreams?: number;
  /** "json": request lines as JSON objects (scripts/local-runtime/request-log.ts; local runtime only). */
  logFormat?: "text" | "json";
  /** Serve the local storage host at this loopback "ADDR:PORT" (--storage-host; local
   *  runtime only): where BLOB_REDIRECT sends clients. */
  storageHost?: string;
  /** Extra wrangler dev flags, e.g. --test-scheduled (wrangler runtime only). */
  extraArgs?: string[];
}

export async function freePort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
    server.on("error", reject);
  });
}

export const OFFLINE_ENV = {
  WRANGLER_SEND_METRICS: "false",
  WRANGLER_SEND_ERROR_REPORTS: "false",
  WRANGLER_HIDE_BANNER: "true",
  CLOUDFLARE_CF_FETCH_ENABLED: "false",
  NO_UPDATE_NOTIFIER: "1",
};

/** An empty env file: given one, wrangler dev reads it instead of the project's .dev.vars. */
function emptyEnvFile(dir: string): string {
  const path = join(dir, "empty.env");
  writeFileSync(path, "");
  return path;
}

/** The command and arguments that start the chosen runtime. Neither reads the user's .dev.vars:
 *  scripts/local-runtime/dev.ts is told not to, and wrangler dev runs with an empty env file list below. */
function command(
  options: StartOptions,
  port: number,
  stateDir: string,
  vars: Record<string, string>,
  protocol: string,
  inspectorPort: number,
) {
  if ((options.runtime ?? "local") === "local") {
    const args = [
      "--import",
      "tsx",
      join(ROOT, "scripts/local-runtime/dev.ts"),
      "--json",
      "--no-dev-vars",
      "--port",
      String(port),
      "--state",
      stateDir,
    ];
    if (protocol === "https") args.push("--https");
    if (options.config) args.push("--config", options.config);
    if (options.inspectorPort) args.push("--inspector-port", String(options.inspectorPort));
    if (options.logFormat) args.push("--log-format", options.logFormat);
    if (options.bodyStreams !== undefined) args.push("--body-streams", String(options.bodyStreams));
    if (options.storageHost) args.push("--storage-host", options.storageHost);
    for (const [key, value] of Object.entries(vars)) args.push("--var", `${key}=${value}`);
    return { file: process.execPath, args };
  }
  const args = [
    "wrangler",
    "dev",
    "--ip",
    "127.0.0.1",
    "--port",
    String(port),
    "--persist-to",
    stateDir,
    "--local-protocol",
    protocol,
    "--inspector-port",
    String(inspectorPort),
    "--show-interactive-dev-session=false",
    "--env-file",
    emptyEnvFile(stateDir),
  ];
  for (const [key, value] of Object.entries(vars)) args.push("--var", `${key}:${value}`);
  if (options.config) args.push("--config", options.config);
  args.push(...(options.extraArgs ?? []));
  return { file: "npx", args };
}

/**
 * The hooks of a test file (or describe block) with a registry of its own: started before its
 * tests with `options` (a function when they need work first, such as a free port), handed to
 * `started`, and stopped after them.
 */
export function registrySuite(
  options: StartOptions | (() => Promise<StartOptions>),
  started: (server: RegistryServer) => void,
): void {
  let server: RegistryServer | undefined;
  beforeAll(async () => {
    server = await startRegistry(typeof options === "function" ? await options() : options);
    started(server);
  });
  // A failed test shows what the runtime itself said: a workerd the watchdog restarted, or
  // one that died, explains failures that look like the registry's own (a 502 from the front
  // door, a refused connection).
  afterEach(({ task }) => {
    if (task.result?.state !== "fail" || !server) return;
    const lines = server.log().split("\n");
    const runtime = lines.filter((l) => /local runtime:|workerd|uncaught|Fatal|signal/i.test(l)).slice(-20);
    console.error(
      `registry on ${server.url}, what its runtime said:\n${runtime.join("\n") || "(nothing)"}\n` +
        `its last 30 lines:\n${lines.slice(-30).join("\n")}`,
    );
  });
  afterAll(async () => {
    await server?.stop();
  });
}

export async function startRegistry(options: StartOptions = {}): Promise<RegistryServer> {
  const protocol = options.protocol ?? "http";
  const port = options.port ?? (await freePort());
  const stateDir = options.stateDir ?? mkdtempSync(join(tmpdir(), "registry-e2e-"));
  const vars: Record<string, string> = {
    USERNAME: E2E_CREDENTIALS.username,
    PASSWORD: E2E_CREDENTIALS.password,
    JWT_STATE_SECRET: "e2e-state-secret-please-change",
    ...options.vars,
  };
  const inspectorPort = options.inspectorPort ?? (options.runtime === "wrangler" ? await freePort() : 0);
  const { file, args } = command(options, port, stateDir, vars, protocol, inspectorPort);
  const child: ChildProcess = spawn(file, args, {
    cwd: ROOT,
    env: { ...process.env, ...OFFLINE_ENV, NODE_TLS_REJECT_UNAUTHORIZED: "0" },
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (d) => (output += d.toString()));
  child.stderr?.on("data", (d) => (output += d.toString()));
  const url = `${protocol}://127.0.0.1:${port}`;
  const server: RegistryServer = {
    host: `127.0.0.1:${port}`,
    port,
    url,
    protocol,
    stateDir,
    pgid: child.pid ?? 0,
    inspectorPort: options.inspectorPort ?? null,
    cronUrl: null,
    runtime: options.runtime ?? "local",
    log: () => output,
    async stop() {
      if (child.exitCode === null && child.pid) {
        try {
          process.kill(-child.pid, "SIGTERM");
        } catch {}
        await new Promise((r) => setTimeout(r, 300));
        try {
          process.kill(-child.pid, "SIGKILL");
        } catch {}
      }
      if (!options.stateDir) rmSync(stateDir, { recursive: true, force: true });
    },
  };
  await untilReady(server, child, () => output);
  return server;
}

/** The local runtime prints its JSON line only once the Worker answers /v2/ on the public
 *  port; wrangler dev is polled until it answers. */
async function untilReady(server: RegistryServer, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the registry exited early:\n${output()}`);
    if (server.runtime === "local") {
      const ready = /^\{"url":.*$/m.exec(output());
      if (ready) {
        server.cronUrl = (JSON.parse(ready[0]) as { cronUrl: string }).cronUrl;
        return;
      }
    } else {
      try {
        const response = await fetch(`${server.url}/v2/`);
        if (response.status < 500) return;
      } catch {}
    }
    if (Date.now() > deadline) {
      await server.stop();
      throw new Error(`the registry did not become ready:\n${output()}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** In CI (E2E_REQUIRE_ALL=1) a missing client fails the run; locally it skips with a reason. */
export function requireAll(): boolean {
  return process.env.E2E_REQUIRE_ALL === "1";
}
