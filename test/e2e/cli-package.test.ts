// The push client as a package: `npm pack` in cli/ builds the JavaScript and packs it, the
// tarball installs into an empty prefix, and the installed `r2-registry` runs from outside the
// repository with only Node: `--help`, then a push to the local runtime and a pull back.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildMultiArchLayout, type BuiltImage } from "./push-client-fixtures";
import { E2E_CREDENTIALS, ROOT, startRegistry, type RegistryServer } from "./registry-server";

let work: string;
let bin: string;
let prefix: string;

/** Only Node on PATH, nothing of the repository: no tsx, no node_modules/.bin. */
function bareEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { PATH: `${dirname(process.execPath)}:/usr/bin:/bin`, HOME: work, ...extra } as unknown as NodeJS.ProcessEnv;
}

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "cli-package-"));
  const pack = spawnSync("npm", ["pack", "--pack-destination", work], {
    cwd: join(ROOT, "cli"),
    encoding: "utf8",
  });
  expect(pack.status, pack.stderr).toBe(0);
  const tarball = readdirSync(work).find((name) => name.endsWith(".tgz"));
  expect(tarball).toBeDefined();
  prefix = join(work, "prefix");
  const install = spawnSync(
    "npm",
    ["install", "--prefix", prefix, "--no-audit", "--no-fund", "--prefer-offline", join(work, tarball!)],
    { cwd: work, encoding: "utf8" },
  );
  expect(install.status, install.stderr).toBe(0);
  bin = join(prefix, "node_modules/.bin/r2-registry");
});
afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

it("installs compiled JavaScript with its own dependencies, without tsx or TypeScript", () => {
  expect(existsSync(bin)).toBe(true);
  expect(existsSync(join(prefix, "node_modules/tsx"))).toBe(false);
  expect(existsSync(join(prefix, "node_modules/typescript"))).toBe(false);
  const files = readdirSync(join(prefix, "node_modules/@r2-oci-registry/cli/dist"));
  expect(files).toContain("main.js");
  expect(files.some((name) => name.endsWith(".ts"))).toBe(false);
});

it("runs --help outside the repository", () => {
  const result = spawnSync(bin, ["--help"], { cwd: work, env: bareEnv(), encoding: "utf8" });
  expect(result.stderr).toBe("");
  expect(result.status).toBe(0);
  expect(result.stdout).toMatch(/^usage/);
});

describe("against the local runtime", () => {
  let server: RegistryServer;
  let image: BuiltImage;
  beforeAll(async () => {
    [server, image] = await Promise.all([
      startRegistry(),
      buildMultiArchLayout(join(work, "layout"), 1024 * 1024, "pkg"),
    ]);
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("pushes an image and pulls it back", () => {
    const env = bareEnv({
      R2_REGISTRY_STATE: join(work, "uploads.json"),
      R2_REGISTRY_USERNAME: E2E_CREDENTIALS.username,
      R2_REGISTRY_PASSWORD: E2E_CREDENTIALS.password,
    });
    const push = spawnSync(bin, ["push", `oci:${image.dir}:pkg`, `${server.host}/package:pkg`], {
      cwd: work,
      env,
      encoding: "utf8",
    });
    expect(push.status, push.stderr).toBe(0);
    expect(push.stdout.split("\n")[0]).toBe(image.indexDigest);
    const pull = spawnSync(bin, ["pull", `${server.host}/package:pkg`, join(work, "pulled")], {
      cwd: work,
      env,
      encoding: "utf8",
    });
    expect(pull.status, pull.stderr).toBe(0);
    expect(pull.stdout.split("\n")[0]).toBe(image.indexDigest);
  });
});
