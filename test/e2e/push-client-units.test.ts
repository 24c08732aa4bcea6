// Pure parts of the push client (cli/): reference and source parsing, chunk planning, the
// upload Range header, backoff, byte sizes, WWW-Authenticate parsing, tar indexing.
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import tar from "tar-stream";
import { mergeScopes, parseChallenges, tokenUrl } from "../../cli/auth-challenge";
import { BlobSourcesFile, MAX_AUTOMATIC_MOUNTS, mountCandidates } from "../../cli/blob-sources";
import { backoffDelay, chooseChunkSize, parseByteSize, parseUploadRange, planChunks } from "../../cli/chunk-plan";
import { platformMatches } from "../../cli/image-source";
import { parseRegistryRef, parseSource, pushTag, UsageError } from "../../cli/reference";
import { tarFiles } from "../../cli/sources/file-set";
import { CliError, isRetryable } from "../../cli/errors";
import { sendRequest } from "../../cli/http";
import type { PushSummary } from "../../cli/push";
import { pullSummaryLines, pushSummaryLines } from "../../cli/summary";
import { buildMultiArchLayout, runCli } from "./push-client-fixtures";

describe("parseRegistryRef", () => {
  it.each([
    // A loopback host with no scheme: https first, plain HTTP when the server speaks no TLS.
    [
      "127.0.0.1:8787/repo:tag",
      { host: "127.0.0.1:8787", scheme: "https", plainHttpFallback: true, repo: "repo", tag: "tag", digest: null },
    ],
    [
      "localhost:5000/repo",
      { host: "localhost:5000", scheme: "https", plainHttpFallback: true, repo: "repo", tag: null, digest: null },
    ],
    [
      "https://127.0.0.1:8787/repo",
      { host: "127.0.0.1:8787", scheme: "https", plainHttpFallback: false, repo: "repo", tag: null, digest: null },
    ],
    [
      "http://localhost/a/b/c",
      { host: "localhost", scheme: "http", plainHttpFallback: false, repo: "a/b/c", tag: null, digest: null },
    ],
    [
      "docker://reg.example.com/x:1.0@sha256:abcd",
      {
        host: "reg.example.com",
        scheme: "https",
        plainHttpFallback: false,
        repo: "x",
        tag: "1.0",
        digest: "sha256:abcd",
      },
    ],
    [
      "reg.io:5000/ns/img@sha256:00ff",
      {
        host: "reg.io:5000",
        scheme: "https",
        plainHttpFallback: false,
        repo: "ns/img",
        tag: null,
        digest: "sha256:00ff",
      },
    ],
  ])("%s", (text, expected) => {
    expect(parseRegistryRef(text)).toEqual(expected);
  });

  it("uses http with --plain-http", () => {
    expect(parseRegistryRef("127.0.0.1:1/r", true)).toMatchObject({ scheme: "http", plainHttpFallback: false });
  });

  it("writes :latest when a push names no tag, and no tag for REPO@DIGEST", () => {
    expect(pushTag(parseRegistryRef("127.0.0.1:1/r"))).toBe("latest");
    expect(pushTag(parseRegistryRef("127.0.0.1:1/r:v1"))).toBe("v1");
    expect(pushTag(parseRegistryRef("127.0.0.1:1/r@sha256:00ff"))).toBeNull();
  });

  it.each([
    "repo:tag",
    "library/busybox",
    "127.0.0.1:1/UPPER:tag",
    "127.0.0.1:1/r:bad/tag",
    "127.0.0.1:1/r:-x",
    "127.0.0.1:1/r@nodigest",
    "127.0.0.1:1/",
  ])("refuses %s", (text) => {
    expect(() => parseRegistryRef(text)).toThrow(UsageError);
  });
});

describe("parseSource", () => {
  const noFiles = () => null;
  const dirs = () => "directory" as const;
  const files = () => "file" as const;
  it("reads the source kinds", () => {
    expect(parseSource("oci:/tmp/layout:v1", dirs)).toEqual({ kind: "oci", dir: "/tmp/layout", tag: "v1" });
    expect(parseSource("oci:./layout", dirs)).toEqual({ kind: "oci", dir: "./layout", tag: null });
    expect(parseSource("docker-archive:img.tar:app", files)).toEqual({
      kind: "archive",
      path: "img.tar",
      tag: "app",
    });
    expect(parseSource("img.tar", files)).toEqual({ kind: "archive", path: "img.tar", tag: null });
    expect(parseSource("busybox:latest", noFiles)).toEqual({ kind: "engine", image: "busybox:latest" });
    expect(parseSource("docker://127.0.0.1:1/r:t", noFiles)).toMatchObject({
      kind: "registry",
      ref: { repo: "r", tag: "t" },
    });
  });
});

describe("chunk planning", () => {
  it("takes the smaller of --chunk-size and the advertised maximum", () => {
    expect(chooseChunkSize({ advertisedMax: 52428800, advertisedMin: 1048576, requested: null })).toBe(52428800);
    expect(chooseChunkSize({ advertisedMax: 52428800, advertisedMin: null, requested: 16 << 20 })).toBe(16 << 20);
    expect(chooseChunkSize({ advertisedMax: 10 << 20, advertisedMin: null, requested: 64 << 20 })).toBe(10 << 20);
    expect(chooseChunkSize({ advertisedMax: null, advertisedMin: null, requested: null })).toBe(100_000_000);
    expect(chooseChunkSize({ advertisedMax: 50 << 20, advertisedMin: 1 << 20, requested: 1000 })).toBe(1 << 20);
  });

  it("covers [offset, size) with chunks no larger than the chunk size", () => {
    const chunks = planChunks(10, 100, 40);
    expect(chunks).toEqual([
      { start: 10, end: 49 },
      { start: 50, end: 89 },
      { start: 90, end: 99 },
    ]);
    expect(planChunks(100, 100, 40)).toEqual([]);
    for (const [offset, size, chunk] of [
      [0, 1, 1],
      [0, 1000, 7],
      [999, 1000, 1000],
      [3, 300 << 20, 50 << 20],
    ] as const) {
      const plan = planChunks(offset, size, chunk);
      expect(plan[0]?.start ?? size).toBe(offset);
      expect(plan.at(-1)?.end ?? size - 1).toBe(size - 1);
      for (const [i, c] of plan.entries()) {
        expect(c.end - c.start + 1).toBeLessThanOrEqual(chunk);
        if (i > 0) expect(c.start).toBe(plan[i - 1]!.end + 1);
      }
    }
  });

  it("reads the upload Range header", () => {
    expect(parseUploadRange("0-99")).toBe(100);
    expect(parseUploadRange("bytes=0-4")).toBe(5);
    expect(parseUploadRange("0-0")).toBe(0);
    expect(parseUploadRange("0-0", false)).toBe(1);
    expect(parseUploadRange("5-9")).toBeNull();
    expect(parseUploadRange(null)).toBeNull();
  });

  it("backs off exponentially with jitter, capped", () => {
    expect(backoffDelay(1, 500, 15000, () => 0)).toBe(250);
    expect(backoffDelay(3, 500, 15000, () => 1)).toBe(2000);
    expect(backoffDelay(20, 500, 15000, () => 1)).toBe(15000);
  });

  it("parses byte sizes", () => {
    expect(parseByteSize("50MB")).toBe(50_000_000);
    expect(parseByteSize("64MiB")).toBe(64 << 20);
    expect(parseByteSize("1048576")).toBe(1048576);
    expect(parseByteSize("1.5GiB")).toBe(1.5 * 1024 ** 3);
    expect(parseByteSize("ten")).toBeNull();
    expect(parseByteSize("0")).toBeNull();
  });
});

describe("WWW-Authenticate", () => {
  it("parses a Bearer challenge with a comma inside the quoted scope", () => {
    const [c] = parseChallenges(
      'Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push"',
    );
    expect(c).toEqual({
      scheme: "bearer",
      params: { realm: "https://auth.example/token", service: "registry.example", scope: "repository:a/b:pull,push" },
    });
  });

  it("parses several challenges, unquoted values and escapes", () => {
    const all = parseChallenges(
      'Basic realm="x \\"y\\"", charset="UTF-8", Bearer realm=https://t/token,error=invalid_token',
    );
    expect(all.map((c) => c.scheme)).toEqual(["basic", "bearer"]);
    expect(all[0]!.params).toEqual({ realm: 'x "y"', charset: "UTF-8" });
    expect(all[1]!.params).toEqual({ realm: "https://t/token", error: "invalid_token" });
    expect(parseChallenges(undefined)).toEqual([]);
  });

  it("builds the token URL as docker does", () => {
    const challenge = {
      scheme: "bearer",
      params: { realm: "https://r/v2/token", service: "svc", scope: "repository:a:pull" },
    };
    const url = new URL(
      tokenUrl(challenge, mergeScopes(challenge.params.scope, ["repository:a:pull,push", "repository:b:pull"]), "me"),
    );
    expect(url.searchParams.get("service")).toBe("svc");
    expect(url.searchParams.getAll("scope")).toEqual([
      "repository:a:pull",
      "repository:a:pull,push",
      "repository:b:pull",
    ]);
    expect(url.searchParams.get("account")).toBe("me");
  });
});

it("matches platforms with optional variant", () => {
  expect(platformMatches("linux/arm64", { os: "linux", architecture: "arm64", variant: "v8" })).toBe(true);
  expect(platformMatches("linux/arm/v7", { os: "linux", architecture: "arm", variant: "v6" })).toBe(false);
  expect(platformMatches("linux/amd64", undefined)).toBe(false);
});

it("indexes a tar in place, with long names and symlinks", async () => {
  const dir = mkdtempSync(join(tmpdir(), "tar-index-"));
  const pack = tar.pack();
  const long = `${"d".repeat(120)}/layer.tar`;
  pack.entry({ name: "manifest.json" }, "[1]");
  pack.entry({ name: long }, "layer-bytes");
  pack.entry({ name: "other/layer.tar", type: "symlink", linkname: `../${long}` });
  pack.finalize();
  const parts: Buffer[] = [];
  for await (const piece of pack) parts.push(piece as Buffer);
  writeFileSync(join(dir, "a.tar"), Buffer.concat(parts));
  const files = tarFiles(join(dir, "a.tar"));
  expect(files.read("manifest.json").toString()).toBe("[1]");
  expect(files.read(long).toString()).toBe("layer-bytes");
  expect(files.size("other/layer.tar")).toBe(11);
  const ranged: Buffer[] = [];
  for await (const piece of files.open("other/layer.tar", 6, 10)) ranged.push(piece as Buffer);
  expect(Buffer.concat(ranged).toString()).toBe("bytes");
  files.close();
});

describe("a registry that refuses TLS", () => {
  it("is named with advice to use --plain-http, at once and without retries", async () => {
    const server = createServer((socket) => socket.destroy());
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as AddressInfo).port;
    const started = Date.now();
    const error = await sendRequest(
      { method: "GET", url: `https://127.0.0.1:${port}/v2/`, headers: {} },
      { insecure: true },
    ).catch((e: unknown) => e);
    server.close();
    expect(error).toBeInstanceOf(CliError);
    expect((error as CliError).hint).toMatch(/--plain-http/);
    expect(isRetryable(error)).toBe(false);
    expect(Date.now() - started).toBeLessThan(5000);
  });
});

describe("a source path that does not exist", () => {
  it.each(["./missing.tar", "/no/such/dir/image.tar", "../images/app.tar.gz", "~/app.tar", "app.tgz"])(
    "%s is named as a missing file, not handed to the engine",
    (text) => {
      expect(() => parseSource(text, () => null)).toThrow(/no such file/);
    },
  );

  it("names a missing oci: directory or docker-archive: file, and a directory given as an archive", () => {
    expect(() => parseSource("oci:./layuot:v1", () => null)).toThrow(/layuot: no such directory/);
    expect(() => parseSource("docker-archive:img.tar", () => null)).toThrow(/img.tar: no such file/);
    expect(() => parseSource("./layout", () => "directory")).toThrow(/\.\/layout is a directory/);
  });

  it("leaves image names to the engine", () => {
    expect(parseSource("ghcr.io/team/app:1.0", () => null)).toEqual({ kind: "engine", image: "ghcr.io/team/app:1.0" });
  });

  it("says so from the command line, before any engine or registry is asked", async () => {
    const work = mkdtempSync(join(tmpdir(), "missing-source-"));
    const run = await runCli(["push", join(work, "typo.tar"), "127.0.0.1:9/r:t"], {
      R2_REGISTRY_STATE: join(work, "uploads.json"),
    });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`${join(work, "typo.tar")}: no such file`);
    expect(run.stderr).not.toMatch(/docker save|engine/);
  });
});

describe("a registry that is not running", () => {
  it("fails within seconds and asks whether the registry runs there", async () => {
    const work = mkdtempSync(join(tmpdir(), "refused-"));
    const image = await buildMultiArchLayout(join(work, "layout"), 1024);
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as AddressInfo).port;
    await new Promise((r) => server.close(r));
    const started = Date.now();
    const run = await runCli(["push", `oci:${image.dir}:${image.tag}`, `127.0.0.1:${port}/r:t`], {
      R2_REGISTRY_STATE: join(work, "uploads.json"),
    });
    const seconds = (Date.now() - started) / 1000;
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`is the registry running at 127.0.0.1:${port}?`);
    // Node and tsx start in about a second; the refusal itself gets one more try.
    expect(seconds).toBeLessThan(5);
  });
});

describe("mount sources", () => {
  it("tries --mount-from first, then the copy's source, then the record; each once, never the target", () => {
    expect(
      mountCandidates({ explicit: ["a"], sourceRepo: "src", recorded: ["b", "src", "target", "a"], target: "target" }),
    ).toEqual(["a", "src", "b"]);
    expect(mountCandidates({ explicit: [], sourceRepo: null, recorded: ["1", "2", "3", "4"], target: "t" })).toEqual(
      ["1", "2", "3"].slice(0, MAX_AUTOMATIC_MOUNTS),
    );
  });

  it("records where a blob was seen, newest first, a few repositories per blob", () => {
    const record = new BlobSourcesFile(join(mkdtempSync(join(tmpdir(), "blob-sources-")), "blob-sources.json"));
    expect(record.repositoriesHolding("reg", "sha256:1")).toEqual([]);
    for (const repo of ["r1", "r2", "r3", "r4", "r2"]) record.remember("reg", repo, ["sha256:1"]);
    expect(record.repositoriesHolding("reg", "sha256:1")).toEqual(["r2", "r4", "r3"]);
    expect(record.repositoriesHolding("other", "sha256:1")).toEqual([]);
  });
});

describe("summaries", () => {
  const MiB = 1024 * 1024;
  const push: PushSummary = {
    reference: "127.0.0.1:8787/app:latest",
    digest: "sha256:00",
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    manifests: 1,
    blobs: 3,
    bytesTotal: 125.3 * MiB,
    bytesSent: 2 * MiB,
    bytesSkipped: 123.3 * MiB,
    bytesResumed: 123 * MiB,
    bytesExisted: 0.3 * MiB,
    bytesMounted: 0,
    resumed: 1,
    existed: 2,
    mounted: 0,
    seconds: 3.14,
  };

  it("a push after a resume tells resumed bytes from blobs that were there", () => {
    expect(pushSummaryLines(push)[2]).toBe(
      "sent 2.0 MiB of 125.3 MiB in 3.1 s; resumed 123.0 MiB an earlier run had sent (1 blob); 2 blobs already there (307.2 KiB)",
    );
  });

  it("a pull says received", () => {
    const lines = pullSummaryLines({
      digest: "sha256:00",
      reference: "127.0.0.1:8787/app:latest",
      dest: "out",
      manifests: 1,
      blobs: 2,
      bytesTotal: 10 * MiB,
      bytesReceived: 9 * MiB,
      present: 1,
      bytesPresent: MiB,
      seconds: 1,
    });
    expect(lines[2]).toBe("received 9.0 MiB of 10.0 MiB in 1.0 s; 1 blob already in out (1.0 MiB)");
  });
});
