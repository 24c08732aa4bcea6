// The push client (cli/, `npx r2-registry`) against `npm start`'s runtime with the edge's body limit
// emulated at 50 MiB: a multi-arch image with a layer above the limit goes up in chunks with
// every digest kept, comes back byte for byte (our pull, skopeo, docker), and an interrupted
// push resumes without re-sending what the registry already holds.
// PUSH_CLIENT_BIG_MIB sets the big layer's size (default 64; the check used 300).
import { spawnSync } from "node:child_process";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createReadStream, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { sendRequest } from "../../cli/http";
import { buildMultiArchLayout, runCli, type BuiltImage } from "./push-client-fixtures";
import { sha256OfFile } from "./clients/run";
import { E2E_AUTH, E2E_CREDENTIALS, requireAll, startRegistry, type RegistryServer } from "./registry-server";

const LIMIT = 50 * 1024 * 1024;
const BIG = Number(process.env.PUSH_CLIENT_BIG_MIB ?? 64) * 1024 * 1024;
const MiB = 1024 * 1024;

let server: RegistryServer;
let work: string;
let image: BuiltImage;
let env: Record<string, string>;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "push-client-"));
  [server, image] = await Promise.all([
    startRegistry({ vars: { MAX_REQUEST_BODY_BYTES: String(LIMIT) } }),
    buildMultiArchLayout(join(work, "layout"), BIG),
  ]);
  env = {
    R2_REGISTRY_STATE: join(work, "uploads.json"),
    R2_REGISTRY_USERNAME: E2E_CREDENTIALS.username,
    R2_REGISTRY_PASSWORD: E2E_CREDENTIALS.password,
  };
});
afterAll(async () => {
  await server?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

const summaryOf = (run: { events: { event: string }[] }) =>
  run.events.find((e) => e.event === "summary") as unknown as Record<string, number | string>;

/** A push the test cut on purpose (R2_REGISTRY_KILL_AFTER_BYTES): no exit code, a signal. */
const killed = (run: { code: number | null }) => run.code === null;

async function push(
  repo: string,
  extra: string[] = [],
  extraEnv: Record<string, string> = {},
  destination = `${server.host}/${repo}`,
) {
  const run = await runCli(
    ["push", `oci:${image.dir}:${image.tag}`, `${destination}:${image.tag}`, "--json", ...extra],
    { ...env, ...extraEnv },
  );
  // A failed push, or a request the registry left unanswered until --timeout, is easier to
  // read beside what the registry saw.
  const stalled = run.events.filter((e) => e.event === "note" && String(e.message).includes("did not answer"));
  if (destination.startsWith(server.host) && ((run.code !== 0 && !killed(run)) || stalled.length > 0))
    console.log(
      `push to ${destination} exited ${run.code}; ${stalled.length} requests unanswered; the registry's last lines:\n${server.log().slice(-4000)}`,
    );
  return run;
}

/** Every digest of the image is a file in `dir` whose bytes hash to its name. */
async function expectSameBlobs(dir: string) {
  const names = new Set(readdirSync(join(dir, "blobs/sha256")).map((n) => `sha256:${n}`));
  for (const digest of image.digests) {
    expect(names.has(digest), digest).toBe(true);
    expect(await sha256OfFile(join(dir, "blobs/sha256", digest.slice(7)))).toBe(digest);
  }
}

it("refuses a single-request upload of the big layer with 413", async () => {
  const open = await sendRequest(
    { method: "POST", url: `${server.url}/v2/plain/blobs/uploads/`, headers: { Authorization: E2E_AUTH } },
    { insecure: true },
  );
  expect(open.status).toBe(202);
  expect(Number(open.header("oci-chunk-max-length"))).toBe(LIMIT);
  await open.drain();
  const location = new URL(open.header("location")!, server.url).toString();
  const path = join(image.dir, "blobs/sha256", image.bigLayer.digest.slice(7));
  const whole = await sendRequest(
    {
      method: "PATCH",
      url: location,
      headers: {
        Authorization: E2E_AUTH,
        "Content-Length": String(image.bigLayer.size),
        "Content-Range": `0-${image.bigLayer.size - 1}`,
      },
      body: () => createReadStream(path),
    },
    { insecure: true },
  ).catch((error: Error) => ({ status: `network error: ${error.message}` }));
  expect(whole.status).toBe(413);
});

describe("push, then pull back", () => {
  it("pushes the multi-arch image in chunks below the limit, keeping every digest", async () => {
    const run = await push("multi");
    expect(run.code, run.stderr).toBe(0);
    const summary = summaryOf(run);
    expect(summary.digest).toBe(image.indexDigest);
    expect(summary.bytesSkipped).toBe(0);
    expect(summary.bytesSent).toBe(summary.bytesTotal);
    expect(summary.manifests).toBe(3);
    console.log(`push ${(BIG / MiB).toFixed(0)} MiB layer: ${summary.bytesSent} bytes in ${summary.seconds} s`);
  });

  it("pulls it back with the client, byte for byte", async () => {
    const dest = join(work, "pulled");
    const run = await runCli(["pull", `${server.host}/multi:${image.tag}`, dest, "--json"], env);
    expect(run.code, run.stderr).toBe(0);
    const index = JSON.parse(readFileSync(join(dest, "index.json"), "utf8"));
    expect(index.manifests[0].digest).toBe(image.indexDigest);
    await expectSameBlobs(dest);
  });

  it("pulls it back with skopeo, byte for byte", async () => {
    if (spawnSync("skopeo", ["--version"]).status !== 0) {
      if (requireAll()) throw new Error("skopeo is missing");
      return console.warn("skip: skopeo not installed");
    }
    const dest = join(work, "skopeo");
    const copy = spawnSync(
      "skopeo",
      [
        "copy",
        "--all",
        "--src-tls-verify=false",
        "--src-creds",
        `${E2E_CREDENTIALS.username}:${E2E_CREDENTIALS.password}`,
        `docker://${server.host}/multi:${image.tag}`,
        `oci:${dest}:${image.tag}`,
      ],
      { encoding: "utf8" },
    );
    expect(copy.status, copy.stderr).toBe(0);
    expect(JSON.parse(readFileSync(join(dest, "index.json"), "utf8")).manifests[0].digest).toBe(image.indexDigest);
    await expectSameBlobs(dest);
  });
});

it("pushes to :latest when the destination names no tag, as docker does", async () => {
  const run = await runCli(["push", `oci:${image.dir}:${image.tag}`, `${server.host}/untagged`, "--json"], env);
  expect(run.code, run.stderr).toBe(0);
  expect(summaryOf(run).reference).toBe(`${server.host}/untagged:latest`);
  const latest = await sendRequest(
    {
      method: "HEAD",
      url: `${server.url}/v2/untagged/manifests/latest`,
      headers: { Authorization: E2E_AUTH, Accept: "application/vnd.oci.image.index.v1+json" },
    },
    { insecure: true },
  );
  await latest.drain();
  expect(latest.status).toBe(200);
  expect(latest.header("docker-content-digest")).toBe(image.indexDigest);
});

describe("output without a terminal", () => {
  it("a push prints progress lines while the big layer goes up", async () => {
    // A state of its own: the record of earlier pushes would mount every blob instead.
    const state = { R2_REGISTRY_STATE: join(work, "plain-state", "uploads.json") };
    const run = await runCli(["push", `oci:${image.dir}:${image.tag}`, `${server.host}/plain:v1`], {
      ...env,
      ...state,
    });
    expect(run.code, run.stderr).toBe(0);
    const lines = run.stderr.split("\n").filter((line) => line.startsWith("progress: "));
    expect(lines.length, run.stderr).toBeGreaterThanOrEqual(3);
    expect(lines[0]).toMatch(/^progress: [0-9.]+ [KMG]?i?B of [0-9.]+ MiB \(\d+%\) after \d+ s$/);
    expect(run.stdout.split("\n")[2]).toMatch(/^sent [0-9.]+ MiB of [0-9.]+ MiB in [0-9.]+ s$/);
  });

  it("a pull says received, not sent, and prints progress lines", async () => {
    const run = await runCli(["pull", `${server.host}/multi:${image.tag}`, join(work, "pulled-plain")], env);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/: pulled [0-9.]+ [KM]iB \(received [0-9.]+ [KM]iB\)/);
    expect(run.stderr).toMatch(/^progress: /m);
    expect(run.stdout).toMatch(/^received [0-9.]+ MiB of [0-9.]+ MiB in [0-9.]+ s$/m);
    expect(`${run.stdout}${run.stderr}`).not.toMatch(/\bsent\b/);
  });
});

describe("automatic mounts", () => {
  it("mounts every blob from a repository this user pushed them to, with no --mount-from", async () => {
    const run = await push("automount");
    expect(run.code, run.stderr).toBe(0);
    const summary = summaryOf(run);
    expect(summary.bytesSent).toBe(0);
    expect(summary.mounted).toBe(5);
    expect(summary.bytesMounted).toBe(summary.bytesTotal);
  });

  it("copy within one registry mounts from the source repository, even with no record", async () => {
    const state = { R2_REGISTRY_STATE: join(work, "copy-state", "uploads.json") };
    const run = await runCli(
      ["copy", `${server.host}/multi:${image.tag}`, `${server.host}/copied:${image.tag}`, "--json"],
      { ...env, ...state },
    );
    expect(run.code, run.stderr).toBe(0);
    const summary = summaryOf(run);
    expect(summary.digest).toBe(image.indexDigest);
    expect(summary.bytesSent).toBe(0);
    expect(summary.mounted).toBe(5);
  });
});

describe("resuming", () => {
  // Each test starts with no upload state and no record of earlier pushes, which would mount.
  beforeEach(() => {
    env.R2_REGISTRY_STATE = join(mkdtempSync(join(work, "state-")), "uploads.json");
  });

  it("re-run after a killed push sends only the bytes the registry lacks", async () => {
    const chunk = 16 * MiB;
    // Killed (SIGKILL) in the middle of the big layer's third chunk, by the client itself, so
    // the cut lands there however fast this machine runs.
    const killedAt = 2.5 * chunk;
    const first = await push("resume", ["--chunk-size", "16MiB", "--jobs", "1"], {
      R2_REGISTRY_KILL_AFTER_BYTES: String(killedAt),
    });
    expect(first.code).not.toBe(0);
    const saved = JSON.parse(readFileSync(env.R2_REGISTRY_STATE!, "utf8"));
    const entry = saved[`${server.host}/resume@${image.bigLayer.digest}`];
    expect(entry.offset).toBeGreaterThanOrEqual(2 * chunk);

    const second = await push("resume", ["--chunk-size", "16MiB"]);
    expect(second.code, second.stderr).toBe(0);
    const summary = summaryOf(second);
    const resumed = second.events.find((e) => e.event === "blob" && e.digest === image.bigLayer.digest)!;
    console.log(
      `killed at ${killedAt} of ${image.bigLayer.size}; re-run sent ${resumed.sent}, skipped ${resumed.skipped}`,
    );
    expect(summary.digest).toBe(image.indexDigest);
    expect(resumed.skipped).toBeGreaterThanOrEqual(entry.offset);
    expect(resumed.sent).toBe(image.bigLayer.size - (resumed.skipped as number));
    // The summary tells resumed bytes apart from blobs that were there already.
    expect(summary.bytesResumed).toBe(resumed.skipped);
    expect(summary.resumed).toBe(1);
    expect((summary.bytesResumed as number) + (summary.bytesExisted as number)).toBe(summary.bytesSkipped);
    expect(summary.bytesSent).toBeLessThan(summary.bytesTotal as number);
    expect(
      existsSync(env.R2_REGISTRY_STATE!) &&
        JSON.parse(readFileSync(env.R2_REGISTRY_STATE!, "utf8"))[`${server.host}/resume@${image.bigLayer.digest}`],
    ).toBeFalsy();
  });

  it("retries a broken connection from the offset the registry reports", async () => {
    const run = await push("retry", ["--chunk-size", "16MiB", "--jobs", "1"], {
      R2_REGISTRY_FAULT_AFTER_BYTES: String(20 * MiB),
    });
    expect(run.code, run.stderr).toBe(0);
    expect(run.events.some((e) => e.event === "note" && String(e.message).includes("retrying"))).toBe(true);
    const summary = summaryOf(run);
    expect(summary.digest).toBe(image.indexDigest);
    // Bytes lost in flight when the connection broke are the only ones sent twice.
    expect(summary.bytesSent).toBeGreaterThanOrEqual(summary.bytesTotal as number);
    expect((summary.bytesSent as number) - (summary.bytesTotal as number)).toBeLessThan(16 * MiB);
  });

  it("skips blobs the repository has, and mounts from another repository", async () => {
    const again = summaryOf(await push("multi"));
    expect(again.bytesSent).toBe(0);
    const mounted = summaryOf(await push("mounted", ["--mount-from", "multi"]));
    expect(mounted.bytesSent).toBe(0);
    expect(mounted.mounted).toBe(5);
  });
});

describe("a registry that stops answering", () => {
  // Answers the version check, then holds every other request open without a byte: a hung
  // registry, or a connection a proxy dropped silently. The client must not wait forever.
  let silent: Server;
  let host: string;
  beforeAll(async () => {
    silent = createServer((req, res) => {
      if (req.url === "/v2/") res.writeHead(200, { "Content-Type": "application/json" }).end("{}");
      else req.resume(); // read the body, never answer
    });
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    host = `127.0.0.1:${(silent.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    silent?.closeAllConnections();
    await new Promise((resolve) => silent?.close(resolve));
  });

  it("gives up after --timeout with no byte moving, retries, then fails naming the host", async () => {
    const run = await push("unused", ["--timeout", "1", "--retries", "1"], {}, `http://${host}/silent`);
    expect(run.code).toBe(1);
    const error = run.events.find((e) => e.event === "error") as { message?: string } | undefined;
    expect(error?.message).toContain(`${host} did not answer for 1 s`);
    expect(run.events.some((e) => e.event === "note" && String(e.message).includes("retrying"))).toBe(true);
  }, 60_000);
});

describe("an https registry on a loopback address", () => {
  let tls: RegistryServer;
  beforeAll(async () => {
    tls = await startRegistry({ protocol: "https" });
  });
  afterAll(async () => {
    await tls?.stop();
  });

  it("is reached over TLS without a scheme or a flag, as docker does", async () => {
    const run = await runCli(["push", `oci:${image.dir}:${image.tag}`, `${tls.host}/tls:v1`, "--json"], env);
    expect(run.code, run.stderr || run.stdout).toBe(0);
    expect(summaryOf(run).digest).toBe(image.indexDigest);
    const pull = await runCli(["pull", `${tls.host}/tls:v1`, join(work, "pulled-tls"), "--json"], env);
    expect(pull.code, pull.stderr || pull.stdout).toBe(0);
  });
});
