// Builds seeded multi-arch OCI image layouts for the push-client tests, and runs the CLI.
// Layers are real gzipped tars (docker extracts them on pull) of seeded random bytes.
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { createWriteStream, mkdirSync, renameSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { Transform, type Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGzip } from "node:zlib";
import tar from "tar-stream";
import { sha256 } from "../shared-helpers";

export const CLI = resolve(import.meta.dirname, "../../bin/r2-registry.mjs");

/** xorshift32: the same seed gives the same bytes on every machine, fast enough for GiBs. */
function seededChunks(seed: number) {
  let x = seed >>> 0 || 0x9e3779b9;
  return (length: number): Buffer => {
    const words = new Uint32Array(Math.ceil(length / 4));
    for (let i = 0; i < words.length; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      words[i] = x >>> 0;
    }
    return Buffer.from(words.buffer, 0, length);
  };
}

function hashing(hash: ReturnType<typeof createHash>) {
  return new Transform({
    transform: (piece: Buffer, _e, done) => {
      hash.update(piece);
      done(null, piece);
    },
  });
}

function storeBlob(dir: string, bytes: Buffer): { digest: string; size: number } {
  const digest = sha256(bytes);
  writeFileSync(join(dir, "blobs/sha256", digest.slice(7)), bytes);
  return { digest, size: bytes.length };
}

/** A gzipped tar holding one file of `size` seeded bytes; returns its descriptor and diff ID. */
async function writeLayer(dir: string, seed: number, size: number) {
  const next = seededChunks(seed);
  const pack = tar.pack();
  const diff = createHash("sha256");
  const compressed = createHash("sha256");
  const temp = join(dir, `layer-${seed}.tmp`);
  let written = 0;
  const counter = new Transform({
    transform: (p: Buffer, _e, done) => {
      written += p.length;
      done(null, p);
    },
  });
  const done = pipeline(
    pack,
    hashing(diff),
    createGzip({ level: 1 }),
    hashing(compressed),
    counter,
    createWriteStream(temp),
  );
  const entry = pack.entry({ name: `data-${seed}.bin`, size }) as unknown as Writable;
  // Refills by seed, 4 MiB at a time, without holding the whole layer in memory.
  for (let left = size; left > 0; left -= 4 << 20) {
    if (!entry.write(next(Math.min(left, 4 << 20)))) await new Promise((r) => entry.once("drain", r));
  }
  entry.end();
  pack.finalize();
  await done;
  const digest = `sha256:${compressed.digest("hex")}`;
  renameSync(temp, join(dir, "blobs/sha256", digest.slice(7)));
  return {
    desc: { mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest, size: written },
    diffId: `sha256:${diff.digest("hex")}`,
  };
}

export interface BuiltImage {
  dir: string;
  tag: string;
  indexDigest: string;
  /** Every blob and manifest digest in the image. */
  digests: string[];
  bigLayer: { digest: string; size: number };
}

/** An OCI layout with an index of linux/amd64 (which carries the big layer) and linux/arm64. */
export async function buildMultiArchLayout(dir: string, bigBytes: number, tag = "multi"): Promise<BuiltImage> {
  mkdirSync(join(dir, "blobs/sha256"), { recursive: true });
  writeFileSync(join(dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  const digests: string[] = [];
  const children = [];
  let bigLayer = { digest: "", size: 0 };
  for (const [i, architecture] of ["amd64", "arm64"].entries()) {
    const layers = [await writeLayer(dir, 100 + i, 256 * 1024)];
    if (i === 0) layers.push(await writeLayer(dir, 7, bigBytes));
    if (i === 0) bigLayer = layers[1]!.desc;
    const config = storeBlob(
      dir,
      Buffer.from(
        JSON.stringify({
          architecture,
          os: "linux",
          config: {},
          rootfs: { type: "layers", diff_ids: layers.map((l) => l.diffId) },
        }),
      ),
    );
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        config: { mediaType: "application/vnd.oci.image.config.v1+json", ...config },
        layers: layers.map((l) => l.desc),
      }),
    );
    const stored = storeBlob(dir, manifest);
    digests.push(config.digest, stored.digest, ...layers.map((l) => l.desc.digest));
    children.push({
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      ...stored,
      platform: { os: "linux", architecture },
    });
  }
  const index = storeBlob(
    dir,
    Buffer.from(
      JSON.stringify({ schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json", manifests: children }),
    ),
  );
  digests.push(index.digest);
  const entry = {
    mediaType: "application/vnd.oci.image.index.v1+json",
    ...index,
    annotations: { "org.opencontainers.image.ref.name": tag },
  };
  writeFileSync(join(dir, "index.json"), JSON.stringify({ schemaVersion: 2, manifests: [entry] }));
  return { dir, tag, indexDigest: index.digest, digests, bigLayer };
}

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Parsed --json events. */
  events: { event: string; [key: string]: unknown }[];
}

/** Runs the CLI; `onEvent` may kill the child (returns true) to simulate a crash mid-push. */
export function runCli(
  args: string[],
  env: Record<string, string> = {},
  onEvent?: (event: Record<string, unknown>) => boolean,
): Promise<CliRun> {
  const child = spawn(process.execPath, [CLI, ...args], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  let pending = "";
  const events: CliRun["events"] = [];
  child.stdout.on("data", (d: Buffer) => {
    stdout += d;
    pending += d;
    const lines = pending.split("\n");
    pending = lines.pop()!;
    for (const line of lines) {
      if (!line.startsWith("{")) continue;
      const event = JSON.parse(line);
      events.push(event);
      if (onEvent?.(event)) child.kill("SIGKILL");
    }
  });
  child.stderr.on("data", (d: Buffer) => (stderr += d));
  return new Promise((resolveRun) => child.on("close", (code) => resolveRun({ code, stdout, stderr, events })));
}
