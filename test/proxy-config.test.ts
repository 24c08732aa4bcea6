// Pull-through configuration and upstream auth parsing: REGISTRIES_JSON entries, name
// mapping by prefix (with Docker Hub's library/), and WWW-Authenticate / token answers.
import { describe, expect, it } from "vitest";
import { RegistryError } from "../src/errors";
import { parseChallenge, parseTokenResponse } from "../src/proxy/challenge";
import { isReadOnlyMirror, parseProxyConfig, routesFor } from "../src/config/upstreams";

const config = (entries: unknown[], secrets: Record<string, unknown> = {}) =>
  parseProxyConfig(JSON.stringify(entries), 300, secrets);

describe("parseProxyConfig", () => {
  it("accepts the original format and reads passwords from the named secret", () => {
    const parsed = config([{ registry: "https://ghcr.io/", username: "me", password_env: "GHCR_TOKEN" }], {
      GHCR_TOKEN: "s3cret",
    });
    expect(parsed.upstreams).toEqual([
      {
        url: "https://ghcr.io",
        prefix: null,
        username: "me",
        password: "s3cret",
        libraryPrefix: false,
        allowPush: false,
      },
    ]);
  });

  it("maps docker.io to registry-1 and turns on library/ for it", () => {
    const [hub] = config([{ registry: "docker.io", prefix: "docker.io" }]).upstreams;
    expect(hub).toMatchObject({ url: "https://registry-1.docker.io", prefix: "docker.io", libraryPrefix: true });
  });

  it("refuses a missing secret, bad JSON and entries without a registry", () => {
    expect(() => config([{ registry: "https://x.test", password_env: "NOPE" }])).toThrow(RegistryError);
    expect(() => parseProxyConfig("{", 300, {})).toThrow(/valid JSON/);
    expect(() => config([{ username: "u" }])).toThrow(/registry must be a URL/);
  });

  it("is empty without REGISTRIES_JSON", () => {
    expect(parseProxyConfig(undefined, 60, {}).upstreams).toEqual([]);
  });
});

describe("routesFor", () => {
  const parsed = config([
    { registry: "https://registry-1.docker.io", prefix: "docker.io" },
    { registry: "https://ghcr.io", prefix: "ghcr.io", allow_push: true },
    { registry: "https://a.test" },
    { registry: "https://b.test" },
  ]);

  it("sends prefixed names only to their upstream, with library/ for single segments", () => {
    expect(routesFor(parsed, "docker.io/alpine").map((r) => [r.upstream.url, r.remoteName])).toEqual([
      ["https://registry-1.docker.io", "library/alpine"],
    ]);
    expect(routesFor(parsed, "docker.io/grafana/loki")[0]!.remoteName).toBe("grafana/loki");
    expect(routesFor(parsed, "ghcr.io/org/tool")[0]!.remoteName).toBe("org/tool");
  });

  it("tries the unprefixed upstreams in order for other names", () => {
    expect(routesFor(parsed, "team/app").map((r) => r.upstream.url)).toEqual(["https://a.test", "https://b.test"]);
    expect(routesFor(parsed, "docker.iox/app").map((r) => r.upstream.url)).toEqual([
      "https://a.test",
      "https://b.test",
    ]);
  });

  it("makes mirrored names read-only unless the upstream allows push", () => {
    expect(isReadOnlyMirror(parsed, "docker.io/alpine")).toBe(true);
    expect(isReadOnlyMirror(parsed, "ghcr.io/org/tool")).toBe(false);
    expect(isReadOnlyMirror(config([]), "team/app")).toBe(false);
  });
});

describe("parseChallenge", () => {
  it("reads Bearer parameters, quoted or not", () => {
    expect(
      parseChallenge(
        'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull"',
      ),
    ).toEqual({
      scheme: "bearer",
      realm: "https://auth.docker.io/token",
      service: "registry.docker.io",
      scope: "repository:library/alpine:pull",
    });
    expect(parseChallenge("Bearer realm=http://127.0.0.1:1/v2/token")).toMatchObject({
      scheme: "bearer",
      service: null,
      scope: null,
    });
  });

  it("knows Basic and refuses what it cannot use", () => {
    expect(parseChallenge('Basic realm="x"')).toEqual({ scheme: "basic" });
    expect(parseChallenge('Bearer realm="file:///etc/passwd"')).toEqual({ scheme: "unknown" });
    expect(parseChallenge("Negotiate")).toEqual({ scheme: "unknown" });
    expect(parseChallenge(null)).toEqual({ scheme: "unknown" });
  });
});

describe("parseTokenResponse", () => {
  const now = Date.parse("2026-01-01T00:00:00Z");
  it("uses expires_in from issued_at, 60 s when absent, and access_token as a fallback", () => {
    expect(parseTokenResponse({ token: "t", expires_in: 300, issued_at: "2026-01-01T00:00:00Z" }, now)).toEqual({
      token: "t",
      expiresAt: now + 300_000,
    });
    expect(parseTokenResponse({ access_token: "a" }, now)).toEqual({ token: "a", expiresAt: now + 60_000 });
    expect(parseTokenResponse({ nothing: true }, now)).toBeNull();
  });
});
