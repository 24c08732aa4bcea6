// The signed state token carried in upload Location URLs. It binds a session to its
// repository and owner, so a URL that leaks, is tampered with, or is replayed against another
// repository or by another identity is refused as BLOB_UPLOAD_UNKNOWN. HS256 with
// JWT_STATE_SECRET, verified with a pinned algorithm.
import { jwtVerify, SignJWT } from "jose";
import { RegistryError } from "../errors";
import type { SessionIdentity } from "./upload-lock";

const encoder = new TextEncoder();

function secretKey(secret: string | null): Uint8Array {
  if (!secret) throw new RegistryError("UNAVAILABLE", "uploads are disabled: JWT_STATE_SECRET is not set");
  return encoder.encode(secret);
}

export async function signStateToken(secret: string | null, who: SessionIdentity, ttlSeconds: number): Promise<string> {
  return new SignJWT({ repo: who.repo, uid: who.id })
    .setProtectedHeader({ alg: "HS256" })
    .setSubject(who.owner)
    .setIssuedAt()
    .setExpirationTime(`${ttlSeconds}s`)
    .sign(secretKey(secret));
}

/** Checks that the token names exactly this session, repository and caller. */
export async function verifyStateToken(
  secret: string | null,
  token: string | undefined,
  who: SessionIdentity,
): Promise<void> {
  const key = secretKey(secret);
  const unknown = new RegistryError("BLOB_UPLOAD_UNKNOWN", "upload session unknown");
  if (!token) throw unknown;
  try {
    const { payload } = await jwtVerify(token, key, { algorithms: ["HS256"] });
    if (payload.uid !== who.id || payload.repo !== who.repo || payload.sub !== who.owner) throw unknown;
  } catch {
    throw unknown;
  }
}
