// The web UI inside workerd: sessions and CSRF, what each right shows, the bounded storage
// cost of each page (read from the storage meter) with a repository of 5,000 tags, and the
// pure formatting and manifest reading. The browser side is test/e2e/ui.test.ts.
import { env } from "cloudflare:workers";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { parseConfig, type Env } from "../src/config/config";
import { runCollectorStep } from "../src/gc/collector";
import { deletePolicy } from "../src/registry/write-policy";
import { openStorage } from "../src/storage/storage";
import { absoluteTime, humanBytes, relativeTime } from "../src/ui/format";
import { describeConfig, describeManifest } from "../src/ui/manifest-view";
import { MAX_JSON_DEPTH, MAX_JSON_ITEMS } from "../src/oci/strict-json";
import { LIMITS } from "../src/ui/limits";
import { OCI_INDEX, OCI_MANIFEST, pushBlob, pushImage, pushManifest, request, sha256, storedKeys } from "./helpers";
import { BASE_ENV, client, csrfIn } from "./ui-client";

describe("documents", () => {
  it("starts every page with a doctype and links an icon that is served", async () => {
    const c = client();
    const pages: [string, Response][] = [["/-/login", await c.fetchPage("/-/login")]];
    await c.signIn("tester", "test-password");
    pages.push(["/r/no/such-repo", await c.fetchPage("/r/no/such-repo")]);
    for (const [path, page] of pages) {
      const html = await page.text();
      expect(html.startsWith("<!DOCTYPE html><html"), path).toBe(true);
      expect(html, path).toContain('<link rel="icon" href="/-/static/favicon.svg" type="image/svg+xml"/>');
    }
    const icon = await c.fetchPage("/-/static/favicon.svg");
    expect(icon.status).toBe(200);
    expect(icon.headers.get("Content-Type")).toBe("image/svg+xml");
    expect(await icon.text()).toMatch(/^<svg /);
  });
});

describe("sessions", () => {
  it("signs in with the API's credentials; the cookie is signed, HttpOnly, SameSite=Strict, Secure off loopback", async () => {
    const c = client();
    const wrong = await c.signIn("tester", "nope");
    expect(wrong.status).toBe(401);
    const ok = await c.signIn("tester", "test-password");
    expect(ok.status).toBe(303);
    const cookie = ok.headers.getSetCookie().find((l) => l.startsWith("registry_session="))!;
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    expect(cookie).toMatch(/Secure/);
    expect(cookie).toMatch(/Max-Age=28800/);
    expect(await (await c.fetchPage("/")).text()).toContain("Signed in as <strong>tester</strong>");
  });

  it("refuses a login form without its CSRF token or from another origin", async () => {
    const c = client();
    const page = await (await c.fetchPage("/-/login")).text();
    expect((await c.post("/-/login", { username: "tester", password: "test-password" })).status).toBe(403);
    expect(
      (
        await c.post(
          "/-/login",
          { _csrf: csrfIn(page), username: "tester", password: "test-password" },
          "http://evil.test",
        )
      ).status,
    ).toBe(403);
    expect(c.cookies().has("registry_session")).toBe(false);
  });

  it("sends a signed-in user only to paths on this origin, however `next` is spelled", async () => {
    const c = client();
    await c.signIn("tester", "test-password");
    // Browsers drop tabs and newlines from a Location and read "\\" as "/": each of these
    // would become "//evil.example", another site.
    for (const next of [
      "//evil.example",
      "/\\evil.example",
      "/\t/evil.example",
      "/\n/evil.example",
      "http://evil.example/",
    ]) {
      const response = await c.fetchPage(`/-/login?next=${encodeURIComponent(next)}`);
      expect(response.status, next).toBe(303);
      expect(response.headers.get("Location"), next).toBe("/");
    }
    const local = await c.fetchPage(`/-/login?next=${encodeURIComponent("/r/some/repo?page=2")}`);
    expect(local.headers.get("Location")).toBe("/r/some/repo?page=2");
  });

  it("accepts forms from PUBLIC_URL's origin behind a proxy, and names that host in pull lines", async () => {
    const c = client({ PUBLIC_URL: "https://registry.example.com" } as Partial<Env>);
    const page = await (await c.fetchPage("/-/login")).text();
    const ok = await c.post(
      "/-/login",
      { _csrf: csrfIn(page), username: "tester", password: "test-password", next: "/" },
      "https://registry.example.com",
    );
    expect(ok.status).toBe(303);
    const image = await pushImage("ui/behind-proxy", "v1");
    const page2 = await (await c.fetchPage(`/r/ui/behind-proxy/-/manifest/${image.digest}?tag=v1`)).text();
    expect(page2).toContain(`docker pull registry.example.com/ui/behind-proxy@${image.digest}`);
  });

  it("keeps no unkeyed digest of a password in the session record", async () => {
    const fingerprints: string[] = [];
    for (const secret of ["first-state-secret-0123456789abcdef", "other-state-secret-0123456789abcdef"]) {
      const c = client({ JWT_STATE_SECRET: secret } as Partial<Env>);
      const sessionKeys = async () =>
        (await env.UPLOADS.list({ prefix: storedKeys.uiSessionPrefix() })).keys.map((k) => k.name);
      const before = new Set(await sessionKeys());
      await c.signIn("tester", "test-password");
      const added = (await sessionKeys()).filter((name) => !before.has(name));
      expect(added).toHaveLength(1);
      const record = (await env.UPLOADS.get(added[0]!, "json")) as { fingerprint: string };
      fingerprints.push(record.fingerprint);
    }
    // The same login under two state secrets: a keyed digest differs, a plain hash would not.
    expect(fingerprints).toHaveLength(2);
    expect(fingerprints[0]).not.toBe(fingerprints[1]);
  });

  it("logout deletes the session record, so a copied cookie stops working", async () => {
    const c = client();
    await c.signIn("tester", "test-password");
    const copied = c.cookies();
    const page = await (await c.fetchPage("/-/storage")).text();
    expect((await c.post("/-/logout", { _csrf: csrfIn(page) })).status).toBe(303);
    expect(c.cookies().has("registry_session")).toBe(false);
    c.setCookies(copied);
    const after = await c.fetchPage("/-/storage");
    expect(after.status).toBe(303);
    expect(after.headers.get("Location")).toBe("/-/login?next=/-/storage");
  });

  it("ignores a forged or tampered cookie", async () => {
    const c = client();
    await c.signIn("tester", "test-password");
    const cookies = c.cookies();
    const jwt = cookies.get("registry_session")!;
    const [h, p, s] = jwt.split(".");
    const claims = JSON.parse(atob(p!.replace(/-/g, "+").replace(/_/g, "/")));
    const forged = btoa(JSON.stringify({ ...claims, sub: "user:someone-else" }))
      .replace(/=+$/, "")
      .replace(/\+/g, "-")
      .replace(/\//g, "_");
    c.setCookies(new Map([["registry_session", `${h}.${forged}.${s}`]]));
    expect((await c.fetchPage("/-/storage")).status).toBe(303);
  });

  it("ends sessions when the secret the login rested on changes", async () => {
    const c = client();
    await c.signIn("tester", "test-password");
    const cookies = c.cookies();
    const changed = client({ PASSWORD: "a-new-password" });
    changed.setCookies(cookies);
    expect((await changed.fetchPage("/-/storage")).status).toBe(303);
  });
});

describe("rights", () => {
  beforeAll(async () => {
    await pushImage("ui/rights", "v1", 31);
  });

  it("refuses a changing form without the session's CSRF token, and deletes with it", async () => {
    const c = client();
    await c.signIn("tester", "test-password");
    await pushImage("ui/rights", "gone", 32);
    expect((await c.post("/r/ui/rights/-/delete", { tag: "gone" })).status).toBe(403);
    expect((await c.post("/r/ui/rights/-/delete", { tag: "gone", _csrf: "x".repeat(32) })).status).toBe(403);
    expect(await BASE_ENV.REGISTRY.head(storedKeys.tag("ui/rights", "gone"))).not.toBeNull();
    const confirm = await (await c.fetchPage("/r/ui/rights/-/delete?tag=gone")).text();
    const done = await c.post("/r/ui/rights/-/delete", { tag: "gone", _csrf: csrfIn(confirm) });
    expect(done.status).toBe(303);
    expect(await BASE_ENV.REGISTRY.head(storedKeys.tag("ui/rights", "gone"))).toBeNull();
  });

  it("offers a read-only user no delete and refuses its delete POST", async () => {
    const c = client();
    await c.signIn("reader", "reader-password");
    const html = await (await c.fetchPage("/r/ui/rights")).text();
    expect(html).toContain(">v1</a>");
    expect(html).not.toContain("Delete");
    const storage = await (await c.fetchPage("/-/storage")).text();
    expect(storage).not.toContain("Run collector step");
    const response = await c.post("/r/ui/rights/-/delete", { tag: "v1", _csrf: csrfIn(storage) });
    expect(response.status).toBe(403);
    expect((await c.post("/-/storage/gc", { mode: "run", _csrf: csrfIn(storage) })).status).toBe(403);
    expect(await BASE_ENV.REGISTRY.head(storedKeys.tag("ui/rights", "v1"))).not.toBeNull();
  });

  it("hides delete when deletes are disabled", async () => {
    const c = client({ DELETES_ENABLED: "false" });
    await c.signIn("tester", "test-password");
    expect(await (await c.fetchPage("/r/ui/rights")).text()).not.toContain("Delete");
  });

  it("offers no delete on a read-only mirror, and its refusals keep the repository in the breadcrumb", async () => {
    // A mirror of an upstream nobody answers at: the pages read only what is stored.
    const mirror = { REGISTRIES_JSON: JSON.stringify([{ registry: "http://127.0.0.1:9", prefix: "mirror" }]) };
    const image = await pushImage("mirror/app", "v1", 34);
    const c = client(mirror);
    await c.signIn("tester", "test-password");
    const repository = await (await c.fetchPage("/r/mirror/app")).text();
    expect(repository).toContain(">v1</a>");
    expect(repository).not.toContain("Delete");
    expect(await (await c.fetchPage(`/r/mirror/app/-/manifest/${image.digest}`)).text()).not.toContain("Delete");
    const confirm = await c.fetchPage("/r/mirror/app/-/delete?tag=v1");
    const confirmText = await confirm.text();
    expect(confirm.status).toBe(403);
    expect(confirmText).toContain("mirror/app is a read-only mirror");
    expect(confirmText).toContain('<a href="/r/mirror/app">mirror/app</a>');
    const refused = await c.post("/r/mirror/app/-/delete", { tag: "v1", _csrf: csrfIn(repository) });
    expect(refused.status).toBe(403);
    expect(await refused.text()).toContain('<a href="/r/mirror/app">mirror/app</a>');
    expect(await BASE_ENV.REGISTRY.head(storedKeys.tag("mirror/app", "v1"))).not.toBeNull();
  });

  it("shows an immutable tag's lock and offers no Delete for it nor its manifest; the confirm page refuses both", async () => {
    const c = client({
      IMMUTABLE_TAGS_JSON: JSON.stringify([{ repository: "ui/locked", tags: "v.*", name: "releases" }]),
    });
    const locked = await pushImage("ui/locked", "v1", 35);
    const loose = await pushImage("ui/locked", "dev", 36);
    await c.signIn("tester", "test-password");
    const lock = 'role="img" title="immutable: rule releases" aria-label="immutable: rule releases"';
    const repository = await (await c.fetchPage("/r/ui/locked")).text();
    expect(repository.split(lock)).toHaveLength(2);
    expect(repository).toMatch(new RegExp(`>v1</a> <span class="lock" ${lock}>`));
    expect(repository).not.toContain('aria-label="Delete tag v1"');
    expect(repository).toContain('aria-label="Delete tag dev"');
    const manifest = await (await c.fetchPage(`/r/ui/locked/-/manifest/${locked.digest}`)).text();
    expect(manifest).toContain(lock);
    expect(manifest).not.toContain("Delete this manifest");
    const other = await (await c.fetchPage(`/r/ui/locked/-/manifest/${loose.digest}`)).text();
    expect(other).toContain("Delete this manifest");
    expect(other).not.toContain(lock);
    for (const query of ["tag=v1", `digest=${locked.digest}`]) {
      const confirm = await c.fetchPage(`/r/ui/locked/-/delete?${query}`);
      expect(confirm.status, query).toBe(403);
      expect(await confirm.text(), query).toContain("tag v1 of ui/locked is immutable (rule releases)");
    }
    expect(await BASE_ENV.REGISTRY.head(storedKeys.tag("ui/locked", "v1"))).not.toBeNull();
  });

  it("asks the API's one delete policy: rights, then mirrors, then DELETES_ENABLED", () => {
    const config = (vars: Partial<Env>) => parseConfig({ ...BASE_ENV, ...vars } as Env);
    const mirror = JSON.stringify([{ registry: "http://127.0.0.1:9", prefix: "mirror" }]);
    const pushable = JSON.stringify([{ registry: "http://127.0.0.1:9", prefix: "mirror", allow_push: true }]);
    const deleter = { allows: (_repo: string, action: string) => action !== "push" };
    const reader = { allows: (_repo: string, action: string) => action === "pull" };
    const cases: [Partial<Env>, typeof deleter, string, string | null][] = [
      [{}, deleter, "team/app", null],
      [{}, reader, "team/app", "rights"],
      [{ REGISTRIES_JSON: mirror }, deleter, "mirror/app", "mirror"],
      [{ REGISTRIES_JSON: mirror }, deleter, "team/app", null],
      [{ REGISTRIES_JSON: pushable }, deleter, "mirror/app", null],
      [{ DELETES_ENABLED: "false" }, deleter, "team/app", "disabled"],
      [{ DELETES_ENABLED: "false", REGISTRIES_JSON: mirror }, reader, "mirror/app", "rights"],
    ];
    for (const [vars, identity, repo, why] of cases) {
      const decision = deletePolicy(config(vars), identity, repo);
      expect(decision.allowed ? null : decision.why, `${JSON.stringify(vars)} ${repo}`).toBe(why);
    }
  });

  it("shows anonymous callers only ANONYMOUS_PULL repositories", async () => {
    await pushImage("open/thing", "1", 33);
    const c = client({ ANONYMOUS_PULL: "open/*" });
    const html = await (await c.fetchPage("/")).text();
    expect(html).toContain('href="/r/open/thing"');
    expect(html).not.toContain('href="/r/ui/rights"');
    const denied = await c.fetchPage("/r/ui/rights");
    expect(denied.headers.get("Location")).toBe("/-/login?next=%2Fr%2Fui%2Frights");
  });
});

describe("image, index and artifact pages", () => {
  const REPO = "ui/pages";
  const SBOM = "application/spdx+json";

  it("links digests, sums an index's platforms, links a platform back, and hides an artifact's config", async () => {
    const images = [await pushImage(REPO, "amd", 51), await pushImage(REPO, "arm", 52)];
    // pushImage's config is this JSON; an image's total is its manifest, config and layer.
    const totals = images.map(
      (image, i) =>
        image.body.length +
        JSON.stringify({ architecture: "amd64", os: "linux", seed: 51 + i }).length +
        image.layer.length,
    );
    const index = JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: images.map((image, i) => ({
        mediaType: OCI_MANIFEST,
        digest: image.digest,
        size: image.body.length,
        platform: { os: "linux", architecture: ["amd64", "arm64"][i] },
      })),
    });
    expect((await pushManifest(REPO, "multi", index, OCI_INDEX)).status).toBe(201);
    const indexDigest = sha256(index);
    const payload = new TextEncoder().encode('{"spdxVersion":"SPDX-2.3"}');
    const empty = new TextEncoder().encode("{}");
    const sbom = JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      artifactType: SBOM,
      config: { mediaType: "application/vnd.oci.empty.v1+json", digest: await pushBlob(REPO, empty), size: 2 },
      layers: [{ mediaType: SBOM, digest: await pushBlob(REPO, payload), size: payload.length }],
      subject: { mediaType: OCI_INDEX, digest: indexDigest, size: index.length },
    });
    const sbomDigest = sha256(sbom);
    expect((await pushManifest(REPO, sbomDigest, sbom)).status).toBe(201);

    const c = client();
    await c.signIn("tester", "test-password");
    const tags = await (await c.fetchPage(`/r/${REPO}`)).text();
    expect(tags, "the tag's digest opens its manifest").toContain(
      `<a href="/r/${REPO}/-/manifest/${images[0]!.digest}?tag=amd" title="${images[0]!.digest}">`,
    );
    const indexPage = await (await c.fetchPage(`/r/${REPO}/-/manifest/${indexDigest}?tag=multi`)).text();
    expect(indexPage, "an index's size is its platforms'").toContain(
      `<data value="${index.length + totals[0]! + totals[1]!}"`,
    );
    const platformLink = `/r/${REPO}/-/manifest/${images[1]!.digest}?index=${encodeURIComponent(indexDigest)}`;
    expect(indexPage).toContain(`href="${platformLink}"`);
    const platform = await (await c.fetchPage(platformLink)).text();
    expect(platform, "the platform links back to its index").toContain(
      `<a href="/r/${REPO}/-/manifest/${indexDigest}">${indexDigest.slice(0, 19)}</a>`,
    );
    expect(platform).toContain('<h2 id="config">Config</h2>');
    const artifact = await (await c.fetchPage(`/r/${REPO}/-/manifest/${sbomDigest}`)).text();
    expect(artifact, "an SBOM has no image config to show").not.toContain('id="config"');
    expect(artifact).toContain(`href="/r/${REPO}/-/blob/${sha256(payload)}?type=${encodeURIComponent(SBOM)}"`);
  });

  it("downloads a layer or SBOM as a file, streamed with its type, for callers who may pull", async () => {
    const payload = new TextEncoder().encode('{"bomFormat":"CycloneDX"}');
    const digest = await pushBlob(REPO, payload);
    const path = `/r/${REPO}/-/blob/${digest}?type=${encodeURIComponent(SBOM)}`;
    const c = client();
    expect((await c.fetchPage(path)).headers.get("Location"), "anonymous callers sign in first").toBe(
      `/-/login?next=${encodeURIComponent(path)}`,
    );
    await c.signIn("tester", "test-password");
    const file = await c.fetchPage(path);
    expect(file.status).toBe(200);
    expect(file.headers.get("Content-Type")).toBe(SBOM);
    expect(file.headers.get("Content-Disposition")).toBe(`attachment; filename="${digest.slice(7)}.json"`);
    expect(file.headers.get("Content-Length")).toBe(String(payload.length));
    // The API's own blob answer underneath: its digest, ETag and Cache-Control.
    expect(file.headers.get("Docker-Content-Digest")).toBe(digest);
    expect(file.headers.get("ETag")).toBe(`"${digest}"`);
    expect(file.headers.get("Cache-Control")).toBe("private, max-age=31536000, immutable");
    expect(new Uint8Array(await file.arrayBuffer())).toEqual(payload);
    const html = await c.fetchPage(`/r/${REPO}/-/blob/${digest}?type=text/html`);
    expect(html.headers.get("Content-Type"), "no type a browser would render").toBe("application/octet-stream");
    await html.body?.cancel();
    expect((await c.fetchPage(`/r/ui/rights/-/blob/${digest}`)).status, "only blobs the repository links").toBe(404);
  });
});

describe("bounded storage cost", () => {
  const REPO = "ui/many-tags";
  const TAGS = 5000;

  beforeAll(async () => {
    const image = await pushImage(REPO, "base", 41);
    // The tags are written straight into the bucket's tag layout: 5,000 manifest PUTs would
    // test the push path, not the page.
    const names = Array.from({ length: TAGS }, (_, i) => `t${String(i).padStart(5, "0")}`);
    for (let i = 0; i < names.length; i += 250) {
      await Promise.all(
        names.slice(i, i + 250).map((t) =>
          BASE_ENV.REGISTRY.put(storedKeys.tag(REPO, t), null, {
            customMetadata: { digest: image.digest, taggedAt: String(Date.now()) },
          }),
        ),
      );
    }
  }, 300_000);

  it("renders a 5,000-tag repository a page at a time within a fixed number of operations", async () => {
    const c = client();
    await c.signIn("tester", "test-password");
    c.counter.reset();
    const first = await c.fetchPage(`/r/${REPO}`);
    const html = await first.text();
    const firstCost = c.counter.calls();
    expect(first.status).toBe(200);
    expect(html.match(/Delete tag /g)?.length).toBe(LIMITS.tags);
    expect(html).toContain(`href="/r/${REPO}?after=t00048"`);
    c.counter.reset();
    const later = await (await c.fetchPage(`/r/${REPO}?after=t04000`)).text();
    expect(later).toContain(">t04001</a>");
    // A catalog head, up to 3 tag lists, a usage head, a manifest read per distinct digest;
    // the first page also lists the activity log for the repository's recent events.
    console.info(`ui cost: repository page of ${TAGS} tags ${firstCost} operations, later page ${c.counter.calls()}`);
    const recent = LIMITS.activityScanCalls + LIMITS.recentActivity;
    expect(firstCost).toBeLessThanOrEqual(1 + 3 + 1 + LIMITS.tags + recent);
    expect(c.counter.calls()).toBeLessThanOrEqual(1 + 3 + 1 + LIMITS.tags);
    expect(firstCost).toBeLessThanOrEqual(8);
  });

  it("checks a manifest's tags for a lock within three lists, and offers no Delete past them", async () => {
    const base = (await pushImage(REPO, "base", 41)).digest;
    const cost = async (vars: Partial<Env>) => {
      const c = client(vars);
      await c.signIn("tester", "test-password");
      c.counter.reset();
      const html = await (await c.fetchPage(`/r/${REPO}/-/manifest/${base}`)).text();
      return { html, calls: c.counter.calls() };
    };
    const plain = await cost({});
    // A lock on the last tag, past what one check reads: the page cannot rule it out.
    const rule = JSON.stringify([{ repository: REPO, tags: "t04999" }]);
    const locked = await cost({ IMMUTABLE_TAGS_JSON: rule });
    expect(plain.html).toContain("Delete this manifest");
    expect(locked.html).not.toContain("Delete this manifest");
    expect(locked.html).toContain(`Delete is not offered: ${REPO} has more tags than one check reads (1000)`);
    expect(locked.calls - plain.calls).toBeLessThanOrEqual(3);
    const reader = client({ IMMUTABLE_TAGS_JSON: rule });
    await reader.signIn("reader", "reader-password");
    expect(await (await reader.fetchPage(`/r/${REPO}/-/manifest/${base}`)).text()).not.toContain("Delete is not");
  });

  it("lists repositories with a floor for the tag count, at one list per repository", async () => {
    const c = client();
    await c.signIn("tester", "test-password");
    c.counter.reset();
    const html = await (await c.fetchPage(`/?q=many-tags`)).text();
    expect(html).toContain("1000+");
    console.info(`ui cost: repositories page ${c.counter.calls()} operations`);
    expect(c.counter.calls()).toBeLessThanOrEqual(LIMITS.catalogScanCalls + 2 * LIMITS.repositories);
  });

  it("reads the collector's figures on the storage page instead of walking the bucket", async () => {
    const c = client();
    await c.signIn("tester", "test-password");
    const gcEnv = { ...BASE_ENV, GC_MAX_OPERATIONS: "100000" } as Env;
    expect(
      await runCollectorStep(openStorage(gcEnv), parseConfig(gcEnv), { trigger: "manual", dryRun: true }),
    ).not.toBeNull();
    c.counter.reset();
    const html = await (await c.fetchPage("/-/storage")).text();
    expect(html).toMatch(/in \d+ blobs, as of/);
    expect(html).toContain('href="/r/ui/many-tags"');
    console.info(`ui cost: storage page ${c.counter.calls()} operations`);
    expect(c.counter.calls()).toBeLessThanOrEqual(3 + 2 * LIMITS.reports + 1 + LIMITS.uploads);
  });
});

describe("the collector on the storage page", () => {
  it("says what a step kept for the grace period, and from when it is collectable", async () => {
    await pushImage("ui/young", "v1", 61);
    expect((await request("/v2/ui/young/manifests/v1", { method: "DELETE" })).status).toBe(202);
    const gcEnv = { ...BASE_ENV, GC_MAX_OPERATIONS: "100000", GC_GRACE_SECONDS: "3600" } as Env;
    const report = await runCollectorStep(openStorage(gcEnv), parseConfig(gcEnv), { trigger: "manual", dryRun: true });
    expect(report?.heldByGrace.manifests).toBeGreaterThanOrEqual(1);
    const c = client();
    await c.signIn("tester", "test-password");
    const html = await (await c.fetchPage("/-/storage")).text();
    expect(html).toMatch(/Kept for the grace period \(3600 s\): [^<]*\d+ manifests?/);
    expect(html).toMatch(/collectable from <time datetime="[^"]+" title="[^"]+">in (59|60) minutes<\/time>/);
  });
});

describe("formatting and manifest reading (pure)", () => {
  it("formats sizes in binary units and times relative to now", () => {
    expect(humanBytes(0)).toBe("0 B");
    expect(humanBytes(1536)).toBe("1.5 KiB");
    expect(humanBytes(40_011)).toBe("39.1 KiB");
    expect(humanBytes(5 * 1024 ** 3)).toBe("5 GiB");
    expect(humanBytes(110 * 1024 ** 4)).toBe("110 TiB");
    expect(relativeTime(0, 3_000)).toBe("just now");
    expect(relativeTime(0, 90_000)).toBe("1 minute ago");
    expect(relativeTime(0, 3 * 86_400_000)).toBe("3 days ago");
    expect(absoluteTime(Date.UTC(2026, 11, 1, 0, 50, 43))).toBe("2026-12-01 00:50:43 UTC");
  });

  it("never throws on any manifest or config bytes, and keeps no more than its caps", () => {
    const caps = { rows: 3, entries: 2, textChars: 10 };
    fc.assert(
      fc.property(fc.oneof(fc.json(), fc.string()), (text) => {
        const bytes = new TextEncoder().encode(text);
        const view = describeManifest(bytes, "application/vnd.oci.image.manifest.v1+json", caps);
        expect(view.layers.length).toBeLessThanOrEqual(caps.rows);
        expect(view.annotations.length).toBeLessThanOrEqual(caps.rows);
        expect(view.entries.length).toBeLessThanOrEqual(caps.entries);
        const config = describeConfig(bytes, caps);
        for (const list of [config?.env, config?.labels, config?.history])
          expect(list?.length ?? 0).toBeLessThanOrEqual(caps.rows);
      }),
      { seed: 1616, numRuns: 500 },
    );
  });

  it("does not parse a stored config too deep or too large for a page's memory (the push-time rule)", () => {
    const caps = { rows: 3, entries: 2, textChars: 10 };
    // Config blobs are bytes to the registry, never checked as manifests are: a pusher could
    // point an image at 4 MiB of these, and each page view would parse all of it.
    const deep = new TextEncoder().encode(
      `{"history":${"[".repeat(MAX_JSON_DEPTH + 1)}${"]".repeat(MAX_JSON_DEPTH + 1)}}`,
    );
    const wide = new TextEncoder().encode(`{"history":[${Array(MAX_JSON_ITEMS).fill("{}").join(",")}]}`);
    expect(describeConfig(deep, caps)).toBeNull();
    expect(describeConfig(wide, caps)).toBeNull();
    expect(describeConfig(new TextEncoder().encode('{"history":[{}]}'), caps)).not.toBeNull();
  });

  it("humanBytes stays within three significant figures of the exact size", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1024, max: Number.MAX_SAFE_INTEGER }), (n) => {
        const [value, unit] = humanBytes(n).split(" ");
        const scale = 1024 ** ["B", "KiB", "MiB", "GiB", "TiB", "PiB"].indexOf(unit!);
        return Math.abs(Number(value) * scale - n) / n < 0.01 && Number(value) < 1024;
      }),
      { seed: 1617, numRuns: 500 },
    );
  });
});
