// Property tests for the pure auth parsers (Authorization header, scope grammar, repository
// patterns, password hashes, access claims) and fuzzing of the whole request path: whatever
// arrives in the Authorization header, the answer is an OCI error, never a 500, and never
// more access than the rules give.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { identityFromBearer } from "../src/auth/bearer";
import { parseAuthorization } from "../src/auth/authorization-header";
import { globalIdentity, patternIdentity } from "../src/auth/identity";
import type { Action } from "../src/config/auth";
import type { Identity } from "../src/registry/identity";
import { hashPassword, parsePasswordHash, PBKDF2_MAX_ITERATIONS, verifyPassword } from "../src/util/password-hash";
import { isValidPattern, matchesPattern } from "../src/config/repository-pattern";
import {
  formatScope,
  grantScopes,
  parseResourceScope,
  parseScopes,
  MAX_SCOPES,
  readAccessClaim,
} from "../src/auth/scope";
import { parseConfig } from "../src/config/config";
import { BASE_ENV, fetcher } from "./auth-setup";
import { basic } from "./helpers";

const RUNS = { seed: 0x4a17, numRuns: 300 };
const ACTIONS: Action[] = ["pull", "push", "delete"];
const component = fc.stringMatching(/^[a-z0-9]{1,6}$/);
const repoName = fc.array(component, { minLength: 1, maxLength: 3 }).map((parts) => parts.join("/"));
// distribution-spec "Pulling manifests": names scopes may grant.
const SPEC_NAME = /^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*$/;
const actionList = fc.subarray(ACTIONS, { minLength: 1 });

describe("Authorization header", () => {
  it("never throws, whatever the header", () => {
    fc.assert(
      fc.property(fc.option(fc.string({ unit: "binary" })), (header) => {
        expect(["none", "basic", "bearer", "malformed"]).toContain(parseAuthorization(header).kind);
      }),
      RUNS,
    );
  });

  it("round-trips Basic credentials, colons in the password included", () => {
    const user = fc.string({ unit: "grapheme", maxLength: 20 }).filter((u) => !u.includes(":"));
    fc.assert(
      fc.property(user, fc.string({ unit: "grapheme", maxLength: 40 }), (username, password) => {
        const bytes = new TextEncoder().encode(`${username}:${password}`);
        const header = `Basic ${btoa(String.fromCharCode(...bytes))}`;
        expect(parseAuthorization(header)).toEqual({ kind: "basic", username, password });
      }),
      RUNS,
    );
  });

  it("refuses near misses", () => {
    for (const header of [
      "Basic",
      "Basic !!!",
      "Basic Zm9v",
      "Basic a b",
      "Digest abc",
      "Bearer a b",
      `Basic ${btoa("\xff\xfe:x")}`,
    ]) {
      expect(parseAuthorization(header).kind, header).toBe("malformed");
    }
  });
});

describe("scope grammar", () => {
  const scope = fc.record({
    type: fc.constantFrom("repository", "registry", "repository(plugin)"),
    name: fc.oneof(
      repoName,
      repoName.map((n) => `localhost:5000/${n}`),
    ),
    actions: fc.subarray(["pull", "push", "delete", "*"], { minLength: 1 }),
  });

  it("round-trips well-formed scopes, names with host:port included", () => {
    fc.assert(
      fc.property(scope, (entry) => {
        expect(parseResourceScope(formatScope(entry))).toEqual(entry);
      }),
      RUNS,
    );
  });

  it("never throws on arbitrary input and keeps at most MAX_SCOPES scopes", () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: "binary", maxLength: 200 }), { maxLength: 100 }), (values) => {
        expect(parseScopes(values).length).toBeLessThanOrEqual(MAX_SCOPES);
      }),
      RUNS,
    );
    expect(parseScopes([Array.from({ length: 100 }, (_, i) => `repository:r${i}:pull`).join(" ")])).toHaveLength(
      MAX_SCOPES,
    );
  });

  it("drops malformed scopes", () => {
    for (const bad of [
      "repository",
      "repository:name",
      "repository::pull",
      ":name:pull",
      "Repository:a:pull",
      "repository:a:PULL",
      "repository:a:pull,",
      "repository:a:pu;ll",
    ]) {
      expect(parseScopes([bad]), bad).toEqual([]);
    }
    expect(parseScopes(["repository:a:pull repository:b:push"]).map((e) => e.name)).toEqual(["a", "b"]);
  });

  it("grants exactly requested ∩ allowed, and nothing for unknown types or invalid names", () => {
    const rules = fc.array(
      fc.record({
        pattern: fc.oneof(
          repoName,
          component.map((c) => `${c}/*`),
          fc.constant("*"),
        ),
        actions: actionList,
      }),
      { maxLength: 4 },
    );
    const requests = fc.array(
      fc.oneof(scope, fc.record({ type: fc.constant("repository"), name: fc.string(), actions: actionList })),
      { maxLength: 8 },
    );
    fc.assert(
      fc.property(rules, fc.boolean(), requests, (ruleList, catalog, requested) => {
        const identity = patternIdentity(
          "user:x",
          ruleList.map((r) => ({ pattern: r.pattern, actions: new Set(r.actions) })),
          { catalog },
        );
        const granted = grantScopes(identity, requested);
        for (const entry of granted) {
          if (entry.type === "registry") {
            expect(
              catalog &&
                requested.some(
                  (r) => r.type === "registry" && r.name === "catalog" && (r.actions as string[]).includes("*"),
                ),
            ).toBe(true);
            continue;
          }
          expect(SPEC_NAME.test(entry.name)).toBe(true);
          for (const action of entry.actions) {
            expect(identity.allows(entry.name, action as Action)).toBe(true);
            expect(
              requested.some(
                (r) =>
                  r.type === "repository" &&
                  r.name === entry.name &&
                  ((r.actions as string[]).includes(action) || (r.actions as string[]).includes("*")),
              ),
            ).toBe(true);
          }
        }
        for (const r of requested.filter((r) => r.type === "repository" && SPEC_NAME.test(r.name))) {
          for (const action of ACTIONS.filter(
            (a) =>
              ((r.actions as string[]).includes(a) || (r.actions as string[]).includes("*")) &&
              identity.allows(r.name, a),
          )) {
            expect(granted.some((g) => g.name === r.name && g.actions.includes(action))).toBe(true);
          }
        }
      }),
      RUNS,
    );
  });

  it("reads back any access claim without throwing", () => {
    fc.assert(
      fc.property(fc.anything(), (claim) => {
        for (const entry of readAccessClaim(claim))
          expect(entry.actions.every((a) => typeof a === "string")).toBe(true);
      }),
      RUNS,
    );
  });
});

describe("repository patterns", () => {
  /** Reference semantics, written independently: `*` is any run of characters. */
  function reference(pattern: string, name: string): boolean {
    const source = pattern
      .split("*")
      .map((p) => p.replace(/[.\-/]/g, "\\$&"))
      .join(".*");
    return new RegExp(`^${source}$`).test(name);
  }
  const patternChars = fc.string({ unit: fc.constantFrom(..."ab/-.*"), minLength: 1, maxLength: 10 });
  const names = fc.string({ unit: fc.constantFrom(..."ab/-."), maxLength: 12 });

  it("agrees with the reference on random patterns and names", () => {
    fc.assert(
      fc.property(patternChars, names, (pattern, name) => {
        expect(matchesPattern(pattern, name)).toBe(reference(pattern, name));
      }),
      { ...RUNS, numRuns: 2000 },
    );
  });

  it("matches the documented examples", () => {
    expect(matchesPattern("*", "a/b/c")).toBe(true);
    expect(matchesPattern("team-a/*", "team-a/app")).toBe(true);
    expect(matchesPattern("team-a/*", "team-a/x/y")).toBe(true);
    expect(matchesPattern("team-a/*", "team-ab/app")).toBe(false);
    expect(matchesPattern("team-a/*", "team-a")).toBe(false);
    expect(matchesPattern("*-public", "x/y-public")).toBe(true);
    expect(isValidPattern("Team/*")).toBe(false);
    expect(isValidPattern("a b")).toBe(false);
  });
});

describe("password hashes", () => {
  it("verifies the right password and refuses others", async () => {
    const stored = parsePasswordHash(await hashPassword("correct horse", 10_000))!;
    expect(await verifyPassword("correct horse", stored)).toBe(true);
    expect(await verifyPassword("correct horsf", stored)).toBe(false);
    expect(await verifyPassword("", stored)).toBe(false);
  });

  it("runs at the Workers ceiling of 100,000 iterations", async () => {
    const started = performance.now();
    const text = await hashPassword("pw");
    const elapsed = performance.now() - started;
    expect(text.startsWith(`pbkdf2-sha256$${PBKDF2_MAX_ITERATIONS}$`)).toBe(true);
    console.log(`PBKDF2-SHA256 at ${PBKDF2_MAX_ITERATIONS} iterations: ${elapsed.toFixed(1)} ms`);
    expect(await verifyPassword("pw", parsePasswordHash(text)!)).toBe(true);
  });

  it("parses only well-formed hashes and never throws", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 120 }), (s) => {
        parsePasswordHash(s);
      }),
      RUNS,
    );
    const good = "pbkdf2-sha256$10000$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    expect(parsePasswordHash(good)).not.toBeNull();
    for (const bad of [
      good.replace("pbkdf2-sha256", "plain"),
      good.replace("10000", "999"),
      good.replace("10000", "100001"),
      good.slice(0, -2),
      "hunter2",
    ]) {
      expect(parsePasswordHash(bad), bad).toBeNull();
    }
  });

  it("refuses plaintext passwords in AUTH_USERS_JSON", () => {
    const env = {
      ...BASE_ENV,
      AUTH_USERS_JSON: JSON.stringify({ eve: { password: "hunter2", access: { "*": ["pull"] } } }),
    };
    expect(() => parseConfig(env)).toThrow(/pbkdf2-sha256/);
    expect(() => parseConfig({ ...BASE_ENV, AUTH_USERS_JSON: "{not json" })).toThrow(/not valid JSON/);
    expect(() => parseConfig({ ...BASE_ENV, ANONYMOUS_PULL: "Bad Pattern" })).toThrow(/ANONYMOUS_PULL/);
  });
});

describe("fuzzing the request path", () => {
  // Without the login throttle, so that every wrong password gets its 401 here; the throttle's
  // 429 has its own tests (test/auth-hardening.test.ts).
  const fetch = fetcher({ LOGIN_LIMIT_PER_CLIENT: undefined, LOGIN_LIMIT_PER_USER: undefined });
  const noisyHeader = fc.oneof(
    fc.string({ unit: "binary-ascii", maxLength: 80 }),
    fc.string({ maxLength: 60 }).map((s) => `Bearer ${s}`),
    fc
      .tuple(
        fc.base64String({ maxLength: 40 }),
        fc.base64String({ maxLength: 200 }),
        fc.base64String({ maxLength: 40 }),
      )
      .map((p) => `Bearer ${p.join(".")}`),
    fc.string({ maxLength: 30 }).map((s) => basic("tester", s)),
    fc.string({ maxLength: 30 }).map((s) => `Basic ${s}`),
  );

  it("answers any Authorization header with 401 (or 200 for the right password), never 500", async () => {
    await fc.assert(
      fc.asyncProperty(noisyHeader, async (header) => {
        let response: Response;
        try {
          response = await fetch("/v2/fuzz/repo/tags/list", { headers: { Authorization: header } });
        } catch {
          return; // Headers with bytes the Request constructor refuses never reach the worker.
        }
        expect(response.status).toBe(401);
        const body = (await response.json()) as { errors: { code: string }[] };
        expect(body.errors[0]!.code).toBe("UNAUTHORIZED");
      }),
      { ...RUNS, numRuns: 200 },
    );
  });

  it("never accepts a random or tampered bearer token", async () => {
    const auth = parseConfig(BASE_ENV).auth;
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 300 }), async (token) => {
        expect(await identityFromBearer(auth, token, "registry.test")).toBeNull();
      }),
      { ...RUNS, numRuns: 200 },
    );
  });
});

describe("identities", () => {
  it("global identities grant their actions everywhere and nothing else", () => {
    const identity: Identity = globalIdentity("user:r", ["pull"], { catalog: false });
    fc.assert(
      fc.property(repoName, (repo) => {
        expect(identity.allows(repo, "pull")).toBe(true);
        expect(identity.allows(repo, "push")).toBe(false);
        expect(identity.allows(repo, "delete")).toBe(false);
      }),
      RUNS,
    );
  });
});
