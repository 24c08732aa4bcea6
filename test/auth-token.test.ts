// The token endpoint (GET with Basic, OAuth2 POST, refresh tokens), the challenges that
// lead clients to it, and the refusals the issue lists: alg none, algorithm confusion,
// expired and not-yet-valid tokens, wrong audience or issuer, a token for another
// repository, a token signed by another key. Also CORS, unconfigured and anonymous-only
// deployments, mounts and upload sessions under tokens, and that nothing secret is logged.
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { SignJWT } from "jose";
import { issueAccessToken, TOKEN_ISSUER } from "../src/auth/access-token";
import {
  claimsOf,
  fetcher,
  getToken,
  makeKeyPair,
  PASSWORDS,
  tokenFor,
  usersJson,
  type Fetch,
  type KeyPair,
} from "./auth-setup";
import { AUTH, basic, pushBlob, pushImage, seededBytes } from "./helpers";

const SECRET = "test-state-secret-0123456789abcdef";
let fetch: Fetch;
let keys: KeyPair;
let users: string;

beforeAll(async () => {
  keys = await makeKeyPair();
  users = await usersJson();
  fetch = fetcher({ AUTH_USERS_JSON: users, JWT_REGISTRY_TOKENS_PUBLIC_KEY: keys.publicJwkBase64 });
  await pushImage("team-b/app", "latest", 51);
  await pushBlob("shared/lib", seededBytes(64, 6));
});
afterEach(() => vi.restoreAllMocks());

const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

/** The access-token key, derived here independently (HKDF-SHA256 as access-token.ts says). */
async function accessKey(): Promise<Uint8Array> {
  const base = await crypto.subtle.importKey("raw", new TextEncoder().encode(SECRET), "HKDF", false, ["deriveBits"]);
  const params = {
    name: "HKDF",
    hash: "SHA-256",
    salt: new TextEncoder().encode(TOKEN_ISSUER),
    info: new TextEncoder().encode("registry access token v1"),
  };
  return new Uint8Array(await crypto.subtle.deriveBits(params, base, 256));
}

async function forge(
  claims: Record<string, unknown>,
  options: { key?: Uint8Array; iat?: number; nbf?: number; exp?: number } = {},
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const access = [{ type: "repository", name: "team-b/app", actions: ["pull", "push", "delete"] }];
  return new SignJWT({ iss: TOKEN_ISSUER, sub: "admin:tester", aud: "registry.test", access, ...claims })
    .setProtectedHeader({ alg: "HS256" })
    .setIssuedAt(options.iat ?? now)
    .setNotBefore(options.nbf ?? now)
    .setExpirationTime(options.exp ?? now + 300)
    .sign(options.key ?? (await accessKey()));
}

async function status(token: string, path = "/v2/team-b/app/tags/list"): Promise<number> {
  return (await fetch(path, { headers: bearer(token) })).status;
}

describe("challenges", () => {
  it("sends Bearer challenges: bare on /v2/, with the scope on repository endpoints", async () => {
    const base = await fetch("/v2/");
    expect(base.status).toBe(401);
    expect(base.headers.get("WWW-Authenticate")).toBe(
      'Bearer realm="http://registry.test/v2/token",service="registry.test"',
    );
    const push = await fetch("/v2/team-a/app/blobs/uploads/", { method: "POST" });
    expect(push.headers.get("WWW-Authenticate")).toBe(
      'Bearer realm="http://registry.test/v2/token",service="registry.test",scope="repository:team-a/app:pull,push"',
    );
    const bad = await fetch("/v2/team-a/app/tags/list", { headers: bearer("not.a.token") });
    expect(bad.headers.get("WWW-Authenticate")).toContain('error="invalid_token"');
  });

  it("falls back to Basic challenges with AUTH_CHALLENGE=basic or without JWT_STATE_SECRET", async () => {
    for (const f of [fetcher({ AUTH_CHALLENGE: "basic" }), fetcher({ JWT_STATE_SECRET: undefined })]) {
      const response = await f("/v2/");
      expect(response.headers.get("WWW-Authenticate")).toMatch(/^Basic realm="registry\.test"/);
    }
    expect(
      (await fetcher({ JWT_STATE_SECRET: undefined })("/v2/token", { headers: { Authorization: AUTH } })).status,
    ).toBe(503);
  });
});

describe("GET /v2/token", () => {
  it("issues a short-lived token per the Docker token spec", async () => {
    const response = await getToken(
      fetch,
      AUTH,
      ["repository:team-b/app:pull,push"],
      "&account=tester&client_id=docker",
    );
    expect(response.status).toBe(200);
    expect(response.headers.get("Cache-Control")).toBe("no-store");
    const body = (await response.json()) as Record<string, unknown>;
    expect(body.token).toBe(body.access_token);
    expect(body.expires_in).toBe(300);
    expect(Date.parse(body.issued_at as string)).toBeGreaterThan(Date.now() - 60_000);
    expect(body.refresh_token).toBeUndefined();
    const claims = claimsOf(body.token as string);
    expect(claims).toMatchObject({
      iss: TOKEN_ISSUER,
      sub: "admin:tester",
      aud: "registry.test",
      access: [{ type: "repository", name: "team-b/app", actions: ["pull", "push"] }],
    });
    expect((claims.exp as number) - (claims.iat as number)).toBe(300);
    expect(typeof claims.jti).toBe("string");
    expect(await status(body.token as string)).toBe(200);
  });

  it("walks docker login: 401 on /v2/, token with credentials, then 200 with the token", async () => {
    const realm = /realm="([^"]+)"/.exec((await fetch("/v2/")).headers.get("WWW-Authenticate")!)![1]!;
    const token = await fetch(`${realm}?account=alice&client_id=docker&offline_token=true&service=registry.test`, {
      headers: { Authorization: basic("alice", PASSWORDS.alice) },
    });
    expect(token.status).toBe(200);
    const body = (await token.json()) as { token: string; refresh_token?: string };
    expect(body.refresh_token).toBeTruthy();
    expect((await fetch("/v2/", { headers: bearer(body.token) })).status).toBe(200);
  });

  it("refuses wrong passwords, a mismatched account and anonymous callers when anonymous pull is off", async () => {
    const wrong = await getToken(fetch, basic("alice", "nope"), []);
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get("WWW-Authenticate")).toMatch(/^Basic /);
    expect((await getToken(fetch, basic("alice", PASSWORDS.alice), [], "&account=bob")).status).toBe(401);
    expect((await getToken(fetch, null, ["repository:team-b/app:pull"])).status).toBe(401);
    expect((await getToken(fetch, "Bearer x.y.z", [])).status).toBe(401);
  });

  it("merges repeated and space-separated scopes and drops what the user may not do", async () => {
    const token = await tokenFor(fetch, basic("bob", PASSWORDS.bob), [
      "repository:team-b/app:pull",
      "repository:team-b/app:push,delete repository:team-a/app:pull",
      "registry:catalog:*",
    ]);
    expect(claimsOf(token).access).toEqual([{ type: "repository", name: "team-b/app", actions: ["pull", "push"] }]);
  });
});

describe("OAuth2 POST /v2/token", () => {
  const post = (f: Fetch, form: Record<string, string>) =>
    f("/v2/token", {
      method: "POST",
      body: new URLSearchParams(form).toString(),
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
    });

  it("grants with a password, returns a refresh token offline, and refreshes with it", async () => {
    const first = await post(fetch, {
      grant_type: "password",
      username: "alice",
      password: PASSWORDS.alice,
      client_id: "docker",
      access_type: "offline",
      service: "registry.test",
      scope: "repository:team-a/app:pull,push repository:team-b/app:pull",
    });
    expect(first.status).toBe(200);
    const body = (await first.json()) as {
      access_token: string;
      refresh_token: string;
      scope: string;
      expires_in: number;
    };
    expect(body.scope).toBe("repository:team-a/app:pull,push");
    expect(body.expires_in).toBe(300);
    const refreshed = await post(fetch, {
      grant_type: "refresh_token",
      refresh_token: body.refresh_token,
      client_id: "docker",
      scope: "repository:team-a/app:delete",
    });
    expect(refreshed.status).toBe(200);
    const again = (await refreshed.json()) as { access_token: string; refresh_token?: string };
    expect(again.refresh_token).toBeUndefined();
    expect(claimsOf(again.access_token)).toMatchObject({
      sub: "user:alice",
      access: [{ type: "repository", name: "team-a/app", actions: ["delete"] }],
    });
    // The refresh token is not an access token, and an access token is not a refresh token.
    expect(await status(body.refresh_token, "/v2/")).toBe(401);
    expect(
      (await post(fetch, { grant_type: "refresh_token", refresh_token: body.access_token, client_id: "docker" }))
        .status,
    ).toBe(401);
  });

  it("revokes refresh tokens when the password changes", async () => {
    const response = await getToken(fetch, AUTH, [], "&offline_token=true");
    const { refresh_token } = (await response.json()) as { refresh_token: string };
    const form = { grant_type: "refresh_token", refresh_token, client_id: "docker" };
    expect((await post(fetch, form)).status).toBe(200);
    expect((await post(fetcher({ AUTH_USERS_JSON: users, PASSWORD: "rotated-password" }), form)).status).toBe(401);
  });

  it("answers malformed requests with 400 or 401, never 500", async () => {
    expect((await post(fetch, { grant_type: "password", username: "alice", password: PASSWORDS.alice })).status).toBe(
      400,
    );
    expect((await post(fetch, { grant_type: "client_credentials", client_id: "x" })).status).toBe(400);
    expect((await post(fetch, { client_id: "x" })).status).toBe(400);
    expect(
      (await post(fetch, { grant_type: "password", client_id: "x", username: "alice", password: "wrong" })).status,
    ).toBe(401);
    expect((await post(fetch, { grant_type: "refresh_token", client_id: "x", refresh_token: "garbage" })).status).toBe(
      401,
    );
    const code = (await (await post(fetch, { client_id: "x" })).json()) as { errors: { code: string }[] };
    // The spec has no code for a malformed token request: it goes out as UNSUPPORTED.
    expect(code.errors[0]!.code).toBe("UNSUPPORTED");
  });
});

describe("refused tokens", () => {
  it("accepts a well-formed forged-with-the-right-key token (control)", async () => {
    expect(await status(await forge({}))).toBe(200);
  });

  it("refuses alg none", async () => {
    const enc = (o: unknown) => btoa(JSON.stringify(o)).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
    const now = Math.floor(Date.now() / 1000);
    const payload = {
      iss: TOKEN_ISSUER,
      sub: "admin:tester",
      aud: "registry.test",
      exp: now + 300,
      access: [{ type: "repository", name: "team-b/app", actions: ["pull"] }],
    };
    expect(await status(`${enc({ alg: "none" })}.${enc(payload)}.`)).toBe(401);
    expect(
      await status(
        `${enc({ alg: "none", typ: "JWT" })}.${enc({ ...payload, capabilities: ["pull"], username: "ci" })}.`,
      ),
    ).toBe(401);
  });

  it("refuses algorithm confusion: HS256 keyed with the public key, or with the raw state secret", async () => {
    const publicText = new TextEncoder().encode(atob(keys.publicJwkBase64));
    const confused = await new SignJWT({ capabilities: ["pull", "push"], username: "ci" })
      .setProtectedHeader({ alg: "HS256" })
      .setExpirationTime("1h")
      .sign(publicText);
    expect(await status(confused)).toBe(401);
    expect(
      (await fetch("/v2/team-b/app/tags/list", { headers: { Authorization: basic("ci", confused) } })).status,
    ).toBe(401);
    expect(await status(await forge({}, { key: new TextEncoder().encode(SECRET) }))).toBe(401);
  });

  it("refuses expired and not-yet-valid tokens", async () => {
    const now = Math.floor(Date.now() / 1000);
    expect(await status(await forge({}, { iat: now - 600, nbf: now - 600, exp: now - 10 }))).toBe(401);
    expect(await status(await forge({}, { nbf: now + 600, exp: now + 900 }))).toBe(401);
    const expiredJwt = await keys.sign({ capabilities: ["pull"], username: "ci", exp: now - 10 });
    expect(
      (await fetch("/v2/team-b/app/tags/list", { headers: { Authorization: basic("ci", expiredJwt) } })).status,
    ).toBe(401);
  });

  it("refuses a wrong audience or issuer", async () => {
    expect(await status(await forge({ aud: "other.test" }))).toBe(401);
    expect(await status(await forge({ iss: "someone-else" }))).toBe(401);
    expect(await status((await issueAccessToken(SECRET, "admin:tester", "other.test", [], 300)).token)).toBe(401);
    const strict = fetcher({
      JWT_REGISTRY_TOKENS_PUBLIC_KEY: keys.publicJwkBase64,
      JWT_REGISTRY_TOKENS_AUDIENCE: "registry",
      JWT_REGISTRY_TOKENS_ISSUER: "ci-issuer",
    });
    const exp = Math.floor(Date.now() / 1000) + 300;
    const pass = async (claims: Record<string, unknown>) =>
      (
        await strict("/v2/team-b/app/tags/list", {
          headers: {
            Authorization: basic("ci", await keys.sign({ capabilities: ["pull"], username: "ci", exp, ...claims })),
          },
        })
      ).status;
    expect(await pass({ aud: "registry", iss: "ci-issuer" })).toBe(200);
    expect(await pass({ aud: "elsewhere", iss: "ci-issuer" })).toBe(401);
    expect(await pass({ aud: "registry", iss: "mallory" })).toBe(401);
  });

  it("refuses a token for another repository with insufficient_scope", async () => {
    const token = await tokenFor(fetch, AUTH, ["repository:team-a/app:pull"]);
    const response = await fetch("/v2/team-b/app/tags/list", { headers: bearer(token) });
    expect(response.status).toBe(401);
    expect(response.headers.get("WWW-Authenticate")).toContain(
      'scope="repository:team-b/app:pull",error="insufficient_scope"',
    );
  });

  it("refuses tokens signed by another key", async () => {
    expect(
      await status(
        (
          await issueAccessToken(
            "another-secret-entirely-0123456789",
            "admin:tester",
            "registry.test",
            [{ type: "repository", name: "team-b/app", actions: ["pull"] }],
            300,
          )
        ).token,
      ),
    ).toBe(401);
    const other = await makeKeyPair();
    const exp = Math.floor(Date.now() / 1000) + 300;
    expect(await status(await other.sign({ capabilities: ["pull"], username: "ci", exp }))).toBe(401);
    expect(
      (
        await fetch("/v2/team-b/app/tags/list", {
          headers: { Authorization: basic("ci", await other.sign({ capabilities: ["pull"], username: "ci", exp })) },
        })
      ).status,
    ).toBe(401);
  });

  it("refuses an upload-state token as a bearer token", async () => {
    const location = (
      await fetch("/v2/team-b/app/blobs/uploads/", { method: "POST", headers: { Authorization: AUTH } })
    ).headers.get("Location")!;
    const state = new URL(location, "http://x").searchParams.get("_state")!;
    expect(await status(state)).toBe(401);
  });
});

describe("CORS", () => {
  const UI = "https://ui.example";

  it("sends no CORS headers unless CORS_ALLOWED_ORIGINS is set", async () => {
    const response = await fetch("/v2/", { headers: { Origin: UI } });
    expect(response.headers.get("Access-Control-Allow-Origin")).toBeNull();
  });

  it("answers preflights and exposes the registry's headers to listed origins only", async () => {
    const f = fetcher({ CORS_ALLOWED_ORIGINS: `${UI}, https://other.example` });
    const preflight = await f("/v2/team-b/app/manifests/latest", {
      method: "OPTIONS",
      headers: {
        Origin: UI,
        "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "authorization",
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("Access-Control-Allow-Origin")).toBe(UI);
    expect(preflight.headers.get("Access-Control-Allow-Headers")).toContain("Authorization");
    const refused = await f("/v2/", { headers: { Origin: UI } });
    expect(refused.status).toBe(401);
    expect(refused.headers.get("Access-Control-Allow-Origin")).toBe(UI);
    const exposed = refused.headers.get("Access-Control-Expose-Headers") ?? "";
    for (const name of ["Docker-Content-Digest", "Location", "Range", "WWW-Authenticate", "OCI-Chunk-Min-Length"])
      expect(exposed).toContain(name);
    const ok = await f("/v2/team-b/app/manifests/latest", { headers: { Origin: UI, Authorization: AUTH } });
    expect(ok.status).toBe(200);
    expect(ok.headers.get("Access-Control-Allow-Origin")).toBe(UI);
    const stranger = await f("/v2/", { headers: { Origin: "https://evil.example" } });
    expect(stranger.headers.get("Access-Control-Allow-Origin")).toBeNull();
  });
});

describe("logging", () => {
  it("never logs a password, token or Authorization header", async () => {
    const lines: string[] = [];
    for (const level of ["log", "info", "warn", "error", "debug"] as const) {
      vi.spyOn(console, level).mockImplementation((...args: unknown[]) => void lines.push(args.map(String).join(" ")));
    }
    const token = await tokenFor(fetch, AUTH, ["repository:team-b/app:pull"]);
    const secrets = ["test-password", PASSWORDS.alice, token, "wrong-password-123", "garbage.token.value"];
    await fetch("/v2/team-b/app/tags/list", { headers: { Authorization: `Bearer ${token}` } });
    await fetch("/v2/team-b/app/tags/list", { headers: { Authorization: basic("tester", "wrong-password-123") } });
    await fetch("/v2/team-b/app/tags/list", { headers: { Authorization: "Bearer garbage.token.value" } });
    await getToken(fetch, basic("alice", "wrong-password-123"), []);
    await fetcher({ AUTH_USERS_JSON: '{"x":{"password":"wrong-password-123"}}' })("/v2/");
    await fetcher({ JWT_REGISTRY_TOKENS_PUBLIC_KEY: "garbage.token.value" })("/v2/", {
      headers: { Authorization: basic("ci", "a.b.c") },
    });
    const logged = lines.join("\n");
    for (const secret of secrets) expect(logged).not.toContain(secret);
  });
});
