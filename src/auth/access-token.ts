// Tokens the registry issues at its token endpoint and accepts as Bearer credentials
// (distribution docs/spec/auth/jwt.md): HS256 JWTs with iss, sub, aud (the service), exp,
// nbf, iat, jti and an `access` claim listing exactly the granted scopes. Refresh tokens
// (docs/spec/auth/oauth.md) are JWTs too, signed with a different key.
//
// Both keys are derived from JWT_STATE_SECRET with HKDF under distinct labels, so the
// registry needs no extra secret, and no upload-state token, access token or refresh token
// can ever pass as one of the others. The registry is both issuer and verifier, so a
// symmetric key is enough; verification pins HS256, which refuses alg "none" and any
// asymmetric algorithm.
import { jwtVerify, SignJWT, type JWTPayload } from "jose";
import { deriveSecretKey } from "../util/derived-key";
import { toBase64Url } from "../util/base64url";
import { readAccessClaim, type AccessEntry } from "./scope";

export const TOKEN_ISSUER = "r2-oci-registry";
const ACCESS_LABEL = "registry access token v1";
const REFRESH_LABEL = "registry refresh token v1";

function deriveKey(secret: string, label: string): Promise<Uint8Array> {
  return deriveSecretKey(secret, TOKEN_ISSUER, label);
}

export interface IssuedToken {
  token: string;
  expiresIn: number;
  issuedAt: string;
}

function randomId(): string {
  return toBase64Url(crypto.getRandomValues(new Uint8Array(12)));
}

export async function issueAccessToken(
  secret: string,
  subject: string,
  service: string,
  access: AccessEntry[],
  ttlSeconds: number,
): Promise<IssuedToken> {
  const now = Math.floor(Date.now() / 1000);
  const token = await new SignJWT({ access })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setIssuer(TOKEN_ISSUER)
    .setSubject(subject)
    .setAudience(service)
    .setIssuedAt(now)
    .setNotBefore(now)
    .setExpirationTime(now + ttlSeconds)
    .setJti(randomId())
    .sign(await deriveKey(secret, ACCESS_LABEL));
  return { token, expiresIn: ttlSeconds, issuedAt: new Date(now * 1000).toISOString() };
}

export interface VerifiedAccess {
  subject: string;
  access: AccessEntry[];
}

async function verify(secret: string, label: string, token: string, service: string): Promise<JWTPayload | null> {
  try {
    const { payload } = await jwtVerify(token, await deriveKey(secret, label), {
      algorithms: ["HS256"],
      issuer: TOKEN_ISSUER,
      audience: service,
      requiredClaims: ["exp", "sub"],
    });
    return payload;
  } catch {
    return null;
  }
}

/** Checks signature, iss, aud, exp and nbf; null for any token that fails. */
export async function verifyAccessToken(
  secret: string,
  token: string,
  service: string,
): Promise<VerifiedAccess | null> {
  const payload = await verify(secret, ACCESS_LABEL, token, service);
  if (!payload || typeof payload.sub !== "string" || payload.sub === "") return null;
  return { subject: payload.sub, access: readAccessClaim(payload.access) };
}

export interface RefreshClaims {
  subject: string;
  /** Keyed digest of the credential it was issued for; see fingerprint(). */
  fingerprint?: string;
  /** Actions, for subjects whose rights cannot be looked up again (JWT passwords). */
  actions?: string[];
}

/** HMAC of the account's secret under the refresh key: changes when the password (or its
 *  hash) changes, and reveals nothing about it. */
export async function fingerprint(secret: string, subject: string, credential: string): Promise<string> {
  const key = await crypto.subtle.importKey(
    "raw",
    await deriveKey(secret, REFRESH_LABEL),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const mac = await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(`${subject}\u0000${credential}`));
  return toBase64Url(new Uint8Array(mac).slice(0, 18));
}

export async function issueRefreshToken(
  secret: string,
  service: string,
  claims: RefreshClaims,
  expiresAt: number,
): Promise<string> {
  const body: JWTPayload = {};
  if (claims.fingerprint) body.fp = claims.fingerprint;
  if (claims.actions) body.actions = claims.actions;
  return new SignJWT(body)
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setIssuer(TOKEN_ISSUER)
    .setSubject(claims.subject)
    .setAudience(service)
    .setIssuedAt()
    .setExpirationTime(expiresAt)
    .setJti(randomId())
    .sign(await deriveKey(secret, REFRESH_LABEL));
}

export async function verifyRefreshToken(
  secret: string,
  token: string,
  service: string,
): Promise<RefreshClaims | null> {
  const payload = await verify(secret, REFRESH_LABEL, token, service);
  if (!payload || typeof payload.sub !== "string" || payload.sub === "") return null;
  const claims: RefreshClaims = { subject: payload.sub };
  if (typeof payload.fp === "string") claims.fingerprint = payload.fp;
  if (Array.isArray(payload.actions))
    claims.actions = payload.actions.filter((a): a is string => typeof a === "string");
  return claims;
}
