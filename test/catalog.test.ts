// GET /v2/_catalog: repositories in lexical order with n/last paging and Link rel="next".
// Storage is per test file; the tests still read a window that starts at their own prefix
// ("catalog-test/"), so repositories other tests here may add cannot change what they see.
import { beforeAll, describe, expect, it } from "vitest";
import { env } from "cloudflare:workers";
import { patternIdentity } from "../src/auth/identity";
import { hashPassword } from "../src/util/password-hash";
import type { Env } from "../src/config/config";
import { listPullableRepositories } from "../src/registry/catalog";
import { openStorage } from "../src/storage/storage";
import { fetcher, tokenFor, type Fetch } from "./auth-setup";
import { basic, errorCode, pushImage, request } from "./helpers";

const storage = openStorage(env as unknown as Env);

const PREFIX = "catalog-test/";
// Pushed out of order; "-" and "." sort before "/" and letters, which key order must respect.
const NAMES = ["r10", "r2", "a/b", "a", "a-b", "a.b", "r1", "z"].map((n) => PREFIX + n);

async function page(path: string) {
  const response = await request(path);
  expect(response.status).toBe(200);
  const body = (await response.json()) as { repositories: string[] };
  const link = response.headers.get("Link");
  const next = link === null ? null : /^<([^>]+)>; rel="next"$/.exec(link)![1]!;
  return { repositories: body.repositories, next };
}

describe("catalog", () => {
  beforeAll(async () => {
    for (const [i, name] of NAMES.entries()) await pushImage(name, "t", i + 1);
  }, 120_000);

  it("lists the repositories in lexical order, once each", async () => {
    const { repositories } = await page(`/v2/_catalog?last=${encodeURIComponent(PREFIX.slice(0, -1))}`);
    const ours = repositories.filter((r) => r.startsWith(PREFIX));
    expect(ours).toEqual([...NAMES].sort());
    expect(repositories).toEqual([...repositories].sort());
  });

  it("pages with n and last and links each page to the next", async () => {
    const seen: string[] = [];
    let path: string | null = `/v2/_catalog?n=3&last=${encodeURIComponent(PREFIX.slice(0, -1))}`;
    while (path !== null && seen.filter((r) => r.startsWith(PREFIX)).length < NAMES.length) {
      const result: Awaited<ReturnType<typeof page>> = await page(path);
      expect(result.repositories.length).toBeLessThanOrEqual(3);
      seen.push(...result.repositories);
      if (result.next !== null) {
        const url = new URL(result.next, "http://x");
        expect(url.pathname).toBe("/v2/_catalog");
        expect(url.searchParams.get("n")).toBe("3");
        expect(url.searchParams.get("last")).toBe(result.repositories.at(-1));
      }
      path = result.next;
    }
    expect(seen.filter((r) => r.startsWith(PREFIX))).toEqual([...NAMES].sort());
  });

  it("answers n=0 with an empty list, and a bad n with PAGINATION_NUMBER_INVALID", async () => {
    const empty = await page("/v2/_catalog?n=0");
    expect(empty).toEqual({ repositories: [], next: null });
    for (const n of ["-1", "x", "1.0"]) {
      const response = await request(`/v2/_catalog?n=${n}`);
      expect(response.status, n).toBe(400);
      expect(await errorCode(response)).toBe("UNSUPPORTED");
    }
  });

  it("keeps a repository listed once its pushes repeat, and ends past the last name", async () => {
    await pushImage(NAMES[0]!, "again", 99);
    const { repositories } = await page(`/v2/_catalog?last=${encodeURIComponent(PREFIX.slice(0, -1))}`);
    expect(repositories.filter((r) => r === NAMES[0])).toHaveLength(1);
    expect(await page("/v2/_catalog?last=~")).toEqual({ repositories: [], next: null });
  });
});

describe("catalog filtered by pull rights", () => {
  let fetch: Fetch;
  const visible = ["a", "a-b", "a/b", "r1"].map((n) => PREFIX + n);

  beforeAll(async () => {
    // Pull rights on some of NAMES, push-only on one more (not listed), none on the rest.
    const users = JSON.stringify({
      carol: {
        password: await hashPassword("carol-pw", 10_000),
        access: { "catalog-test/a*": ["pull"], "catalog-test/r1": ["pull", "push"], "catalog-test/z": ["push"] },
        catalog: true,
      },
    });
    fetch = fetcher({ AUTH_USERS_JSON: users, ANONYMOUS_PULL: "catalog-test/a.b" });
  });

  async function walk(n: number): Promise<string[]> {
    const seen: string[] = [];
    let path: string | null = `/v2/_catalog?n=${n}`;
    while (path !== null) {
      const response = await fetch(path, { headers: { Authorization: basic("carol", "carol-pw") } });
      expect(response.status).toBe(200);
      const body = (await response.json()) as { repositories: string[] };
      const link = response.headers.get("Link");
      // Exact paging: every page but the last is full, and a Link never leads to an empty page.
      if (link !== null) expect(body.repositories).toHaveLength(n);
      else expect(body.repositories.length).toBeGreaterThan(0);
      seen.push(...body.repositories);
      path = link === null ? null : /^<([^>]+)>; rel="next"$/.exec(link)![1]!;
    }
    return seen;
  }

  it("lists only what the caller may pull (its patterns and anonymous pull), paged exactly", async () => {
    const expected = [...visible, `${PREFIX}a.b`].sort();
    for (const n of [1, 2, 5, 100]) expect(await walk(n), `n=${n}`).toEqual(expected);
  });

  it("lists the same through a token that holds only registry:catalog:*, as docker and the conformance suite ask", async () => {
    const token = await tokenFor(fetch, basic("carol", "carol-pw"), ["registry:catalog:*"]);
    const response = await fetch("/v2/_catalog?n=100", { headers: { Authorization: `Bearer ${token}` } });
    expect(response.status).toBe(200);
    expect(((await response.json()) as { repositories: string[] }).repositories).toEqual(
      [...visible, `${PREFIX}a.b`].sort(),
    );
  });

  it("resumes a scan that ran out of budget with a cursor that names no hidden repository", async () => {
    const identity = patternIdentity(
      "user:carol",
      [{ pattern: "catalog-test/z", actions: new Set(["pull"] as const) }],
      { catalog: true },
    );
    const query = {
      limit: 10,
      last: PREFIX.slice(0, -1),
      secret: "catalog-test-secret",
      scanPageSize: 2,
      maxScanPages: 2,
    };
    const first = await listPullableRepositories(storage, identity, query);
    expect(first.names).toEqual([]);
    expect(first.next).toMatch(/^_scan\.[A-Za-z0-9_-]+$/);
    expect(first.next).not.toContain("catalog");
    const seen: string[] = [];
    let next: string | null = first.next;
    for (let i = 0; next !== null && i < 20; i++) {
      const page = await listPullableRepositories(storage, identity, { ...query, last: next });
      seen.push(...page.names);
      next = page.next;
    }
    expect(seen).toEqual([`${PREFIX}z`]);
    await expect(listPullableRepositories(storage, identity, { ...query, last: "_scan.AAAA" })).rejects.toThrow(
      /cursor/,
    );
  });
});
