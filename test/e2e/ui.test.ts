// The web UI in a real browser (Debian's chromium through playwright-core) against the same
// local runtime as `npm start`: sign-in, browsing a multi-arch image and its signature,
// deleting through the confirmation, CSRF, what read-only, team and anonymous users see,
// logout, axe-core, pages without JavaScript, and screenshots at desktop and phone widths.
import { readFileSync } from "node:fs";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hashPassword } from "../../src/util/password-hash";
import { sha256 } from "../shared-helpers";
import {
  E2E_AUTH,
  E2E_CREDENTIALS,
  requireAll,
  startRegistry,
  type Pusher,
  type RegistryServer,
} from "./registry-server";
import {
  chromiumInstalled,
  CHROMIUM,
  fitsViewport,
  launchChromium,
  newContext,
  screenshotBoth,
  seriousViolations,
  signIn,
  VIEWPORTS,
} from "./ui-browser";
import { pushMultiArch, pushSimple, SIGNATURE_TYPE } from "./ui-content";

const READER = { username: "reader", password: "reader-password" };
const ALICE = { username: "alice", password: "alice-password" };
const ADMIN = E2E_CREDENTIALS;

const available = chromiumInstalled();
if (!available && requireAll())
  throw new Error(`E2E_REQUIRE_ALL=1 but ${CHROMIUM} is missing (apt-get install chromium)`);
if (!available) console.warn(`skipping the browser tests: ${CHROMIUM} is not installed (apt-get install chromium)`);

describe.runIf(available)("web UI in chromium", () => {
  let server: RegistryServer;
  let browser: Browser;
  let base: string;
  let pusher: Pusher;
  let app: Awaited<ReturnType<typeof pushMultiArch>>;

  beforeAll(async () => {
    const users = {
      alice: {
        password: await hashPassword(ALICE.password, 10_000),
        access: { "team-a/*": ["pull", "push", "delete"] },
      },
    };
    server = await startRegistry({
      vars: {
        READONLY_USERNAME: READER.username,
        READONLY_PASSWORD: READER.password,
        AUTH_USERS_JSON: JSON.stringify(users),
        ANONYMOUS_PULL: "public/*",
      },
    });
    base = server.url;
    pusher = { url: base, auth: E2E_AUTH };
    app = await pushMultiArch(pusher, "demo/app", "1.0");
    await pushSimple(pusher, "demo/tools", ["latest", "v1", "v2"], 5);
    await pushSimple(pusher, "team-a/service", ["1.0"], 6);
    await pushSimple(pusher, "team-b/secret", ["1.0"], 7);
    await pushSimple(pusher, "public/hello", ["latest"], 8);
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  async function adminPage(options: { javaScript?: boolean; dark?: boolean } = {}): Promise<Page> {
    const page = await (await newContext(browser, options)).newPage();
    await signIn(page, base, ADMIN.username, ADMIN.password);
    return page;
  }

  async function tagsOf(repo: string): Promise<string[]> {
    const response = await fetch(`${base}/v2/${repo}/tags/list`, { headers: { Authorization: pusher.auth } });
    return ((await response.json()) as { tags: string[] }).tags;
  }

  it("signs in with the API's credentials and lists the repositories", async () => {
    const page = await (await newContext(browser)).newPage();
    await page.goto(`${base}/`);
    await page.getByRole("link", { name: "Sign in" }).click();
    expect(new URL(page.url()).pathname).toBe("/-/login");
    await screenshotBoth(page, "login");
    await page.getByLabel("Username").fill(ADMIN.username);
    await page.getByLabel("Password").fill("wrong");
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page.getByRole("alert").textContent()).resolves.toContain("Wrong username or password");
    await signIn(page, base, ADMIN.username, ADMIN.password);
    await expect(page.title()).resolves.toBe("Repositories · Registry");
    for (const repo of ["demo/app", "demo/tools", "team-a/service", "team-b/secret", "public/hello"]) {
      expect(await page.getByRole("link", { name: repo, exact: true }).count(), repo).toBe(1);
    }
    const row = page.getByRole("row").filter({ has: page.getByRole("link", { name: "demo/tools", exact: true }) });
    expect(await row.getByRole("cell").nth(1).textContent()).toBe("3");
    await screenshotBoth(page, "repositories");
  });

  it("shows a multi-arch image with both platforms and their layers", async () => {
    const page = await adminPage();
    await page.goto(`${base}/`);
    await page.getByRole("link", { name: "demo/app", exact: true }).click();
    await screenshotBoth(page, "repository");
    await page.getByRole("link", { name: "1.0", exact: true }).click();
    expect(await page.title()).toBe("demo/app:1.0 · Registry");
    for (const [platform, image] of [
      ["linux/amd64", app.amd64],
      ["linux/arm64", app.arm64],
    ] as const) {
      const section = page.getByRole("region", { name: platform });
      expect(await section.getByRole("link", { name: platform }).count(), platform).toBe(1);
      const rows = section.getByRole("row");
      expect(await rows.count(), `${platform}: header and two layers`).toBe(3);
      expect(await section.textContent()).toContain(image.digest.slice(0, 19));
    }
    const pull = await page.locator("[data-copy]").allTextContents();
    expect(pull).toEqual([
      `docker pull ${server.host}/demo/app@${app.index.digest}`,
      `docker pull ${server.host}/demo/app:1.0`,
    ]);
    await screenshotBoth(page, "index");
    await page.getByRole("region", { name: "linux/arm64" }).getByRole("link", { name: "linux/arm64" }).click();
    const text = (await page.locator("main").textContent()) ?? "";
    for (const expected of [
      '["/bin/server"]',
      '["--port","8080"]',
      "ARCH=arm64",
      "org.opencontainers.image.version",
      "COPY server /bin/server # buildkit",
      "linux/arm64",
    ]) {
      expect(text, expected).toContain(expected);
    }
    await screenshotBoth(page, "image");
  });

  it("opens the signature referrer on its own page", async () => {
    const page = await adminPage();
    await page.goto(`${base}/r/demo/app/-/manifest/${app.index.digest}`);
    const heading = page.getByRole("heading", { name: /Signatures/ });
    expect(await heading.textContent()).toContain(SIGNATURE_TYPE);
    expect(await page.getByRole("heading", { name: /SBOMs/ }).count()).toBe(1);
    await page.getByRole("link", { name: app.signature.digest.slice(0, 19) }).click();
    expect(new URL(page.url()).pathname).toBe(`/r/demo/app/-/manifest/${app.signature.digest}`);
    const text = (await page.locator("main").textContent()) ?? "";
    expect(text).toContain(SIGNATURE_TYPE);
    expect(await page.getByRole("link", { name: app.index.digest }).count(), "links back to its subject").toBe(1);
    await screenshotBoth(page, "signature");
  });

  it("deletes a tag through the confirmation page", async () => {
    const page = await adminPage();
    await page.goto(`${base}/r/demo/tools`);
    await page.getByRole("link", { name: "Delete tag v1" }).click();
    expect(await page.getByRole("heading", { level: 1 }).textContent()).toBe("Delete tag?");
    expect(await tagsOf("demo/tools"), "nothing deleted before confirming").toContain("v1");
    await screenshotBoth(page, "confirm-delete");
    await page.getByRole("button", { name: "Delete tag v1" }).click();
    expect(new URL(page.url()).pathname).toBe("/r/demo/tools");
    expect(await page.getByRole("status").textContent()).toContain("Deleted tag v1");
    expect(await page.getByRole("link", { name: "v1", exact: true }).count()).toBe(0);
    expect(await tagsOf("demo/tools")).toEqual(["latest", "v2"]);
  });

  it("refuses a changing form without the session's CSRF token", async () => {
    const page = await adminPage();
    await page.goto(`${base}/r/demo/tools`);
    const statuses = await page.evaluate(async () => {
      const post = (body: string) =>
        fetch("/r/demo/tools/-/delete", {
          method: "POST",
          body,
          headers: { "Content-Type": "application/x-www-form-urlencoded" },
          redirect: "manual",
        });
      return [(await post("tag=v2")).status, (await post("tag=v2&_csrf=forged-token")).status];
    });
    expect(statuses).toEqual([403, 403]);
    expect(await tagsOf("demo/tools")).toContain("v2");
  });

  it("shows a read-only user no delete buttons and no collector", async () => {
    const page = await (await newContext(browser)).newPage();
    await signIn(page, base, READER.username, READER.password);
    await page.goto(`${base}/r/demo/tools`);
    expect(await page.getByRole("link", { name: "v2", exact: true }).count()).toBe(1);
    expect(await page.getByRole("link", { name: /^Delete/ }).count()).toBe(0);
    await page.goto(`${base}/r/demo/app/-/manifest/${app.index.digest}`);
    expect(await page.getByRole("link", { name: /Delete/ }).count()).toBe(0);
    await page.goto(`${base}/-/storage`);
    expect(await page.getByRole("button", { name: /Run collector|Dry run/ }).count()).toBe(0);
    const confirm = await page.goto(`${base}/r/demo/tools/-/delete?tag=v2`);
    expect(confirm?.status()).toBe(404);
  });

  it("shows a team user only its repositories", async () => {
    const page = await (await newContext(browser)).newPage();
    await signIn(page, base, ALICE.username, ALICE.password);
    const links = await page.locator("main table a").allTextContents();
    expect(links.sort()).toEqual(["public/hello", "team-a/service"]);
    expect((await page.goto(`${base}/r/team-b/secret`))?.status()).toBe(404);
    await page.goto(`${base}/r/team-a/service`);
    expect(await page.getByRole("link", { name: "Delete tag 1.0" }).count(), "alice may delete in team-a").toBe(1);
  });

  it("lets anyone browse the public repositories without signing in", async () => {
    const page = await (await newContext(browser)).newPage();
    await page.goto(`${base}/`);
    expect(await page.locator("main table a").allTextContents()).toEqual(["public/hello"]);
    await page.goto(`${base}/r/demo/app`);
    expect(new URL(page.url()).pathname, "private repositories ask for a sign-in").toBe("/-/login");
  });

  it("ends the session at logout, for a copied cookie too", async () => {
    const context = await newContext(browser);
    const page = await context.newPage();
    await signIn(page, base, ADMIN.username, ADMIN.password);
    const cookie = (await context.cookies()).find((c) => c.name === "registry_session")!;
    expect(cookie.httpOnly).toBe(true);
    expect(cookie.sameSite).toBe("Strict");
    expect(cookie.expires).toBeGreaterThan(Date.now() / 1000);
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.goto(`${base}/r/demo/app`);
    expect(new URL(page.url()).pathname).toBe("/-/login");
    const replay = await newContext(browser);
    await replay.addCookies([cookie]);
    const again = await replay.newPage();
    await again.goto(`${base}/r/demo/app`);
    expect(new URL(again.url()).pathname, "the old cookie no longer signs in").toBe("/-/login");
  });

  it("runs the collector from the storage page and shows its measurements", async () => {
    const page = await adminPage();
    await page.goto(`${base}/-/storage`);
    expect(await page.locator("main").textContent()).toContain("Not measured yet");
    await page.getByRole("button", { name: /Dry run/ }).click();
    expect(await page.getByRole("status").textContent()).toContain("dry-run step");
    const text = (await page.locator("main").textContent()) ?? "";
    expect(text).toMatch(/in \d+ blobs, as of/);
    expect(await page.getByRole("link", { name: "demo/app", exact: true }).count()).toBe(1);
    await screenshotBoth(page, "storage");
  });

  it("shows admins the activity log, filtered by repository, and a repository's recent activity", async () => {
    const page = await adminPage();
    // The pushes' events reach the log through the queue's consumer, after the pushes answered.
    await expect
      .poll(
        async () => {
          await page.goto(`${base}/-/activity?repository=demo/app`);
          return page.getByRole("row").count();
        },
        { timeout: 30_000, interval: 500 },
      )
      .toBeGreaterThan(1);
    const text = (await page.locator("main").textContent()) ?? "";
    expect(text).toContain("pushed");
    expect(text).not.toContain("demo/tools");
    await screenshotBoth(page, "activity");
    await page.goto(`${base}/r/demo/app`);
    expect(await page.getByRole("heading", { name: "Recent activity" }).count()).toBe(1);
  });

  it("fits every page at desktop and phone width, in standards mode, without sideways scrolling", async () => {
    const signedIn = [
      "/",
      "/r/demo/app",
      "/r/demo/tools",
      `/r/demo/app/-/manifest/${app.index.digest}?tag=1.0`,
      `/r/demo/app/-/manifest/${app.amd64.digest}`,
      `/r/demo/app/-/manifest/${app.signature.digest}`,
      `/r/demo/app/-/manifest/${app.sbom.digest}`,
      "/-/storage",
      "/-/activity",
      "/r/demo/tools/-/delete?tag=v2",
      "/r/demo/nothing-here",
    ];
    const admin = await adminPage();
    const anonymous = await (await newContext(browser)).newPage();
    const checks: [Page, string][] = [
      ...signedIn.map((path): [Page, string] => [admin, path]),
      [anonymous, "/-/login"],
    ];
    for (const [label, size] of Object.entries(VIEWPORTS)) {
      for (const [page, path] of checks) {
        await page.setViewportSize(size);
        await page.goto(base + path);
        const fit = await fitsViewport(page);
        const where = `${path} at ${label} (${size.width} px)`;
        expect(fit.mode, `${where}: standards mode`).toBe("CSS1Compat");
        expect(fit.wide, `${where}: elements past the right edge`).toEqual([]);
        expect(fit.scrollWidth, `${where}: document scroll width`).toBeLessThanOrEqual(fit.width);
      }
    }
  });

  it("selects a pull command and says how to copy it where the clipboard is unavailable", async () => {
    const context = await newContext(browser);
    // What a page served over plain http from another host sees: no clipboard API.
    await context.addInitScript(`Object.defineProperty(Navigator.prototype, "clipboard", { get: () => undefined });`);
    const page = await context.newPage();
    await signIn(page, base, ADMIN.username, ADMIN.password);
    await page.goto(`${base}/r/demo/app/-/manifest/${app.index.digest}?tag=1.0`);
    const line = page.locator(".copy").first();
    await line.getByRole("button", { name: /^Copy/ }).click();
    expect(await page.evaluate("String(window.getSelection())")).toBe(
      `docker pull ${server.host}/demo/app@${app.index.digest}`,
    );
    expect(await line.locator("[aria-live]").textContent()).toContain("press Ctrl+C");
  });

  it("downloads an SBOM as its whole document, and links a platform back to its index", async () => {
    const page = await adminPage();
    await page.goto(`${base}/r/demo/app/-/manifest/${app.sbom.digest}`);
    expect(await page.getByRole("heading", { name: "Config" }).count(), "an SBOM has no image config").toBe(0);
    // The SBOM's one layer is its document; the file is named after its digest.
    const [download] = await Promise.all([
      page.waitForEvent("download"),
      page.getByRole("link", { name: "Download layer 1" }).click(),
    ]);
    const bytes = readFileSync((await download.path())!);
    expect(download.suggestedFilename()).toBe(`${sha256(bytes).slice("sha256:".length)}.json`);
    expect(bytes.length, "the SBOM's document, whole").toBe(300);
    await page.goto(`${base}/r/demo/app/-/manifest/${app.index.digest}?tag=1.0`);
    await page.getByRole("region", { name: "linux/amd64" }).getByRole("link", { name: "linux/amd64" }).click();
    await page
      .getByRole("navigation", { name: "Breadcrumb" })
      .getByRole("link", { name: app.index.digest.slice(0, 19) })
      .click();
    expect(new URL(page.url()).pathname, "a platform links back to its index").toBe(
      `/r/demo/app/-/manifest/${app.index.digest}`,
    );
  });

  it("renders every reading page without JavaScript", async () => {
    const page = await adminPage({ javaScript: false });
    await page.goto(`${base}/r/demo/app/-/manifest/${app.amd64.digest}`);
    expect(await page.getByRole("region", { name: "Layers" }).getByRole("row").count()).toBe(3);
    expect(await page.getByRole("button", { name: "Copy" }).count(), "no copy buttons without the script").toBe(0);
  });

  it("passes axe-core without serious violations, light and dark", async () => {
    const pages = [
      "/",
      "/r/demo/app",
      `/r/demo/app/-/manifest/${app.index.digest}`,
      `/r/demo/app/-/manifest/${app.amd64.digest}`,
      "/-/storage",
      "/-/activity",
      "/r/demo/tools/-/delete?tag=v2",
    ];
    for (const dark of [false, true]) {
      const page = await adminPage({ dark });
      for (const path of pages) {
        await page.goto(base + path);
        expect(await seriousViolations(page), `${path} (${dark ? "dark" : "light"})`).toEqual([]);
      }
      if (dark) {
        await page.goto(`${base}/r/demo/app/-/manifest/${app.index.digest}`);
        await screenshotBoth(page, "index-dark");
        await page.goto(`${base}/r/demo/tools/-/delete?tag=v2`);
        await screenshotBoth(page, "confirm-delete-dark");
      }
      const anonymous = await (await newContext(browser, { dark })).newPage();
      await anonymous.goto(`${base}/-/login`);
      expect(await seriousViolations(anonymous), "login").toEqual([]);
    }
  });

  it("is usable from the keyboard: a skip link first, then the navigation", async () => {
    const page = await adminPage();
    await page.goto(`${base}/`);
    await page.keyboard.press("Tab");
    expect(
      await page.evaluate(
        () =>
          (globalThis as unknown as { document: { activeElement: { textContent: string } | null } }).document
            .activeElement?.textContent,
      ),
    ).toBe("Skip to content");
    await page.keyboard.press("Tab");
    expect(
      await page.evaluate(
        () =>
          (globalThis as unknown as { document: { activeElement: { textContent: string } | null } }).document
            .activeElement?.textContent,
      ),
    ).toBe("Registry");
    await page.locator("#q").focus();
    await page.keyboard.type("tools");
    await page.keyboard.press("Enter");
    await page.waitForURL(/q=tools/);
    expect(await page.locator("main table a").allTextContents()).toEqual(["demo/tools"]);
  });
});
