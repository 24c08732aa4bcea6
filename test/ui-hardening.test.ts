// The web UI's answers to hostile or unusual input (issue 20): where a sign-in may send the
// browser, the sign-in throttle's Retry-After, an index of one entry, what the storage page
// shows to whom, and the row caps and byte budget of the pages for the largest manifests
// the registry accepts. The isolate's memory for those pages is read in
// test/e2e/ui-memory.test.ts.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { LOGIN_THROTTLE_PERIOD_SECONDS } from "../src/auth/login-throttle";
import { sameOriginPath } from "../src/ui/next-path";
import { BASE } from "./helpers";
import { client, csrfIn } from "./ui-client";

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
