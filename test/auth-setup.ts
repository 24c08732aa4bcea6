// Shared by the auth tests: env variants built on the test bindings (each its own object,
// since parseConfig caches per env), a fetch through the app with such an env, a key pair
// for the JWT-password mode, and the users configuration the matrix runs against.
import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { exportJWK, generateKeyPair, SignJWT, type JWTPayload } from "jose";
import { hashPassword } from "../src/util/password-hash";
import { app } from "../src/app";
import type { Env } from "../src/config/config";
import { BASE } from "./helpers";

export const BASE_ENV = env as unknown as Env;

export type Fetch = (path: string, init?: RequestInit) => Promise<Response>;

export function fetcher(overrides: Partial<Record<keyof Env, string | undefined>>): Fetch {
  const variant = { ...BASE_ENV, ...overrides } as Env;
  return async (path, init = {}) =>
    app.fetch(new Request(path.startsWith("http") ? path : BASE + path, init), variant, createExecutionContext());
}

export interface KeyPair {
  publicJwkBase64: string;
  sign(claims: JWTPayload, alg?: string): Promise<string>;
}

export async function makeKeyPair(alg = "ES256"): Promise<KeyPair> {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = await exportJWK(publicKey);
  return {
    publicJwkBase64: btoa(JSON.stringify({ ...jwk, alg })),
    sign: (claims, signAlg = alg) => new SignJWT(claims).setProtectedHeader({ alg: signAlg }).sign(privateKey),
  };
}

export const PASSWORDS = { alice: "alice-secret", bob: "bob-secret" };

/** alice: everything on team-a/*, pull on shared/*, the catalog. bob: pull and push on
 *  team-b/* only. Hashes use the minimum iterations to keep tests fast. */
export async function usersJson(): Promise<string> {
  return JSON.stringify({
    alice: {
      password: await hashPassword(PASSWORDS.alice, 10_000),
      access: { "team-a/*": ["pull", "push", "delete"], "shared/*": ["pull"] },
      catalog: true,
    },
    bob: { password: await hashPassword(PASSWORDS.bob, 10_000), access: { "team-b/*": ["pull", "push"] } },
  });
}

export async function getToken(fetch: Fetch, auth: string | null, scopes: string[], extra = ""): Promise<Response> {
  const query = scopes.map((s) => `scope=${encodeURIComponent(s)}`).join("&");
  const headers: Record<string, string> = auth ? { Authorization: auth } : {};
  return fetch(`/v2/token?service=registry.test&${query}${extra}`, { headers });
}

export async function tokenFor(fetch: Fetch, auth: string | null, scopes: string[]): Promise<string> {
  const response = await getToken(fetch, auth, scopes);
  if (response.status !== 200) throw new Error(`token: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { token: string }).token;
}

/** The claims of a JWT, unverified (tests read what we issued). */
export function claimsOf(token: string): Record<string, unknown> {
  const part = token.split(".")[1]!.replace(/-/g, "+").replace(/_/g, "/");
  return JSON.parse(atob(part + "=".repeat((4 - (part.length % 4)) % 4)));
}
