// GET /v2/<name>/tags/list (end-8a/8b): lexical order, n/last paging with Link rel="next",
// n=0, bad n, and repositories the registry does not know.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { OCI_MANIFEST, errorCode, pushImage, request } from "./helpers";

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
