// Resolves credentials to an Identity under the deployment's configured modes:
// USERNAME/PASSWORD (pull, push, delete), READONLY_USERNAME/READONLY_PASSWORD (pull), and a
// JWT signed by the key in JWT_REGISTRY_TOKENS_PUBLIC_KEY used as the password.
import { importJWK, jwtVerify, type JWK } from "jose";
import type { Env } from "../config";
import { secretsEqual } from "./constant-time";
import { globalIdentity, type Action, type Identity } from "./identity";

export function credentialsConfigured(env: Env): boolean {
  return Boolean((env.USERNAME && env.PASSWORD) || (env.READONLY_USERNAME && env.READONLY_PASSWORD) || env.JWT_REGISTRY_TOKENS_PUBLIC_KEY);
}

const FULL: Action[] = ["pull", "push", "delete"];

export async function identityFromPassword(env: Env, username: string, password: string): Promise<Identity | null> {
  if (env.USERNAME && env.PASSWORD) {
    const [u, p] = await Promise.all([secretsEqual(username, env.USERNAME), secretsEqual(password, env.PASSWORD)]);
    if (u && p) return globalIdentity(`user:${username}`, FULL, true);
  }
  if (env.READONLY_USERNAME && env.READONLY_PASSWORD) {
    const [u, p] = await Promise.all([secretsEqual(username, env.READONLY_USERNAME), secretsEqual(password, env.READONLY_PASSWORD)]);
    if (u && p) return globalIdentity(`user:${username}`, ["pull"], true);
  }
  if (env.JWT_REGISTRY_TOKENS_PUBLIC_KEY && password.split(".").length === 3) {
    return identityFromSignedPassword(env, username, password);
  }
  return null;
}

/** Algorithms accepted for each JWK key type; pinning them refuses alg "none" and HMAC
 *  confusion with the public key. */
function algorithmsFor(jwk: JWK): string[] {
  if (jwk.kty === "EC") return ["ES256", "ES384"];
  if (jwk.kty === "RSA") return ["RS256", "RS384", "RS512", "PS256"];
  if (jwk.kty === "OKP") return ["EdDSA", "Ed25519"];
  return [];
}

const keyCache = new Map<string, { key: CryptoKey | Uint8Array; algorithms: string[] }>();

async function publicKey(encoded: string): Promise<{ key: CryptoKey | Uint8Array; algorithms: string[] } | null> {
  const cached = keyCache.get(encoded);
  if (cached) return cached;
  try {
    const jwk = JSON.parse(atob(encoded.trim())) as JWK;
    const algorithms = algorithmsFor(jwk);
    if (algorithms.length === 0 || "d" in jwk) return null;
    const alg = jwk.alg ?? algorithms[0];
    const entry = { key: await importJWK(jwk, alg), algorithms: jwk.alg ? [jwk.alg] : algorithms };
    keyCache.set(encoded, entry);
    return entry;
  } catch {
    console.error("JWT_REGISTRY_TOKENS_PUBLIC_KEY is not a base64-encoded public JWK");
    return null;
  }
}

async function identityFromSignedPassword(env: Env, username: string, token: string): Promise<Identity | null> {
  const key = await publicKey(env.JWT_REGISTRY_TOKENS_PUBLIC_KEY!);
  if (!key) return null;
  try {
    const { payload } = await jwtVerify(token, key.key, {
      algorithms: key.algorithms,
      requiredClaims: ["exp"],
      audience: env.JWT_REGISTRY_TOKENS_AUDIENCE || undefined,
      issuer: env.JWT_REGISTRY_TOKENS_ISSUER || undefined,
    });
    const capabilities = Array.isArray(payload.capabilities) ? payload.capabilities : [];
    const actions = FULL.filter((a) => capabilities.includes(a) || (a === "delete" && capabilities.includes("push")));
    if (actions.length === 0) return null;
    const subject = typeof payload.username === "string" ? payload.username : username;
    if (typeof payload.username === "string" && username !== "" && username !== payload.username) return null;
    return globalIdentity(`jwt:${subject}`, actions, true);
  } catch {
    return null;
  }
}
