// `--help` on every command a user runs: usage on stdout, ending with a newline, exit 0,
// nothing on stderr (no stack trace). Bad `npm start` options fail before anything boots.
import { spawnSync } from "node:child_process";
import { type AddressInfo, createServer } from "node:net";
import { expect, it } from "vitest";
import { ROOT } from "./registry-server";

/** Each command as package.json (or bin/) runs it, as node arguments. */
const COMMANDS: Record<string, string[]> = {
  "npm start": ["--import", "tsx", "scripts/local-runtime/dev.ts"],
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

/** Runs `npm start`'s command with `args` and returns how it ended; none of these boot. */
function startWith(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, [...COMMANDS["npm start"]!, "--no-dev-vars", ...args], {
    cwd: ROOT,
    encoding: "utf8",
    env: { ...process.env, ...env },
    timeout: 30_000,
  });
}

it.each([
  [["--port", "abc"], /--port takes a whole number from 0 to 65535, got "abc"/],
  [["--port", "70000"], /--port takes a whole number/],
  [["--host", "my laptop"], /--host takes an IP address/],
  [["--log-format", "xml"], /--log-format takes text or json/],
  [["--var", "UNSET_IN_THIS_TEST"], /environment variable UNSET_IN_THIS_TEST is not set/],
  // The storage host serves the bucket to whoever holds a URL: never beyond this machine.
  [["--storage-host", "0.0.0.0:9000"], /--storage-host takes a loopback ADDR:PORT/],
  [["--storage-host", "127.0.0.2"], /--storage-host takes a loopback ADDR:PORT/],
])("npm start -- %j is refused with usage (exit 2) before the Worker boots", (args, message) => {
  const result = startWith(args);
  expect(result.stderr).toMatch(message);
  expect(result.stderr).toContain("usage: npm start");
  expect(result.status).toBe(2);
  expect(result.stdout).toBe("");
});

it("npm start on a port in use says so before booting (a missing config would fail the boot)", async () => {
  const busy = createServer();
  await new Promise<void>((resolve) => busy.listen(0, "127.0.0.1", resolve));
  const port = (busy.address() as AddressInfo).port;
  try {
    const result = startWith(["--port", String(port), "--config", "no-such-wrangler.toml"]);
    expect(result.stderr).toContain("another process uses that port");
    expect(result.stderr).not.toContain("no-such-wrangler.toml");
    expect(result.status).toBe(1);
  } finally {
    busy.close();
  }
});

it("npx r2-registry --help says a push without a tag goes to latest", () => {
  const result = spawnSync(process.execPath, [...COMMANDS["npx r2-registry"]!, "--help"], {
    cwd: ROOT,
    encoding: "utf8",
  });
  expect(result.stdout).toMatch(/TAG is latest unless given/);
});
