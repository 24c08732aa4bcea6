// Digest grammar and hashing helpers (image-spec descriptor.md#digests).
// Only the registered algorithms sha256 and sha512 are accepted: anything else could not be
// verified, so storing it would let a client claim content the registry never checked.
import { RegistryError } from "../errors";

export type DigestAlgorithm = "sha256" | "sha512";

export interface Digest {
  algorithm: DigestAlgorithm;
  hex: string;
}

const HEX_LENGTH: Record<DigestAlgorithm, number> = { sha256: 64, sha512: 128 };
const DIGEST_RE = /^(sha256|sha512):([a-f0-9]+)$/;

/** Parses "alg:hex"; returns null for anything outside the registered grammar. */
export function tryParseDigest(value: string): Digest | null {
  const match = DIGEST_RE.exec(value);
  if (!match) return null;
  const algorithm = match[1] as DigestAlgorithm;
  const hex = match[2]!;
  if (hex.length !== HEX_LENGTH[algorithm]) return null;
  return { algorithm, hex };
}

/** Parses a digest or throws DIGEST_INVALID. */
export function parseDigest(value: string | undefined | null): Digest {
  const digest = value == null ? null : tryParseDigest(value);
  if (!digest) throw new RegistryError("DIGEST_INVALID", `invalid digest: ${String(value).slice(0, 200)}`);
  return digest;
}

export function formatDigest(digest: Digest): string {
  return `${digest.algorithm}:${digest.hex}`;
}

const WEBCRYPTO_NAME: Record<DigestAlgorithm, string> = { sha256: "SHA-256", sha512: "SHA-512" };

export function webCryptoName(algorithm: DigestAlgorithm): string {
  return WEBCRYPTO_NAME[algorithm];
}

export function toHex(buffer: ArrayBuffer): string {
  const bytes = new Uint8Array(buffer);
  let out = "";
  for (let i = 0; i < bytes.length; i++) out += bytes[i]!.toString(16).padStart(2, "0");
  return out;
}

/** Digest of bytes held in memory (manifests, small bodies). */
export async function digestBytes(algorithm: DigestAlgorithm, bytes: ArrayBuffer | Uint8Array): Promise<Digest> {
  const hash = await crypto.subtle.digest(WEBCRYPTO_NAME[algorithm], bytes);
  return { algorithm, hex: toHex(hash) };
}
