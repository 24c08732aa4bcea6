// Garbage collection: what a cycle frees and what it keeps (docs/gc.md). Grace 0 and a clock
// one second ahead make everything pushed before a run old enough to judge.
import { createExecutionContext, reset } from "cloudflare:test";
import { app } from "../src/app";
import { beforeEach, describe, expect, it } from "vitest";
import { bucket, buildImage, checkImage, deleteManifest, dockerPush, gcEnv, runGc, type Image } from "./gc-helpers";
import { fetcher } from "./auth-setup";
import { hashPassword } from "../src/util/password-hash";
import {
  AUTH,
  BASE,
  basic,
  errorCode,
  OCI_MANIFEST,
  pushBlob,
  pushManifest,
  READONLY_AUTH,
  request,
  seededBytes,
  sha256,
  storedKeys,
} from "./helpers";

beforeEach(async () => {
  await reset();
});

async function push(repo: string, tag: string, seed: number, layerSeed = seed): Promise<Image> {
  const image = await dockerPush(buildImage(repo, tag, seed, layerSeed));
  if (!image) throw new Error(`push ${repo}:${tag} failed`);
  return image;
}

async function stored(digest: string): Promise<boolean> {
  const record = await bucket.head(storedKeys.blobRecord(digest));
  return record !== null && (await bucket.head(record.customMetadata!.data!)) !== null;
}

describe("mark and sweep", () => {
  it("frees a deleted image's own layers, keeps shared and mounted ones", async () => {
    const own = await push("gc/app", "own", 1);
    const shared = await push("gc/app", "shared", 2);
    const sharedElsewhere = await push("gc/other", "x", 2);
    const mounted = await push("gc/app", "mounted", 3);
    for (const blob of mounted.blobs) {
      const r = await request(`/v2/gc/mounted/blobs/uploads/?mount=${blob.digest}&from=gc/app`, { method: "POST" });
      expect(r.status).toBe(201);
    }
    expect((await pushManifest("gc/mounted", "m", mounted.body)).status).toBe(201);
    for (const image of [own, shared, mounted]) expect(await deleteManifest("gc/app", image.digest)).toBe(202);

    const report = await runGc();
    const ownBytes = own.blobs.reduce((n, b) => n + b.bytes.length, 0);
    expect(report.cycleTotals.blobs).toBe(2);
    expect(report.cycleTotals.bytesFreed).toBe(ownBytes);
    expect(report.cycleTotals.links).toBe(6);
    for (const blob of own.blobs) expect(await stored(blob.digest)).toBe(false);
    expect(await checkImage(sharedElsewhere)).toEqual([]);
    expect(await checkImage({ ...mounted, repo: "gc/mounted", tag: "m" })).toEqual([]);
    const gone = await request(`/v2/gc/app/blobs/${shared.blobs[1]!.digest}`, { method: "HEAD" });
    expect(gone.status).toBe(404);
  });

  it("frees untagged manifests by default, keeps index children, and can be switched off", async () => {
    const old = await push("gc/u", "latest", 10);
    const current = await push("gc/u", "latest", 11);
    const child = await push("gc/u", "child", 12);
    const index = JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.index.v1+json",
      manifests: [{ mediaType: OCI_MANIFEST, digest: child.digest, size: child.body.length }],
    });
    expect((await pushManifest("gc/u", "multi", index, "application/vnd.oci.image.index.v1+json")).status).toBe(201);
    await request(`/v2/gc/u/manifests/child`, { method: "DELETE" });

    const kept = await runGc(gcEnv({ GC_UNTAGGED: "false" }));
    expect(kept.cycleTotals.manifests).toBe(0);
    const freed = await runGc();
    expect(freed.cycleTotals.manifests).toBe(1);
    expect((await request(`/v2/gc/u/manifests/${old.digest}`, { method: "HEAD" })).status).toBe(404);
    for (const blob of old.blobs) expect(await stored(blob.digest)).toBe(false);
    expect(await checkImage(current)).toEqual([]);
    expect((await request(`/v2/gc/u/manifests/${child.digest}`, { method: "HEAD" })).status).toBe(200);
  });

  it("keeps the last N matching tags per repository pattern", async () => {
    const images: Image[] = [];
    for (let i = 1; i <= 4; i++) images.push(await push("ret/app", `v${i}`, 20 + i));
    const dev = await push("ret/app", "dev", 30);
    const rules = JSON.stringify([{ repository: "ret/*", tags: "v[0-9]+", keep: 2 }]);
    const report = await runGc(gcEnv({ GC_RETENTION_JSON: rules }));
    expect(report.cycleTotals.tags).toBe(2);
    expect(report.cycleTotals.manifests).toBe(2);
    const tags = (await (await request("/v2/ret/app/tags/list")).json()) as { tags: string[] };
    expect(tags.tags).toEqual(["dev", "v3", "v4"]);
    for (const image of [images[2]!, images[3]!, dev]) expect(await checkImage(image)).toEqual([]);
  });

  it("retention passes immutable tags by, and the collector keeps what they name", async () => {
    const images: Image[] = [];
    for (let i = 1; i <= 4; i++) images.push(await push("ret/locked", `v${i}`, 40 + i));
    const rules = JSON.stringify([{ repository: "ret/locked", tags: "v[0-9]+", keep: 1 }]);
    const locks = JSON.stringify([{ repository: "ret/*", tags: "v[12]", name: "first releases" }]);
    const report = await runGc(gcEnv({ GC_RETENTION_JSON: rules, IMMUTABLE_TAGS_JSON: locks }));
    // v3 is the only one retention may free: v4 is the newest kept, v1 and v2 are locked.
    expect(report.cycleTotals.tags).toBe(1);
    const tags = (await (await request("/v2/ret/locked/tags/list")).json()) as { tags: string[] };
    expect(tags.tags).toEqual(["v1", "v2", "v4"]);
    for (const image of [images[0]!, images[1]!, images[3]!]) expect(await checkImage(image)).toEqual([]);
  });

  it("frees referrers whose subject is gone only when configured", async () => {
    const config = await pushBlob("gc/ref", new TextEncoder().encode("{}"));
    const missingSubject = sha256("never pushed");
    const artifact = JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      artifactType: "application/vnd.example.sig",
      config: { mediaType: "application/vnd.oci.empty.v1+json", digest: config, size: 2 },
      layers: [],
      subject: { mediaType: OCI_MANIFEST, digest: missingSubject, size: 10 },
    });
    const put = await pushManifest("gc/ref", sha256(artifact), artifact);
    expect(put.status).toBe(201);
    expect((await runGc()).cycleTotals.manifests).toBe(0);
    expect((await runGc(gcEnv({ GC_ORPHAN_REFERRERS: "true" }))).cycleTotals.manifests).toBe(1);
    const referrers = (await (await request(`/v2/gc/ref/referrers/${missingSubject}`)).json()) as {
      manifests: unknown[];
    };
    expect(referrers.manifests).toEqual([]);
  });

  it("frees blobs uploaded to a repository that never got a manifest, after the grace period", async () => {
    const digest = await pushBlob("gc/stray", seededBytes(300, 5));
    expect((await runGc(gcEnv({ GC_GRACE_SECONDS: "3600" }))).cycleTotals.blobs).toBe(0);
    const report = await runGc();
    expect(report.cycleTotals).toMatchObject({ links: 1, blobs: 1, bytesFreed: 300 });
    expect(await stored(digest)).toBe(false);
  });

  it("says what the grace period kept, how much, and when it becomes collectable", async () => {
    const image = await push("gc/young", "v1", 44);
    await pushBlob("gc/young", seededBytes(300, 45));
    const pushedAt = Date.now();
    expect((await request("/v2/gc/young/manifests/v1", { method: "DELETE" })).status).toBe(202);
    const grace = 3600;
    const report = await runGc(gcEnv({ GC_GRACE_SECONDS: String(grace) }));
    expect(report.freed.bytesFreed).toBe(0);
    // The untagged manifest, the links it alone holds (config and layer), and the stray blob.
    const bytes = image.body.length + image.blobs.reduce((n, b) => n + b.bytes.length, 0) + 300;
    expect(report.heldByGrace).toMatchObject({ graceSeconds: grace, tags: 0, manifests: 1, links: 3, bytes });
    const first = Date.parse(report.heldByGrace.firstCollectableAt!);
    expect(first).toBeGreaterThanOrEqual(pushedAt - 60_000 + grace * 1000);
    expect(first).toBeLessThanOrEqual(Date.now() + grace * 1000);
    expect(Date.parse(report.heldByGrace.lastCollectableAt!)).toBeGreaterThanOrEqual(first);
    const later = await runGc();
    expect(later.freed.links).toBe(3);
    expect(later.heldByGrace).toMatchObject({ manifests: 0, links: 0, bytes: 0, firstCollectableAt: null });
  });

  it("frees abandoned upload data that no record points to", async () => {
    const live = await push("gc/data", "live", 40);
    await bucket.put(storedKeys.blobData("abandoned-upload"), seededBytes(4096, 9));
    expect((await runGc()).cycleTotals.data).toBe(0);
    const report = await runGc(gcEnv(), { aheadMs: 2 * 3600 * 1000 });
    expect(report.cycleTotals.data).toBe(1);
    expect(await bucket.head(storedKeys.blobData("abandoned-upload"))).toBeNull();
    expect(await checkImage(live)).toEqual([]);
  });

  it("finishes a cycle over many small steps with the same result", async () => {
    const images: Image[] = [];
    for (let i = 0; i < 6; i++) images.push(await push(`gc/steps${i % 3}`, `t${i}`, 50 + i));
    for (const image of images.slice(0, 3)) await deleteManifest(image.repo, image.digest);
    const report = await runGc(gcEnv({ GC_MAX_OPERATIONS: "50" }));
    expect(report.steps).toBeGreaterThan(1);
    expect(report.cycleTotals.blobs).toBe(6);
    for (const image of images.slice(3)) expect(await checkImage(image)).toEqual([]);
  });
});

describe("on-demand trigger and reports", () => {
  const dryEnv = gcEnv();

  it("dry-runs with a list and byte count, frees nothing, and reads reports back", async () => {
    const image = await push("gc/dry", "x", 60);
    await deleteManifest("gc/dry", image.digest);
    // Grace 0 needs its own env; the worker's default (one hour) would judge nothing yet.
    const dry = await app.fetch(
      new Request(`${BASE}/v2/_gc?dry_run=1`, { method: "POST", headers: { Authorization: AUTH } }),
      dryEnv,
      createExecutionContext(),
    );
    expect(dry.status).toBe(200);
    const report = (await dry.json()) as {
      dryRun: boolean;
      freed: { blobs: number; bytesFreed: number };
      items: string[];
    };
    expect(report.dryRun).toBe(true);
    expect(report.freed.blobs).toBe(2);
    expect(report.freed.bytesFreed).toBe(image.blobs.reduce((n, b) => n + b.bytes.length, 0));
    expect(report.items.filter((i) => i.startsWith("blobs "))).toHaveLength(2);
    for (const blob of image.blobs) expect(await stored(blob.digest)).toBe(true);
    const listed = (await (await request("/v2/_gc/reports?n=5")).json()) as { reports: { dryRun: boolean }[] };
    expect(listed.reports[0]!.dryRun).toBe(true);
  });

  it('needs the admin right: patterns that match "_gc" give none, reports show what the caller may pull', async () => {
    const hash = (p: string) => hashPassword(p, 10_000);
    const users = JSON.stringify({
      // The review's finding: "*c" matched the pseudo-repository "_gc".
      star: { password: await hash("star-pw"), access: { "*c": ["pull", "delete"], "*": ["pull", "push", "delete"] } },
      ops: { password: await hash("ops-pw"), access: { "gc/mine": ["pull"] }, admin: true },
    });
    const fetch = fetcher({ AUTH_USERS_JSON: users, GC_GRACE_SECONDS: "0" });
    const mine = await push("gc/mine", "x", 70);
    const theirs = await push("gc/theirs", "x", 71);
    // Untagged, so a dry run lists the manifests (GC_UNTAGGED) by repository.
    for (const image of [mine, theirs])
      expect((await request(`/v2/${image.repo}/manifests/x`, { method: "DELETE" })).status).toBe(202);
    const star = basic("star", "star-pw");
    for (const [method, path] of [
      ["POST", "/v2/_gc"],
      ["POST", "/v2/_gc?dry_run=1"],
      ["GET", "/v2/_gc/reports"],
    ]) {
      const response = await fetch(path!, { method, headers: { Authorization: star } });
      expect(response.status, `${method} ${path}`).toBe(403);
      expect(await errorCode(response)).toBe("DENIED");
    }
    const ops = { Authorization: basic("ops", "ops-pw") };
    const dry = await fetch("/v2/_gc?dry_run=1", { method: "POST", headers: ops });
    expect(dry.status).toBe(200);
    const report = (await dry.json()) as { items: string[]; freed: { manifests: number } };
    expect(report.freed.manifests).toBe(2);
    expect(report.items.filter((i) => i.startsWith("manifests "))).toEqual([
      `manifests gc/mine@${mine.digest} (${mine.body.length} bytes)`,
    ]);
    expect(report.items.join("\n")).not.toContain("gc/theirs");
    const listed = await fetch("/v2/_gc/reports?n=1", { headers: ops });
    expect(JSON.stringify(await listed.json())).not.toContain("gc/theirs");
    const admin = (await (await fetch("/v2/_gc/reports?n=1", { headers: { Authorization: AUTH } })).json()) as {
      reports: { items: string[] }[];
    };
    expect(admin.reports[0]!.items.join("\n")).toContain("gc/theirs");
  });

  it("shows bucket-wide items (blob records) only to a caller with rights on every repository", async () => {
    const users = JSON.stringify({
      ops: { password: await hashPassword("ops-pw", 10_000), access: { "gc/mine": ["pull"] }, admin: true },
    });
    const fetch = fetcher({ AUTH_USERS_JSON: users, GC_GRACE_SECONDS: "0" });
    // A blob no manifest names: its record is what a dry run would free, named by digest only.
    const orphan = await pushBlob("gc/private", seededBytes(700, 72));
    expect((await request(`/v2/gc/private/blobs/${orphan}`, { method: "DELETE" })).status).toBe(202);
    const dry = (await (
      await fetch("/v2/_gc?dry_run=1", { method: "POST", headers: { Authorization: basic("ops", "ops-pw") } })
    ).json()) as { items: string[]; freed: { blobs: number } };
    expect(dry.freed.blobs).toBe(1);
    expect(dry.items.join("\n")).not.toContain(orphan);
    const listed = await fetch("/v2/_gc/reports?n=1", { headers: { Authorization: basic("ops", "ops-pw") } });
    expect(JSON.stringify(await listed.json())).not.toContain(orphan);
    const admin = (await (await fetch("/v2/_gc/reports?n=1", { headers: { Authorization: AUTH } })).json()) as {
      reports: { items: string[] }[];
    };
    expect(admin.reports[0]!.items.join("\n")).toContain(`blobs ${orphan}`);
  });

  it("needs delete rights on every repository", async () => {
    const denied = await request("/v2/_gc", { method: "POST", auth: READONLY_AUTH });
    expect([401, 403]).toContain(denied.status);
    expect(await errorCode(denied)).toMatch(/DENIED|UNAUTHORIZED/);
    const anonymous = await request("/v2/_gc/reports", { auth: null });
    expect(anonymous.status).toBe(401);
  });
});
