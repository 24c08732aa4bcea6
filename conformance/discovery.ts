// Content discovery (distribution-spec "Content Discovery"): tag lists in lexical order with
// n/last paging and Link rel="next", and the catalog, which pages the same way.
import { describe, expectEqual, expectError, expectNoHeader, expectStatus, fail } from "./assert";
import type { RegistryClient } from "./client";
import { pushImage } from "./content";
import type { RunContext } from "./context";

/** Pushed one by one in this scrambled order; the list must come back sorted. */
const TAGS = ["v10", "latest", "Alpha", "v2", "beta_1", "v1.0", "0day", "zeta-x", "MAIN", "v1.10"];
const ascii = (list: string[]) => [...list].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
const folded = (list: string[]) =>
  [...list].sort((a, b) => a.toLowerCase().localeCompare(b.toLowerCase()) || (a < b ? -1 : 1));

/** The target of a `Link: <url>; rel="next"` header, or null. */
export function nextLink(header: string | null): string | null {
  if (!header) return null;
  const match = /<([^>]+)>\s*;\s*rel="?next"?/i.exec(header);
  return match ? match[1]! : null;
}

function expectSorted(list: string[], what: string): void {
  const a = JSON.stringify(list);
  if (a !== JSON.stringify(ascii(list)) && a !== JSON.stringify(folded(list)))
    fail(`${what} is not in lexical order: ${list.join(", ")}`);
}

async function getList(
  client: RegistryClient,
  path: string,
  key: "tags" | "repositories",
): Promise<{ list: string[]; next: string | null }> {
  const reply = await client.request("GET", path);
  expectStatus(reply, 200);
  const body = reply.json() as Record<string, unknown>;
  const list = body[key];
  if (!Array.isArray(list)) fail(`no ${key} array: ${describe(reply)}`);
  return { list: list as string[], next: nextLink(reply.headers.get("Link")) };
}

export async function runDiscovery(ctx: RunContext): Promise<void> {
  await checkTags(ctx);
  await checkCatalog(ctx);
}

async function checkTags(ctx: RunContext): Promise<void> {
  const { client, group } = ctx;
  const repo = ctx.repo("tags");
  const path = `/v2/${repo}/tags/list`;
  const ready = await group.check("setup: push one image under ten tags", async () => {
    const image = await pushImage(client, repo, 111, TAGS[0]);
    for (const tag of TAGS.slice(1))
      expectStatus(
        await client.request("PUT", `/v2/${repo}/manifests/${tag}`, {
          headers: { "Content-Type": "application/vnd.oci.image.manifest.v1+json" },
          body: image.manifest,
        }),
        201,
      );
  });
  let all: string[] = [];
  await group.check("GET tags/list answers 200 with the name and every tag in lexical order", async () => {
    if (!ready) fail("setup failed");
    const reply = await client.request("GET", path);
    expectStatus(reply, 200);
    const body = reply.json() as { name?: string; tags?: string[] };
    expectEqual(body.name, repo, "name");
    all = body.tags ?? [];
    expectEqual([...all].sort(), [...TAGS].sort(), "tags");
    expectSorted(all, "tags");
  });
  await group.check('n=3 pages through every tag by Link rel="next", three at a time', async () => {
    if (all.length === 0) fail("no full list to compare with");
    const seen: string[] = [];
    let next: string | null = `${path}?n=3`;
    for (let pages = 0; next !== null; pages++) {
      if (pages > TAGS.length) fail("Link never ends");
      const page = await getList(client, next, "tags");
      if (page.list.length > 3) fail(`a page of ${page.list.length} tags for n=3`);
      if (page.list.length < 3 && page.next) fail("a short page still has a Link");
      seen.push(...page.list);
      next = page.next;
    }
    expectEqual(seen, all, "tags seen over all pages");
  });
  await group.check("last=<tag> returns the tags after it; with n=2, only two", async () => {
    if (all.length === 0) fail("no full list to compare with");
    expectEqual((await getList(client, `${path}?last=${all[3]}`, "tags")).list, all.slice(4), "tags after last");
    expectEqual(
      (await getList(client, `${path}?n=2&last=${all[3]}`, "tags")).list,
      all.slice(4, 6),
      "two tags after last",
    );
  });
  await group.check("n=0 answers an empty list and no Link", async () => {
    const reply = await client.request("GET", `${path}?n=0`);
    expectStatus(reply, 200);
    expectEqual((reply.json() as { tags?: unknown }).tags ?? [], [], "tags for n=0");
    expectNoHeader(reply, "Link");
  });
  await group.check("tags/list of a repository that does not exist answers 404 NAME_UNKNOWN", async () => {
    expectError(await client.request("GET", `/v2/${ctx.repo("no-tags-here")}/tags/list`), 404, "NAME_UNKNOWN");
  });
}

async function checkCatalog(ctx: RunContext): Promise<void> {
  const { client, group } = ctx;
  const names = ["catalog-a", "catalog-b", "catalog-c"].map((s) => ctx.repo(s));
  const ready = await group.check("setup: push three repositories for the catalog", async () => {
    for (const [i, name] of names.entries()) await pushImage(client, name, 120 + i, "latest");
  });
  await group.check('GET /v2/_catalog?n=2&last= pages in lexical order with Link rel="next"', async () => {
    if (!ready) fail("setup failed");
    const first = await getList(client, `/v2/_catalog?n=2&last=${ctx.repo("catalog")}`, "repositories");
    expectEqual(first.list, names.slice(0, 2), "first page");
    if (!first.next) fail("no Link to the next page");
    const second = await getList(client, first.next, "repositories");
    if (second.list[0] !== names[2]) fail(`second page starts with ${second.list[0]}, expected ${names[2]}`);
    expectSorted([...first.list, ...second.list], "repositories");
  });
  await group.check("GET /v2/_catalog?n=0 answers an empty list and no Link", async () => {
    const reply = await client.request("GET", "/v2/_catalog?n=0");
    expectStatus(reply, 200);
    expectEqual((reply.json() as { repositories?: unknown }).repositories ?? [], [], "repositories for n=0");
    expectNoHeader(reply, "Link");
  });
}
