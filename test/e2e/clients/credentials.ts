// Every kind of credential auth supports, as the login scenarios use them. A new kind adds
// an entry: the variables the registry needs (merged into the shared instance's), the
// username and password a client types, and whether it may push.
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { E2E_CREDENTIALS } from "../registry-server";

export interface Credentials {
  username: string;
  password: string;
}

export interface CredentialKind {
  name: string;
  vars: Record<string, string>;
  credentials(): Promise<Credentials>;
  canPush: boolean;
}

export const READONLY_CREDENTIALS: Credentials = { username: "e2e-reader", password: "e2e-reader-password" };

// The deployment's key pair for JWT-as-password: the registry gets the public JWK, the test
// signs passwords with the private key, as the operator's own tooling would.
const keys = await generateKeyPair("ES256", { extractable: true });
const publicJwk = Buffer.from(JSON.stringify({ ...(await exportJWK(keys.publicKey)), alg: "ES256" })).toString(
  "base64",
);

async function signedPassword(username: string, capabilities: string[]): Promise<Credentials> {
  const password = await new SignJWT({ capabilities, username })
    .setProtectedHeader({ alg: "ES256" })
    .setIssuedAt()
    .setExpirationTime("1h")
    .sign(keys.privateKey);
  return { username, password };
}

export const CREDENTIAL_KINDS: CredentialKind[] = [
  { name: "USERNAME/PASSWORD", vars: {}, credentials: async () => E2E_CREDENTIALS, canPush: true },
  {
    name: "READONLY_USERNAME/READONLY_PASSWORD",
    vars: { READONLY_USERNAME: READONLY_CREDENTIALS.username, READONLY_PASSWORD: READONLY_CREDENTIALS.password },
    credentials: async () => READONLY_CREDENTIALS,
    canPush: false,
  },
  {
    name: "JWT as password, pull and push",
    vars: { JWT_REGISTRY_TOKENS_PUBLIC_KEY: publicJwk },
    credentials: () => signedPassword("e2e-jwt-pusher", ["pull", "push"]),
    canPush: true,
  },
  {
    name: "JWT as password, pull only",
    vars: { JWT_REGISTRY_TOKENS_PUBLIC_KEY: publicJwk },
    credentials: () => signedPassword("e2e-jwt-puller", ["pull"]),
    canPush: false,
  },
];
