// docker against the push client, with the edge's body limit emulated at 50 MiB: `docker push`
// of an image with a layer above the limit fails, this client pushes the same image from the
// engine, and docker pulls both that and a multi-arch image with identical digests.
// Needs DOCKER_HOST (a dockerd, as .ci/run starts); skips locally without one, fails in CI.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { buildMultiArchLayout, runCli, type BuiltImage } from "./push-client-fixtures";
import { E2E_CREDENTIALS, requireAll, startRegistry, type RegistryServer } from "./registry-server";

const LIMIT = 50 * 1024 * 1024;
const BIG = Number(process.env.PUSH_CLIENT_BIG_MIB ?? 64) * 1024 * 1024;

let server: RegistryServer;
let work: string;
let image: BuiltImage;
let env: Record<string, string>;
const available = !!process.env.DOCKER_HOST && spawnSync("docker", ["info"]).status === 0;

function docker(...args: string[]) {
  return spawnSync("docker", args, {
    encoding: "utf8",
    env: { ...process.env, DOCKER_CONFIG: join(work, "docker-config") },
  });
}

beforeAll(async () => {
  if (!available) {
    if (requireAll()) throw new Error("docker is not reachable: set DOCKER_HOST to a running dockerd");
    return;
  }
  work = mkdtempSync(join(tmpdir(), "push-client-docker-"));
  [server, image] = await Promise.all([
    startRegistry({ vars: { MAX_REQUEST_BODY_BYTES: String(LIMIT) } }),
    buildMultiArchLayout(join(work, "layout"), BIG, "d1"),
  ]);
  // The client reads the credentials docker login stores (an identity token with Bearer auth).
  env = { R2_REGISTRY_STATE: join(work, "uploads.json"), DOCKER_CONFIG: join(work, "docker-config") };
  const login = spawnSync("docker", ["login", "-u", E2E_CREDENTIALS.username, "--password-stdin", server.host], {
    input: E2E_CREDENTIALS.password,
    encoding: "utf8",
    env: { ...process.env, ...env },
  });
  expect(login.status, login.stderr).toBe(0);
});
afterAll(async () => {
  await server?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

const cli = (...args: string[]) => runCli([...args, "--json"], env);
it.skipIf(!available && !requireAll())(
  "docker push of a layer above the limit fails; the client pushes it and docker pulls it back",
  async () => {
    const pushed = await cli("push", `oci:${image.dir}:d1`, `${server.host}/multi:d1`);
    expect(pushed.code, pushed.stdout + pushed.stderr).toBe(0);
    // An amd64 docker archive from the registry, loaded into the engine: docker never pulled
    // these layers, so its push must upload them (gzipped by docker itself).
    const archive = join(work, "amd64.tar");
    const pulled = await cli("pull", `${server.host}/multi:d1`, archive, "--platform", "linux/amd64");
    expect(pulled.code, pulled.stdout).toBe(0);
    const load = docker("load", "-i", archive);
    expect(load.status, load.stderr).toBe(0);
    const imageId = docker("image", "inspect", "--format", "{{.Id}}", `${server.host}/multi:d1`).stdout.trim();
    expect(docker("tag", `${server.host}/multi:d1`, `${server.host}/bydocker:big`).status).toBe(0);
    const dockerPush = docker("push", `${server.host}/bydocker:big`);
    expect(dockerPush.status).not.toBe(0);
    console.log(`docker push: ${(dockerPush.stdout + dockerPush.stderr).trim().split("\n").at(-1)}`);

    const fromEngine = await cli("push", `${server.host}/bydocker:big`, `${server.host}/fromengine:big`);
    expect(fromEngine.code, fromEngine.stdout + fromEngine.stderr).toBe(0);
    expect(docker("rmi", `${server.host}/multi:d1`, `${server.host}/bydocker:big`).status).toBe(0);
    const pullBack = docker("pull", `${server.host}/fromengine:big`);
    expect(pullBack.status, pullBack.stderr).toBe(0);
    // The config digest (the image ID) and the layers' diff IDs survive the round trip.
    expect(docker("image", "inspect", "--format", "{{.Id}}", `${server.host}/fromengine:big`).stdout.trim()).toBe(
      imageId,
    );
  },
);

it.skipIf(!available && !requireAll())(
  "docker pulls the multi-arch image with the index digest the client pushed",
  async () => {
    const pull = docker("pull", `${server.host}/multi:d1`);
    expect(pull.status, pull.stderr).toBe(0);
    expect(pull.stdout).toContain(`Digest: ${image.indexDigest}`);
    const digests = docker("image", "inspect", "--format", "{{json .RepoDigests}}", `${server.host}/multi:d1`).stdout;
    expect(digests).toContain(`${server.host}/multi@${image.indexDigest}`);
  },
);
