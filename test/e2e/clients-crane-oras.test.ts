// crane (go-containerregistry) and oras against `npm start`'s runtime, as users run them:
// crane append/push/pull/copy (a mount within the registry)/tag/ls/digest/export/catalog/delete,
// and oras push/pull/attach/discover/cp -r/manifest delete, with referrers found through the
// referrers API (no `sha256-<hex>` fallback tag may appear).
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { needClients } from "./clients/availability";
import { api, getManifest, logMark, requestsSince, clientSuite } from "./clients/registry";
import { runOk } from "./clients/run";
import { Crane, Oras } from "./clients/tools";
import { E2E_CREDENTIALS, type RegistryServer } from "./registry-server";

let server: RegistryServer;
let work: string;

clientSuite("crane-oras", (s, w) => {
  server = s;
  work = w;
});

async function tags(repo: string): Promise<string[]> {
  const response = await api(server, `/v2/${repo}/tags/list`);
  if (response.status === 404) return [];
  return ((await response.json()) as { tags: string[] | null }).tags ?? [];
}

async function referrers(repo: string, digest: string): Promise<{ artifactType?: string; digest: string }[]> {
  const response = await api(server, `/v2/${repo}/referrers/${digest}`);
  expect(response.status).toBe(200);
  return ((await response.json()) as { manifests: { artifactType?: string; digest: string }[] }).manifests;
}

describe("crane", () => {
  let crane: Crane;
  const image = (repoTag: string) => `${server.host}/${repoTag}`;

  beforeAll(() => {
    crane = new Crane(join(work, "crane-config"));
  });

  it("logs in, appends a layer, pulls and pushes a tarball and an OCI layout", async (context) => {
    await needClients(context, "crane");
    const { username, password } = E2E_CREDENTIALS;
    await crane.run(["auth", "login", server.host, "-u", username, "--password-stdin"], { input: password });
    const files = join(work, "crane-files");
    mkdirSync(files, { recursive: true });
    writeFileSync(join(files, "hello.txt"), "hello from crane\n");
    const layer = join(work, "crane-layer.tar");
    await runOk("tar", ["--mtime=@0", "--owner=0", "--group=0", "-C", files, "-cf", layer, "hello.txt"]);
    await crane.run(["append", "-f", layer, "-t", image("crane/app:v1")]);
    const digest = (await crane.run(["digest", image("crane/app:v1")])).stdout.trim();
    expect((await getManifest(server, "crane/app", "v1")).digest).toBe(digest);

    const tarball = join(work, "crane-app.tar");
    await crane.run(["pull", image("crane/app:v1"), tarball]);
    await crane.run(["push", tarball, image("crane/from-tarball:v1")]);
    const layout = join(work, "crane-layout");
    await crane.run(["pull", "--format", "oci", image("crane/app:v1"), layout]);
    await crane.run(["push", layout, image("crane/from-layout:v1")]);
    // Both round trips keep the manifest byte for byte.
    expect((await getManifest(server, "crane/from-tarball", "v1")).digest).toBe(digest);
    expect((await getManifest(server, "crane/from-layout", "v1")).digest).toBe(digest);

    const exported = (await crane.run(["export", image("crane/app:v1"), join(work, "crane-fs.tar")])).code;
    expect(exported).toBe(0);
    const listing = await runOk("tar", ["-xOf", join(work, "crane-fs.tar"), "hello.txt"]);
    expect(listing.stdout).toBe("hello from crane\n");
  });

  it("copies within the registry by mounting every blob, tags, lists, catalogs and deletes", async (context) => {
    await needClients(context, "crane");
    const digest = (await crane.run(["digest", image("crane/app:v1")])).stdout.trim();
    const mark = logMark(server);
    await crane.run(["copy", image("crane/app:v1"), image("crane/copy:v1")]);
    await new Promise((r) => setTimeout(r, 500));
    const uploads = requestsSince(server, mark).filter((r) => r.includes("/v2/crane/copy/blobs/uploads/"));
    // A mount is one POST answered 201 per blob (config and layer); no bytes are sent again.
    expect(uploads).toEqual(["POST /v2/crane/copy/blobs/uploads/ 201", "POST /v2/crane/copy/blobs/uploads/ 201"]);
    expect((await getManifest(server, "crane/copy", "v1")).digest).toBe(digest);

    await crane.run(["tag", image("crane/copy:v1"), "v2"]);
    expect((await crane.run(["ls", image("crane/copy")])).stdout.trim().split("\n").sort()).toEqual(["v1", "v2"]);
    const catalog = (await crane.run(["catalog", server.host])).stdout.trim().split("\n");
    expect(catalog).toEqual(expect.arrayContaining(["crane/app", "crane/copy", "crane/from-layout"]));

    await crane.run(["delete", `${server.host}/crane/copy@${digest}`]);
    expect((await getManifest(server, "crane/copy", digest)).status).toBe(404);
    expect(await tags("crane/copy")).toEqual([]);
    // The source keeps its image and blobs.
    expect((await getManifest(server, "crane/app", "v1")).status).toBe(200);
  });
});

describe("oras", () => {
  let oras: Oras;
  let files: string;
  const target = (repoRef: string) => `${server.host}/${repoRef}`;

  beforeAll(() => {
    oras = new Oras(join(work, "oras"));
    files = join(work, "oras-files");
    mkdirSync(files, { recursive: true });
  });

  it("pushes and pulls an artifact, attaches a referrer and discovers it through the referrers API", async (context) => {
    await needClients(context, "oras");
    const { username, password } = E2E_CREDENTIALS;
    await oras.run(["login", server.host, "-u", username, "--password-stdin"], { input: password });
    writeFileSync(join(files, "notes.txt"), "an artifact pushed by oras\n");
    await oras.run(
      ["push", target("oras/art:v1"), "--artifact-type", "application/vnd.e2e.notes", "notes.txt:text/plain"],
      { cwd: files },
    );
    const out = join(work, "oras-pulled");
    await oras.run(["pull", target("oras/art:v1"), "-o", out]);
    expect(readFileSync(join(out, "notes.txt"), "utf8")).toBe("an artifact pushed by oras\n");

    writeFileSync(join(files, "signature.txt"), "not really a signature\n");
    const mark = logMark(server);
    await oras.run(
      ["attach", target("oras/art:v1"), "--artifact-type", "application/vnd.e2e.signature", "signature.txt:text/plain"],
      { cwd: files },
    );
    const subject = (await getManifest(server, "oras/art", "v1")).digest!;
    const discovered = await oras.run(["discover", target("oras/art:v1"), "--format", "json"]);
    expect(discovered.stdout).toContain("application/vnd.e2e.signature");
    await new Promise((r) => setTimeout(r, 500));
    expect(requestsSince(server, mark)).toContain(`GET /v2/oras/art/referrers/${subject} 200`);
    // The registry answered the referrers API, so oras kept no referrers tag of its own.
    expect(await tags("oras/art")).toEqual(["v1"]);
    expect((await referrers("oras/art", subject)).map((r) => r.artifactType)).toEqual([
      "application/vnd.e2e.signature",
    ]);
  });

  it("copies an artifact with its referrers (cp -r) and deletes a manifest", async (context) => {
    await needClients(context, "oras");
    await oras.run(["cp", "-r", target("oras/art:v1"), target("oras/copy:v1")]);
    const subject = (await getManifest(server, "oras/copy", "v1")).digest!;
    const [signature] = await referrers("oras/copy", subject);
    expect(signature?.artifactType).toBe("application/vnd.e2e.signature");
    expect(await tags("oras/copy")).toEqual(["v1"]);

    await oras.run(["manifest", "delete", "--force", `${server.host}/oras/copy@${signature!.digest}`]);
    expect((await getManifest(server, "oras/copy", signature!.digest)).status).toBe(404);
    expect(await referrers("oras/copy", subject)).toEqual([]);
    expect((await referrers("oras/art", (await getManifest(server, "oras/art", "v1")).digest!)).length).toBe(1);
  });
});
