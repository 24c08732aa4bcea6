import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { needClients } from "./clients/availability";
import { buildBase, buildDerived, type BuiltImage } from "./clients/images";
import { api, CREDS, E2E_TAG_LOCK, getManifest, clientSuite } from "./clients/registry";
import { sha256 } from "../shared-helpers";
import { ContainersTools, Ctr } from "./clients/tools";
import { E2E_AUTH, pushBlob, type RegistryServer } from "./registry-server";
import { pullToLayout, pushImage, skopeoFlags } from "./clients/skopeo";

let server: RegistryServer;
let work: string;
let tools: ContainersTools;

clientSuite("oci-tools", (s, w) => {
  server = s;
  work = w;
  tools = new ContainersTools(join(work, "containers"));
});

interface TestImages {
  base: BuiltImage;
  amd64: BuiltImage;
  arm64: BuiltImage;
}
let imagesPending: Promise<TestImages> | null = null;

/** Three images with distinct digests that share the busybox base layer, built once. */
function testImages(): Promise<TestImages> {
  imagesPending ??= (async () => {
    const layout = join(work, "layout");
    const base = await buildBase(layout, work);
    const forArch = (arch: string) =>
      buildDerived(base, arch, work, {
        architecture: arch,
        files: { "payload/arch.txt": `${arch}\n`, "payload/data.bin": { size: 2 << 20, seed: arch.length } },
      });
    return { base, amd64: await forArch("amd64"), arm64: await forArch("arm64") };
  })();
  return imagesPending;
}

const ref = (repo: string) => `docker://${server.host}/${repo}`;

describe("buildah manifest push --all, then podman pulls each platform", () => {
  it("stores an index of both platforms, and each platform pulls with its own layers", async (context) => {
    await needClients(context, "buildah", "podman", "umoci", "busybox");
    const images = await testImages();
    await tools.buildah(["manifest", "create", "e2e-multi"]);
    for (const image of [images.amd64, images.arm64]) await tools.buildah(["manifest", "add", "e2e-multi", image.ref]);
    const push = ["manifest", "push", "--all", "--format", "oci", "--tls-verify=false", "--creds", CREDS];
    await tools.buildah([...push, "e2e-multi", ref("e2e/multi:v1")]);

    const index = await getManifest(server, "e2e/multi", "v1");
    expect(index.status).toBe(200);
    const entries = JSON.parse(index.body.toString("utf8")).manifests as {
      digest: string;
      platform: { architecture: string };
    }[];
    expect(entries.map((e) => e.platform.architecture).sort()).toEqual(["amd64", "arm64"]);

    for (const image of [images.amd64, images.arm64]) {
      const arch = image.tag;
      const entry = entries.find((e) => e.platform.architecture === arch)!;
      await tools.podman([
        "pull",
        "--tls-verify=false",
        "--creds",
        CREDS,
        "--platform",
        `linux/${arch}`,
        `${server.host}/e2e/multi:v1`,
      ]);
      const format = "{{.Architecture}} {{json .RepoDigests}} {{json .RootFS.Layers}}";
      const inspect = await tools.podman(["image", "inspect", "--format", format, `${server.host}/e2e/multi:v1`]);
      const [architecture, repoDigests, layers] = inspect.stdout.trim().split(" ");
      expect(architecture).toBe(arch);
      // podman records both the index it resolved and the platform's manifest it pulled.
      expect(JSON.parse(repoDigests!)).toEqual(
        expect.arrayContaining([
          `${server.host}/e2e/multi@${entry.digest}`,
          `${server.host}/e2e/multi@${index.digest}`,
        ]),
      );
      // diff ids are digests of the uncompressed layers: the bytes umoci built, unchanged.
      expect(JSON.parse(layers!)).toEqual(image.diffIds);
    }
  });
});

describe("skopeo list-tags, delete and copy", () => {
  const tagged = () => testImages().then((i) => ({ one: i.base, two: i.amd64, three: i.arm64 }));

  it("lists the pushed tags; a deleted image is gone and the others still pull", async (context) => {
    await needClients(context, "skopeo", "umoci", "busybox");
    const images = await tagged();
    for (const [tag, image] of Object.entries(images)) await pushImage(tools, image.ref, ref(`e2e/tags:${tag}`));
    const listTags = async () =>
      JSON.parse((await tools.skopeo(["list-tags", ...skopeoFlags(), ref("e2e/tags")])).stdout).Tags.sort();
    expect(await listTags()).toEqual(["one", "three", "two"]);

    const deleted = (await getManifest(server, "e2e/tags", "two")).digest!;
    await tools.skopeo(["delete", ...skopeoFlags(), ref("e2e/tags:two")]);
    expect(await listTags()).toEqual(["one", "three"]);
    expect((await getManifest(server, "e2e/tags", deleted)).status).toBe(404);
    expect((await getManifest(server, "e2e/tags", "two")).status).toBe(404);

    for (const tag of ["one", "three"] as const) {
      const pulled = await pullToLayout(tools, ref(`e2e/tags:${tag}`), join(work, `pulled-${tag}`));
      expect(pulled.manifestDigest).toBe(images[tag].manifestDigest);
      expect(pulled.layerDigests).toEqual(images[tag].manifest.layers.map((l) => l.digest));
    }
  });

  it("copies an image between repositories byte for byte", async (context) => {
    await needClients(context, "skopeo", "umoci", "busybox");
    const { amd64 } = await testImages();
    await pushImage(tools, amd64.ref, ref("e2e/copy-src:v1"));
    const creds = ["--src-creds", CREDS, "--dest-creds", CREDS, "--src-tls-verify=false", "--dest-tls-verify=false"];
    await tools.skopeo(["copy", ...creds, ref("e2e/copy-src:v1"), ref("e2e/copy-dst:v1")]);
    const source = await getManifest(server, "e2e/copy-src", "v1");
    const copied = await getManifest(server, "e2e/copy-dst", "v1");
    expect(copied.digest).toBe(amd64.manifestDigest);
    expect(copied.body.equals(source.body)).toBe(true);
    const pulled = await pullToLayout(tools, ref("e2e/copy-dst:v1"), join(work, "pulled-copy"));
    expect(pulled.layerDigests).toEqual(amd64.manifest.layers.map((l) => l.digest));
  });
});

describe("containerd ctr images pull", () => {
  it("pulls with credentials over plain http and stores every blob with its digest", async (context) => {
    await needClients(context, "ctr", "skopeo", "umoci", "busybox");
    const { arm64 } = await testImages();
    await pushImage(tools, arm64.ref, ref("e2e/ctr:v1"));
    const ctr = new Ctr(join(work, "ctr"), server.host, `e2e-${process.pid}`);
    const name = `${server.host}/e2e/ctr:v1`;
    try {
      await ctr.pull(name, CREDS, ["--platform", "linux/arm64"]);
      const listed = (await ctr.run(["images", "ls"])).stdout.split("\n").find((line) => line.startsWith(`${name} `));
      expect(listed?.split(/\s+/)[2]).toBe(arm64.manifestDigest);
      const content = (await ctr.run(["content", "ls"])).stdout;
      for (const layer of arm64.manifest.layers) expect(content).toContain(layer.digest);
    } finally {
      await ctr.run(["images", "rm", "--sync", name]).catch(() => undefined);
    }
  });
});

describe("referrers", () => {
  it("an artifact manifest with a subject shows up in the subject's referrers list", async (context) => {
    await needClients(context, "skopeo", "umoci", "busybox");
    const { base } = await testImages();
    await pushImage(tools, base.ref, ref("e2e/referred:v1"));
    const subject = await getManifest(server, "e2e/referred", "v1");
    expect(subject.digest).toBe(base.manifestDigest);

    const artifactType = "application/vnd.example.e2e.sbom.v1+json";
    const pusher = { url: server.url, auth: E2E_AUTH };
    const config = {
      mediaType: "application/vnd.oci.empty.v1+json",
      ...(await pushBlob(pusher, "e2e/referred", Buffer.from("{}"))),
    };
    const sbom = {
      mediaType: "application/json",
      ...(await pushBlob(pusher, "e2e/referred", Buffer.from(JSON.stringify({ sbom: "e2e", seed: 7 })))),
    };
    const artifact = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        artifactType,
        config,
        layers: [sbom],
        subject: {
          mediaType: "application/vnd.oci.image.manifest.v1+json",
          digest: base.manifestDigest,
          size: subject.body.length,
        },
        annotations: { "org.example.e2e": "referrer" },
      }),
    );
    const artifactDigest = sha256(artifact);
    const put = await api(server, `/v2/e2e/referred/manifests/${artifactDigest}`, {
      method: "PUT",
      body: artifact,
      headers: { "Content-Type": "application/vnd.oci.image.manifest.v1+json" },
    });
    expect(put.status).toBe(201);
    expect(put.headers.get("OCI-Subject")).toBe(base.manifestDigest);

    const listed = await api(server, `/v2/e2e/referred/referrers/${base.manifestDigest}`);
    expect(listed.status).toBe(200);
    const referrers = (await listed.json()) as { manifests: Record<string, unknown>[] };
    expect(referrers.manifests).toEqual([
      expect.objectContaining({
        digest: artifactDigest,
        size: artifact.length,
        artifactType,
        annotations: { "org.example.e2e": "referrer" },
      }),
    ]);
    const filtered = await api(
      server,
      `/v2/e2e/referred/referrers/${base.manifestDigest}?artifactType=application%2Fother`,
    );
    expect(((await filtered.json()) as { manifests: unknown[] }).manifests).toEqual([]);
    expect((await getManifest(server, "e2e/referred", artifactDigest)).body.equals(artifact)).toBe(true);
  });
});

describe("pushes over an immutable tag", () => {
  const refusedByRule = (result: { code: number; stdout: string; stderr: string }, client: string) => {
    expect(result.code).not.toBe(0);
    expect(result.stdout + result.stderr).toContain(`(rule ${E2E_TAG_LOCK.name})`);
    console.log(`${client}'s refusal: ${(result.stdout + result.stderr).trim().split("\n").at(-1)}`);
  };

  it("skopeo copy of another image is refused with the rule's name; the same image again is accepted", async (context) => {
    await needClients(context, "skopeo", "umoci", "busybox");
    const { amd64, arm64 } = await testImages();
    const locked = ref("e2e/immutable/skopeo:v1");
    await pushImage(tools, amd64.ref, locked);
    const copy = ["copy", "--dest-tls-verify=false", "--dest-creds", CREDS];
    refusedByRule(await tools.attemptSkopeo([...copy, arm64.ref, locked]), "skopeo");
    await pushImage(tools, amd64.ref, locked);
    expect((await getManifest(server, "e2e/immutable/skopeo", "v1")).digest).toBe(amd64.manifestDigest);
  });

  it("podman push of another image is refused with the rule's name; the same image again is accepted", async (context) => {
    await needClients(context, "podman", "umoci", "busybox");
    const { amd64, arm64 } = await testImages();
    const locked = ref("e2e/immutable/podman:v1");
    const push = (image: string, digestFile: string) => [
      "push",
      "--tls-verify=false",
      "--creds",
      CREDS,
      "--digestfile",
      join(work, digestFile),
      image,
      locked,
    ];
    // podman takes images from its own storage: each comes in through an unlocked repository.
    const [first, other] = await Promise.all(
      [amd64, arm64].map(async (image) => {
        await pushImage(tools, image.ref, ref(`e2e/immutable-source:${image.tag}`));
        const name = `${server.host}/e2e/immutable-source:${image.tag}`;
        await tools.podman(["pull", "--tls-verify=false", "--creds", CREDS, name]);
        return name;
      }),
    );
    await tools.podman(push(first!, "podman-first"));
    const pushedFirst = readFileSync(join(work, "podman-first"), "utf8").trim();
    refusedByRule(await tools.attemptPodman(push(other!, "podman-other")), "podman");
    await tools.podman(push(first!, "podman-again"));
    expect(readFileSync(join(work, "podman-again"), "utf8").trim()).toBe(pushedFirst);
    expect((await getManifest(server, "e2e/immutable/podman", "v1")).digest).toBe(pushedFirst);
  });
});
