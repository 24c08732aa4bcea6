// `pull REF DEST`: fetches an image (every platform, or --platform) into an OCI image layout
// directory, or into a docker archive that `docker load` reads (OCI layout plus docker's
// manifest.json, as docker 25 writes). Every blob's digest is checked while it is written.
import { createHash } from "node:crypto";
import {
  createReadStream,
  createWriteStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import tar from "tar-stream";
import type { BlobResult } from "./blob-upload.js";
import { CliError } from "./errors.js";
import { planImage, type ImagePlan } from "./image-plan.js";
import { parseManifest, type Descriptor } from "./image-source.js";
import { formatRegistryRef } from "./reference.js";
import type { Reporter } from "./progress.js";
import { runPool } from "./push.js";
import type { RegistrySource } from "./sources/registry.js";
import type { PullSummary } from "./summary.js";

const REF_NAME = "org.opencontainers.image.ref.name";

function blobFile(dir: string, digest: string): string {
  return join(dir, "blobs", ...digest.split(":"));
}

/** Streams a blob into the layout, verifying size and sha256 before it gets its name. */
async function fetchBlob(
  source: RegistrySource,
  dir: string,
  desc: Descriptor,
  reporter: Reporter,
): Promise<BlobResult> {
  const path = blobFile(dir, desc.digest);
  if (existsSync(path) && statSync(path).size === desc.size) {
    reporter.update(desc.digest, desc.size);
    return { outcome: "present", sent: 0, skipped: desc.size };
  }
  mkdirSync(dirname(path), { recursive: true });
  const hash = createHash("sha256");
  let received = 0;
  const meter = new Transform({
    transform(piece: Buffer, _enc, done) {
      hash.update(piece);
      received += piece.length;
      reporter.update(desc.digest, received);
      done(null, piece);
    },
  });
  const temp = `${path}.partial`;
  await pipeline(await source.openBlob(desc, 0, Math.max(0, desc.size - 1)), meter, createWriteStream(temp));
  const actual = `sha256:${hash.digest("hex")}`;
  if (actual !== desc.digest || received !== desc.size)
    throw new CliError(`blob ${desc.digest} arrived as ${actual} (${received} bytes)`);
  renameSync(temp, path);
  return { outcome: "pulled", sent: received, skipped: 0 };
}

/** Writes the plan into an OCI layout and names the target in index.json. */
export async function pullToLayout(
  source: RegistrySource,
  plan: ImagePlan,
  dir: string,
  tag: string | null,
  jobs: number,
  reporter: Reporter,
): Promise<BlobResult[]> {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  reporter.planned(plan.blobs);
  const results = await runPool(plan.blobs, jobs, async (blob) => {
    reporter.blobStarted(blob);
    const result = await fetchBlob(source, dir, blob, reporter);
    reporter.blobFinished(blob, result);
    return result;
  });
  for (const item of plan.manifests) {
    mkdirSync(dirname(blobFile(dir, item.desc.digest)), { recursive: true });
    writeFileSync(blobFile(dir, item.desc.digest), item.bytes);
  }
  const indexPath = join(dir, "index.json");
  const index = existsSync(indexPath)
    ? (JSON.parse(readFileSync(indexPath, "utf8")) as { manifests: Descriptor[] })
    : { manifests: [] };
  const { mediaType, digest, size } = plan.target.desc;
  const entry: Descriptor = { mediaType, digest, size, ...(tag ? { annotations: { [REF_NAME]: tag } } : {}) };
  index.manifests = [
    ...index.manifests.filter((m) => !(tag && m.annotations?.[REF_NAME] === tag) && m.digest !== digest),
    entry,
  ];
  writeFileSync(
    indexPath,
    JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.index.v1+json",
      manifests: index.manifests,
    }),
  );
  return results;
}

/** Adds the files of a directory tree to a tar stream, one at a time. */
async function packDirectory(pack: tar.Pack, root: string, names: string[]): Promise<void> {
  for (const name of names) {
    const path = join(root, name);
    const size = statSync(path).size;
    await new Promise<void>((resolve, reject) => {
      const entry = pack.entry({ name, size, mode: 0o644 }, (error) => (error ? reject(error) : resolve()));
      createReadStream(path).on("error", reject).pipe(entry);
    });
  }
}

/** A docker archive: OCI layout files plus manifest.json for one platform's manifest. */
export async function pullToArchive(
  source: RegistrySource,
  plan: ImagePlan,
  file: string,
  jobs: number,
  reporter: Reporter,
): Promise<BlobResult[]> {
  const parsed = parseManifest(plan.target.bytes, plan.target.desc.mediaType);
  if (!parsed.config)
    throw new CliError(
      "a docker archive holds one platform, and this reference is an index",
      "add --platform os/arch (e.g. --platform linux/amd64)",
    );
  const dir = mkdtempSync(join(tmpdir(), "r2-registry-pull-"));
  try {
    const tag = formatRegistryRef(sourceRefForArchive(source));
    const results = await pullToLayout(source, plan, dir, tag, jobs, reporter);
    const legacy = [
      {
        Config: `blobs/sha256/${parsed.config.digest.split(":")[1]}`,
        RepoTags: [tag],
        Layers: (parsed.layers ?? []).map((l) => `blobs/sha256/${l.digest.split(":")[1]}`),
      },
    ];
    writeFileSync(join(dir, "manifest.json"), JSON.stringify(legacy));
    const blobs = [...plan.manifests.map((m) => m.desc), ...plan.blobs].map(
      (d) => `blobs/${d.digest.replace(":", "/")}`,
    );
    const pack = tar.pack();
    const written = pipeline(pack, createWriteStream(file));
    await packDirectory(pack, dir, ["oci-layout", "index.json", "manifest.json", ...new Set(blobs)]);
    pack.finalize();
    await written;
    return results;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function sourceRefForArchive(source: RegistrySource) {
  return source.ref.tag ? source.ref : { ...source.ref, tag: "latest", digest: null };
}

export async function planPull(source: RegistrySource, platforms: string[]): Promise<ImagePlan> {
  return planImage(source, platforms);
}

export function summarizePull(
  plan: ImagePlan,
  results: BlobResult[],
  reference: string,
  dest: string,
  started: number,
): PullSummary {
  const present = results.filter((r) => r.outcome === "present");
  return {
    digest: plan.target.desc.digest,
    reference,
    dest,
    manifests: plan.manifests.length,
    blobs: plan.blobs.length,
    bytesTotal: plan.blobs.reduce((sum, b) => sum + b.size, 0),
    bytesReceived: results.reduce((sum, r) => sum + r.sent, 0),
    present: present.length,
    bytesPresent: present.reduce((sum, r) => sum + r.skipped, 0),
    seconds: (Date.now() - started) / 1000,
  };
}
