// Content discovery, referrers (distribution-spec "Listing Referrers", "Pushing Manifests with
// Subject"): OCI-Subject on PUT, the artifactType rules of each descriptor, annotations,
// ?artifactType= with OCI-Filters-Applied, and an empty index for an unknown subject.
import { expectEqual, expectError, expectHeader, expectStatus, fail } from "./assert";
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
  type Descriptor,
} from "./content";
import type { RunContext } from "./context";

const SBOM = "application/vnd.example.sbom.v1";
const SIGNATURE_CONFIG = "application/vnd.example.signature.config.v1+json";
const BUNDLE = "application/vnd.example.bundle.v1";

interface Referrer {
  bytes: Uint8Array;
  mediaType: string;
  /** The descriptor the referrers list must carry. */
  expected: Descriptor;
}

/** Four referrers of `subject`: artifactType set, artifactType from config, index with and
 *  without artifactType. */
async function buildReferrers(client: RegistryClient, repo: string, subject: Descriptor): Promise<Referrer[]> {
  const empty = encode({});
  const payload = seededBytes(321, 131);
  const sigConfig = encode({ signature: true });
  for (const blob of [empty, payload, sigConfig]) await pushBlob(client, repo, blob);
  const sbom = imageManifest({
    artifactType: SBOM,
    config: descriptor(MEDIA.ociEmpty, empty),
    layers: [descriptor("application/json", payload)],
    subject,
    annotations: { "org.example.kind": "sbom" },
  });
  const signature = imageManifest({
    config: descriptor(SIGNATURE_CONFIG, sigConfig),
    layers: [descriptor("application/octet-stream", payload)],
    subject,
  });
  const bundle = indexManifest([], MEDIA.ociIndex, {
    artifactType: BUNDLE,
    subject,
    annotations: { "org.example.kind": "bundle" },
  });
  const plainIndex = indexManifest([], MEDIA.ociIndex, { subject });
  const entry = (
    bytes: Uint8Array,
    mediaType: string,
    artifactType?: string,
    annotations?: Record<string, string>,
  ): Referrer => ({
    bytes,
    mediaType,
    expected: {
      ...descriptor(mediaType, bytes),
      ...(artifactType ? { artifactType } : {}),
      ...(annotations ? { annotations } : {}),
    },
  });
  return [
    entry(sbom, MEDIA.ociManifest, SBOM, { "org.example.kind": "sbom" }),
    entry(signature, MEDIA.ociManifest, SIGNATURE_CONFIG),
    entry(bundle, MEDIA.ociIndex, BUNDLE, { "org.example.kind": "bundle" }),
    entry(plainIndex, MEDIA.ociIndex),
  ];
}

/** Sorted by digest, with each descriptor's keys in one order, so JSON comparison ignores
 *  the order the registry chose. */
function normalize(list: Descriptor[]): unknown[] {
  const sortKeys = (d: object) => Object.fromEntries(Object.entries(d).sort(([a], [b]) => (a < b ? -1 : 1)));
  return [...list].sort((a, b) => (a.digest < b.digest ? -1 : 1)).map(sortKeys);
}

/** GET referrers: 200, an OCI index; returns its manifests. */
export async function getReferrers(
  client: RegistryClient,
  repo: string,
  subject: string,
  query = "",
): Promise<{ manifests: Descriptor[]; filters: string | null }> {
  const reply = await client.request("GET", `/v2/${repo}/referrers/${subject}${query}`);
  expectStatus(reply, 200);
  expectHeader(reply, "Content-Type", MEDIA.ociIndex);
  const body = reply.json() as { schemaVersion?: number; mediaType?: string; manifests?: Descriptor[] };
  expectEqual(body.schemaVersion, 2, "schemaVersion");
  expectEqual(body.mediaType, MEDIA.ociIndex, "mediaType");
  if (!Array.isArray(body.manifests)) fail("no manifests array");
  return { manifests: body.manifests, filters: reply.headers.get("OCI-Filters-Applied") };
}

export async function runReferrers(ctx: RunContext): Promise<void> {
  const { client, group } = ctx;
  const repo = ctx.repo("referrers");
  let subject = "";
  let referrers: Referrer[] = [];
  await group.check("PUT of manifests with a subject answers 201 with OCI-Subject", async () => {
    const image = await pushImage(client, repo, 130, "subject");
    subject = image.digest;
    referrers = await buildReferrers(client, repo, image.descriptor);
    for (const r of referrers) {
      const reply = await pushManifest(client, repo, digestOf(r.bytes), r.bytes, r.mediaType);
      expectStatus(reply, 201);
      expectHeader(reply, "OCI-Subject", subject);
    }
  });
  const need = () => (referrers.length > 0 ? undefined : fail("setup failed"));
  await group.check("GET referrers lists every referrer with artifactType and annotations per the spec", async () => {
    need();
    const { manifests } = await getReferrers(client, repo, subject);
    expectEqual(normalize(manifests), normalize(referrers.map((r) => r.expected)), "referrers");
  });
  await group.check("?artifactType= filters and answers OCI-Filters-Applied: artifactType", async () => {
    need();
    const { manifests, filters } = await getReferrers(
      client,
      repo,
      subject,
      `?artifactType=${encodeURIComponent(SBOM)}`,
    );
    expectEqual(filters, "artifactType", "OCI-Filters-Applied");
    expectEqual(normalize(manifests), normalize([referrers[0]!.expected]), "filtered referrers");
  });
  await group.check("referrers of an unknown subject is 200 with an empty index, never 404", async () => {
    const { manifests } = await getReferrers(client, repo, digestOf(seededBytes(32, 132)));
    expectEqual(manifests, [], "manifests");
  });
  await group.check("referrers with a malformed digest answers 400", async () => {
    expectError(await client.request("GET", `/v2/${repo}/referrers/sha256:nope`), 400, "DIGEST_INVALID");
  });
  await group.check("a referrer may be pushed before its subject and is listed for it", async () => {
    const early = encode({ early: true });
    await pushBlob(client, repo, early);
    const absent = { mediaType: MEDIA.ociManifest, digest: digestOf(seededBytes(50, 133)), size: 50 };
    const bytes = imageManifest({
      artifactType: SBOM,
      config: descriptor(MEDIA.ociEmpty, early),
      layers: [],
      subject: absent,
    });
    const reply = await pushManifest(client, repo, digestOf(bytes), bytes);
    expectStatus(reply, 201);
    expectHeader(reply, "OCI-Subject", absent.digest);
    const { manifests } = await getReferrers(client, repo, absent.digest);
    expectEqual(
      normalize(manifests),
      normalize([{ ...descriptor(MEDIA.ociManifest, bytes), artifactType: SBOM }]),
      "referrers of the absent subject",
    );
  });
}
