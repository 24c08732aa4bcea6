// Runs the project's conformance runner (conformance/) against `npm start`'s runtime: every group
// must pass with zero failures, once with Docker token challenges (the default) and once with
// Basic challenges. This is how `npm test` covers distribution-spec conformance. A run leaves
// no tag, manifest or blob link of its own behind, unless `keep` (--keep) is given.
import { describe, expect, it } from "vitest";
import { GROUPS } from "../../conformance/reporter";
import { runConformance } from "../../conformance/runner";
import { RegistryClient } from "../../conformance/client";
import { E2E_CREDENTIALS, registrySuite, type RegistryServer } from "./registry-server";

/** The tags of every repository under `namespace` (names from the catalog). */
async function tagsUnder(url: string, namespace: string): Promise<Record<string, string[]>> {
  const client = new RegistryClient(url, E2E_CREDENTIALS);
  const catalog = await client.request("GET", `/v2/_catalog?n=1000&last=${encodeURIComponent(namespace)}`);
  expect(catalog.status).toBe(200);
  const names = ((catalog.json() as { repositories: string[] }).repositories ?? []).filter((n) =>
    n.startsWith(`${namespace}/`),
  );
  const out: Record<string, string[]> = {};
  for (const name of names) {
    const reply = await client.request("GET", `/v2/${name}/tags/list`);
    out[name] = reply.status === 200 ? ((reply.json() as { tags: string[] | null }).tags ?? []) : [];
  }
  return out;
}

describe.each(["bearer", "basic"] as const)("with AUTH_CHALLENGE=%s", (challenge) => {
  let server: RegistryServer;
  registrySuite({ protocol: "http", vars: { AUTH_CHALLENGE: challenge } }, (started) => {
    server = started;
  });

  it("passes every check of the conformance runner in all four groups", async () => {
    const anonymous = await fetch(`${server.url}/v2/`);
    expect(anonymous.headers.get("WWW-Authenticate")?.toLowerCase().startsWith(challenge)).toBe(true);
    const lines: string[] = [];
    const namespace = `conformance/e2e-${challenge}`;
    const reporter = await runConformance({
      namespace,
      url: server.url,
      username: E2E_CREDENTIALS.username,
      password: E2E_CREDENTIALS.password,
      print: (line) => lines.push(line),
    });
    const summary = reporter.summary();
    const failures = reporter.failures().map((f) => `[${f.group}] ${f.name}\n    ${f.detail ?? ""}`);
    if (failures.length > 0)
      console.error(`conformance failures (${challenge}):\n${failures.join("\n")}\n\nfull run:\n${lines.join("\n")}`);
    for (const group of GROUPS) {
      expect(summary[group].passed, `${group}: checks passed`).toBeGreaterThan(5);
    }
    expect(failures).toEqual([]);
    // Cleaned up: every repository the run made is left without tags (its manifests are gone).
    const left = await tagsUnder(server.url, namespace);
    expect(Object.keys(left).length, lines.join("\n")).toBeGreaterThan(3);
    expect(
      Object.entries(left).filter(([, tags]) => tags.length > 0),
      lines.join("\n"),
    ).toEqual([]);
    expect(
      lines.some((l) => /^cleanup: deleted [1-9]\d* manifests and [1-9]\d* blob links/.test(l)),
      lines.join("\n"),
    ).toBe(true);
  });

  it("keeps what it pushed with keep (--keep)", async () => {
    const namespace = `conformance/e2e-keep-${challenge}`;
    const reporter = await runConformance({
      namespace,
      url: server.url,
      ...E2E_CREDENTIALS,
      groups: ["content discovery"],
      keep: true,
      print: () => {},
    });
    expect(reporter.failures()).toEqual([]);
    const left = await tagsUnder(server.url, namespace);
    expect(
      Object.values(left).some((tags) => tags.length > 0),
      JSON.stringify(left),
    ).toBe(true);
  });
});
