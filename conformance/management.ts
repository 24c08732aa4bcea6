// Content management (distribution-spec "Content Management"): deleting a tag, a manifest by
// digest (which takes its tags and its referrers entry with it) and a blob, without breaking
// another repository that holds the same blob, and 404s for what is not there.
import { expectBytes, expectError, expectStatus, fail } from "./assert";
import type { RegistryClient } from "./client";
import {
  MEDIA,
  descriptor,
  digestOf,
  encode,
  imageManifest,
  pushBlob,
  pushImage,
  pushManifest,
  seededBytes,
  type PushedImage,
} from "./content";
import type { RunContext } from "./context";
import { ACCEPT_MANIFESTS } from "./pull";
import { getReferrers } from "./referrers";

const ZERO_DIGEST = `sha256:${"0".repeat(64)}`;

async function tagList(client: RegistryClient, repo: string): Promise<string[]> {
  const reply = await client.request("GET", `/v2/${repo}/tags/list`);
  if (reply.status === 404) return [];
  expectStatus(reply, 200);
  return (reply.json() as { tags?: string[] | null }).tags ?? [];
}

export async function runManagement(ctx: RunContext): Promise<void> {
  await checkManifestDeletes(ctx);
  await checkReferrerDelete(ctx);
  await checkBlobDeletes(ctx);
}

async function checkManifestDeletes(ctx: RunContext): Promise<void> {
  const { client, group } = ctx;
  const repo = ctx.repo("manage");
  let image: PushedImage | undefined;
  await group.check("setup: push an image under the tags keep and gone", async () => {
    image = await pushImage(client, repo, 141, "keep");
    expectStatus(await pushManifest(client, repo, "gone", image.manifest), 201);
  });
  const pushed = () => image ?? fail("setup failed");
  await group.check("DELETE of a tag answers 202; the tag is gone, the manifest and other tags stay", async () => {
    const { digest } = pushed();
    expectStatus(await client.request("DELETE", `/v2/${repo}/manifests/gone`), 202);
    expectError(
      await client.request("GET", `/v2/${repo}/manifests/gone`, { headers: { Accept: ACCEPT_MANIFESTS } }),
      404,
      "MANIFEST_UNKNOWN",
    );
    expectStatus(
      await client.request("GET", `/v2/${repo}/manifests/keep`, { headers: { Accept: ACCEPT_MANIFESTS } }),
      200,
    );
    expectStatus(
      await client.request("GET", `/v2/${repo}/manifests/${digest}`, { headers: { Accept: ACCEPT_MANIFESTS } }),
      200,
    );
    const tags = await tagList(client, repo);
    if (tags.includes("gone") || !tags.includes("keep")) fail(`tags after deleting one: ${tags.join(", ")}`);
  });
  await group.check("DELETE of a manifest by digest answers 202 and removes every tag pointing at it", async () => {
    const { digest } = pushed();
    expectStatus(await client.request("DELETE", `/v2/${repo}/manifests/${digest}`), 202);
    expectError(
      await client.request("GET", `/v2/${repo}/manifests/${digest}`, { headers: { Accept: ACCEPT_MANIFESTS } }),
      404,
      "MANIFEST_UNKNOWN",
    );
    expectError(
      await client.request("GET", `/v2/${repo}/manifests/keep`, { headers: { Accept: ACCEPT_MANIFESTS } }),
      404,
      "MANIFEST_UNKNOWN",
    );
    const tags = await tagList(client, repo);
    if (tags.includes("keep")) fail(`tag keep still listed: ${tags.join(", ")}`);
  });
  await group.check("DELETE of an unknown manifest or tag answers 404 MANIFEST_UNKNOWN", async () => {
    expectError(await client.request("DELETE", `/v2/${repo}/manifests/${ZERO_DIGEST}`), 404, "MANIFEST_UNKNOWN");
    expectError(await client.request("DELETE", `/v2/${repo}/manifests/never-was`), 404, "MANIFEST_UNKNOWN");
  });
}

async function checkReferrerDelete(ctx: RunContext): Promise<void> {
  const { client, group } = ctx;
  const repo = ctx.repo("manage-referrers");
  await group.check("DELETE of a referrer by digest removes it from its subject's referrers list", async () => {
    const subject = await pushImage(client, repo, 142, "subject");
    const empty = encode({});
    await pushBlob(client, repo, empty);
    const bytes = imageManifest({
      artifactType: "application/vnd.example.note.v1",
      config: descriptor(MEDIA.ociEmpty, empty),
      layers: [],
      subject: subject.descriptor,
    });
    expectStatus(await pushManifest(client, repo, digestOf(bytes), bytes), 201);
    if ((await getReferrers(client, repo, subject.digest)).manifests.length !== 1)
      fail("the referrer was not listed before the delete");
    expectStatus(await client.request("DELETE", `/v2/${repo}/manifests/${digestOf(bytes)}`), 202);
    const after = (await getReferrers(client, repo, subject.digest)).manifests;
    if (after.length !== 0) fail(`still listed after delete: ${JSON.stringify(after)}`);
  });
}

async function checkBlobDeletes(ctx: RunContext): Promise<void> {
  const { client, group } = ctx;
  const repo = ctx.repo("manage-blobs");
  const other = ctx.repo("manage-blobs-other");
  const bytes = seededBytes(2048, 143);
  const digest = digestOf(bytes);
  await group.check("DELETE of a blob answers 202; the blob is then 404 BLOB_UNKNOWN in that repository", async () => {
    await pushBlob(client, repo, bytes);
    expectStatus(await client.request("POST", `/v2/${other}/blobs/uploads/?mount=${digest}&from=${repo}`), 201);
    expectStatus(await client.request("DELETE", `/v2/${repo}/blobs/${digest}`), 202);
    expectError(await client.request("GET", `/v2/${repo}/blobs/${digest}`), 404, "BLOB_UNKNOWN");
    expectStatus(await client.request("HEAD", `/v2/${repo}/blobs/${digest}`), 404);
  });
  await group.check("a blob deleted in one repository still reads in another that mounted it", async () => {
    const reply = await client.request("GET", `/v2/${other}/blobs/${digest}`);
    expectStatus(reply, 200);
    expectBytes(reply, bytes);
  });
  await group.check("DELETE of an unknown blob answers 404 BLOB_UNKNOWN", async () => {
    expectError(await client.request("DELETE", `/v2/${repo}/blobs/${ZERO_DIGEST}`), 404, "BLOB_UNKNOWN");
  });
}
