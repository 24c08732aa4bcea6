// The hostile review's auth findings (issue 15), each with the attack it saw: credential
// kinds that share a name must not share an identity; refresh tokens die with the credential
// they came from; token requests are capped so that every issued token is usable; failed
// logins are throttled; the Bearer challenge names the configured public URL, not Host.
import { beforeAll, describe, expect, it, vi } from "vitest";
import { clientKey, LOGIN_THROTTLE_PERIOD_SECONDS } from "../src/auth/login-throttle";
import { hashPassword } from "../src/util/password-hash";
import { MAX_BEARER_TOKEN_LENGTH, MAX_SCOPES } from "../src/auth/scope";
import { fetcher, getToken, makeKeyPair, type Fetch } from "./auth-setup";
import { AUTH, basic, errorCode, seededBytes } from "./helpers";

let users: string;

beforeAll(async () => {
  users = JSON.stringify({
    // Named like the shared USERNAME login ("tester") of the test bindings.
    tester: { password: await hashPassword("team-tester-pw", 10_000), access: { "*": ["pull", "push", "delete"] } },
  });
});

describe("identity namespaces", () => {
  it("keeps a team user named like the shared login out of the shared login's upload session", async () => {
    const fetch: Fetch = fetcher({ AUTH_USERS_JSON: users });
    const start = await fetch("/v2/ns/app/blobs/uploads/", { method: "POST", headers: { Authorization: AUTH } });
    expect(start.status).toBe(202);
    const location = start.headers.get("Location")!;
    const intruder = basic("tester", "team-tester-pw");
    const patch = await fetch(location, {
      method: "PATCH",
      body: seededBytes(50, 1),
      headers: { Authorization: intruder, "Content-Type": "application/octet-stream" },
    });
    expect(patch.status).toBe(404);
    const status = await fetch(location, { headers: { Authorization: AUTH } });
    expect(status.status).toBe(204);
    expect(status.headers.get("Range")).toBe("0-0");
  });
});

describe("a JWT password names its own subject", () => {
  it("refuses a signed password without a username claim, whatever Basic name it comes with", async () => {
    const keys = await makeKeyPair();
    const fetch: Fetch = fetcher({ JWT_REGISTRY_TOKENS_PUBLIC_KEY: keys.publicJwkBase64 });
    const exp = Math.floor(Date.now() / 1000) + 600;
    const victim = basic("jwt-owner", await keys.sign({ username: "jwt-owner", capabilities: ["pull", "push"], exp }));
    const start = await fetch("/v2/jwt/app/blobs/uploads/", { method: "POST", headers: { Authorization: victim } });
    expect(start.status).toBe(202);
    const location = start.headers.get("Location")!;
    // The review's token: validly signed, full capabilities, no username.
    const nameless = await keys.sign({ capabilities: ["pull", "push"], exp });
    const intruder = basic("jwt-owner", nameless);
    expect((await fetch(location, { headers: { Authorization: intruder } })).status).toBe(401);
    expect((await fetch(location, { method: "DELETE", headers: { Authorization: intruder } })).status).toBe(401);
    const token = await fetch("/v2/token", {
      method: "POST",
      body: new URLSearchParams({ grant_type: "password", client_id: "t", username: "jwt-owner", password: nameless }),
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
    });
    expect(token.status).toBe(401);
    expect((await fetch("/v2/jwt/app/tags/list", { headers: { Authorization: `Bearer ${nameless}` } })).status).toBe(
      401,
    );
    // The victim's session is untouched.
    const status = await fetch(location, { headers: { Authorization: victim } });
    expect(status.status).toBe(204);
  });
});

describe("refresh tokens bound to their credential", () => {
  const post = (f: Fetch, form: Record<string, string>) =>
    f("/v2/token", {
      method: "POST",
      body: new URLSearchParams({ client_id: "test", ...form }).toString(),
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
    });

  async function refreshToken(f: Fetch, username: string, password: string): Promise<string> {
    const response = await post(f, {
      grant_type: "password",
      username,
      password,
      access_type: "offline",
      scope: "repository:bound/app:pull",
    });
    expect(response.status).toBe(200);
    return ((await response.json()) as { refresh_token: string }).refresh_token;
  }

  const refresh = (f: Fetch, token: string) =>
    post(f, {
      grant_type: "refresh_token",
      refresh_token: token,
      scope: "repository:bound/app:pull,push,delete registry:catalog:*",
    });

  it("revokes a JWT password's refresh tokens when JWT_REGISTRY_TOKENS_PUBLIC_KEY rotates", async () => {
    const [key1, key2] = [await makeKeyPair(), await makeKeyPair()];
    const jwt = await key1.sign({
      username: "ci",
      capabilities: ["pull", "push"],
      exp: Math.floor(Date.now() / 1000) + 3600,
    });
    const before = fetcher({ JWT_REGISTRY_TOKENS_PUBLIC_KEY: key1.publicJwkBase64 });
    const token = await refreshToken(before, "ci", jwt);
    expect((await refresh(before, token)).status).toBe(200);
    // A restart with key 2, the same JWT_STATE_SECRET: the review got full scope here.
    const after = fetcher({ JWT_REGISTRY_TOKENS_PUBLIC_KEY: key2.publicJwkBase64 });
    const refused = await refresh(after, token);
    expect(refused.status).toBe(401);
    expect(await errorCode(refused)).toBe("UNAUTHORIZED");
    expect((await refresh(fetcher({ JWT_REGISTRY_TOKENS_PUBLIC_KEY: undefined }), token)).status).toBe(401);
    expect(
      (
        await refresh(
          fetcher({ JWT_REGISTRY_TOKENS_PUBLIC_KEY: key1.publicJwkBase64, JWT_REGISTRY_TOKENS_AUDIENCE: "other" }),
          token,
        )
      ).status,
    ).toBe(401);
  });

  it("revokes a team user's refresh tokens when the user's password or rights change", async () => {
    const hash = await hashPassword("dana-pw", 10_000);
    const config = (access: Record<string, string[]>, extra: Record<string, unknown> = {}) =>
      fetcher({ AUTH_USERS_JSON: JSON.stringify({ dana: { password: hash, access, ...extra } }) });
    const original = config({ "bound/*": ["pull", "push"] });
    const token = await refreshToken(original, "dana", "dana-pw");
    expect((await refresh(original, token)).status).toBe(200);
    // Same rights written in another order: still the same credential.
    expect((await refresh(config({ "bound/*": ["push", "pull"] }), token)).status).toBe(200);
    expect((await refresh(config({ "bound/*": ["pull", "push", "delete"] }), token)).status).toBe(401);
    expect((await refresh(config({ "bound/*": ["pull", "push"] }, { catalog: true }), token)).status).toBe(401);
    expect((await refresh(config({ "bound/*": ["pull", "push"] }, { admin: true }), token)).status).toBe(401);
    const rehashed = JSON.stringify({
      dana: { password: await hashPassword("dana-pw", 10_000), access: { "bound/*": ["pull", "push"] } },
    });
    expect((await refresh(fetcher({ AUTH_USERS_JSON: rehashed }), token)).status).toBe(401);
  });
});

describe("PUBLIC_URL", () => {
  it("pins the Bearer challenge and Location headers instead of reflecting Host", async () => {
    const fetch = fetcher({ PUBLIC_URL: "https://registry.example.com" });
    const challenge = await fetch("http://evil.example/v2/");
    expect(challenge.status).toBe(401);
    expect(challenge.headers.get("WWW-Authenticate")).toBe(
      'Bearer realm="https://registry.example.com/v2/token",service="registry.example.com"',
    );
    const start = await fetch("http://evil.example/v2/pinned/app/blobs/uploads/", {
      method: "POST",
      headers: { Authorization: AUTH },
    });
    expect(start.status).toBe(202);
    expect(start.headers.get("Location")).toMatch(
      /^https:\/\/registry\.example\.com\/v2\/pinned\/app\/blobs\/uploads\/[^?]+\?_state=/,
    );
    // Tokens name the pinned service, whatever Host the token request came with.
    const token = await fetch(
      "http://evil.example/v2/token?service=registry.example.com&scope=repository:pinned/app:pull",
      { headers: { Authorization: AUTH } },
    );
    const claims = JSON.parse(
      atob(((await token.json()) as { token: string }).token.split(".")[1]!.replace(/-/g, "+").replace(/_/g, "/")),
    );
    expect(claims.aud).toBe("registry.example.com");
  });

  it("reflects nothing of Host without PUBLIC_URL into Location, and refuses a PUBLIC_URL with a path", async () => {
    const start = await fetcher({})("http://other.example/v2/pinned/app/blobs/uploads/", {
      method: "POST",
      headers: { Authorization: AUTH },
    });
    expect(start.headers.get("Location")).toMatch(/^\/v2\/pinned\/app\/blobs\/uploads\//);
    for (const bad of [
      "registry.example.com",
      "https://registry.example.com/sub",
      "ftp://registry.example.com",
      "https://u:p@registry.example.com",
    ]) {
      expect((await fetcher({ PUBLIC_URL: bad })("/v2/")).status, bad).toBe(503);
    }
  });
});

describe("token size", () => {
  const longName = (i: number) => `${String(i).padStart(3, "0")}/${"n".repeat(251)}`;
  const post = (f: Fetch, scopes: string[]) =>
    f("/v2/token", {
      method: "POST",
      body: new URLSearchParams({
        grant_type: "password",
        username: "tester",
        password: "test-password",
        client_id: "t",
        scope: scopes.join(" "),
      }).toString(),
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
    });

  it("issues only tokens its verifier accepts: the worst request within the cap is usable, one more scope is 400", async () => {
    const fetch = fetcher({});
    expect(longName(7)).toHaveLength(255);
    const worst = [
      ...Array.from({ length: MAX_SCOPES - 2 }, (_, i) => `repository:${longName(i)}:pull,push,delete`),
      "registry:catalog:*",
      "registry:admin:*",
    ];
    const response = await post(fetch, worst);
    expect(response.status).toBe(200);
    const { access_token: token } = (await response.json()) as { access_token: string };
    expect(token.length).toBeLessThanOrEqual(MAX_BEARER_TOKEN_LENGTH);
    const tags = await fetch(`/v2/${longName(MAX_SCOPES - 3)}/tags/list`, {
      headers: { Authorization: `Bearer ${token}` },
    });
    expect(tags.status).toBe(404);
    expect(await errorCode(tags)).toBe("NAME_UNKNOWN");
    expect((await fetch("/v2/_gc/reports?n=1", { headers: { Authorization: `Bearer ${token}` } })).status).toBe(200);
    const over = await post(fetch, [...worst, "repository:one/more:pull"]);
    expect(over.status).toBe(400);
    expect((await getToken(fetch, AUTH, [...worst, "repository:one/more:pull"])).status).toBe(400);
  });
});

describe("failed-login throttle ([[ratelimits]] in wrangler.toml, simulated by Miniflare)", () => {
  const from = (ip: string, auth: string) => ({ headers: { Authorization: auth, "CF-Connecting-IP": ip } });
  /** Miniflare's limiter counts in windows aligned to the clock (floor(now / period)), so a
   *  burst that straddles a boundary is counted in two windows and never reaches the limit.
   *  Each burst below starts in a window with at least half of it left. */
  async function freshWindow(): Promise<void> {
    const periodMs = LOGIN_THROTTLE_PERIOD_SECONDS * 1000;
    const left = periodMs - (Date.now() % periodMs);
    if (left < periodMs / 2) await new Promise((r) => setTimeout(r, left + 50));
  }

  it("answers 429 TOOMANYREQUESTS with Retry-After once a user name has had 10 attempts a minute, the right password included", async () => {
    const fetch = fetcher({ AUTH_USERS_JSON: users });
    const statuses: number[] = [];
    await freshWindow();
    for (let i = 0; i < 12; i++)
      statuses.push((await fetch("/v2/", from(`198.51.100.${i}`, basic("victim", `guess-${i}`)))).status);
    expect(statuses.slice(0, 10)).toEqual(Array(10).fill(401));
    expect(statuses.slice(10)).toEqual([429, 429]);
    const limited = await fetch("/v2/token?service=registry.test", from("198.51.100.99", basic("victim", "guess-x")));
    expect(limited.status).toBe(429);
    expect(limited.headers.get("Retry-After")).toBe(String(LOGIN_THROTTLE_PERIOD_SECONDS));
    expect(await errorCode(limited)).toBe("TOOMANYREQUESTS");
    // Other names are not held back; a pair that signed in before skips the throttle.
    expect((await fetch("/v2/", from("198.51.100.1", AUTH))).status).toBe(200);
  });

  it("limits one client to 60 attempts a minute across user names", async () => {
    const fetch = fetcher({});
    const statuses: number[] = [];
    await freshWindow();
    for (let i = 0; i < 62; i++)
      statuses.push((await fetch("/v2/", from("203.0.113.7", basic(`name-${i}`, "wrong")))).status);
    expect(statuses.filter((s) => s === 401)).toHaveLength(60);
    expect(statuses.slice(60)).toEqual([429, 429]);
    expect((await fetch("/v2/", from("203.0.113.8", basic("name-x", "wrong")))).status).toBe(401);
  });

  it("costs an unknown user the same PBKDF2 work as a known one", async () => {
    const heavy = JSON.stringify({ known: { password: await hashPassword("known-pw", 20_000), access: {} } });
    const fetch = fetcher({ AUTH_USERS_JSON: heavy });
    const derive = vi.spyOn(crypto.subtle, "deriveBits");
    const pbkdf2 = () =>
      derive.mock.calls
        .filter(([params]) => (params as { name: string }).name === "PBKDF2")
        .map(([params]) => (params as { iterations: number }).iterations);
    expect((await fetch("/v2/", from("192.0.2.1", basic("known", "wrong")))).status).toBe(401);
    const known = pbkdf2();
    derive.mockClear();
    expect((await fetch("/v2/", from("192.0.2.2", basic("unknown", "wrong")))).status).toBe(401);
    expect(pbkdf2()).toEqual(known);
    expect(known).toEqual([20_000]);
    // A valid JWT password is no guess to hide: it pays no PBKDF2 at all.
    const keys = await makeKeyPair();
    const jwt = await keys.sign({ username: "ci", capabilities: ["pull"], exp: Math.floor(Date.now() / 1000) + 600 });
    const withJwt = fetcher({ AUTH_USERS_JSON: heavy, JWT_REGISTRY_TOKENS_PUBLIC_KEY: keys.publicJwkBase64 });
    derive.mockClear();
    expect((await withJwt("/v2/", from("192.0.2.3", basic("ci", jwt)))).status).toBe(200);
    expect(pbkdf2()).toEqual([]);
    derive.mockRestore();
  });
});

describe("throttle client keys", () => {
  it("counts an IPv6 client by its /64, however the address is written", () => {
    for (const ip of ["2001:db8:1:2::1", "2001:0db8:0001:0002:ffff:0:0:9", "2001:DB8:1:2:a:b:c:d"])
      expect(clientKey(ip), ip).toBe("2001:db8:1:2::/64");
    expect(clientKey("::1")).toBe("0:0:0:0::/64");
    expect(clientKey("2001:db8::")).toBe("2001:db8:0:0::/64");
    expect(clientKey("203.0.113.7")).toBe("203.0.113.7");
    expect(clientKey(undefined)).toBe("unknown");
  });
});
