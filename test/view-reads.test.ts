// The registry core's reads for views (the web UI's pages), each called with more than its
// bound: the bound is the core function's own, so every front end that calls it gets it.
// The pages' costs through the UI are in test/ui.test.ts ("bounded storage cost").
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { globalIdentity } from "../src/auth/identity";
import { parseConfig, type Env } from "../src/config/config";
import { runCollectorStep } from "../src/gc/collector";
import { saveReport } from "../src/gc/reports";
import { parseDigest } from "../src/oci/digest";
import { readConfigForView } from "../src/registry/blobs";
import { BROWSE_PAGE_REPOSITORIES, listRepositorySummaries } from "../src/registry/catalog";
import { storageOverview, VIEW_REPORTS } from "../src/registry/collection";
import {
  readIndexEntriesForView,
  readManifestsForView,
  VIEW_INDEX_ENTRIES,
  VIEW_READ_BYTES,
  VIEW_READS_IN_FLIGHT,
  ViewReadBudget,
} from "../src/registry/manifests";
import { listReferrersForView, VIEW_REFERRERS } from "../src/registry/referrers";
import { BROWSE_PAGE_TAGS, listTagEntriesPage } from "../src/registry/tags";
import { listVisibleUploadSessions, startUpload, VIEW_UPLOAD_SESSIONS } from "../src/registry/uploads";
import { addToCatalog, putReferrer, putTag } from "../src/storage/manifests";
import { openStorage } from "../src/storage/storage";
import { coreDeps, pushImage, sha256 } from "./helpers";

const ENV = { ...env, GC_MAX_OPERATIONS: "100000" } as unknown as Env;
const config = parseConfig(ENV);
const store = openStorage(ENV);
const deps = coreDeps(store, config);
const admin = globalIdentity("admin:tester", ["pull", "push", "delete"], { catalog: true, admin: true });

/** A distinct digest that names nothing stored. */
const fakeDigest = (i: number) => sha256(`view-reads ${i}`);

/** The real bucket, noting the most manifest reads (gets) in flight at once. */
function concurrencyBucket() {
  let inFlight = 0;
  let most = 0;
  const bucket = new Proxy(env.REGISTRY, {
    get(target, property) {
      if (property === "get")
        return async (...args: Parameters<R2Bucket["get"]>) => {
          most = Math.max(most, ++inFlight);
          try {
            return await target.get(...args);
          } finally {
            inFlight--;
          }
        };
      const value = Reflect.get(target, property);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { bucket, most: () => most };
}

/** Images of "vr/images": their manifests' digests, and their configs. */
const images: { digest: string; config: { digest: string; size: number } }[] = [];
/** The manifest "vr/tags" tags, and the subject of its referrers. */
let tagged: string;

beforeAll(async () => {
  for (let i = 0; i <= BROWSE_PAGE_REPOSITORIES; i++)
    await addToCatalog(store, `vr/many/r${String(i).padStart(2, "0")}`);
  tagged = (await pushImage("vr/tags", "base", 71)).digest;
  for (let i = 0; i < BROWSE_PAGE_TAGS + 10; i++)
    await putTag(store, "vr/tags", `t${String(i).padStart(3, "0")}`, parseDigest(tagged));
  for (let i = 0; i < VIEW_READS_IN_FLIGHT + 4; i++) {
    const image = await pushImage("vr/images", `i${i}`, 80 + i);
    images.push({ digest: image.digest, config: JSON.parse(image.body).config });
  }
  for (let i = 0; i <= VIEW_REFERRERS; i++)
    await putReferrer(store, "vr/tags", parseDigest(tagged), {
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      digest: fakeDigest(i),
      size: 100,
    });
  const report = await runCollectorStep(store, config, { trigger: "manual", dryRun: true });
  for (let i = 0; i <= VIEW_REPORTS; i++) await saveReport(store, { ...report!, id: `vr-${i}` }, Date.now() + i);
  for (let i = 0; i <= VIEW_UPLOAD_SESSIONS; i++) await startUpload(deps, "vr/uploads", admin.subject);
}, 120_000);

describe("the core bounds each view's reads, whatever it is asked", () => {
  const rows: { rule: string; bound: number; read: () => Promise<number> }[] = [
    {
      rule: "a browse page lists BROWSE_PAGE_REPOSITORIES repositories",
      bound: BROWSE_PAGE_REPOSITORIES,
      read: async () => (await listRepositorySummaries(deps, admin, "vr/many/", null)).rows.length,
    },
    {
      rule: "a browse page lists BROWSE_PAGE_TAGS tags",
      bound: BROWSE_PAGE_TAGS,
      read: async () => (await listTagEntriesPage(deps, "vr/tags", null)).tags.length,
    },
    {
      rule: "a view of an index reads VIEW_INDEX_ENTRIES entries",
      bound: VIEW_INDEX_ENTRIES,
      read: async () => {
        const entries = Array.from({ length: VIEW_INDEX_ENTRIES + 4 }, (_, i) => fakeDigest(i));
        return (await readIndexEntriesForView(deps, "vr/images", entries, new ViewReadBudget(deps), () => 1)).size;
      },
    },
    {
      rule: "a view reads VIEW_READS_IN_FLIGHT manifests at once",
      bound: VIEW_READS_IN_FLIGHT,
      read: async () => {
        const counted = concurrencyBucket();
        const countedDeps = coreDeps(openStorage({ ...ENV, REGISTRY: counted.bucket }), config);
        await readManifestsForView(
          countedDeps,
          "vr/images",
          images.map((i) => i.digest),
          new ViewReadBudget(countedDeps),
          () => 1,
        );
        return counted.most();
      },
    },
    {
      rule: "a view reads no manifest past VIEW_READ_BYTES (0 of them once all but 100 bytes are spent)",
      bound: 0,
      read: async () => {
        const budget = new ViewReadBudget(deps);
        expect(budget.spend(VIEW_READ_BYTES - 100)).toBe(true);
        const read = await readManifestsForView(
          deps,
          "vr/images",
          images.map((i) => i.digest),
          budget,
          () => 1,
        );
        return [...read.values()].filter((v) => v !== "unread").length;
      },
    },
    {
      rule: "a view reads no config past VIEW_READ_BYTES (0 of them once all but 10 bytes are spent)",
      bound: 0,
      read: async () => {
        const budget = new ViewReadBudget(deps);
        const { config } = images[0]!;
        const read = () => readConfigForView(deps, "vr/images", parseDigest(config.digest), config.size, budget);
        expect(await read()).not.toBeNull();
        budget.spend(VIEW_READ_BYTES - config.size - 10);
        return (await read()) === null ? 0 : 1;
      },
    },
    {
      rule: "a view of a manifest lists VIEW_REFERRERS referrers",
      bound: VIEW_REFERRERS,
      read: async () => (await listReferrersForView(deps, "vr/tags", parseDigest(tagged))).descriptors.length,
    },
    {
      rule: "the storage view shows VIEW_REPORTS collector reports",
      bound: VIEW_REPORTS,
      read: async () => (await storageOverview(deps, admin)).reports!.length,
    },
    {
      rule: "the storage view lists VIEW_UPLOAD_SESSIONS upload sessions",
      bound: VIEW_UPLOAD_SESSIONS,
      read: async () => (await listVisibleUploadSessions(deps, admin)).sessions.length,
    },
  ];
  for (const row of rows)
    it(row.rule, async () => {
      expect(await row.read()).toBe(row.bound);
    });
});
