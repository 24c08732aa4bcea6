// skopeo round trips between an OCI layout and the registry, with the pulled layout read
// back and every blob re-hashed, so a test compares bytes and not only exit codes.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { CREDS } from "./registry";
import { sha256OfFile } from "./run";
import type { ContainersTools } from "./tools";

/** TLS checks off (wrangler's certificate is self-signed) and the full credentials. */
export function skopeoFlags(): string[] {
  return ["--tls-verify=false", "--creds", CREDS];
}

export async function pushImage(tools: ContainersTools, source: string, destination: string): Promise<void> {
  // No --retry-times: a failed request fails the test, as it would fail a user's copy.
  await tools.skopeo(["copy", "--dest-tls-verify=false", "--dest-creds", CREDS, source, destination]);
}

export interface PulledImage {
  manifestDigest: string;
  layerDigests: string[];
}

/** Copies `source` into a fresh OCI layout at `dir` and checks each blob hashes to its name. */
export async function pullToLayout(
  tools: ContainersTools,
  source: string,
  dir: string,
  extra: string[] = [],
): Promise<PulledImage> {
  await tools.skopeo(["copy", "--src-tls-verify=false", "--src-creds", CREDS, ...extra, source, `oci:${dir}:pulled`]);
  const index = JSON.parse(readFileSync(join(dir, "index.json"), "utf8"));
  const manifestDigest: string = index.manifests[0].digest;
  const blob = (digest: string) => join(dir, "blobs", ...digest.split(":"));
  const manifest = JSON.parse(readFileSync(blob(manifestDigest), "utf8"));
  const layerDigests: string[] = manifest.layers.map((l: { digest: string }) => l.digest);
  for (const digest of [manifest.config.digest, ...layerDigests]) {
    const actual = await sha256OfFile(blob(digest));
    if (actual !== digest) throw new Error(`pulled blob ${digest} hashes to ${actual}`);
  }
  return { manifestDigest, layerDigests };
}
