// Bearer credentials on /v2/*: tokens from our token endpoint (HS256, derived key), or JWTs
// signed by the deployment's key pair (JWT_REGISTRY_TOKENS_PUBLIC_KEY). The header's alg
// only picks which verifier runs; each verifier pins its own algorithms.
import { verifyAccessToken, type VerifiedAccess } from "./access-token";
import type { AuthConfig } from "../config/auth";
import { accountForSubject } from "./credentials";
import { withAnonymousPull } from "./identity";
import type { Identity } from "../registry/identity";
import type { Action } from "../config/auth";
import { ADMIN_SCOPE, CATALOG_SCOPE, grantsRegistryScope, MAX_BEARER_TOKEN_LENGTH } from "./scope";
import { identityFromSignedToken, looksAsymmetric } from "./signed-password";

const ANONYMOUS_SUBJECT = "anonymous";

/** An identity that may do exactly what the token's access claim lists (plus anonymous pull). */
function tokenIdentity(verified: VerifiedAccess, anonymousPull: readonly string[]): Identity {
  const granted = new Set<string>();
  for (const entry of verified.access) {
    if (entry.type !== "repository") continue;
    for (const action of entry.actions) granted.add(`${action}\u0000${entry.name}`);
  }
  const identity: Identity = {
    subject: verified.subject,
    anonymous: verified.subject === ANONYMOUS_SUBJECT,
    catalog: grantsRegistryScope(verified.access, CATALOG_SCOPE),
    admin: grantsRegistryScope(verified.access, ADMIN_SCOPE),
    viaToken: true,
    allows: (repo: string, action: Action) => granted.has(`${action}\u0000${repo}`),
  };
  return withAnonymousPull(identity, anonymousPull);
}

export async function identityFromBearer(auth: AuthConfig, token: string, service: string): Promise<Identity | null> {
  if (token.length > MAX_BEARER_TOKEN_LENGTH) return null;
  if (auth.publicKey && looksAsymmetric(token)) {
    const identity = await identityFromSignedToken(auth, "", token);
    return identity ? withAnonymousPull(identity, auth.anonymousPull) : null;
  }
  if (!auth.tokenSecret) return null;
  const verified = await verifyAccessToken(auth.tokenSecret, token, service);
  if (!verified) return null;
  const identity = tokenIdentity(verified, auth.anonymousPull);
  if (!identity.catalog) return identity;
  // The catalog lists what the token's account may pull, as configured now (a JWT password's
  // rights are not looked up again: its tokens list only their own repositories).
  const account = await accountForSubject(auth, verified.subject, undefined);
  return account ? { ...identity, listable: (repo) => account.identity.allows(repo, "pull") } : identity;
}
