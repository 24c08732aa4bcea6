// Builds the test images offline and deterministically: an OCI layout made by umoci from a
// busybox-static rootfs, with seeded payload files and every timestamp pinned to the epoch,
// so the same build gives the same digests on every machine.
import { createCipheriv } from "node:crypto";
import {
  createWriteStream,
  existsSync,
  mkdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  copyFileSync,
  writeFileSync,
} from "node:fs";
import { dirname, join } from "node:path";
import { once } from "node:events";
import { runOk } from "./run";

const EPOCH = "1970-01-01T00:00:00Z";

export interface Descriptor {
  mediaType?: string;
  digest: string;
  size: number;
}

export interface BuiltImage {
  layout: string;
  tag: string;
  /** "oci:<layout>:<tag>", as skopeo, buildah and podman name it. */
  ref: string;
  manifestDigest: string;
  manifest: { config: Descriptor; layers: Descriptor[] };
  /** Digests of the uncompressed layers: they survive recompression by a client. */
  diffIds: string[];
  /** The unpacked bundle; its rootfs is what `docker import` takes. */
  bundle: string;
}

/** Seeded, incompressible bytes (AES-CTR keystream), written in 16 MiB steps. */
export async function writePayload(path: string, size: number, seed: number): Promise<void> {
  const key = Buffer.alloc(16);
  key.writeUInt32BE(seed >>> 0, 0);
  const cipher = createCipheriv("aes-128-ctr", key, Buffer.alloc(16));
  const out = createWriteStream(path);
  const step = 16 * 1024 * 1024;
  for (let left = size; left > 0; left -= step) {
    if (!out.write(cipher.update(Buffer.alloc(Math.min(step, left))))) await once(out, "drain");
  }
  out.end();
  await once(out, "finish");
}

export type FileSpec = string | { size: number; seed: number };

function blobPath(layout: string, digest: string): string {
  return join(layout, "blobs", ...digest.split(":"));
}

export function readBlob(layout: string, digest: string): Buffer {
  return readFileSync(blobPath(layout, digest));
}

function describeImage(layout: string, tag: string, bundle: string): BuiltImage {
  const index = JSON.parse(readFileSync(join(layout, "index.json"), "utf8"));
  const entry = index.manifests.find(
    (m: { annotations?: Record<string, string> }) => m.annotations?.["org.opencontainers.image.ref.name"] === tag,
  );
  if (!entry) throw new Error(`tag ${tag} not in ${layout}/index.json`);
  const manifest = JSON.parse(readBlob(layout, entry.digest).toString("utf8"));
  const config = JSON.parse(readBlob(layout, manifest.config.digest).toString("utf8"));
  return {
    layout,
    tag,
    ref: `oci:${layout}:${tag}`,
    manifestDigest: entry.digest,
    manifest,
    diffIds: config.rootfs.diff_ids,
    bundle,
  };
}

/** Pins every mtime in the bundle's rootfs so repack writes the same tar each time. */
async function pinTimes(rootfs: string): Promise<void> {
  await runOk("find", [rootfs, "-exec", "touch", "-h", "-d", "@0", "{}", "+"]);
}

/** The base image: busybox-static as /bin/busybox with /bin/sh, one layer. */
export async function buildBase(layout: string, work: string): Promise<BuiltImage> {
  if (!existsSync(join(layout, "index.json"))) await runOk("umoci", ["init", "--layout", layout]);
  await runOk("umoci", ["new", "--image", `${layout}:base`]);
  await runOk("umoci", [
    "config",
    "--image",
    `${layout}:base`,
    "--created",
    EPOCH,
    "--config.cmd",
    "/bin/sh",
    "--no-history",
  ]);
  const bundle = join(work, "bundle-base");
  rmSync(bundle, { recursive: true, force: true });
  await runOk("umoci", ["unpack", "--rootless", "--image", `${layout}:base`, bundle]);
  const rootfs = join(bundle, "rootfs");
  mkdirSync(join(rootfs, "bin"), { recursive: true });
  copyFileSync("/bin/busybox", join(rootfs, "bin/busybox"));
  for (const tool of ["sh", "cat", "sha256sum", "ls", "sleep"]) symlinkSync("busybox", join(rootfs, "bin", tool));
  await pinTimes(rootfs);
  await runOk("umoci", ["repack", "--image", `${layout}:base`, "--history.created", EPOCH, bundle]);
  return describeImage(layout, "base", bundle);
}

export interface DerivedOptions {
  files: Record<string, FileSpec>;
  architecture?: string;
}

/** A new tag on top of `base` with one more layer holding `files` (paths inside rootfs). */
export async function buildDerived(
  base: BuiltImage,
  tag: string,
  work: string,
  options: DerivedOptions,
): Promise<BuiltImage> {
  const bundle = join(work, `bundle-${tag}`);
  rmSync(bundle, { recursive: true, force: true });
  await runOk("umoci", ["unpack", "--rootless", "--image", `${base.layout}:${base.tag}`, bundle]);
  for (const [path, spec] of Object.entries(options.files)) {
    const target = join(bundle, "rootfs", path);
    mkdirSync(dirname(target), { recursive: true });
    if (typeof spec === "string") writeFileSync(target, spec);
    else await writePayload(target, spec.size, spec.seed);
  }
  await pinTimes(join(bundle, "rootfs"));
  await runOk("umoci", ["repack", "--image", `${base.layout}:${tag}`, "--history.created", EPOCH, bundle]);
  if (options.architecture) {
    await runOk("umoci", [
      "config",
      "--image",
      `${base.layout}:${tag}`,
      "--architecture",
      options.architecture,
      "--no-history",
    ]);
  }
  return describeImage(base.layout, tag, bundle);
}

/** A deterministic tarball of the image's rootfs, for `docker import`. */
export async function rootfsTarball(image: BuiltImage, out: string): Promise<string> {
  const flags = ["--sort=name", "--mtime=@0", "--owner=0", "--group=0", "--numeric-owner"];
  await runOk("tar", [...flags, "-C", join(image.bundle, "rootfs"), "-cf", out, "."]);
  return out;
}
