// GET /v2/<name>/referrers/<digest> (end-12a/12b): the descriptors the spec requires, the
// artifactType filter with OCI-Filters-Applied, paging with Link, unknown subjects, and
// OCI-Subject on the PUT that names a subject.
import { describe, expect, it } from "vitest";
import { judgeReferrer, matchesArtifactType } from "../src/registry/referrers";
import { OCI_INDEX, OCI_MANIFEST, errorCode, pushBlob, pushImage, pushManifest, request, sha256 } from "./helpers";

const EMPTY = "application/vnd.oci.empty.v1+json";
const enc = (s: string) => new TextEncoder().encode(s);

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
}

async function subjectOf(repo: string, seed = 1): Promise<Descriptor> {
  const image = await pushImage(repo, "subject", seed);
  return { mediaType: OCI_MANIFEST, digest: image.digest, size: enc(image.body).length };
}

/** Pushes an artifact manifest naming `subject`; returns the descriptor a referrers list must
 *  carry for it. `artifactType` undefined leaves the field out of the manifest. */
async function pushArtifact(
  repo: string,
  subject: Descriptor,
  opts: { artifactType?: string; configType?: string; note?: string },
): Promise<Descriptor> {
  const configType = opts.configType ?? EMPTY;
  const config = enc("{}");
  const layer = enc(`artifact ${opts.note ?? ""}`);
  const manifest: Record<string, unknown> = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    ...(opts.artifactType !== undefined ? { artifactType: opts.artifactType } : {}),
    config: { mediaType: configType, digest: await pushBlob(repo, config), size: 2 },
    layers: [{ mediaType: "text/plain", digest: await pushBlob(repo, layer), size: layer.length }],
    subject,
    ...(opts.note !== undefined ? { annotations: { note: opts.note } } : {}),
  };
  const body = JSON.stringify(manifest);
  const digest = sha256(body);
  const put = await pushManifest(repo, digest, body);
  expect(put.status, await put.clone().text()).toBe(201);
  expect(put.headers.get("OCI-Subject")).toBe(subject.digest);
  return {
    mediaType: OCI_MANIFEST,
    digest,
    size: enc(body).length,
    // image-spec: artifactType, else the config's media type.
    artifactType: opts.artifactType ?? configType,
    ...(opts.note !== undefined ? { annotations: { note: opts.note } } : {}),
  };
}

async function referrers(repo: string, subject: string, query = "") {
  const response = await request(`/v2/${repo}/referrers/${subject}${query}`);
  expect(response.status).toBe(200);
  expect(response.headers.get("Content-Type")).toBe(OCI_INDEX);
  const index = (await response.json()) as { schemaVersion: number; mediaType: string; manifests: Descriptor[] };
  expect(index.schemaVersion).toBe(2);
  expect(index.mediaType).toBe(OCI_INDEX);
  return { response, manifests: index.manifests };
}

const byDigest = (a: Descriptor, b: Descriptor) => (a.digest < b.digest ? -1 : 1);

describe("referrers list", () => {
  it("lists image and index referrers with the spec's artifactType rules and annotations", async () => {
    const repo = "ref/rules";
    const subject = await subjectOf(repo);
    const expected = [
      await pushArtifact(repo, subject, { artifactType: "application/x.sbom", note: "explicit" }),
      await pushArtifact(repo, subject, { configType: "application/x.config" }), // from config
    ];
    // An index with artifactType and one without: the latter has no artifactType at all.
    for (const artifactType of ["application/x.bundle", undefined]) {
      const body = JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_INDEX,
        ...(artifactType ? { artifactType } : {}),
        manifests: [],
        subject,
      });
      expect((await pushManifest(repo, sha256(body), body, OCI_INDEX)).status).toBe(201);
      expected.push({
        mediaType: OCI_INDEX,
        digest: sha256(body),
        size: enc(body).length,
        ...(artifactType ? { artifactType } : {}),
      });
    }
    const { response, manifests } = await referrers(repo, subject.digest);
    expect(response.headers.get("OCI-Filters-Applied")).toBeNull();
    expect([...manifests].sort(byDigest)).toEqual([...expected].sort(byDigest));
  });

  it("filters by artifactType and says so with OCI-Filters-Applied", async () => {
    const repo = "ref/filter";
    const subject = await subjectOf(repo);
    const sboms = [
      await pushArtifact(repo, subject, { artifactType: "application/x.sbom", note: "1" }),
      await pushArtifact(repo, subject, { artifactType: "application/x.sbom", note: "2" }),
    ];
    await pushArtifact(repo, subject, { artifactType: "application/x.sig" });
    const { response, manifests } = await referrers(repo, subject.digest, "?artifactType=application/x.sbom");
    expect(response.headers.get("OCI-Filters-Applied")).toBe("artifactType");
    expect([...manifests].sort(byDigest)).toEqual([...sboms].sort(byDigest));
    const none = await referrers(repo, subject.digest, "?artifactType=application/x.none");
    expect(none.response.headers.get("OCI-Filters-Applied")).toBe("artifactType");
    expect(none.manifests).toEqual([]);
  });

  it("pages a long list with Link rel=next, keeping the filter", async () => {
    const repo = "ref/paged";
    const subject = await subjectOf(repo);
    const all: Descriptor[] = [];
    for (let i = 0; i < 7; i++)
      all.push(
        await pushArtifact(repo, subject, {
          artifactType: i < 5 ? "application/x.a" : "application/x.b",
          note: String(i),
        }),
      );
    for (const [query, want] of [
      ["?n=2", all],
      ["?n=2&artifactType=application/x.a", all.filter((d) => d.artifactType === "application/x.a")],
    ] as const) {
      const seen: Descriptor[] = [];
      let path: string | null = `/v2/${repo}/referrers/${subject.digest}${query}`;
      for (let pages = 0; path !== null; pages++) {
        expect(pages).toBeLessThan(10);
        const response: Response = await request(path);
        expect(response.status).toBe(200);
        const page = ((await response.json()) as { manifests: Descriptor[] }).manifests;
        expect(page.length).toBeLessThanOrEqual(2);
        seen.push(...page);
        const link = response.headers.get("Link");
        path = link === null ? null : /^<([^>]+)>; rel="next"$/.exec(link)![1]!;
        if (path && query.includes("artifactType"))
          expect(new URL(path, "http://x").searchParams.get("artifactType")).toBe("application/x.a");
      }
      expect([...seen].sort(byDigest), query).toEqual([...want].sort(byDigest));
      expect(new Set(seen.map((d) => d.digest)).size).toBe(seen.length);
    }
    const zero = await request(`/v2/${repo}/referrers/${subject.digest}?n=0`);
    expect(((await zero.json()) as { manifests: Descriptor[] }).manifests).toEqual([]);
    expect(zero.headers.get("Link")).toBeNull();
  });

  it("lists a referrer whose annotations are too large to keep inline", async () => {
    // Descriptors over about 1.5 KB are stored in the object body instead of its metadata.
    const repo = "ref/large";
    const subject = await subjectOf(repo);
    const artifact = await pushArtifact(repo, subject, { artifactType: "application/x.large", note: "n".repeat(4000) });
    expect((await referrers(repo, subject.digest)).manifests).toEqual([artifact]);
    // Few characters, many bytes: the inline limit must count UTF-8 bytes, not characters.
    const wide = await pushArtifact(repo, subject, {
      artifactType: "application/x.wide",
      note: "\u00e9\u4e2d".repeat(450),
    });
    expect([...(await referrers(repo, subject.digest)).manifests].sort(byDigest)).toEqual(
      [artifact, wide].sort(byDigest),
    );
  });

  it("answers an unknown subject with an empty index, never 404", async () => {
    const { manifests } = await referrers("ref/unknown", sha256("no such subject"));
    expect(manifests).toEqual([]);
  });

  it("lists referrers whose subject was never pushed, once it is", async () => {
    const repo = "ref/early";
    const subject = { mediaType: OCI_MANIFEST, digest: sha256("later"), size: 5 };
    const artifact = await pushArtifact(repo, subject, { artifactType: "application/x.early" });
    expect((await referrers(repo, subject.digest)).manifests).toEqual([artifact]);
  });

  it("keeps referrers per repository and drops deleted ones", async () => {
    const subject = await subjectOf("ref/own-a");
    const artifact = await pushArtifact("ref/own-a", subject, { artifactType: "application/x.own" });
    expect((await referrers("ref/own-b", subject.digest)).manifests).toEqual([]);
    expect((await request(`/v2/ref/own-a/manifests/${artifact.digest}`, { method: "DELETE" })).status).toBe(202);
    expect((await referrers("ref/own-a", subject.digest)).manifests).toEqual([]);
  });

  it("refuses a malformed subject digest and a bad n", async () => {
    const bad = await request("/v2/ref/bad/referrers/sha256:123");
    expect(bad.status).toBe(400);
    expect(await errorCode(bad)).toBe("DIGEST_INVALID");
    const badLast = await request(`/v2/ref/bad/referrers/${sha256("x")}?n=1&last=nope`);
    expect(badLast.status).toBe(400);
    expect(await errorCode(badLast)).toBe("DIGEST_INVALID");
    const badN = await request(`/v2/ref/bad/referrers/${sha256("x")}?n=-4`);
    expect(badN.status).toBe(400);
    expect(await errorCode(badN)).toBe("UNSUPPORTED");
  });
});

describe("the artifactType filter and the page cut", () => {
  it("keeps exactly the descriptors of the asked artifactType", () => {
    const rows: [filter: string | undefined, artifactType: string | undefined, kept: boolean][] = [
      [undefined, undefined, true],
      [undefined, "application/x.sbom", true],
      ["application/x.sbom", "application/x.sbom", true],
      ["application/x.sbom", "application/x.sig", false],
      ["application/x.sbom", undefined, false],
      ["application/x.sbom", "application/x.sbom+json", false],
      ["", undefined, false],
      ["", "", true],
    ];
    for (const [filter, artifactType, kept] of rows)
      expect(matchesArtifactType(filter, artifactType), `${filter} / ${artifactType}`).toBe(kept);
  });

  it("judges each stored referrer before its descriptor is read", () => {
    const page = { limit: 3, maxBytes: 1000 };
    const sbom = "application/x.sbom";
    const rows: [
      filter: string | undefined,
      recorded: string | undefined,
      bytes: number,
      taken: { count: number; bytes: number },
      verdict: "take" | "skip" | "stop",
    ][] = [
      [undefined, sbom, 100, { count: 0, bytes: 0 }, "take"],
      [sbom, sbom, 100, { count: 0, bytes: 0 }, "take"],
      [sbom, "application/x.sig", 100, { count: 0, bytes: 0 }, "skip"],
      // "" is what a push records for none: only the read settles it against an empty filter.
      [sbom, "", 100, { count: 0, bytes: 0 }, "skip"],
      ["", "", 100, { count: 0, bytes: 0 }, "take"],
      // Nothing recorded: kept for the read to decide.
      [sbom, undefined, 100, { count: 0, bytes: 0 }, "take"],
      // The count cut, and the byte cut, which never leaves a page empty.
      [undefined, sbom, 100, { count: 3, bytes: 300 }, "stop"],
      [undefined, sbom, 100, { count: 2, bytes: 900 }, "take"],
      [undefined, sbom, 101, { count: 2, bytes: 900 }, "stop"],
      [undefined, sbom, 5000, { count: 0, bytes: 0 }, "take"],
      // One the filter skips never ends a full page.
      [sbom, "application/x.sig", 5000, { count: 3, bytes: 900 }, "skip"],
    ];
    for (const [filter, recorded, bytes, taken, verdict] of rows)
      expect(
        judgeReferrer({ artifactType: recorded, bytes }, taken, { ...page, artifactType: filter }),
        JSON.stringify({ filter, recorded, bytes, taken }),
      ).toBe(verdict);
  });
});
