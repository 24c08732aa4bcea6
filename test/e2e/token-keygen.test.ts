// `npm run token -- keygen` never leaves a private key where `git add .` would commit it.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";
import { ROOT } from "./registry-server";

const repo = mkdtempSync(join(tmpdir(), "keygen-repo-"));
spawnSync("git", ["init", "-q", repo]);
afterAll(() => rmSync(repo, { recursive: true, force: true }));

function keygen(...args: string[]) {
  return spawnSync(
    process.execPath,
    ["--import", join(ROOT, "node_modules/tsx/dist/esm/index.mjs"), join(ROOT, "scripts/token.ts"), "keygen", ...args],
    { cwd: repo, encoding: "utf8" },
  );
}

it("refuses to write the key into a git work tree where it is not ignored", () => {
  const result = keygen();
  expect(result.status).toBe(2);
  expect(result.stderr).toMatch(/git add \./);
  expect(existsSync(join(repo, "registry-signing-key.jwk.json"))).toBe(false);
});

it("writes it where .gitignore covers it, and prints the public key", () => {
  writeFileSync(join(repo, ".gitignore"), "*.jwk.json\n");
  const result = keygen();
  expect(result.status, result.stderr).toBe(0);
  expect(existsSync(join(repo, "registry-signing-key.jwk.json"))).toBe(true);
  expect(JSON.parse(Buffer.from(result.stdout.trim(), "base64").toString())).toMatchObject({ kty: "EC", alg: "ES256" });
});
