// Debian's docker-registry (CNCF distribution 2.8) as the reference peer, on filesystem
// storage in a temporary directory.
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../test/e2e/registry-server";
import { send } from "./http";

export interface Peer {
  url: string;
  stop(): Promise<void>;
}

export function peerAvailable(): boolean {
  return spawnSync("sh", ["-c", "command -v docker-registry"]).status === 0;
}

/** A self-signed certificate for 127.0.0.1 (for the TLS rows). */
function selfSigned(dir: string): { cert: string; key: string } {
  const cert = join(dir, "cert.pem");
  const key = join(dir, "key.pem");
  spawnSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-subj",
      "/CN=127.0.0.1",
      "-days",
      "1",
      "-keyout",
      key,
      "-out",
      cert,
    ],
    { stdio: "ignore" },
  );
  return { cert, key };
}

export async function startPeer(options: { tls?: boolean } = {}): Promise<Peer> {
  const dir = mkdtempSync(join(tmpdir(), "bench-peer-"));
  const port = await freePort();
  const config = join(dir, "config.yml");
  const tls = options.tls ? selfSigned(dir) : null;
  writeFileSync(
    config,
    `version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: ${dir}/data\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:${port}\n` +
      (tls ? `  tls:\n    certificate: ${tls.cert}\n    key: ${tls.key}\n` : ""),
  );
  const child = spawn("docker-registry", ["serve", config], { detached: true, stdio: "ignore" });
  const url = `${tls ? "https" : "http"}://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    try {
      if ((await send(`${url}/v2/`, "GET", {}, null)).status === 200) break;
    } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    async stop() {
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {}
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
