// Where credentials for a registry host come from, in order: --username/--password, the
// R2_REGISTRY_USERNAME/R2_REGISTRY_PASSWORD variables, then docker's config
// ($DOCKER_CONFIG/config.json or ~/.docker/config.json): credHelpers, credsStore, auths.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

export interface Credentials {
  username: string;
  password: string;
  /** Where they came from, for error messages. */
  origin: string;
  /** A refresh token `docker login` stored in place of the password (OAuth2 token flow). */
  identityToken?: string;
}

interface DockerConfig {
  auths?: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string }>;
  credHelpers?: Record<string, string>;
  credsStore?: string;
}

function readDockerConfig(): DockerConfig | null {
  const dir = process.env.DOCKER_CONFIG ?? join(homedir(), ".docker");
  try {
    return JSON.parse(readFileSync(join(dir, "config.json"), "utf8")) as DockerConfig;
  } catch {
    return null;
  }
}

/** docker keys auths by host, sometimes with a scheme or a /v1/ path; match all of them. */
function authsEntry(config: DockerConfig, host: string) {
  for (const [key, value] of Object.entries(config.auths ?? {})) {
    const bare = key.replace(/^https?:\/\//, "").replace(/\/.*$/, "");
    if (bare === host) return value;
  }
  return null;
}

function fromHelper(helper: string, host: string): Credentials | null {
  const result = spawnSync(`docker-credential-${helper}`, ["get"], { input: host, encoding: "utf8", timeout: 10_000 });
  if (result.status !== 0 || !result.stdout) return null;
  try {
    const parsed = JSON.parse(result.stdout) as { Username?: string; Secret?: string };
    if (!parsed.Username || !parsed.Secret) return null;
    return { username: parsed.Username, password: parsed.Secret, origin: `docker-credential-${helper}` };
  } catch {
    return null;
  }
}

function fromDockerConfig(host: string): Credentials | null {
  const config = readDockerConfig();
  if (!config) return null;
  const helper = config.credHelpers?.[host];
  if (helper) return fromHelper(helper, host);
  const entry = authsEntry(config, host);
  if (entry?.identitytoken) {
    const user = entry.auth ? Buffer.from(entry.auth, "base64").toString("utf8").split(":")[0]! : "";
    return { username: user, password: "", identityToken: entry.identitytoken, origin: "docker config identity token" };
  }
  if (entry?.auth) {
    const decoded = Buffer.from(entry.auth, "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    if (colon > 0)
      return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1), origin: "docker config auths" };
  }
  if (entry?.username && entry.password)
    return { username: entry.username, password: entry.password, origin: "docker config auths" };
  if (config.credsStore) return fromHelper(config.credsStore, host);
  return null;
}

export interface CredentialFlags {
  username?: string;
  password?: string;
}

export function findCredentials(host: string, flags: CredentialFlags): Credentials | null {
  if (flags.username && flags.password !== undefined)
    return { username: flags.username, password: flags.password, origin: "--username/--password" };
  const envUser = process.env.R2_REGISTRY_USERNAME;
  const envPass = process.env.R2_REGISTRY_PASSWORD;
  if (envUser && envPass !== undefined)
    return { username: envUser, password: envPass, origin: "R2_REGISTRY_USERNAME/PASSWORD" };
  return fromDockerConfig(host);
}
