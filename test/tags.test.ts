// GET /v2/<name>/tags/list (end-8a/8b): lexical order, n/last paging with Link rel="next",
// n=0, bad n, and repositories the registry does not know.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { env } from "cloudflare:workers";
import { lockingRule, parseImmutableTags } from "../src/config/immutable-tags";
import type { Env } from "../src/config/config";
import { RegistryError } from "../src/errors";
import { OCI_MANIFEST, errorCode, meteredRequest, pushImage, request } from "./helpers";

/** Tags pushed in a scrambled order, so lexical order cannot come from insertion order. */
const TAGS = ["v10", "A-upper", "v2", "latest", "1.0", "_under", "v1", "v1.1", "beta", "Z", "v1-rc", "0"];

async function seedRepo(repo: string): Promise<string[]> {
  const image = await pushImage(repo, TAGS[0]!, 1);
  const rest = TAGS.slice(1)
    .map((t) => `tag=${encodeURIComponent(t)}`)
    .join("&");
  const put = await request(`/v2/${repo}/manifests/${image.digest}?${rest}`, {
    method: "PUT",
    body: image.body,
    headers: { "Content-Type": OCI_MANIFEST },
  });
  expect(put.status).toBe(201);
  return [...TAGS].sort(); // code-unit order: digits, uppercase, "_", lowercase
}

async function list(path: string) {
  const response = await request(path);
  return { response, body: (await response.clone().json()) as { name?: string; tags?: string[] } };
}

/** The target of a Link: <url>; rel="next" header, or null. */
function nextLink(response: Response): string | null {
  const link = response.headers.get("Link");
  if (link === null) return null;
  const match = /^<([^>]+)>;\s*rel="next"$/.exec(link);
  expect(match, link).not.toBeNull();
  return match![1]!;
}

describe("tags list", () => {
  it("lists every tag in lexical order with the repository's name", async () => {
    const sorted = await seedRepo("tags/all");
    const { response, body } = await list("/v2/tags/all/tags/list");
    expect(response.status).toBe(200);
    expect(response.headers.get("Content-Type")).toMatch(/^application\/json/);
    expect(body).toEqual({ name: "tags/all", tags: sorted });
    expect(nextLink(response)).toBeNull();
  });

  it("pages with n and last, linking each page to the next until the end", async () => {
    const sorted = await seedRepo("tags/paged");
    for (const n of [1, 3, 5, sorted.length - 1]) {
      const seen: string[] = [];
      let path: string | null = `/v2/tags/paged/tags/list?n=${n}`;
      let pages = 0;
      while (path !== null) {
        const { response, body }: Awaited<ReturnType<typeof list>> = await list(path);
        expect(response.status).toBe(200);
        expect(body.tags!.length).toBeLessThanOrEqual(n);
        seen.push(...body.tags!);
        path = nextLink(response);
        if (path !== null) {
          const url = new URL(path, "http://x");
          expect(url.pathname).toBe("/v2/tags/paged/tags/list");
          expect(url.searchParams.get("n")).toBe(String(n));
          expect(url.searchParams.get("last")).toBe(body.tags!.at(-1));
        }
        expect(++pages).toBeLessThanOrEqual(sorted.length + 1);
      }
      expect(seen, `n=${n}`).toEqual(sorted);
    }
  });

  it("starts after last even when last is not a tag", async () => {
    const sorted = await seedRepo("tags/last");
    const { body } = await list("/v2/tags/last/tags/list?last=v1.0");
    expect(body.tags).toEqual(sorted.filter((t) => t > "v1.0"));
    const { body: tail } = await list(`/v2/tags/last/tags/list?n=2&last=${encodeURIComponent("_under")}`);
    expect(tail.tags).toEqual(sorted.filter((t) => t > "_under").slice(0, 2));
    const { response, body: past } = await list("/v2/tags/last/tags/list?last=zzz");
    expect(response.status).toBe(200);
    expect(past.tags).toEqual([]);
  });

  it("pages any tag set with any n into exactly the sorted set (property)", async () => {
    const tag = fc.stringMatching(/^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,15}$/);
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(tag, { minLength: 1, maxLength: 25 }),
        fc.integer({ min: 1, max: 7 }),
        async (tags, n) => {
          const repo = `tags/prop-${run++}`;
          const image = await pushImage(repo, tags[0]!, 2);
          const query = tags
            .slice(1)
            .map((t) => `tag=${encodeURIComponent(t)}`)
            .join("&");
          const put = await request(`/v2/${repo}/manifests/${image.digest}?${query}`, {
            method: "PUT",
            body: image.body,
            headers: { "Content-Type": OCI_MANIFEST },
          });
          expect(put.status).toBe(201);
          const seen: string[] = [];
          for (let path: string | null = `/v2/${repo}/tags/list?n=${n}`; path !== null; ) {
            const { response, body }: Awaited<ReturnType<typeof list>> = await list(path);
            expect(body.tags!.length).toBeLessThanOrEqual(n);
            seen.push(...body.tags!);
            path = nextLink(response);
            expect(seen.length).toBeLessThanOrEqual(tags.length);
          }
          expect(seen).toEqual([...tags].sort());
        },
      ),
      { seed: 0x7a65, numRuns: 8 },
    );
  }, 120_000);

  it("answers n=0 with an empty list and no Link", async () => {
    await seedRepo("tags/zero");
    const { response, body } = await list("/v2/tags/zero/tags/list?n=0");
    expect(response.status).toBe(200);
    expect(body).toEqual({ name: "tags/zero", tags: [] });
    expect(response.headers.get("Link")).toBeNull();
  });

  it("refuses a bad n with PAGINATION_NUMBER_INVALID", async () => {
    await seedRepo("tags/bad-n");
    for (const n of ["-1", "abc", "1.5", "9999999999"]) {
      const response = await request(`/v2/tags/bad-n/tags/list?n=${n}`);
      expect(response.status, n).toBe(400);
      expect(await errorCode(response)).toBe("UNSUPPORTED");
    }
  });

  it("drops deleted tags from the list", async () => {
    const sorted = await seedRepo("tags/deleted");
    expect((await request("/v2/tags/deleted/manifests/beta", { method: "DELETE" })).status).toBe(202);
    const { body } = await list("/v2/tags/deleted/tags/list");
    expect(body.tags).toEqual(sorted.filter((t) => t !== "beta"));
  });

  it("answers 404 NAME_UNKNOWN for a repository the registry does not know", async () => {
    const response = await request("/v2/tags/never-pushed/tags/list");
    expect(response.status).toBe(404);
    expect(await errorCode(response)).toBe("NAME_UNKNOWN");
  });

  it("refuses an invalid repository name with NAME_INVALID", async () => {
    const response = await request("/v2/Tags/UPPER/tags/list");
    expect(response.status).toBe(400);
    expect(await errorCode(response)).toBe("NAME_INVALID");
  });
});

describe("immutable tags (IMMUTABLE_TAGS_JSON)", () => {
  const rules = JSON.stringify([
    { repository: "locked/*", tags: "v[0-9]+(\\.[0-9]+)*", except: ".*-rc[0-9]*", name: "releases" },
    { repository: "locked/pinned", tags: "stable" },
  ]);
  const lockedEnv = { ...(env as unknown as Env), IMMUTABLE_TAGS_JSON: rules };
  /** A request under the locking configuration. */
  const locked = async (path: string, init: RequestInit = {}) => (await meteredRequest(path, init, lockedEnv)).response;
  const putManifest = (repo: string, reference: string, body: string) =>
    locked(`/v2/${repo}/manifests/${reference}`, { method: "PUT", body, headers: { "Content-Type": OCI_MANIFEST } });
  const target = async (repo: string, tag: string) =>
    (await request(`/v2/${repo}/manifests/${tag}`, { method: "HEAD" })).headers.get("Docker-Content-Digest");

  it("parses rules, and refuses each kind of bad one at start", () => {
    const parsed = parseImmutableTags(rules);
    expect(parsed.map((r) => r.label)).toEqual(["releases", "IMMUTABLE_TAGS_JSON[1]"]);
    const cases: [string, boolean][] = [
      ["locked/app v1", true],
      ["locked/app v1.2.3", true],
      ["locked/app v1.2-rc1", false],
      ["locked/app latest", false],
      ["locked/pinned stable", true],
      ["other/app v1", false],
      ["locked v1", false],
    ];
    for (const [name, expected] of cases) {
      const [repo, tag] = name.split(" ") as [string, string];
      expect(lockingRule(parsed, repo, tag) !== null, name).toBe(expected);
    }
    for (const bad of [
      "{",
      "{}",
      "[1]",
      '[{"tags":"v.*"}]',
      '[{"repository":"Bad Name","tags":"v.*"}]',
      '[{"repository":"a/*"}]',
      '[{"repository":"a/*","tags":"("}]',
      '[{"repository":"a/*","tags":"v","except":"["}]',
      '[{"repository":"a/*","tags":"v","name":""}]',
      '[{"repository":"a/*","tags":"v","keep":1}]',
      JSON.stringify(Array.from({ length: 101 }, () => ({ repository: "a", tags: "v" }))),
    ]) {
      expect(() => parseImmutableTags(bad), bad).toThrow(RegistryError);
      expect(() => parseImmutableTags(bad), bad).toThrow(/IMMUTABLE_TAGS_JSON/);
    }
    expect(parseImmutableTags(undefined)).toEqual([]);
    expect(parseImmutableTags(" ")).toEqual([]);
  });

  it("a locked tag is created once, pushed again to the same manifest, and never moved", async () => {
    const first = await pushImage("locked/app", "scratch-1", 301);
    const second = await pushImage("locked/app", "scratch-2", 302);
    expect((await putManifest("locked/app", "v1.0", first.body)).status).toBe(201);
    // Pushing the same manifest again is allowed: the tag does not move.
    expect((await putManifest("locked/app", "v1.0", first.body)).status).toBe(201);
    const moved = await putManifest("locked/app", "v1.0", second.body);
    expect(moved.status).toBe(403);
    const error = (await moved.json()) as { errors: { code: string; message: string }[] };
    expect(error.errors[0]!.code).toBe("DENIED");
    expect(error.errors[0]!.message).toContain("tag v1.0 of locked/app is immutable (rule releases)");
    // A multi-tag PUT that would move it is refused whole, and writes none of its tags.
    const multi = await putManifest("locked/app", `${second.digest}?tag=fresh&tag=v1.0`, second.body);
    expect(multi.status).toBe(403);
    expect(await target("locked/app", "v1.0")).toBe(first.digest);
    expect((await request("/v2/locked/app/manifests/fresh", { method: "HEAD" })).status).toBe(404);
    // Tags the rule excepts, and tags no rule names, move freely.
    for (const free of ["v1.0-rc1", "latest"]) {
      expect((await putManifest("locked/app", free, first.body)).status).toBe(201);
      expect((await putManifest("locked/app", free, second.body)).status).toBe(201);
      expect(await target("locked/app", free)).toBe(second.digest);
    }
  });

  it("a locked tag, or a manifest a locked tag points at, cannot be deleted", async () => {
    const image = await pushImage("locked/pinned", "scratch", 303);
    expect((await putManifest("locked/pinned", "stable", image.body)).status).toBe(201);
    const byTag = await locked("/v2/locked/pinned/manifests/stable", { method: "DELETE" });
    expect(byTag.status).toBe(403);
    expect(await errorCode(byTag)).toBe("DENIED");
    const byDigest = await locked(`/v2/locked/pinned/manifests/${image.digest}`, { method: "DELETE" });
    expect(byDigest.status).toBe(403);
    expect(await errorCode(byDigest)).toBe("DENIED");
    // Nothing went: not the manifest, not the unlocked tag beside it.
    expect(await target("locked/pinned", "stable")).toBe(image.digest);
    expect(await target("locked/pinned", "scratch")).toBe(image.digest);
    // Without the rule, the same delete goes through.
    expect((await request("/v2/locked/pinned/manifests/stable", { method: "DELETE" })).status).toBe(202);
  });

  it("two pushes racing to create a locked tag: one wins, the other is refused", async () => {
    const a = await pushImage("locked/race", "scratch-a", 304);
    const b = await pushImage("locked/race", "scratch-b", 305);
    const answers = await Promise.all([
      putManifest("locked/race", "v2", a.body),
      putManifest("locked/race", "v2", b.body),
    ]);
    const statuses = answers.map((r) => r.status).sort();
    expect(statuses).toEqual([201, 403]);
    const winner = answers[0]!.status === 201 ? a : b;
    expect(await target("locked/race", "v2")).toBe(winner.digest);
  });

  it("two pushes racing to create a locked tag with the same manifest both succeed", async () => {
    const image = await pushImage("locked/race-same", "scratch", 306);
    const answers = await Promise.all([1, 2, 3].map(() => putManifest("locked/race-same", "v3", image.body)));
    expect(answers.map((r) => r.status)).toEqual([201, 201, 201]);
    expect(await target("locked/race-same", "v3")).toBe(image.digest);
  });
});
