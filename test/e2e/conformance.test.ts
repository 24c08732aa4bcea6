// Runs the project's conformance runner (conformance/) against `npm start`'s runtime: every group
// must pass with zero failures, once with Docker token challenges (the default) and once with
// Basic challenges. This is how `npm test` covers distribution-spec conformance.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GROUPS } from "../../conformance/reporter";
import { runConformance } from "../../conformance/runner";
import { E2E_CREDENTIALS, startRegistry, type RegistryServer } from "./registry-server";

describe.each(["bearer", "basic"] as const)("with AUTH_CHALLENGE=%s", (challenge) => {
  let server: RegistryServer;
  beforeAll(async () => {
    server = await startRegistry({ protocol: "http", vars: { AUTH_CHALLENGE: challenge } });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("passes every check of the conformance runner in all four groups", async () => {
    const anonymous = await fetch(`${server.url}/v2/`);
    expect(anonymous.headers.get("WWW-Authenticate")?.toLowerCase().startsWith(challenge)).toBe(true);
    const lines: string[] = [];
    const reporter = await runConformance({
      url: server.url,
      username: E2E_CREDENTIALS.username,
      password: E2E_CREDENTIALS.password,
      print: (line) => lines.push(line),
    });
    const summary = reporter.summary();
    const failures = reporter.failures().map((f) => `[${f.group}] ${f.name}\n    ${f.detail ?? ""}`);
    if (failures.length > 0) console.error(`conformance failures (${challenge}):\n${failures.join("\n")}\n\nfull run:\n${lines.join("\n")}`);
    for (const group of GROUPS) {
      expect(summary[group].passed, `${group}: checks passed`).toBeGreaterThan(5);
    }
    expect(failures).toEqual([]);
  });
});
