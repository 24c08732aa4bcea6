// Starts the registry under `wrangler dev` on a free port with its own fresh state directory,
// for the end-to-end suites (real clients, conformance runner, push client).
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

export const ROOT = resolve(import.meta.dirname, "../..");

export const E2E_CREDENTIALS = { username: "e2e-user", password: "e2e-password" };

export interface RegistryServer {
  /** "127.0.0.1:PORT", as clients name the registry. */
  host: string;
  port: number;
  /** Base URL, http:// or https://. */
  url: string;
  protocol: "http" | "https";
  stateDir: string;
  /** Process group of wrangler and its workerd processes (for memory readings). */
  pgid: number;
  /** Collected stdout and stderr of wrangler, for failure messages. */
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
  /** Extra wrangler dev flags, e.g. --test-scheduled. */
  extraArgs?: string[];
}

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
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
  const args = [
    "wrangler", "dev", "--ip", "127.0.0.1", "--port", String(port), "--persist-to", stateDir,
    "--local-protocol", protocol, "--inspector-port", String(await freePort()), "--show-interactive-dev-session=false",
  ];
  for (const [key, value] of Object.entries(vars)) args.push("--var", `${key}:${value}`);
  if (options.config) args.push("--config", options.config);
  args.push(...(options.extraArgs ?? []));
  const child: ChildProcess = spawn("npx", args, {
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
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`wrangler dev exited early:\n${output}`);
    try {
      const response = await fetch(`${url}/v2/`);
      if (response.status < 500) return server;
    } catch {}
    if (Date.now() > deadline) {
      await server.stop();
      throw new Error(`wrangler dev did not become ready:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** In CI (E2E_REQUIRE_ALL=1) a missing client fails the run; locally it skips with a reason. */
export function requireAll(): boolean {
  return process.env.E2E_REQUIRE_ALL === "1";
}
