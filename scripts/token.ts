// Key pair and token tool for JWT_REGISTRY_TOKENS_PUBLIC_KEY (the "JWT as password" mode).
//   npm run token -- keygen [--alg ES256|RS256|EdDSA] [--out registry-signing-key.jwk.json]
//     makes a key pair, saves the private JWK (mode 600) and prints the base64 public JWK
//     to set as the JWT_REGISTRY_TOKENS_PUBLIC_KEY secret.
//   npm run token -- --user ci --caps pull,push --ttl 1h [--key FILE] [--aud A] [--iss I]
//     prints a signed JWT to use as the password of `docker login -u ci`.
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { parseArgs } from "node:util";
import { exportJWK, generateKeyPair, importJWK, SignJWT, type JWK } from "jose";

const DEFAULT_KEY_FILE = "registry-signing-key.jwk.json";

const USAGE = `usage: npm run token -- keygen [--alg ES256|RS256|EdDSA] [--out FILE]
       npm run token -- --user NAME --caps pull[,push] [--ttl 1h] [--key FILE] [--aud A] [--iss I]
The private key goes to ${DEFAULT_KEY_FILE} unless --out names another file; a file
inside a git work tree that git would not ignore is refused.
`;

function usage(message: string): never {
  process.stderr.write(`${message}\n${USAGE}`);
  process.exit(2);
}

/** "90", "90s", "30m", "1h", "7d" → seconds. */
export function parseTtl(text: string): number {
  const match = /^([0-9]+)([smhd]?)$/.exec(text.trim());
  if (!match) usage(`bad --ttl: ${text}`);
  const unit = { "": 1, s: 1, m: 60, h: 3600, d: 86400 }[match[2] as "" | "s" | "m" | "h" | "d"];
  return Number(match[1]) * unit;
}

/** Why `path` must not hold a private key: inside a git work tree and not ignored by git,
 *  `git add .` would commit it. Null when it is safe. */
function committable(path: string): string | null {
  const dir = dirname(resolve(path));
  const inside = spawnSync("git", ["rev-parse", "--is-inside-work-tree"], { cwd: dir, encoding: "utf8" });
  if (inside.status !== 0 || inside.stdout.trim() !== "true") return null;
  const ignored = spawnSync("git", ["check-ignore", "-q", resolve(path)], { cwd: dir });
  return ignored.status === 0
    ? null
    : `${path} is inside a git work tree and not ignored, so \`git add .\` would commit the private key; use --out with a path outside the repository or one .gitignore covers`;
}

async function keygen(alg: string, out: string): Promise<void> {
  const refused = committable(out);
  if (refused) usage(refused);
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
  const privateJwk = { ...(await exportJWK(privateKey)), alg };
  writeFileSync(out, `${JSON.stringify(privateJwk, null, 2)}\n`, { mode: 0o600, flag: "wx" });
  const publicJwk = { ...(await exportJWK(publicKey)), alg };
  console.error(`private key saved to ${out} (keep it secret; it is not needed by the registry)`);
  console.error("set this as the JWT_REGISTRY_TOKENS_PUBLIC_KEY secret:");
  console.log(Buffer.from(JSON.stringify(publicJwk)).toString("base64"));
}

async function sign(options: {
  user?: string;
  caps?: string;
  ttl?: string;
  key?: string;
  aud?: string;
  iss?: string;
}): Promise<void> {
  if (!options.user) usage("--user is required");
  const caps = (options.caps ?? "pull")
    .split(",")
    .map((c) => c.trim())
    .filter(Boolean);
  if (caps.length === 0 || caps.some((c) => c !== "pull" && c !== "push")) usage("--caps takes pull and/or push");
  const jwk = JSON.parse(readFileSync(options.key ?? DEFAULT_KEY_FILE, "utf8")) as JWK;
  if (!jwk.alg || !jwk.d) usage("the key file must hold a private JWK with alg (made by keygen)");
  let builder = new SignJWT({ capabilities: caps, username: options.user })
    .setProtectedHeader({ alg: jwk.alg })
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + parseTtl(options.ttl ?? "1h"));
  if (options.aud) builder = builder.setAudience(options.aud);
  if (options.iss) builder = builder.setIssuer(options.iss);
  console.log(await builder.sign(await importJWK(jwk, jwk.alg)));
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      alg: { type: "string", default: "ES256" },
      out: { type: "string", default: DEFAULT_KEY_FILE },
      user: { type: "string" },
      caps: { type: "string" },
      ttl: { type: "string" },
      key: { type: "string" },
      aud: { type: "string" },
      iss: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) return void process.stdout.write(USAGE);
  if (positionals[0] === "keygen") return keygen(values.alg!, values.out!);
  if (positionals.length > 0) usage(`unknown command: ${positionals[0]}`);
  return sign(values);
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
