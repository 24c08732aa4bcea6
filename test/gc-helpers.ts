// Helpers for the garbage collection tests: run the collector to the end of a cycle under a
// given configuration, push the way docker does (skip blobs the registry has), and check
// that an image is whole.
import { env } from "cloudflare:workers";
import { parseConfig, type Env } from "../src/config/config";
import { runCollectorStep, type StepOptions } from "../src/gc/collector";
import { openStorage, type Storage } from "../src/storage/storage";
import type { StepReport } from "../src/gc/reports";
import { pushBlob, pushManifest, request, seededBytes, sha256, singleLayerImage } from "./helpers";

export const bucket = (env as unknown as Env).REGISTRY;
/** The storage facade over the test bindings, for tests that play the collector's part. */
export const storage: Storage = openStorage(env as unknown as Env);

/** One collector step under `target`'s configuration, on a fresh meter as the cron runs it. */
export function collectorStep(target: Env, options: StepOptions): ReturnType<typeof runCollectorStep> {
  return runCollectorStep(openStorage(target), parseConfig(target), options);
}

/** An env with GC overrides. parseConfig caches per env object, so keep and reuse it. */
export function gcEnv(overrides: Record<string, string> = {}): Env {
  return { ...(env as unknown as Env), GC_GRACE_SECONDS: "0", ...overrides };
}

/** Runs steps until a cycle finishes; returns the last report (cycle totals included). */
export async function runGc(
  target: Env = gcEnv(),
  options: { dryRun?: boolean; aheadMs?: number; maxSteps?: number } = {},
): Promise<StepReport & { steps: number }> {
  const now = () => Date.now() + (options.aheadMs ?? 1000);
  for (let steps = 1; steps <= (options.maxSteps ?? 200); steps++) {
    const report = await collectorStep(target, { trigger: "manual", dryRun: options.dryRun, now });
    if (!report) {
      await new Promise((r) => setTimeout(r, 50));
      continue;
    }
    if (report.cycleFinished) return { ...report, steps };
  }
  throw new Error("collector did not finish a cycle");
}

export interface Image {
  repo: string;
  tag: string;
  digest: string;
  body: string;
  blobs: { digest: string; bytes: Uint8Array }[];
}

/** An image whose layer is `seededBytes(600 + layerSeed, layerSeed)`, so images built with the
 *  same layerSeed share the layer. */
export function buildImage(repo: string, tag: string, seed: number, layerSeed = seed): Omit<Image, "digest"> {
  const image = singleLayerImage({ architecture: "amd64", os: "linux", seed }, seededBytes(600 + layerSeed, layerSeed));
  return {
    repo,
    tag,
    body: image.body,
    blobs: [
      { digest: image.configDigest, bytes: image.config },
      { digest: image.layerDigest, bytes: image.layer },
    ],
  };
}

/** Pushes like docker: HEAD each blob, upload only the missing ones, PUT the manifest; on
 *  MANIFEST_BLOB_UNKNOWN (a blob was collected meanwhile) upload again and retry. Returns
 *  the image once acknowledged, or null if every attempt failed. */
export async function dockerPush(
  image: Omit<Image, "digest">,
  attempts = 4,
  mountFrom?: string,
): Promise<Image | null> {
  for (let i = 0; i < attempts; i++) {
    for (const blob of image.blobs) {
      const head = await request(`/v2/${image.repo}/blobs/${blob.digest}`, { method: "HEAD" });
      if (head.status === 200) continue;
      if (mountFrom && (await mount(image.repo, blob.digest, mountFrom))) continue;
      await pushBlob(image.repo, blob.bytes).catch(() => null);
    }
    const response = await pushManifest(image.repo, image.tag, image.body);
    if (response.status === 201) return { ...image, digest: response.headers.get("Docker-Content-Digest")! };
    await response.body?.cancel();
  }
  return null;
}

/** Everything the image names is readable, byte for byte. Returns what is wrong, if anything. */
export async function checkImage(image: Image): Promise<string[]> {
  const problems: string[] = [];
  const manifest = await request(`/v2/${image.repo}/manifests/${image.tag}`);
  const text = manifest.status === 200 ? await manifest.text() : "";
  if (text !== image.body) problems.push(`${image.repo}:${image.tag} manifest ${manifest.status}`);
  for (const blob of image.blobs) {
    const response = await request(`/v2/${image.repo}/blobs/${blob.digest}`);
    const bytes = response.status === 200 ? new Uint8Array(await response.arrayBuffer()) : null;
    if (!bytes || sha256(bytes) !== blob.digest)
      problems.push(`${image.repo}:${image.tag} blob ${blob.digest} ${response.status}`);
  }
  return problems;
}

export async function deleteManifest(repo: string, digest: string): Promise<number> {
  const response = await request(`/v2/${repo}/manifests/${digest}`, { method: "DELETE" });
  await response.body?.cancel();
  return response.status;
}

/** Cross-repository mount; true when the registry linked the blob (201). */
export async function mount(repo: string, digest: string, from: string): Promise<boolean> {
  const response = await request(`/v2/${repo}/blobs/uploads/?mount=${digest}&from=${from}`, { method: "POST" });
  await response.body?.cancel();
  return response.status === 201;
}
