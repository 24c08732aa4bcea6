// `npm start`'s runtime (scripts/local-runtime/dev.ts through the e2e harness): ready means ready, a TLS
// ClientHello is refused at once, and the API answers with auth. Then npm start as a user
// runs it: its banner, one line per request, --host, --quiet and --log-format json.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect as tlsConnect } from "node:tls";
import { afterAll, beforeAll, expect, it } from "vitest";
import { basic } from "../shared-helpers";
import { E2E_AUTH, freePort, OFFLINE_ENV, ROOT, startRegistry, type RegistryServer } from "./registry-server";

let server: RegistryServer;
/** How every connection tried while the registry started ended: "refused" or an HTTP status. */
const attempts: string[] = [];

beforeAll(async () => {
  const port = await freePort();
  let starting = true;
  const starter = startRegistry({ port }).finally(() => (starting = false));
  // Knock on the port while it starts: a connection the front door accepts must be answered.
  while (starting) {
    try {
      const reply = await fetch(`http://127.0.0.1:${port}/v2/`);
      await reply.arrayBuffer();
      attempts.push(String(reply.status));
    } catch (error) {
      const code = (error as { cause?: { code?: string } }).cause?.code ?? String(error);
      attempts.push(code === "ECONNREFUSED" ? "refused" : `failed: ${code}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  server = await starter;
});
afterAll(async () => {
  await server?.stop();
});

it("accepts no connection before the Worker answers", () => {
  expect(attempts.filter((a) => a !== "refused" && a !== "401")).toEqual([]);
});

it("answers /v2/ with 401 without credentials and 200 with them", async () => {
  const anonymous = await fetch(`${server.url}/v2/`);
  expect(anonymous.status).toBe(401);
  expect(anonymous.headers.get("Docker-Distribution-API-Version")).toBe("registry/2.0");
  const signedIn = await fetch(`${server.url}/v2/`, { headers: { Authorization: E2E_AUTH } });
  expect(signedIn.status).toBe(200);
});

it("hangs up on a TLS handshake at once, so clients fall back to HTTP without a timeout", async () => {
  const started = Date.now();
  const outcome = await new Promise<string>((resolve) => {
    const socket = tlsConnect({ host: "127.0.0.1", port: server.port, rejectUnauthorized: false });
    socket.on("secureConnect", () => resolve("handshake completed"));
    socket.on("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    socket.setTimeout(5000, () => resolve("no answer in 5 s"));
  });
  expect(outcome).toMatch(/ECONNRESET|socket disconnected/i);
  expect(Date.now() - started).toBeLessThan(5000);
});

it("logs one line per request, e.g. GET /v2/<name>/tags/list 401", async () => {
  await (await fetch(`${server.url}/v2/smoke/one-line/tags/list`)).arrayBuffer();
  await new Promise((r) => setTimeout(r, 300));
  const lines = server
    .log()
    .split("\n")
    .filter((line) => line.includes("/v2/smoke/one-line/tags/list"));
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^GET \/v2\/smoke\/one-line\/tags\/list 401 \d+ms {2}r2 A0 B0 free0 {2}kv r0 w0$/);
});

interface DevRun {
  stdout: string;
  stderr: string;
  stop(): Promise<void>;
}

/** Starts `npm start`'s command with `args` (no .dev.vars, a fresh state) and waits until its
 *  stdout matches `ready`. */
async function startDev(args: string[], env: Record<string, string>, ready: RegExp): Promise<DevRun> {
  const state = mkdtempSync(join(tmpdir(), "smoke-dev-"));
  const child = spawn(
    process.execPath,
    ["--import", "tsx", "scripts/local-runtime/dev.ts", "--no-dev-vars", "--state", state, "--port", "0", ...args],
    { cwd: ROOT, env: { ...process.env, ...OFFLINE_ENV, ...env }, detached: true, stdio: ["ignore", "pipe", "pipe"] },
  );
  const run: DevRun = {
    stdout: "",
    stderr: "",
    async stop() {
      if (child.exitCode === null && child.pid) process.kill(-child.pid, "SIGTERM");
      await new Promise((r) => (child.exitCode === null ? child.once("exit", r) : r(null)));
      rmSync(state, { recursive: true, force: true });
    },
  };
  child.stdout.on("data", (d) => (run.stdout += d.toString()));
  child.stderr.on("data", (d) => (run.stderr += d.toString()));
  const deadline = Date.now() + 60_000;
  while (!ready.test(run.stdout)) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await run.stop();
      throw new Error(`npm start did not become ready:\n${run.stdout}\n${run.stderr}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return run;
}

const SECRET = { JWT_STATE_SECRET: "smoke-state-secret-0123456789" };

it("--host 0.0.0.0 warns about a short password; the banner comes first; --var NAME reads the environment", async () => {
  const dev = await startDev(
    ["--host", "0.0.0.0", "--var", "USERNAME=u", "--var", "PASSWORD", "--var", "JWT_STATE_SECRET"],
    { PASSWORD: "short", ...SECRET },
    /^State: /m,
  );
  try {
    expect(dev.stderr).toContain(
      "warning: listening on 0.0.0.0, reachable from other machines, and PASSWORD has fewer than 16 characters",
    );
    const url = /^Registry: (http:\/\/127\.0\.0\.1:\d+) /.exec(dev.stdout)?.[1];
    expect(dev.stdout.split("\n")[0], dev.stdout).toMatch(/^Registry: /);
    const signedIn = await fetch(`${url}/v2/`, {
      headers: { Authorization: basic("u", "short") },
    });
    expect(signedIn.status).toBe(200);
  } finally {
    await dev.stop();
  }
});

it("--log-format json prints the ready line and each request as JSON objects", async () => {
  const dev = await startDev(
    ["--log-format", "json", "--var", "USERNAME=u", "--var", "PASSWORD=p"],
    SECRET,
    /^\{"url":/m,
  );
  try {
    const { url } = JSON.parse(dev.stdout.split("\n")[0]!) as { url: string };
    await (await fetch(`${url}/v2/smoke/json/tags/list`)).arrayBuffer();
    await new Promise((r) => setTimeout(r, 300));
    const lines = dev.stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines.filter((line) => line.path === "/v2/smoke/json/tags/list")).toMatchObject([
      { type: "request", method: "GET", status: 401 },
    ]);
  } finally {
    await dev.stop();
  }
});

it("--quiet prints the banner and no request lines", async () => {
  const dev = await startDev(["--quiet", "--var", "USERNAME=u", "--var", "PASSWORD=p"], SECRET, /^State: /m);
  try {
    const url = /^Registry: (\S+)/.exec(dev.stdout)?.[1];
    await (await fetch(`${url}/v2/smoke/quiet/tags/list`)).arrayBuffer();
    await new Promise((r) => setTimeout(r, 300));
    expect(dev.stdout).not.toContain("/v2/smoke/quiet");
    // The banner alone: its Registry, Cron and State lines.
    expect(
      dev.stdout
        .trim()
        .split("\n")
        .map((line) => line.split(":")[0]),
    ).toEqual(["Registry", "Cron", "State"]);
  } finally {
    await dev.stop();
  }
});
