// The web UI's answers to hostile or unusual input (issue 20): where a sign-in may send the
// browser, the sign-in throttle's Retry-After, an index of one entry, what the storage page
// shows to whom, and the row caps and byte budget of the pages for the largest manifests
// the registry accepts. The isolate's memory for those pages is read in
// test/e2e/ui-memory.test.ts.
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { hashPassword } from "../src/util/password-hash";
import { LOGIN_THROTTLE_PERIOD_SECONDS } from "../src/auth/login-throttle";
import { parseConfig, type Env } from "../src/config/config";
import { runCollectorStep } from "../src/gc/collector";
import { openStorage } from "../src/storage/storage";
import { LIMITS } from "../src/ui/limits";
import { sameOriginPath } from "../src/ui/next-path";
import { AUTH, BASE, basic, OCI_INDEX, OCI_MANIFEST, pushBlob, pushImage, pushManifest, sha256 } from "./helpers";
import { BASE_ENV, client, csrfIn } from "./ui-client";

const ORIGINS = ["http://registry.test", "https://registry.example.com:8443"];

/** Pieces that, joined, spell paths a browser may read as another host. */
const NASTY = [
  "/",
  "//",
  "\\",
  "/\\",
  "/./",
  "/../",
  ".",
  "..",
  "%2f",
  "%2F",
  "%5c",
  "%2e",
  "\t",
  "\n",
  "\r",
  " ",
  "\u0000",
  "@",
  ":",
  "?",
  "#",
  "evil.example",
  "http:",
  "https://evil.example",
  "javascript:alert(1)",
  "r/repo",
  "\u3002",
  "\uff0f",
];
const nastyPath = fc.array(fc.constantFrom(...NASTY), { minLength: 1, maxLength: 8 }).map((parts) => parts.join(""));
const anyNext = fc.oneof(
  nastyPath,
  fc.string(),
  fc.string().map((s) => `/${s}`),
);

describe("sign-in redirect (next=)", () => {
  it("sends the browser only to a path on the origin it asked", () => {
    fc.assert(
      fc.property(anyNext, fc.constantFrom(...ORIGINS), (next, origin) => {
        const location = sameOriginPath(next);
        // How a browser reads a Location: resolved against the page that answered it.
        const target = new URL(location, `${origin}/-/login`);
        expect(target.origin).toBe(origin);
        expect(location.startsWith("/")).toBe(true);
        expect(location.startsWith("//") || location.startsWith("/\\")).toBe(false);
        // Reading the answer again gives the same answer: it is already normal.
        expect(sameOriginPath(location)).toBe(location);
      }),
      { seed: 20_4, numRuns: 5000 },
    );
  });

  it("keeps local paths and their queries", () => {
    for (const path of ["/", "/r/some/repo?page=2", "/-/storage", "/r/a/-/manifest/sha256:ab?tag=v1"])
      expect(sameOriginPath(path)).toBe(path);
    expect(sameOriginPath("/r/a/../b")).toBe("/r/b");
  });

  it("answers /-/login?next=/.//evil.example with a Location on this origin", async () => {
    const c = client();
    await c.signIn("tester", "test-password");
    for (const next of ["/.//evil.example", "/./\\evil.example", "/%2e//evil.example", "/a/..//evil.example"]) {
      const response = await c.fetchPage(`/-/login?next=${encodeURIComponent(next)}`);
      expect(response.status, next).toBe(303);
      const location = response.headers.get("Location")!;
      expect(new URL(location, `${BASE}/-/login`).origin, `${next} -> ${location}`).toBe(BASE);
    }
  });
});

describe("sign-in throttle", () => {
  it("answers a throttled UI sign-in 429 with the API's Retry-After", async () => {
    const c = client();
    const page = await (await c.fetchPage("/-/login")).text();
    let last: Response | null = null;
    for (let i = 0; i < 12; i++) {
      last = await c.fetchPage("/-/login", {
        method: "POST",
        body: new URLSearchParams({ _csrf: csrfIn(page), username: "ui-victim", password: `guess-${i}`, next: "/" }),
        headers: {
          "Content-Type": "application/x-www-form-urlencoded",
          Origin: BASE,
          "CF-Connecting-IP": `203.0.113.${i}`,
        },
      });
    }
    expect(last!.status).toBe(429);
    expect(last!.headers.get("Retry-After")).toBe(String(LOGIN_THROTTLE_PERIOD_SECONDS));
  });
});

describe("an index of one entry", () => {
  it("renders its one platform", async () => {
    const image = await pushImage("ui/single-platform", "amd64", 51);
    const index = {
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: [
        {
          mediaType: OCI_MANIFEST,
          digest: image.digest,
          size: image.body.length,
          platform: { os: "linux", architecture: "amd64" },
        },
      ],
    };
    const body = JSON.stringify(index);
    expect((await pushManifest("ui/single-platform", "1.0", body, OCI_INDEX)).status).toBe(201);
    const c = client();
    await c.signIn("tester", "test-password");
    const response = await c.fetchPage(`/r/ui/single-platform/-/manifest/${sha256(body)}?tag=1.0`);
    const html = await response.text();
    expect(response.status, html.slice(0, 2000)).toBe(200);
    expect(html).toContain("linux/amd64");
    expect(html).toContain(image.layerDigest.slice(7, 19));
  });
});

describe("the storage page by right", () => {
  let users: string;
  beforeAll(async () => {
    users = JSON.stringify({
      alice: {
        password: await hashPassword("alice-pw", 10_000),
        access: { "ui-team/*": ["pull", "push"], "ui-shared/*": ["pull"] },
      },
    });
    await pushImage("ui-shared/app", "v1", 61);
    await pushImage("ui-team/app", "v1", 62);
    const gcEnv = { ...BASE_ENV, GC_MAX_OPERATIONS: "100000" } as Env;
    await runCollectorStep(openStorage(gcEnv), parseConfig(gcEnv), { trigger: "manual", dryRun: true });
    // The admin's upload, in a repository alice may pull; and alice's own.
    const api = client({ AUTH_USERS_JSON: users } as Partial<Env>);
    for (const [repo, auth] of [
      ["ui-shared/app", AUTH],
      ["ui-team/app", basic("alice", "alice-pw")],
    ]) {
      const started = await api.fetchPage(`/v2/${repo}/blobs/uploads/`, {
        method: "POST",
        headers: { Authorization: auth! },
      });
      expect(started.status, repo).toBe(202);
    }
  });

  it("shows bucket-wide figures and every upload to an admin", async () => {
    const c = client({ AUTH_USERS_JSON: users } as Partial<Env>);
    await c.signIn("tester", "test-password");
    const html = await (await c.fetchPage("/-/storage")).text();
    expect(html).toMatch(/in \d+ blobs, as of/);
    expect(html).toContain('<td data-label="Repository">ui-shared/app</td>');
    expect(html).toContain('<td data-label="Repository">ui-team/app</td>');
  });

  it("shows others the repositories they may pull and their own uploads only", async () => {
    const c = client({ AUTH_USERS_JSON: users } as Partial<Env>);
    expect((await c.signIn("alice", "alice-pw")).status).toBe(303);
    const html = await (await c.fetchPage("/-/storage")).text();
    expect(html).not.toMatch(/ blobs, as of/);
    expect(html).toContain('href="/r/ui-shared/app"');
    expect(html).toContain('<td data-label="Repository">ui-team/app</td>');
    expect(html, "the admin's upload").not.toContain('<td data-label="Repository">ui-shared/app</td>');
    const reader = client({ AUTH_USERS_JSON: users } as Partial<Env>);
    await reader.signIn("reader", "reader-password");
    const readerHtml = await (await reader.fetchPage("/-/storage")).text();
    expect(readerHtml).not.toMatch(/ blobs, as of/);
    expect(readerHtml).not.toContain('<td data-label="Repository">ui-team/app</td>');
    expect(readerHtml).not.toContain('<td data-label="Repository">ui-shared/app</td>');
  });
});

/** The largest manifest the registry accepts, repeating one layer as often as it fits. */
async function pushWorstImage(repo: string, tag: string, seed: number) {
  const layer = { mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", ...(await blob(repo, `layer ${seed}`)) };
  const config = { mediaType: "application/vnd.oci.image.config.v1+json", ...(await blob(repo, `{"seed":${seed}}`)) };
  const head = `{"schemaVersion":2,"mediaType":"${OCI_MANIFEST}","config":${JSON.stringify(config)},"layers":[`;
  const item = JSON.stringify(layer);
  const max = parseConfig(BASE_ENV).maxManifestBytes;
  const count = Math.floor((max - head.length - 2 + 1) / (item.length + 1));
  const body = `${head}${Array(count).fill(item).join(",")}]}`;
  const response = await pushManifest(repo, tag, body);
  expect(response.status, await response.clone().text()).toBe(201);
  return { digest: sha256(body), size: body.length, count };
}

async function blob(repo: string, text: string) {
  const bytes = new TextEncoder().encode(text);
  return { digest: await pushBlob(repo, bytes), size: bytes.length };
}

/** What the caps of ui/limits.ts keep a page of these manifests under. */
const PAGE_HTML_BYTES = 256 * 1024;

describe("pages of the largest manifests", () => {
  const REPO = "ui/worst";
  let image: Awaited<ReturnType<typeof pushWorstImage>>;
  let index = "";
  beforeAll(async () => {
    image = await pushWorstImage(REPO, "big", 71);
    const second = await pushWorstImage(REPO, "big2", 72);
    const entries = [image, second].map(({ digest, size }, i) => ({
      mediaType: OCI_MANIFEST,
      digest,
      size,
      platform: { os: "linux", architecture: `arch${i}` },
    }));
    const body = JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: entries });
    expect((await pushManifest(REPO, "multi", body, OCI_INDEX)).status).toBe(201);
    index = sha256(body);
  }, 120_000);

  async function page(path: string): Promise<Response> {
    const c = client();
    await c.signIn("tester", "test-password");
    return c.fetchPage(path);
  }

  it("summarizes an image of 26,000 layers instead of rendering a row for each", async () => {
    const response = await page(`/r/${REPO}/-/manifest/${image.digest}`);
    const html = await response.text();
    expect(response.status).toBe(200);
    expect(image.count).toBeGreaterThan(26_000);
    expect(html).toContain(`${image.count.toLocaleString("en-US")} layers, showing the first ${LIMITS.rows}.`);
    expect(html.length).toBeLessThan(PAGE_HTML_BYTES);
  });

  it("summarizes each platform of an index the same way, within the page's budget", async () => {
    const response = await page(`/r/${REPO}/-/manifest/${index}`);
    const html = await response.text();
    expect(response.status).toBe(200);
    expect(html.split(`layers, showing the first ${LIMITS.platformRows}.`).length - 1).toBe(2);
    expect(html.length).toBeLessThan(PAGE_HTML_BYTES);
  });

  it("shows the repository page's tags from a summary of each manifest", async () => {
    const response = await page(`/r/${REPO}`);
    const html = await response.text();
    expect(response.status).toBe(200);
    expect(html).toContain("linux/arch0, linux/arch1");
    expect(html.length).toBeLessThan(PAGE_HTML_BYTES);
  });
});
