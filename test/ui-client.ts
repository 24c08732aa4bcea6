// The web UI tests' client: requests straight through the app with a cookie jar, a storage
// meter that reports to the test, and sign-in through the login form.
import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { createApp } from "../src/app";
import type { Env } from "../src/config/config";
import { subrequests } from "../src/storage/meter";
import { BASE } from "./helpers";

export const BASE_ENV = env as unknown as Env;

/** Requests through an app whose storage meter (src/storage/meter.ts) reports to the test:
 *  `counter.calls()` is the subrequests made since the last reset. */
export function client(overrides: Partial<Env> = {}) {
  let calls = 0;
  const counter = {
    calls: () => calls,
    reset: () => {
      calls = 0;
    },
  };
  const app = createApp({
    onUsage: (usage) => {
      calls += subrequests(usage);
    },
  });
  const variant = { ...BASE_ENV, ...overrides } as Env;
  let cookies = new Map<string, string>();
  async function fetchPage(path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (cookies.size > 0) headers.set("Cookie", [...cookies].map(([k, v]) => `${k}=${v}`).join("; "));
    const response = await app.fetch(
      new Request(BASE + path, { ...init, headers, redirect: "manual" }),
      variant,
      createExecutionContext(),
    );
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(";");
      const [name, value] = pair!.split("=") as [string, string];
      if (value === "" || /Max-Age=0/.test(line)) cookies.delete(name);
      else cookies.set(name, value);
    }
    return response;
  }
  return {
    counter,
    fetchPage,
    cookies: () => new Map(cookies),
    setCookies: (next: Map<string, string>) => {
      cookies = new Map(next);
    },
    async post(path: string, form: Record<string, string>, origin: string | null = BASE) {
      return fetchPage(path, {
        method: "POST",
        body: new URLSearchParams(form),
        headers: { "Content-Type": "application/x-www-form-urlencoded", ...(origin ? { Origin: origin } : {}) },
      });
    },
    async signIn(username: string, password: string): Promise<Response> {
      const page = await (await fetchPage("/-/login")).text();
      return this.post("/-/login", { _csrf: csrfIn(page), username, password, next: "/" });
    },
  };
}

export function csrfIn(html: string): string {
  const match = /name="_csrf" value="([^"]+)"/.exec(html);
  if (!match) throw new Error("page has no CSRF field");
  return match[1]!;
}
