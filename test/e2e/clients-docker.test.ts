import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { needClients } from "./clients/availability";
import { execInImage } from "./clients/container";
import { buildBase, buildDerived, rootfsTarball, type BuiltImage } from "./clients/images";
import { CREDENTIAL_KINDS } from "./clients/credentials";
import { clientSuite, E2E_TAG_LOCK, getManifest, logMark, requestsSince, stateBytes } from "./clients/registry";
import { sha256OfFile } from "./clients/run";
import { DockerCli } from "./clients/tools";
import { E2E_CREDENTIALS, type RegistryServer } from "./registry-server";

const BIG_PAYLOAD = { size: 150 * 1024 * 1024, seed: 150 };
const HELLO = "hello from the e2e docker image\n";

let server: RegistryServer;
let work: string;
let docker: DockerCli;

clientSuite("docker", (s, w) => {
  server = s;
  work = w;
  docker = new DockerCli(join(work, "docker-config"));
});

let baseImage: Promise<BuiltImage> | null = null;
const built = new Map<string, Promise<{ image: BuiltImage; tarball: string }>>();

/** Builds (once per file) the umoci image `tag` and its rootfs tarball for docker import. */
function buildTarball(tag: string, files: Record<string, string | { size: number; seed: number }>) {
  let pending = built.get(tag);
  if (!pending) {
    pending = (async () => {
      baseImage ??= buildBase(join(work, "layout"), work);
      const base = await baseImage;
      const image = tag === "base" ? base : await buildDerived(base, tag, work, { files });
      return { image, tarball: await rootfsTarball(image, join(work, `${tag}.tar`)) };
    })();
    built.set(tag, pending);
  }
  return pending;
}

/** docker import of a tarball under `name`; returns the image's single diff id. */
async function importImage(tarball: string, name: string): Promise<string> {
  await docker.run(["import", "--change", 'CMD ["/bin/sh"]', tarball, name]);
  const inspect = await docker.run(["image", "inspect", "--format", "{{json .RootFS.Layers}}", name]);
  return (JSON.parse(inspect.stdout) as string[])[0]!;
}

/** The manifest digest `docker push` reports ("<tag>: digest: sha256:... size: N"). */
function pushedDigest(output: string): string {
  const match = /digest: (sha256:[0-9a-f]{64})/.exec(output);
  if (!match?.[1]) throw new Error(`no digest in docker push output:\n${output}`);
  return match[1];
}

const slug = (name: string) =>
  name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-|-$/g, "");

describe("docker login with each credential kind", () => {
  const probe = () => `${server.host}/e2e/auth-probe:v1`;

  let probePushed: Promise<void> | null = null;
  /** The image every kind pulls, pushed once with the full credentials. */
  function pushProbe(): Promise<void> {
    probePushed ??= (async () => {
      const { tarball } = await buildTarball("base", {});
      await importImage(tarball, probe());
      expect((await docker.login(server.host, E2E_CREDENTIALS.username, E2E_CREDENTIALS.password)).code).toBe(0);
      await docker.run(["push", probe()]);
    })();
    return probePushed;
  }

  for (const kind of CREDENTIAL_KINDS) {
    it(`${kind.name}: login, pull, and push ${kind.canPush ? "allowed" : "refused"}`, async (context) => {
      await needClients(context, "docker", "umoci", "busybox");
      await pushProbe();
      const { username, password } = await kind.credentials();
      const client = new DockerCli(join(work, `config-${slug(kind.name)}`));
      const login = await client.login(server.host, username, password);
      expect(login.stdout + login.stderr).toContain("Login Succeeded");

      const expected = (await getManifest(server, "e2e/auth-probe", "v1")).digest;
      await client.run(["rmi", probe()]);
      const pull = await client.run(["pull", probe()]);
      expect(pull.stdout).toContain(`Digest: ${expected}`);

      const repo = `e2e/auth-${slug(kind.name)}`;
      await client.run(["tag", probe(), `${server.host}/${repo}:v1`]);
      const push = await client.attempt(["push", `${server.host}/${repo}:v1`]);
      const stored = await getManifest(server, repo, "v1");
      if (kind.canPush) {
        expect(push.code, push.stderr).toBe(0);
        expect(stored.digest).toBe(pushedDigest(push.stdout));
      } else {
        expect(push.code).not.toBe(0);
        expect(push.stdout + push.stderr).toMatch(/denied|unauthorized/i);
        expect(stored.status).toBe(404);
      }
    });
  }

  it("a wrong password is refused at login", async (context) => {
    await needClients(context, "docker");
    const client = new DockerCli(join(work, "config-wrong"));
    const login = await client.login(server.host, E2E_CREDENTIALS.username, "not-the-password");
    expect(login.code).not.toBe(0);
    expect(login.stdout + login.stderr).toMatch(/unauthorized|401/i);
  });
});

describe("docker push, pull and run of a 150 MiB layer", () => {
  const name = () => `${server.host}/e2e/big:v1`;
  let digest = "";

  it("pushes, pulls back the same digest, and the container sees the payload", async (context) => {
    await needClients(context, "docker", "umoci", "busybox");
    const { image, tarball } = await buildTarball("big", {
      "payload/hello.txt": HELLO,
      "payload/big.bin": BIG_PAYLOAD,
    });
    const diffId = await importImage(tarball, name());
    expect(diffId).toBe(await sha256OfFile(tarball));
    expect((await docker.login(server.host, E2E_CREDENTIALS.username, E2E_CREDENTIALS.password)).code).toBe(0);

    digest = pushedDigest((await docker.run(["push", name()])).stdout);
    const stored = await getManifest(server, "e2e/big", "v1");
    expect(stored.digest).toBe(digest);
    const layers = JSON.parse(stored.body.toString("utf8")).layers as { size: number }[];
    expect(layers).toHaveLength(1);
    expect(layers[0]!.size).toBeGreaterThan(BIG_PAYLOAD.size);

    await docker.run(["rmi", name()]);
    const pull = await docker.run(["pull", name()]);
    expect(pull.stdout).toContain(`Digest: ${digest}`);
    const pulledLayers = await docker.run(["image", "inspect", "--format", "{{json .RootFS.Layers}}", name()]);
    expect(JSON.parse(pulledLayers.stdout)).toEqual([diffId]);

    const payloadDigest = await sha256OfFile(join(image.bundle, "rootfs/payload/big.bin"));
    const [hello, sum] = await execInImage(name(), [
      ["cat", "/payload/hello.txt"],
      ["sha256sum", "/payload/big.bin"],
    ]);
    expect(hello).toEqual({ exitCode: 0, output: HELLO });
    expect(sum!.output.split(/\s+/)[0]).toBe(payloadDigest.slice("sha256:".length));
  });

  it("the same image pushed to a second repository is mounted, not uploaded again", async (context) => {
    await needClients(context, "docker", "umoci", "busybox");
    expect(digest, "needs the previous scenario's push").not.toBe("");
    const copy = `${server.host}/e2e/big-copy:v1`;
    await docker.run(["tag", name(), copy]);
    const mark = logMark(server);
    const before = stateBytes(server);
    const push = await docker.run(["push", copy]);
    expect(push.stdout).toMatch(/Mounted from e2e\/big/);
    expect(pushedDigest(push.stdout)).toBe(digest);

    // Registry side: the layer arrived as a mount (POST answered 201 Created), and the
    // registry's stored bytes grew by far less than the 150 MiB layer. Only the small
    // config blob goes through an upload session.
    const requests = requestsSince(server, mark).filter((r) => r.includes("/v2/e2e/big-copy/blobs/uploads/"));
    expect(requests.filter((r) => r.startsWith("POST") && r.endsWith(" 201"))).toHaveLength(1);
    expect(requests.filter((r) => r.startsWith("POST") && r.endsWith(" 202"))).toHaveLength(1);
    expect(stateBytes(server) - before).toBeLessThan(16 * 1024 * 1024);
    expect((await getManifest(server, "e2e/big-copy", "v1")).digest).toBe(digest);
  });
});

describe("docker push over an immutable tag", () => {
  it("is refused with the rule's name; the same image again is accepted and the tag stays", async (context) => {
    await needClients(context, "docker", "umoci", "busybox");
    const repo = "e2e/immutable/docker";
    const locked = `${server.host}/${repo}:v1`;
    const first = await buildTarball("base", {});
    const other = await buildTarball("immutable-other", { "payload/other.txt": "another image\n" });
    // Local names that keep each image while the locked name moves between them.
    await importImage(first.tarball, "e2e-immutable-first:keep");
    await importImage(other.tarball, "e2e-immutable-other:keep");
    expect((await docker.login(server.host, E2E_CREDENTIALS.username, E2E_CREDENTIALS.password)).code).toBe(0);

    await docker.run(["tag", "e2e-immutable-first:keep", locked]);
    const pushedFirst = pushedDigest((await docker.run(["push", locked])).stdout);

    await docker.run(["tag", "e2e-immutable-other:keep", locked]);
    const refused = await docker.attempt(["push", locked]);
    expect(refused.code).not.toBe(0);
    expect(refused.stdout + refused.stderr).toContain(`(rule ${E2E_TAG_LOCK.name})`);
    console.log(`docker's refusal: ${(refused.stdout + refused.stderr).trim().split("\n").at(-1)}`);

    await docker.run(["tag", "e2e-immutable-first:keep", locked]);
    expect(pushedDigest((await docker.run(["push", locked])).stdout)).toBe(pushedFirst);
    expect((await getManifest(server, repo, "v1")).digest).toBe(pushedFirst);
  });
});
