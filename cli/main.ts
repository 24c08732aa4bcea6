// r2-registry: push, pull and copy images with chunked, resumable uploads. Entry point:
// parses arguments, builds the source and the registry clients, and prints the summary.
import { statSync } from "node:fs";
import { parseArgs } from "node:util";
import { BlobSourcesFile, mountCandidates } from "./blob-sources.js";
import { parseByteSize } from "./chunk-plan.js";
import { findCredentials } from "./credentials.js";
import type { ImageSource } from "./image-source.js";
import { createReporter, type OutputMode, type Reporter } from "./progress.js";
import { planPull, pullToArchive, pullToLayout, summarizePull } from "./pull.js";
import { pushImage } from "./push.js";
import {
  isLoopback,
  type PathKind,
  parseRegistryRef,
  parseSource,
  pushTag,
  type RegistryRef,
  UsageError,
} from "./reference.js";
import { RegistryClient } from "./registry-client.js";
import { openDockerArchive } from "./sources/docker-archive.js";
import { openEngineImage } from "./sources/engine.js";
import { directoryFiles } from "./sources/file-set.js";
import { OciLayoutSource } from "./sources/oci-layout.js";
import { RegistrySource } from "./sources/registry.js";
import { pullSummaryLines, pushSummaryLines } from "./summary.js";
import { UploadStateFile } from "./upload-state.js";

const USAGE = `usage:
  r2-registry push SOURCE REGISTRY/REPO[:TAG]
      SOURCE: oci:DIR[:TAG], docker-archive:FILE[:TAG], FILE.tar, IMAGE (local engine)
      TAG is latest unless given, as with docker (REPO@DIGEST pushes untagged)
  r2-registry pull REGISTRY/REPO[:TAG|@DIGEST] DEST
      DEST: DIR or oci:DIR (OCI layout), FILE.tar or docker-archive:FILE
  r2-registry copy SRC_REF DST_REF   (within one registry, blobs are mounted, not sent)
options:
  --chunk-size SIZE   largest PATCH body (e.g. 50MB); default: what the registry advertises
  --jobs N            blobs in parallel (default 4)      --retries N   per chunk (default 5)
  --timeout SECONDS   give up on a request after this long with no byte moving either way
                      (default 300); a chunk that times out is retried
  --mount-from REPO   mount blobs from this repository first (repeatable); repositories this
                      machine pushed a blob to or pulled it from are tried on their own
  --platform OS/ARCH  only these platforms of an index (repeatable)
  --username U --password P   (or R2_REGISTRY_USERNAME/R2_REGISTRY_PASSWORD, or ~/.docker/config.json)
  --insecure          accept self-signed certificates (always done for 127.0.0.1 and localhost)
  --plain-http        use http:// (or write http://HOST/...); 127.0.0.1 and localhost get
                      https first, then plain HTTP if the server speaks no TLS
  --quiet             print only the digest               --json         JSON lines on stdout`;

const OPTIONS = {
  "chunk-size": { type: "string" },
  jobs: { type: "string", default: "4" },
  retries: { type: "string", default: "5" },
  timeout: { type: "string", default: "300" },
  "mount-from": { type: "string", multiple: true },
  platform: { type: "string", multiple: true },
  username: { type: "string" },
  password: { type: "string" },
  insecure: { type: "boolean", default: false },
  "plain-http": { type: "boolean", default: false },
  quiet: { type: "boolean", default: false, short: "q" },
  json: { type: "boolean", default: false },
  help: { type: "boolean", short: "h", default: false },
} as const;

interface Values {
  "chunk-size"?: string;
  jobs: string;
  retries: string;
  timeout: string;
  "mount-from": string[];
  platform: string[];
  username?: string;
  password?: string;
  insecure: boolean;
  "plain-http": boolean;
  quiet: boolean;
  json: boolean;
  help: boolean;
}

function positiveInt(text: string, name: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 1) throw new UsageError(`${name} must be a positive integer`);
  return value;
}

function outputMode(values: Values): OutputMode {
  if (values.json) return "json";
  if (values.quiet) return "quiet";
  return process.stderr.isTTY ? "tty" : "plain";
}

function clientFor(ref: RegistryRef, values: Values, actions: string[]): RegistryClient {
  const credentials = findCredentials(ref.host, { username: values.username, password: values.password });
  // As docker does for 127.0.0.0/8: a registry on this machine has a self-signed certificate
  // at best (`npm start -- --https`).
  const insecure = values.insecure || isLoopback(ref.host);
  const idleTimeoutMs = positiveInt(values.timeout, "--timeout") * 1000;
  return new RegistryClient(ref, { insecure, idleTimeoutMs, credentials, actions, pullFrom: values["mount-from"] });
}

function pathKind(path: string): PathKind {
  const stat = statSync(path, { throwIfNoEntry: false });
  if (!stat) return null;
  return stat.isDirectory() ? "directory" : "file";
}

async function openSource(text: string, values: Values): Promise<ImageSource> {
  const spec = parseSource(text, pathKind, values["plain-http"]);
  if (spec.kind === "oci") return new OciLayoutSource(`oci:${spec.dir}`, directoryFiles(spec.dir), spec.tag);
  if (spec.kind === "archive") return openDockerArchive(spec.path, spec.tag);
  if (spec.kind === "engine") return openEngineImage(spec.image);
  return new RegistrySource(clientFor(spec.ref, values, ["pull"]), spec.ref);
}

/** Where a push may mount each blob from, and what it records once every blob is in. */
function mountRules(dest: RegistryRef, source: ImageSource, explicit: string[]) {
  const record = new BlobSourcesFile();
  // copy within one registry: the source repository holds every blob, so mount from it.
  const from = source instanceof RegistrySource ? source.ref : null;
  const sourceRepo = from?.host === dest.host ? from.repo : null;
  return {
    mountFrom: (digest: string) =>
      mountCandidates({
        explicit,
        sourceRepo,
        recorded: record.repositoriesHolding(dest.host, digest),
        target: dest.repo,
      }),
    pushed: (digests: string[]) => {
      record.remember(dest.host, dest.repo, digests);
      if (from) record.remember(from.host, from.repo, digests);
    },
  };
}

async function runPush(sourceText: string, destText: string, values: Values, reporter: Reporter): Promise<void> {
  const dest = parseRegistryRef(destText, values["plain-http"]);
  const client = clientFor(dest, values, ["pull", "push"]);
  const source = await openSource(sourceText, values);
  try {
    const chunkSize = values["chunk-size"] === undefined ? null : parseByteSize(values["chunk-size"]);
    if (values["chunk-size"] !== undefined && chunkSize === null)
      throw new UsageError(`--chunk-size: cannot read ${values["chunk-size"]}; write e.g. 50MB or 64MiB`);
    const { mountFrom, pushed } = mountRules(dest, source, values["mount-from"]);
    const options = {
      platforms: values.platform,
      jobs: positiveInt(values.jobs, "--jobs"),
      retries: Number(values.retries),
      pushed,
    };
    const summary = await pushImage(source, client, pushTag(dest), options, reporter, {
      state: new UploadStateFile(),
      chunkSize,
      mountFrom,
      retries: options.retries,
    });
    reporter.finish(pushSummaryLines(summary), summary);
  } finally {
    await source.close();
  }
}

async function runPull(refText: string, destText: string, values: Values, reporter: Reporter): Promise<void> {
  const started = Date.now();
  const ref = parseRegistryRef(refText, values["plain-http"]);
  const source = new RegistrySource(clientFor(ref, values, ["pull"]), ref);
  const plan = await planPull(source, values.platform);
  const jobs = positiveInt(values.jobs, "--jobs");
  const archive = destText.startsWith("docker-archive:") || destText.endsWith(".tar");
  const dest = destText.replace(/^(docker-archive|oci):/, "");
  const results = archive
    ? await pullToArchive(source, plan, dest, jobs, reporter)
    : await pullToLayout(source, plan, dest, ref.tag, jobs, reporter);
  new BlobSourcesFile().remember(
    ref.host,
    ref.repo,
    plan.blobs.map((blob) => blob.digest),
  );
  const summary = summarizePull(plan, results, refText, destText, started);
  reporter.finish(pullSummaryLines(summary), summary);
}

export async function main(argv: string[]): Promise<number> {
  let parsed: ReturnType<typeof parseArgs<{ args: string[]; options: typeof OPTIONS; allowPositionals: true }>>;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true });
  } catch (error) {
    console.error(`${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  const positionals = parsed.positionals;
  const values = {
    ...parsed.values,
    "mount-from": parsed.values["mount-from"] ?? [],
    platform: parsed.values.platform ?? [],
  } as Values;
  const [command, first, second] = positionals;
  if (values.help || !command || !first || !second || positionals.length > 3) {
    // Asked-for help is the output (stdout); usage after a mistake is an error (stderr).
    (values.help ? process.stdout : process.stderr).write(USAGE.endsWith("\n") ? USAGE : `${USAGE}\n`);
    return values.help ? 0 : 2;
  }
  const reporter = createReporter(outputMode(values));
  try {
    if (command === "push") await runPush(first, second, values, reporter);
    // copy is a push whose source is a registry: blobs stream from ranged GETs into PATCHes.
    else if (command === "copy")
      await runPush(/^(https?|docker):\/\//.test(first) ? first : `docker://${first}`, second, values, reporter);
    else if (command === "pull") await runPull(first, second, values, reporter);
    else throw new UsageError(`unknown command ${command}\n${USAGE}`);
    return 0;
  } catch (error) {
    reporter.fail(error as Error);
    return error instanceof UsageError ? 2 : 1;
  }
}
