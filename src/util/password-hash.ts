// PBKDF2-SHA256 password hashes for the users configuration, through WebCrypto so the same
// code runs in the Worker and in scripts/hash-password.ts. Format:
//   pbkdf2-sha256$<iterations>$<salt, base64url>$<hash, base64url>
// Workers' WebCrypto refuses more than 100,000 PBKDF2 iterations, so that is the ceiling and
// the default. Plaintext passwords are never accepted in the configuration.

import { fromBase64Url, toBase64Url } from "./base64url";

export const PBKDF2_MAX_ITERATIONS = 100_000;
const MIN_ITERATIONS = 10_000;
const HASH_BYTES = 32;

export interface PasswordHash {
  iterations: number;
  salt: Uint8Array;
  hash: Uint8Array;
}

/** Parses a stored hash; null when it is not in the format above. */
export function parsePasswordHash(text: string): PasswordHash | null {
  const parts = text.split("$");
  if (parts.length !== 4 || parts[0] !== "pbkdf2-sha256" || !/^[0-9]{1,7}$/.test(parts[1]!)) return null;
  const iterations = Number(parts[1]);
  const salt = fromBase64Url(parts[2]!);
  const hash = fromBase64Url(parts[3]!);
  if (iterations < MIN_ITERATIONS || iterations > PBKDF2_MAX_ITERATIONS) return null;
  if (!salt || salt.length < 16 || !hash || hash.length !== HASH_BYTES) return null;
  return { iterations, salt, hash };
}

async function derive(password: string, salt: Uint8Array, iterations: number): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(password), "PBKDF2", false, ["deriveBits"]);
  const bits = await crypto.subtle.deriveBits(
    { name: "PBKDF2", hash: "SHA-256", salt, iterations },
    key,
    HASH_BYTES * 8,
  );
  return new Uint8Array(bits);
}

export async function hashPassword(password: string, iterations = PBKDF2_MAX_ITERATIONS): Promise<string> {
  const salt = crypto.getRandomValues(new Uint8Array(16));
  const hash = await derive(password, salt, iterations);
  return `pbkdf2-sha256$${iterations}$${toBase64Url(salt)}$${toBase64Url(hash)}`;
}

/** Constant-time check of `password` against a parsed hash. */
export async function verifyPassword(password: string, stored: PasswordHash): Promise<boolean> {
  const hash = await derive(password, stored.salt, stored.iterations);
  let diff = 0;
  for (let i = 0; i < HASH_BYTES; i++) diff |= hash[i]! ^ stored.hash[i]!;
  return diff === 0;
}
