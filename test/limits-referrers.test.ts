// Hostile-load referrers (issue 14): annotations large enough to blow up a referrers list.
// Stored annotations are capped per descriptor, and every page is cut by bytes as well as
// by count, with a Link to the next one.
import { describe, expect, it } from "vitest";
import { MAX_REFERRER_ANNOTATION_BYTES } from "../src/registry/manifests";
import { REFERRERS_PAGE_BYTES } from "../src/registry/referrers";
import { OCI_MANIFEST, errorCode, pushBlob, pushImage, pushManifest, request, sha256 } from "./helpers";

const enc = (s: string) => new TextEncoder().encode(s);

async function artifact(repo: string, subject: { digest: string; size: number }, note: string) {
  const config = enc("{}");
  const manifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    artifactType: "application/x.big",
    config: { mediaType: "application/vnd.oci.empty.v1+json", digest: await pushBlob(repo, config), size: 2 },
    layers: [],
    subject: { mediaType: OCI_MANIFEST, ...subject },
    annotations: { note },
  };
  const body = JSON.stringify(manifest);
  return { body, digest: sha256(body) };
}

describe("huge-annotation referrers", () => {
  it("refuses a referrer whose annotations pass the cap, and stores nothing", async () => {
    const repo = "lim/ref-huge";
    const image = await pushImage(repo, "subject", 1);
    const subject = { digest: image.digest, size: enc(image.body).length };
    const huge = await artifact(repo, subject, "x".repeat(4 * 1024 * 1024 - 4096));
    const put = await pushManifest(repo, huge.digest, huge.body);
    expect(put.status).toBe(400);
    expect(await errorCode(put)).toBe("MANIFEST_INVALID");
    expect((await request(`/v2/${repo}/manifests/${huge.digest}`)).status).toBe(404);
    const list = (await (await request(`/v2/${repo}/referrers/${image.digest}`)).json()) as { manifests: unknown[] };
    expect(list.manifests).toEqual([]);
  });

  it("cuts pages of the largest allowed referrers by bytes, linking each to the next", async () => {
    const repo = "lim/ref-pages";
    const image = await pushImage(repo, "subject", 2);
    const subject = { digest: image.digest, size: enc(image.body).length };
    const pushed = new Set<string>();
    // {"note":"..."} at the cap exactly.
    const noteLength = MAX_REFERRER_ANNOTATION_BYTES - JSON.stringify({ note: "" }).length;
    for (let i = 0; i < 40; i++) {
      const a = await artifact(repo, subject, String(i).padStart(3, "0") + "n".repeat(noteLength - 3));
      const put = await pushManifest(repo, a.digest, a.body);
      expect(put.status, await put.clone().text()).toBe(201);
      pushed.add(a.digest);
    }
    const seen: string[] = [];
    let path: string | null = `/v2/${repo}/referrers/${image.digest}`;
    let pages = 0;
    while (path !== null) {
      expect(++pages).toBeLessThan(20);
      const response: Response = await request(path);
      expect(response.status).toBe(200);
      const text = await response.text();
      // Descriptor bytes stop at the page cap; the index around them adds a few dozen.
      expect(enc(text).length).toBeLessThanOrEqual(REFERRERS_PAGE_BYTES + 1024);
      const page = (JSON.parse(text) as { manifests: { digest: string; annotations: { note: string } }[] }).manifests;
      expect(page.length).toBeGreaterThan(0);
      for (const d of page) expect(d.annotations.note.length).toBe(noteLength);
      seen.push(...page.map((d) => d.digest));
      const link = response.headers.get("Link");
      path = link === null ? null : /^<([^>]+)>; rel="next"$/.exec(link)![1]!;
    }
    expect(pages).toBeGreaterThan(1);
    expect(seen.length).toBe(40);
    expect(new Set(seen)).toEqual(pushed);
  });
});
