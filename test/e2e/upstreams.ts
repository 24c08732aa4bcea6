// Local upstream registries for the pull-through tests: Debian's docker-registry
// (distribution 2.8) with or without htpasswd, a tiny HTTP server that serves whatever a test
// tells it to (corrupt bytes included), and a client that pushes and pulls over the plain API.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./registry-server";
import { basic, seededBytes, singleLayerImage } from "../shared-helpers";

export const UPSTREAM_USER = { username: "upstream-user", password: "upstream-pass" };
export const UPSTREAM_AUTH = basic(UPSTREAM_USER.username, UPSTREAM_USER.password);
/** bcrypt of UPSTREAM_USER.password (distribution's htpasswd accepts bcrypt only); made
 *  once with libxcrypt, because apache2-utils is not installed here. */
const UPSTREAM_BCRYPT = "$2b$12$3iXZBC2gDGgxGnZe3FOlq.1p/NJvwV4PZMwZ/EKaWHtiqNtidNm.S";

export interface Upstream {
  url: string;
  /** Everything the server wrote to stdout and stderr (distribution's access log). */
  log(): string;
  stop(): Promise<void>;
}

export async function startDistribution(options: { htpasswd?: boolean } = {}): Promise<Upstream> {
  const dir = mkdtempSync(join(tmpdir(), "pt-distribution-"));
  const port = await freePort();
  const auth = options.htpasswd ? `auth:\n  htpasswd:\n    realm: upstream\n    path: ${dir}/htpasswd\n` : "";
  writeFileSync(join(dir, "htpasswd"), `${UPSTREAM_USER.username}:${UPSTREAM_BCRYPT}\n`);
  writeFileSync(
    join(dir, "config.yml"),
    `version: 0.1\nlog:\n  level: info\nstorage:\n  filesystem:\n    rootdirectory: ${dir}/data\n` +
      `http:\n  addr: 127.0.0.1:${port}\n  secret: pull-through-test\n${auth}`,
  );
  const child = spawn("docker-registry", ["serve", join(dir, "config.yml")], {
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (d) => (output += d.toString()));
  child.stderr?.on("data", (d) => (output += d.toString()));
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null && child.pid) {
      const exited = new Promise((r) => child.once("exit", r));
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {}
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) throw new Error(`docker-registry exited:\n${output}`);
    const ok = await fetch(`${url}/v2/`).then(
      (r) => r.status === 200 || r.status === 401,
      () => false,
    );
    if (ok) return { url, log: () => output, stop };
    await new Promise((r) => setTimeout(r, 100));
  }
  await stop();
  throw new Error(`docker-registry did not start:\n${output}`);
}

export type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** A bare HTTP server whose answers the test sets; `requests` records every path asked. */
export async function startScriptedUpstream(handler: Handler): Promise<Upstream & { requests: string[] }> {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    handler(req, res);
  });
  const port = await freePort();
  await new Promise<void>((r) => server.listen(port, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    log: () => requests.join("\n"),
    stop: () => new Promise((r) => server.close(() => r())),
  };
}

export interface TestImage {
  manifest: string;
  digest: string;
  blobs: Map<string, Uint8Array>;
  layer: string;
}

/** An OCI image: a config and one layer of `layerBytes` seeded bytes. */
export function makeImage(seed: number, layerBytes: number): TestImage {
  const image = singleLayerImage({ architecture: "amd64", os: "linux", seed }, seededBytes(layerBytes, seed));
  const blobs = new Map([
    [image.configDigest, image.config],
    [image.layerDigest, image.layer],
  ]);
  return { manifest: image.body, digest: image.digest, blobs, layer: image.layerDigest };
}

/** Pushes an image with monolithic uploads (POST, then PUT ?digest=) and a manifest PUT. */
export async function pushImage(
  base: string,
  repo: string,
  tag: string,
  image: TestImage,
  auth?: string,
): Promise<void> {
  const headers: Record<string, string> = auth ? { Authorization: auth } : {};
  for (const [digest, bytes] of image.blobs) {
    const started = await fetch(`${base}/v2/${repo}/blobs/uploads/`, { method: "POST", headers });
    if (started.status !== 202) throw new Error(`POST upload: ${started.status} ${await started.text()}`);
    const location = new URL(started.headers.get("Location")!, base);
    location.searchParams.set("digest", digest);
    const put = await fetch(location, {
      method: "PUT",
      headers: { ...headers, "Content-Type": "application/octet-stream" },
      body: bytes,
    });
    if (put.status !== 201) throw new Error(`PUT blob: ${put.status} ${await put.text()}`);
  }
  const put = await fetch(`${base}/v2/${repo}/manifests/${tag}`, {
    method: "PUT",
    headers: { ...headers, "Content-Type": "application/vnd.oci.image.manifest.v1+json" },
    body: image.manifest,
  });
  if (put.status !== 201) throw new Error(`PUT manifest: ${put.status} ${await put.text()}`);
}
