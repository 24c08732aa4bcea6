// JWTs signed by the deployment's own key pair (JWT_REGISTRY_TOKENS_PUBLIC_KEY), used as a
// Basic password or sent as a Bearer token. Claims: capabilities (["pull"] or
// ["pull","push"]), exp and username (both required), and aud/iss when configured.
import { calculateJwkThumbprint, decodeProtectedHeader, importJWK, jwtVerify, type JWK } from "jose";
import type { AuthConfig } from "../config/auth";
import { globalIdentity, SUBJECT_PREFIX } from "./identity";
import type { Identity } from "../registry/identity";
import type { Action } from "../config/auth";

/** Algorithms accepted for each JWK key type; pinning them refuses alg "none" and HMAC
 *  confusion with the public key. */
function algorithmsFor(jwk: JWK): string[] {
  if (jwk.kty === "EC") return ["ES256", "ES384"];
  if (jwk.kty === "RSA") return ["RS256", "RS384", "RS512", "PS256"];
  if (jwk.kty === "OKP") return ["EdDSA", "Ed25519"];
  return [];
}

interface VerifyKey {
  key: CryptoKey | Uint8Array;
  algorithms: string[];
  /** RFC 7638 thumbprint: refresh tokens from a JWT password are bound to it. */
  thumbprint: string;
}

const keyCache = new Map<string, VerifyKey>();

async function publicKey(encoded: string): Promise<VerifyKey | null> {
  const cached = keyCache.get(encoded);
  if (cached) return cached;
  try {
    const jwk = JSON.parse(atob(encoded.trim())) as JWK;
    const algorithms = algorithmsFor(jwk);
    if (algorithms.length === 0 || "d" in jwk) return null;
    if (jwk.alg && !algorithms.includes(jwk.alg)) return null;
    const entry = {
      key: await importJWK(jwk, jwk.alg ?? algorithms[0]),
      algorithms: jwk.alg ? [jwk.alg] : algorithms,
      thumbprint: await calculateJwkThumbprint(jwk, "sha256"),
    };
    keyCache.set(encoded, entry);
    return entry;
  } catch {
    console.error("JWT_REGISTRY_TOKENS_PUBLIC_KEY is not a base64-encoded public JWK");
    return null;
  }
}

/** The configured verification key's thumbprint, or null when there is no usable key. */
export async function signingKeyThumbprint(auth: AuthConfig): Promise<string | null> {
  if (!auth.publicKey) return null;
  return (await publicKey(auth.publicKey))?.thumbprint ?? null;
}

/** True when the token's header names an algorithm of the public-key mode (not HS256). */
export function looksAsymmetric(token: string): boolean {
  try {
    const alg = decodeProtectedHeader(token).alg;
    return typeof alg === "string" && !alg.startsWith("HS") && alg !== "none";
  } catch {
    return false;
  }
}

const FULL: Action[] = ["pull", "push", "delete"];
const MAX_USERNAME_LENGTH = 128;

export interface SignedTokenClaims {
  subject: string;
  actions: Action[];
  expiresAt: number | undefined;
}

/** Verifies a JWT signed by the configured key; its `username` claim is the subject, and the
 *  Basic `username` (may be "") must equal it. */
export async function verifySignedToken(
  auth: AuthConfig,
  username: string,
  token: string,
): Promise<SignedTokenClaims | null> {
  if (!auth.publicKey) return null;
  const key = await publicKey(auth.publicKey);
  if (!key) return null;
  try {
    const { payload } = await jwtVerify(token, key.key, {
      algorithms: key.algorithms,
      requiredClaims: ["exp"],
      audience: auth.audience ?? undefined,
      issuer: auth.issuer ?? undefined,
    });
    const capabilities = Array.isArray(payload.capabilities) ? payload.capabilities : [];
    const actions = FULL.filter((a) => capabilities.includes(a) || (a === "delete" && capabilities.includes("push")));
    if (actions.length === 0) return null;
    // The subject comes from what the key signed, never from the Basic name beside it: a
    // token that names nobody would otherwise act as any jwt:<name> the caller types, with
    // that user's upload sessions and refresh tokens.
    const claimed = payload.username;
    if (typeof claimed !== "string" || claimed === "") return null;
    // Team user names have the same bound; it keeps subjects, and so tokens, small.
    if (claimed.length > MAX_USERNAME_LENGTH) return null;
    if (username !== "" && username !== claimed) return null;
    return { subject: SUBJECT_PREFIX.jwt + claimed, actions, expiresAt: payload.exp };
  } catch {
    return null;
  }
}

/** A JWT password's identity: its actions on every repository, the catalog, never admin. */
export function signedTokenIdentity(claims: SignedTokenClaims): Identity {
  return { ...globalIdentity(claims.subject, claims.actions, { catalog: true }), expiresAt: claims.expiresAt };
}

export async function identityFromSignedToken(
  auth: AuthConfig,
  username: string,
  token: string,
): Promise<Identity | null> {
  const claims = await verifySignedToken(auth, username, token);
  return claims ? signedTokenIdentity(claims) : null;
}
