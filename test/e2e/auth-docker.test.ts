// docker login, push and pull against `wrangler dev` itself (the one docker scenario that keeps
// checking the runtime the design names; the others use npm start's) with each kind of credential: the
// shared USERNAME/PASSWORD, a user of AUTH_USERS_JSON (PBKDF2 hash, repository patterns), a
// JWT signed by the deployment's key (JWT_REGISTRY_TOKENS_PUBLIC_KEY), READONLY, and
// anonymous pull. docker follows the Bearer challenge to /v2/token, stores the refresh token
// it gets at login, and trades it for access tokens on push and pull.
// Uses DOCKER_HOST when set; otherwise starts its own dockerd under /tmp (as .ci/run does) and
// stops it by process group. Without docker it skips, unless E2E_REQUIRE_ALL=1.
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hashPassword } from "../../src/util/password-hash";
import { run, type RunResult } from "./clients/run";
import { E2E_CREDENTIALS, requireAll, startRegistry, type RegistryServer } from "./registry-server";

const work = mkdtempSync(join(tmpdir(), "auth-docker-"));
let dockerHost = process.env.DOCKER_HOST ?? "";
let ownDaemon: number | null = null;
let skipReason: string | null = null;
let server: RegistryServer;
let jwtPassword = "";
const ALICE = { username: "alice", password: "alice-e2e-password" };

async function docker(args: string[], config: string, input?: string): Promise<RunResult> {
  return run("docker", args, { env: { DOCKER_HOST: dockerHost, DOCKER_CONFIG: config }, input, timeoutMs: 120_000 });
}

async function startOwnDockerd(): Promise<string | null> {
  if ((await run("sh", ["-c", "command -v dockerd"])).code !== 0) return "dockerd is not installed";
  const dir = join(work, "docker");
  mkdirSync(dir, { recursive: true });
  const host = `unix://${dir}/docker.sock`;
  const args = [
    "--host",
    host,
    "--data-root",
    `${dir}/data`,
    "--exec-root",
    `${dir}/exec`,
    "--pidfile",
    `${dir}/dockerd.pid`,
    "--iptables=false",
    "--ip6tables=false",
    "--bridge=none",
    "--storage-driver=vfs",
  ];
  const child = spawn("dockerd", args, { detached: true, stdio: ["ignore", "ignore", "ignore"] });
  child.unref();
  ownDaemon = child.pid ?? null;
  for (let i = 0; i < 60; i++) {
    if ((await run("docker", ["info"], { env: { DOCKER_HOST: host }, timeoutMs: 5000 })).code === 0) {
      dockerHost = host;
      return null;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  return "dockerd did not start";
}

async function makeBaseImage(config: string): Promise<void> {
  const root = join(work, "rootfs");
  mkdirSync(root, { recursive: true });
  writeFileSync(join(root, "hello.txt"), "auth e2e\n");
  const tar = join(work, "rootfs.tar");
  const packed = await run("tar", ["-C", root, "-cf", tar, "."]);
  if (packed.code !== 0) throw new Error(packed.stderr);
  const imported = await docker(["import", tar, "auth-e2e-base:1"], config);
  if (imported.code !== 0) throw new Error(`docker import: ${imported.stderr}`);
}

beforeAll(async () => {
  if (!dockerHost && !existsSync("/var/run/docker.sock")) skipReason = await startOwnDockerd();
  else if (!dockerHost) dockerHost = "unix:///var/run/docker.sock";
  if (
    !skipReason &&
    (await run("docker", ["version"], { env: { DOCKER_HOST: dockerHost } }).catch(() => ({ code: 1 }))).code !== 0
  )
    skipReason = "docker CLI cannot reach an engine";
  if (skipReason) {
    if (requireAll()) throw new Error(`E2E_REQUIRE_ALL=1 but ${skipReason}`);
    console.warn(`[e2e skip] docker unavailable: ${skipReason}`);
    return;
  }
  await makeBaseImage(join(work, "cfg-base"));
  const { publicKey, privateKey } = await generateKeyPair("ES256", { extractable: true });
  const publicJwk = Buffer.from(JSON.stringify({ ...(await exportJWK(publicKey)), alg: "ES256" })).toString("base64");
  jwtPassword = await new SignJWT({ capabilities: ["pull", "push"], username: "ci" })
    .setProtectedHeader({ alg: "ES256" })
    .setExpirationTime("1h")
    .sign(privateKey);
  const users = {
    alice: { password: await hashPassword(ALICE.password, 20_000), access: { "team-a/*": ["pull", "push", "delete"] } },
  };
  server = await startRegistry({
    runtime: "wrangler",
    protocol: "https",
    vars: {
      AUTH_USERS_JSON: JSON.stringify(users),
      JWT_REGISTRY_TOKENS_PUBLIC_KEY: publicJwk,
      READONLY_USERNAME: "reader",
      READONLY_PASSWORD: "reader-e2e-password",
      ANONYMOUS_PULL: "public/*",
    },
  });
}, 180_000);

afterAll(async () => {
  await server?.stop();
  if (ownDaemon) {
    try {
      process.kill(-ownDaemon, "SIGTERM");
    } catch {}
    await new Promise((r) => setTimeout(r, 2000));
    try {
      process.kill(-ownDaemon, "SIGKILL");
    } catch {}
  }
  rmSync(work, { recursive: true, force: true });
});

function configDir(name: string): string {
  const dir = join(work, `cfg-${name}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}

async function login(config: string, username: string, password: string): Promise<RunResult> {
  return docker(["login", server.host, "-u", username, "--password-stdin"], config, password);
}

/** Tags the base image as repo:tag, pushes it, removes it locally and pulls it back. */
async function pushAndPull(config: string, repo: string): Promise<void> {
  const ref = `${server.host}/${repo}:v1`;
  for (const args of [
    ["tag", "auth-e2e-base:1", ref],
    ["push", ref],
    ["rmi", ref],
    ["pull", ref],
  ]) {
    const result = await docker(args, config);
    expect(result.code, `docker ${args.join(" ")}: ${result.stderr}\n${server.log().slice(-2000)}`).toBe(0);
  }
  await docker(["rmi", ref], config);
}

const KINDS = [
  { name: "USERNAME/PASSWORD", creds: () => E2E_CREDENTIALS, repo: "shared/full" },
  { name: "AUTH_USERS_JSON user", creds: () => ALICE, repo: "team-a/app" },
  { name: "JWT password", creds: () => ({ username: "ci", password: jwtPassword }), repo: "ci/app" },
];

describe("docker login, push and pull with each credential kind", () => {
  it.for(KINDS)("$name", async ({ name, creds, repo }, context) => {
    if (skipReason) return context.skip(skipReason);
    const config = configDir(name.replace(/\W/g, "-"));
    const { username, password } = creds();
    const result = await login(config, username, password);
    expect(result.code, result.stderr).toBe(0);
    // docker asked for offline access at login and keeps the refresh token, not the password.
    const stored = JSON.parse(readFileSync(join(config, "config.json"), "utf8")) as {
      auths: Record<string, { identitytoken?: string }>;
    };
    expect(stored.auths[server.host]?.identitytoken).toBeTruthy();
    expect(readFileSync(join(config, "config.json"), "utf8")).not.toContain(
      Buffer.from(`${username}:${password}`).toString("base64"),
    );
    await pushAndPull(config, repo);
  });

  it("refuses a wrong password at login", async (context) => {
    if (skipReason) return context.skip(skipReason);
    const result = await login(configDir("wrong"), "alice", "not-the-password");
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/unauthorized|invalid username or password/i);
  });

  it("lets a user push only where its patterns allow, READONLY pull only, anonymous pull public/* only", async (context) => {
    if (skipReason) return context.skip(skipReason);
    const admin = configDir("admin");
    expect((await login(admin, E2E_CREDENTIALS.username, E2E_CREDENTIALS.password)).code).toBe(0);
    await pushAndPull(admin, "public/app");
    await pushAndPull(admin, "team-b/app");

    const alice = configDir("alice2");
    expect((await login(alice, ALICE.username, ALICE.password)).code).toBe(0);
    expect((await docker(["tag", "auth-e2e-base:1", `${server.host}/team-b/app:alice`], alice)).code).toBe(0);
    const denied = await docker(["push", `${server.host}/team-b/app:alice`], alice);
    expect(denied.code).not.toBe(0);
    expect(denied.stderr + denied.stdout).toMatch(/denied|unauthorized|insufficient/i);

    const reader = configDir("reader");
    expect((await login(reader, "reader", "reader-e2e-password")).code).toBe(0);
    expect((await docker(["pull", `${server.host}/team-b/app:v1`], reader)).code).toBe(0);
    expect((await docker(["tag", "auth-e2e-base:1", `${server.host}/team-b/app:reader`], reader)).code).toBe(0);
    expect((await docker(["push", `${server.host}/team-b/app:reader`], reader)).code).not.toBe(0);

    const nobody = configDir("anonymous");
    expect((await docker(["pull", `${server.host}/public/app:v1`], nobody)).code).toBe(0);
    expect((await docker(["rmi", `${server.host}/team-b/app:v1`], nobody)).code).toBe(0);
    expect((await docker(["pull", `${server.host}/team-b/app:v1`], nobody)).code).not.toBe(0);
  });
});
