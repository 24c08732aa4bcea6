// `--help` on every command a user runs: usage on stdout, ending with a newline, exit 0,
// nothing on stderr (no stack trace).
import { spawnSync } from "node:child_process";
import { expect, it } from "vitest";
import { ROOT } from "./registry-server";

/** Each command as package.json (or bin/) runs it, as node arguments. */
const COMMANDS: Record<string, string[]> = {
  "npm start": ["--import", "tsx", "scripts/dev.ts"],
  "npm run conformance": ["--import", "tsx", "conformance/run.ts"],
  "npm run token": ["--import", "tsx", "scripts/token.ts"],
  "npm run hash-password": ["--import", "tsx", "scripts/hash-password.ts"],
  "npx r2-registry": ["bin/r2-registry.mjs"],
};

for (const [name, args] of Object.entries(COMMANDS)) {
  it(`${name} -- --help prints usage and exits 0`, () => {
    const result = spawnSync(process.execPath, [...args, "--help"], { cwd: ROOT, encoding: "utf8" });
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^usage/i);
    expect(result.stdout.endsWith("\n")).toBe(true);
  });
}

it("npm run conformance -- --help names --keep (the run deletes what it pushed otherwise)", () => {
  const result = spawnSync(process.execPath, [...COMMANDS["npm run conformance"]!, "--help"], {
    cwd: ROOT,
    encoding: "utf8",
  });
  expect(result.stdout).toContain("--keep");
});

it("npx r2-registry --help says a push without a tag goes to latest", () => {
  const result = spawnSync(process.execPath, [...COMMANDS["npx r2-registry"]!, "--help"], {
    cwd: ROOT,
    encoding: "utf8",
  });
  expect(result.stdout).toMatch(/TAG is latest unless given/);
});
