// The browser side of the web UI tests: Debian's chromium driven by playwright-core (no
// Playwright browser download), sign-in, axe-core, and screenshots at two widths.
import { existsSync, mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { ROOT } from "./registry-server";

export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
export const SCREENSHOT_DIR = join(ROOT, "test-results", "ui-screenshots");
const AXE_PATH = createRequire(import.meta.url).resolve("axe-core/axe.min.js");

export const VIEWPORTS = {
  desktop: { width: 1280, height: 800 },
  phone: { width: 390, height: 844 },
} as const;

export function chromiumInstalled(): boolean {
  return existsSync(CHROMIUM);
}

export async function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--no-sandbox",
      "--headless",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
  });
}

/** A fresh browser profile. bypassCSP only lets the test inject axe-core; the pages' own
 *  Content-Security-Policy is checked separately. */
export async function newContext(
  browser: Browser,
  options: { javaScript?: boolean; dark?: boolean; phone?: boolean } = {},
): Promise<BrowserContext> {
  return browser.newContext({
    viewport: options.phone ? VIEWPORTS.phone : VIEWPORTS.desktop,
    javaScriptEnabled: options.javaScript ?? true,
    colorScheme: options.dark ? "dark" : "light",
    bypassCSP: true,
    isMobile: options.phone ?? false,
  });
}

export async function signIn(page: Page, base: string, username: string, password: string): Promise<void> {
  await page.goto(`${base}/-/login`);
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL((url) => !url.pathname.startsWith("/-/login"));
}

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string[] }[];
}

/** axe-core's violations of impact "serious" or "critical" on the current page. */
export async function seriousViolations(page: Page): Promise<AxeViolation[]> {
  await page.addScriptTag({ path: AXE_PATH });
  const result = (await page.evaluate(() =>
    (globalThis as unknown as { axe: { run(): Promise<unknown> } }).axe.run(),
  )) as { violations: AxeViolation[] };
  return result.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
}

/** Saves the page at desktop and phone widths (full page) under test-results/ui-screenshots. */
export async function screenshotBoth(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  for (const [label, size] of Object.entries(VIEWPORTS)) {
    await page.setViewportSize(size);
    await page.screenshot({ path: join(SCREENSHOT_DIR, `${name}-${label}.png`), fullPage: true });
  }
  await page.setViewportSize(VIEWPORTS.desktop);
}

export interface FitReport {
  /** "CSS1Compat" in standards mode; "BackCompat" without a doctype (quirks mode). */
  mode: string;
  width: number;
  scrollWidth: number;
  /** Elements wider than the viewport or reaching past its right edge (first few). */
  wide: string[];
}

/** Whether the current page fits its viewport: nothing makes the document scroll sideways,
 *  and no element (a table inside a scrolling wrapper included) reaches past the right edge,
 *  which would hide a column behind a sideways scroll. Off-screen-left skip links and
 *  captions are not content, so only the right edge and the width count. */
export async function fitsViewport(page: Page): Promise<FitReport> {
  return (await page.evaluate(`(() => {
    const width = window.innerWidth;
    const wide = [];
    for (const el of document.body.querySelectorAll("*")) {
      const r = el.getBoundingClientRect();
      if (r.width === 0 && r.height === 0) continue;
      if (r.width > width + 0.5 || r.right > width + 0.5) {
        const name = el.tagName.toLowerCase() + (el.className ? "." + String(el.className).replace(/ /g, ".") : "");
        wide.push(name + " " + Math.round(r.left) + ".." + Math.round(r.right) + ": " + (el.textContent || "").trim().slice(0, 40));
      }
    }
    return { mode: document.compatMode, width, scrollWidth: document.scrollingElement.scrollWidth, wide: wide.slice(0, 6) };
  })()`)) as FitReport;
}
