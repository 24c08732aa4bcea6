// Blob delivery by redirect (BLOB_REDIRECT, docs/delivery.md) against the local storage host
// (scripts/local-runtime/storage-host.ts), which stands in for R2's S3 endpoint and checks
// every presigned URL with botocore before it serves a byte. The registry's URLs are compared
// with botocore's own, the storage host is shown to refuse what R2 refuses, and the real
// clients pull through the redirect with every digest intact and no registry credential sent
// to the storage host. The storage host listens on 127.0.0.2, another host than the
// registry's 127.0.0.1, as R2's endpoint is another host than the registry's in production:
// clients decide by host whether a redirect may carry the registry's Authorization.
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runConformance } from "../../conformance/runner";
import { botocorePython, SIGV4_CHECKER } from "../../scripts/local-runtime/storage-host";
import { presignedBlobUrl } from "../../src/storage/blob-urls";
import { sha256 } from "../shared-helpers";
import { needClients } from "./clients/availability";
import { buildBase, buildDerived, type BuiltImage } from "./clients/images";
import { CREDS, logMark, requestsSince } from "./clients/registry";
import { pullToLayout, pushImage } from "./clients/skopeo";
import { sha256OfFile } from "./clients/run";
import { ContainersTools, Crane, Ctr, DockerCli, Oras } from "./clients/tools";
import { runCli } from "./push-client-fixtures";
import { E2E_AUTH, E2E_CREDENTIALS, freePort, pushBlob, registrySuite, type RegistryServer } from "./registry-server";

const BUCKET = "registry-e2e";
const KEY_ID = "e2e-access-key-id";
const SECRET = "e2e-secret-access-key";
const TTL_SECONDS = 600;

/** The two redirect modes, each with a registry of its own and the storage host beside it:
 *  what the storage host logs for a GET it served, and the variables. In public mode every
 *  repository is anonymously pullable, so every blob may be copied to the public bucket. */
const MODES = [
  {
    name: "presigned",
    served: / 20[06] verified /,
    vars: (storage: string) => ({
      BLOB_REDIRECT: "presigned",
      R2_S3_ENDPOINT: storage,
      BLOB_REDIRECT_TTL_SECONDS: String(TTL_SECONDS),
    }),
  },
  {
    name: "public",
    served: / 20[06] public /,
    vars: (storage: string) => ({ BLOB_REDIRECT: `public:${storage}`, ANONYMOUS_PULL: "*" }),
  },
] as const;
type Mode = (typeof MODES)[number];

let server: RegistryServer;
let storage: string;

/** The registry and storage host of `mode`, for the tests of the calling describe block. */
function modeSuite(mode: Mode): void {
  registrySuite(
    async () => {
      const port = await freePort("127.0.0.2");
      storage = `http://127.0.0.2:${port}`;
      return {
        storageHost: `127.0.0.2:${port}`,
        // The storage host checks presigned URLs with the same bucket and key in both modes.
        vars: { R2_BUCKET_NAME: BUCKET, R2_ACCESS_KEY_ID: KEY_ID, R2_SECRET_ACCESS_KEY: SECRET, ...mode.vars(storage) },
      };
    },
    (started) => {
      server = started;
    },
  );
}

/** botocore's presigned GET of `url` (unsigned) at `timestamp`, as sigv4-check.py makes it. */
function botocoreUrl(url: string, timestamp: string, expires: number): string {
  const job = { op: "sign", method: "GET", url, accessKeyId: KEY_ID, secretAccessKey: SECRET, region: "auto" };
  const run = spawnSync(botocorePython(), [SIGV4_CHECKER], {
    input: `${JSON.stringify({ ...job, expires, timestamp })}\n`,
  });
  expect(run.status, run.stderr.toString()).toBe(0);
  return (JSON.parse(run.stdout.toString()) as { url: string }).url;
}

function sortedQuery(url: string): [string, string][] {
  return [...new URL(url).searchParams].sort(([a], [b]) => a.localeCompare(b));
}

/** The registry's answer to a blob GET, not followed. */
function getBlob(repo: string, digest: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${server.url}/v2/${repo}/blobs/${digest}`, {
    headers: { Authorization: E2E_AUTH, ...headers },
    redirect: "manual",
  });
}

/** The storage host's lines in the runtime's log since `mark`. */
function storageLines(mark: number): string[] {
  return server
    .log()
    .slice(mark)
    .split("\n")
    .filter((line) => line.startsWith("storage-host "));
}

describe("BLOB_REDIRECT=presigned", () => {
  modeSuite(MODES[0]);
  const bytes = randomBytes(3 * 1024 * 1024 + 17);
  let digest: string;
  beforeAll(async () => {
    ({ digest } = await pushBlob({ url: server.url, auth: E2E_AUTH }, "delivery/signed", bytes));
  });

  it("answers a blob GET with a 307 to a presigned URL that botocore signs alike", async () => {
    const answer = await getBlob("delivery/signed", digest);
    expect(answer.status).toBe(307);
    expect(answer.headers.get("Cache-Control")).toBe("private, no-store");
    expect(answer.headers.get("Docker-Content-Digest")).toBe(digest);
    const location = answer.headers.get("Location")!;
    expect(location.startsWith(`${storage}/${BUCKET}/`)).toBe(true);

    const ours = new URL(location);
    const stamp = ours.searchParams.get("X-Amz-Date")!;
    expect(ours.searchParams.get("X-Amz-Expires")).toBe(String(TTL_SECONDS));
    const theirs = botocoreUrl(`${ours.origin}${ours.pathname}`, stamp, TTL_SECONDS);
    expect(sortedQuery(location)).toEqual(sortedQuery(theirs));
    expect(new URL(theirs).pathname).toBe(ours.pathname);

    const fetched = await fetch(location);
    expect(fetched.status).toBe(200);
    expect(sha256(new Uint8Array(await fetched.arrayBuffer()))).toBe(digest);
  });

  it("sends a Range on to storage, answers HEAD itself, and redirects nobody who may not pull", async () => {
    const ranged = await getBlob("delivery/signed", digest, { Range: "bytes=1000-1999" });
    expect(ranged.status).toBe(307);
    const part = await fetch(ranged.headers.get("Location")!, { headers: { Range: "bytes=1000-1999" } });
    expect(part.status).toBe(206);
    expect(Buffer.from(await part.arrayBuffer()).equals(bytes.subarray(1000, 2000))).toBe(true);

    const head = await fetch(`${server.url}/v2/delivery/signed/blobs/${digest}`, {
      method: "HEAD",
      headers: { Authorization: E2E_AUTH },
      redirect: "manual",
    });
    expect(head.status).toBe(200);
    expect(head.headers.get("Content-Length")).toBe(String(bytes.length));
    expect(head.headers.get("Location")).toBeNull();

    const anonymous = await fetch(`${server.url}/v2/delivery/signed/blobs/${digest}`, { redirect: "manual" });
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get("Location")).toBeNull();
    const elsewhere = await getBlob("delivery/unlinked", digest);
    expect(elsewhere.status).toBe(404);
    expect(((await elsewhere.json()) as { errors: { code: string }[] }).errors[0]!.code).toBe("BLOB_UNKNOWN");
  });

  it("the storage host refuses what R2 refuses: a changed URL, an expired one, a second credential", async () => {
    const location = (await getBlob("delivery/signed", digest)).headers.get("Location")!;
    const tampered = new URL(location);
    tampered.searchParams.set("X-Amz-Expires", "3600");
    expect((await fetch(tampered)).status).toBe(403);
    const otherObject = location.replace(/\/_data\/[^?]*/, "/_data/another-object");
    expect((await fetch(otherObject)).status).toBe(403);
    const withCredentials = await fetch(location, { headers: { Authorization: E2E_AUTH } });
    expect(withCredentials.status).toBe(400);
    expect(await withCredentials.text()).toContain("Only one auth mechanism allowed");

    // Signed two hours ago for ten minutes: the signature is right, the time is not.
    const dataPath = decodeURIComponent(new URL(location).pathname.slice(`/${BUCKET}/`.length));
    const delivery = {
      mode: "presigned" as const,
      endpoint: storage,
      bucket: BUCKET,
      accessKeyId: KEY_ID,
      secretAccessKey: SECRET,
      expiresSeconds: TTL_SECONDS,
    };
    const old = await presignedBlobUrl(
      delivery,
      { dataKey: dataPath, size: bytes.length },
      new Date(Date.now() - 2 * 3600_000),
    );
    const expired = await fetch(old);
    expect(expired.status).toBe(403);
    expect(await expired.text()).toContain("expired");
    const fresh = await presignedBlobUrl(delivery, { dataKey: dataPath, size: bytes.length });
    expect((await fetch(fresh)).status).toBe(200);
  });
});

describe.each(MODES)("real clients pull through BLOB_REDIRECT=$name", (mode) => {
  modeSuite(mode);
  let work: string;
  let tools: ContainersTools;
  let image: BuiltImage;
  const repo = "delivery/image";
  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "e2e-delivery-"));
    tools = new ContainersTools(join(work, "containers"));
  });
  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  /** Builds and pushes the test image once (two layers), returning it. */
  async function pushed(): Promise<BuiltImage> {
    if (image) return image;
    const base = await buildBase(join(work, "layout"), work);
    image = await buildDerived(base, "payload", work, {
      files: { "payload/data.bin": { size: 2 << 20, seed: 7 }, "payload/hello.txt": "delivered\n" },
    });
    await pushImage(tools, image.ref, `docker://${server.host}/${repo}:v1`);
    if (mode.name === "public") await copiedToPublic([image.manifest.config, ...image.manifest.layers]);
    return image;
  }

  /** Pulls each blob once, which copies it into the public bucket behind the answer, and
   *  waits (up to 10 s each) until the registry redirects to the copy. */
  async function copiedToPublic(blobs: { digest: string }[]): Promise<void> {
    for (const { digest } of blobs) {
      let status = 0;
      for (let waited = 0; waited < 10_000 && status !== 307; waited += 200) {
        const answer = await getBlob(repo, digest);
        await answer.body?.cancel();
        status = answer.status;
        if (status !== 307) await new Promise((r) => setTimeout(r, 200));
      }
      expect(status, `${digest} is redirected to its public copy`).toBe(307);
    }
  }

  /** Runs `pull`, then checks every blob GET it made was redirected and every blob it was
   *  sent away for was fetched from the storage host with a valid signature and without
   *  Authorization. */
  async function throughStorage(pull: () => Promise<void>): Promise<void> {
    await pushed();
    const mark = logMark(server);
    await pull();
    // A client's first request may be its challenge (401); every answer with bytes is a 307.
    const blobGets = () =>
      requestsSince(server, mark).filter(
        (line) => /^GET \/v2\/[^ ]+\/blobs\/sha256:/.test(line) && !line.endsWith(" 401"),
      );
    // Counted by blob, not by request: a client may ask the registry for a blob twice and
    // fetch it once (skopeo did so for a config blob in one CI run, its pull whole and every
    // digest intact).
    const blobsRedirected = () => new Set(blobGets().map((line) => /sha256:[0-9a-f]{64}/.exec(line)?.[0]));
    // Both servers log a request once its answer has gone out, which may be after the client
    // is done: wait (up to 10 s) for the registry's lines and a storage line per blob.
    const settled = () => blobsRedirected().size > 0 && storageLines(mark).length >= blobsRedirected().size;
    for (let waited = 0; waited < 10_000 && !settled(); waited += 200) await new Promise((r) => setTimeout(r, 200));
    const served = storageLines(mark);
    expect(
      served.filter((line) => line.includes("refused")),
      served.join("\n"),
    ).toEqual([]);
    const verified = served.filter((line) => mode.served.test(line));
    const redirected = blobGets();
    expect(redirected.length, redirected.join("\n")).toBeGreaterThan(0);
    expect(
      redirected.every((line) => line.endsWith(" 307")),
      redirected.join("\n"),
    ).toBe(true);
    // Every blob the client was sent away for was fetched from storage (presigned: with a
    // signature botocore accepts).
    const blobs = blobsRedirected();
    const report = [...redirected, ...served].join("\n");
    expect(verified.length, report).toBeGreaterThanOrEqual(blobs.size);
    if (mode.name === "public") {
      // The public bucket is keyed by digest, so each blob's own fetch can be named.
      for (const digest of blobs)
        expect(
          verified.some((line) => line.includes(`/blobs/${digest?.replace(":", "/")} `)),
          `${digest}\n${report}`,
        ).toBe(true);
    }
  }

  it("skopeo copies the image into a layout, every blob hashing to its digest", async (context) => {
    await needClients(context, "skopeo", "umoci", "busybox");
    await throughStorage(async () => {
      const pulled = await pullToLayout(tools, `docker://${server.host}/${repo}:v1`, join(work, "skopeo-layout"));
      expect(pulled.manifestDigest).toBe(image.manifestDigest);
    });
  });

  it("podman pulls it", async (context) => {
    await needClients(context, "podman", "skopeo", "umoci", "busybox");
    await throughStorage(async () => {
      await tools.podman(["pull", "--tls-verify=false", "--creds", CREDS, `${server.host}/${repo}:v1`]);
      const inspect = await tools.podman(["image", "inspect", "--format", "{{.Digest}}", `${server.host}/${repo}:v1`]);
      expect(inspect.stdout.trim()).toBe(image.manifestDigest);
    });
  });

  it("docker pulls it", async (context) => {
    await needClients(context, "docker", "skopeo", "umoci", "busybox");
    const docker = new DockerCli(join(work, "docker-config"));
    const name = `${server.host}/${repo}:v1`;
    expect((await docker.login(server.host, E2E_CREDENTIALS.username, E2E_CREDENTIALS.password)).code).toBe(0);
    try {
      await throughStorage(async () => {
        await docker.run(["pull", name]);
        const inspect = await docker.run(["image", "inspect", "--format", "{{json .RepoDigests}}", name]);
        expect(JSON.parse(inspect.stdout)).toContain(`${server.host}/${repo}@${image.manifestDigest}`);
      });
    } finally {
      await docker.attempt(["rmi", "--force", name]);
    }
  });

  it("containerd (ctr) pulls it and stores every blob under its digest", async (context) => {
    await needClients(context, "ctr", "skopeo", "umoci", "busybox");
    const ctr = new Ctr(join(work, "ctr"), server.host, `e2e-delivery-${process.pid}`);
    const name = `${server.host}/${repo}:v1`;
    try {
      await throughStorage(async () => {
        await ctr.pull(name, CREDS);
        const content = (await ctr.run(["content", "ls"])).stdout;
        for (const layer of image.manifest.layers) expect(content).toContain(layer.digest);
      });
    } finally {
      await ctr.run(["images", "rm", "--sync", name]).catch(() => undefined);
    }
  });

  it("crane pulls it into a layout, and oras copies it into one", async (context) => {
    await needClients(context, "crane", "oras", "skopeo", "umoci", "busybox");
    const crane = new Crane(join(work, "crane-config"));
    const oras = new Oras(join(work, "oras"));
    const { username, password } = E2E_CREDENTIALS;
    await crane.run(["auth", "login", server.host, "-u", username, "--password-stdin"], { input: password });
    await oras.run(["login", server.host, "-u", username, "--password-stdin"], { input: password });
    await throughStorage(async () => {
      await crane.run(["pull", "--format", "oci", `${server.host}/${repo}:v1`, join(work, "crane-layout")]);
    });
    await throughStorage(async () => {
      await oras.run(["cp", "-r", `${server.host}/${repo}:v1`, "--to-oci-layout", `${join(work, "oras-layout")}:v1`]);
    });
    for (const layout of ["crane-layout", "oras-layout"]) {
      for (const layer of image.manifest.layers) {
        const file = join(work, layout, "blobs", ...layer.digest.split(":"));
        expect(await sha256OfFile(file), `${layout} ${layer.digest}`).toBe(layer.digest);
      }
    }
  });

  it("the push client pulls it into a layout, every blob checked", async (context) => {
    await needClients(context, "skopeo", "umoci", "busybox");
    const env = { R2_REGISTRY_USERNAME: E2E_CREDENTIALS.username, R2_REGISTRY_PASSWORD: E2E_CREDENTIALS.password };
    await throughStorage(async () => {
      const dest = join(work, "cli-layout");
      const run = await runCli(["pull", `${server.host}/${repo}:v1`, dest], env);
      expect(run.code, run.stderr).toBe(0);
      const index = JSON.parse(readFileSync(join(dest, "index.json"), "utf8"));
      expect(index.manifests[0].digest).toBe(image.manifestDigest);
    });
  });

  it("the conformance runner passes every check in all four groups", async () => {
    const lines: string[] = [];
    const reporter = await runConformance({
      namespace: `conformance/e2e-${mode.name}`,
      url: server.url,
      ...E2E_CREDENTIALS,
      print: (line) => lines.push(line),
    });
    expect(reporter.failures(), lines.join("\n")).toEqual([]);
  });
});
