// Push, manifest half (distribution-spec "Pushing Manifests"): every manifest kind the
// registry must accept read back byte for byte, sha512 references, multi-tag PUT, and the
// refusals: digest mismatch, unknown blobs, schema 1, bad JSON, and size.
import { expectBytes, expectError, expectHeader, expectStatus, fail } from "./assert";
import type { RegistryClient } from "./client";
import {
  MEDIA,
  descriptor,
  digestOf,
  encode,
  imageManifest,
  indexManifest,
  pushBlob,
  pushImage,
  pushManifest,
  seededBytes,
} from "./content";
import type { RunContext } from "./context";
import { ACCEPT_MANIFESTS } from "./pull";

const MiB = 1024 * 1024;

/** PUT answers 201 with Location and the digest; GET answers the same bytes and type. */
async function expectRoundTrip(
  client: RegistryClient,
  repo: string,
  reference: string,
  bytes: Uint8Array,
  contentType: string,
  algorithm: "sha256" | "sha512" = "sha256",
): Promise<void> {
  const digest = digestOf(bytes, algorithm);
  const put = await pushManifest(client, repo, reference, bytes, contentType);
  expectStatus(put, 201);
  expectHeader(put, "Location");
  expectHeader(put, "Docker-Content-Digest", digest);
  for (const ref of new Set([reference, digest])) {
    const get = await client.request("GET", `/v2/${repo}/manifests/${ref}`, { headers: { Accept: ACCEPT_MANIFESTS } });
    expectStatus(get, 200);
    expectBytes(get, bytes);
    expectHeader(get, "Content-Type", contentType);
    expectHeader(get, "Docker-Content-Digest", digest);
  }
}

export async function runPushManifests(ctx: RunContext): Promise<void> {
  await checkKinds(ctx);
  await checkTags(ctx);
  await checkRefusals(ctx);
  await checkSizes(ctx);
}

async function checkKinds(ctx: RunContext): Promise<void> {
  const { client, group } = ctx;
  const repo = ctx.repo("manifests");
  const config = encode({ architecture: "arm64", os: "linux" });
  const layer = seededBytes(4321, 71);
  const ready = await group.check("setup: push the config and layer blobs", async () => {
    await pushBlob(client, repo, config);
    await pushBlob(client, repo, layer);
  });
  const parts = () =>
    ready
      ? { config: descriptor(MEDIA.ociConfig, config), layers: [descriptor(MEDIA.ociLayer, layer)] }
      : fail("setup failed");
  await group.check("OCI image manifest by tag: 201, then GET by tag and digest returns the exact bytes", async () => {
    await expectRoundTrip(client, repo, "oci", imageManifest(parts()), MEDIA.ociManifest);
  });
  await group.check("OCI image manifest by digest: 201 with the same Docker-Content-Digest", async () => {
    const bytes = imageManifest({ ...parts(), annotations: { by: "digest" } });
    await expectRoundTrip(client, repo, digestOf(bytes), bytes, MEDIA.ociManifest);
  });
  await group.check("OCI image manifest without a top-level mediaType (as umoci writes) is accepted", async () => {
    await expectRoundTrip(
      client,
      repo,
      "no-media-type",
      imageManifest({ ...parts(), mediaType: null }),
      MEDIA.ociManifest,
    );
  });
  await group.check("OCI image manifest with no layers is accepted", async () => {
    await expectRoundTrip(
      client,
      repo,
      "no-layers",
      imageManifest({ config: parts().config, layers: [] }),
      MEDIA.ociManifest,
    );
  });
  await group.check("Docker schema 2 manifest round-trips with its Content-Type", async () => {
    const bytes = imageManifest({
      mediaType: MEDIA.dockerManifest,
      config: descriptor(MEDIA.dockerConfig, config),
      layers: [descriptor(MEDIA.dockerLayer, layer)],
    });
    await expectRoundTrip(client, repo, "docker", bytes, MEDIA.dockerManifest);
  });
  await group.check("OCI image index and Docker manifest list of pushed manifests round-trip", async () => {
    const a = imageManifest({ ...parts(), annotations: { platform: "a" } });
    const b = imageManifest({ ...parts(), annotations: { platform: "b" } });
    expectStatus(await pushManifest(client, repo, digestOf(a), a), 201);
    expectStatus(await pushManifest(client, repo, digestOf(b), b), 201);
    const platforms = [
      { architecture: "amd64", os: "linux" },
      { architecture: "arm64", os: "linux" },
    ];
    const children = [a, b].map((m, i) => ({ ...descriptor(MEDIA.ociManifest, m), platform: platforms[i] }));
    await expectRoundTrip(client, repo, "index", indexManifest(children), MEDIA.ociIndex);
    await expectRoundTrip(client, repo, "list", indexManifest(children, MEDIA.dockerList), MEDIA.dockerList);
  });
  await group.check("a manifest pushed by a sha512 digest reads back under that digest", async () => {
    const bytes = imageManifest({ ...parts(), annotations: { digest: "sha512" } });
    await expectRoundTrip(client, repo, digestOf(bytes, "sha512"), bytes, MEDIA.ociManifest, "sha512");
  });
}

async function checkTags(ctx: RunContext): Promise<void> {
  const { client, group } = ctx;
  const repo = ctx.repo("multi-tag");
  await group.check(
    "PUT by digest with 10 ?tag= parameters answers 201 with one OCI-Tag per tag; each tag resolves",
    async () => {
      const image = await pushImage(client, repo, 81);
      const tags = Array.from({ length: 10 }, (_, i) => `t${i}`);
      const query = tags.map((t) => `tag=${t}`).join("&");
      const put = await pushManifest(client, repo, `${image.digest}?${query}`, image.manifest);
      expectStatus(put, 201);
      // fetch joins repeated headers with ", ".
      const echoed = (put.headers.get("OCI-Tag") ?? "")
        .split(",")
        .map((t) => t.trim())
        .filter(Boolean)
        .sort();
      if (JSON.stringify(echoed) !== JSON.stringify([...tags].sort()))
        fail(`OCI-Tag headers name ${echoed.join(",")}, expected ${tags.join(",")}`);
      for (const tag of tags) {
        const head = await client.request("HEAD", `/v2/${repo}/manifests/${tag}`, {
          headers: { Accept: ACCEPT_MANIFESTS },
        });
        expectStatus(head, 200);
        expectHeader(head, "Docker-Content-Digest", image.digest);
      }
    },
  );
}

async function checkRefusals(ctx: RunContext): Promise<void> {
  const { client, group } = ctx;
  const repo = ctx.repo("refusals");
  const config = encode({ refusals: true });
  const ready = await group.check("setup: push a config blob", async () => void (await pushBlob(client, repo, config)));
  const configDescriptor = () => (ready ? descriptor(MEDIA.ociConfig, config) : fail("setup failed"));
  await group.check("PUT under a digest that does not match the body answers 400 DIGEST_INVALID", async () => {
    const bytes = imageManifest({ config: configDescriptor(), layers: [] });
    const wrong = digestOf(encode({ other: true }));
    expectError(await pushManifest(client, repo, wrong, bytes), 400, "DIGEST_INVALID");
    expectError(await client.request("GET", `/v2/${repo}/manifests/${wrong}`), 404, "MANIFEST_UNKNOWN");
  });
  await group.check("a manifest naming a blob the repository lacks answers MANIFEST_BLOB_UNKNOWN", async () => {
    const missing = descriptor(MEDIA.ociLayer, seededBytes(99, 91));
    expectError(
      await pushManifest(
        client,
        repo,
        "missing-blob",
        imageManifest({ config: configDescriptor(), layers: [missing] }),
      ),
      [400, 404],
      "MANIFEST_BLOB_UNKNOWN",
    );
  });
  await group.check("an index naming a manifest the repository lacks answers MANIFEST_BLOB_UNKNOWN", async () => {
    const child = descriptor(
      MEDIA.ociManifest,
      imageManifest({ config: configDescriptor(), layers: [], annotations: { never: "pushed" } }),
    );
    expectError(
      await pushManifest(client, repo, "missing-child", indexManifest([child]), MEDIA.ociIndex),
      [400, 404],
      "MANIFEST_BLOB_UNKNOWN",
    );
  });
  await group.check("a Docker schema 1 manifest is refused with a 4xx error", async () => {
    const schema1 = encode({
      schemaVersion: 1,
      name: repo,
      tag: "old",
      architecture: "amd64",
      fsLayers: [],
      history: [],
      signatures: [],
    });
    expectError(
      await pushManifest(client, repo, "schema1", schema1, MEDIA.schema1),
      [400, 415],
      "MANIFEST_INVALID",
      "UNSUPPORTED",
    );
  });
  await group.check("a body that is not JSON answers 400 MANIFEST_INVALID", async () => {
    expectError(
      await pushManifest(client, repo, "not-json", new TextEncoder().encode("{not json")),
      400,
      "MANIFEST_INVALID",
    );
  });
  await group.check("a mediaType that contradicts the Content-Type answers 400 MANIFEST_INVALID", async () => {
    const bytes = imageManifest({ config: configDescriptor(), layers: [] });
    expectError(await pushManifest(client, repo, "mismatch", bytes, MEDIA.dockerManifest), 400, "MANIFEST_INVALID");
  });
  await group.check("an invalid ?tag= answers 400", async () => {
    const bytes = imageManifest({ config: configDescriptor(), layers: [], annotations: { bad: "tag" } });
    expectError(
      await pushManifest(client, repo, `${digestOf(bytes)}?tag=-bad`, bytes),
      400,
      "MANIFEST_INVALID",
      "NAME_INVALID",
    );
  });
}

/** An image manifest of exactly `size` bytes, padded with an annotation. */
function manifestOfSize(config: ReturnType<typeof descriptor>, size: number): Uint8Array {
  const base = imageManifest({ config, layers: [], annotations: { pad: "" } });
  return imageManifest({ config, layers: [], annotations: { pad: "x".repeat(size - base.length) } });
}

async function checkSizes(ctx: RunContext): Promise<void> {
  const { client, group } = ctx;
  const repo = ctx.repo("sizes");
  const config = encode({ sizes: true });
  const ready = await group.check("setup: push a config blob", async () => void (await pushBlob(client, repo, config)));
  await group.check("a manifest of 4 MiB is accepted", async () => {
    if (!ready) fail("setup failed");
    const bytes = manifestOfSize(descriptor(MEDIA.ociConfig, config), 4 * MiB);
    expectStatus(await pushManifest(client, repo, "four-mib", bytes), 201);
  });
  await group.check("a manifest over the 4 MiB limit answers 413", async () => {
    if (!ready) fail("setup failed");
    const bytes = manifestOfSize(descriptor(MEDIA.ociConfig, config), 4 * MiB + 1);
    expectError(await pushManifest(client, repo, "too-big", bytes), 413);
  });
}
