// parseConfig(env) is the only place that reads variables and applies defaults. The README's
// configuration table lists exactly these.
import { parseAuthConfig, type AuthConfig } from "./auth";
import { parseBlobDelivery, type BlobDelivery } from "./delivery";
import { configurationError } from "../errors";
import { MAX_PART_SIZE, MIN_PART_SIZE } from "../util/memory-budget";
import { parseImmutableTags, type ImmutableTagRule } from "./immutable-tags";
import { parseBareOrigin } from "./origin";
import { parseRetention, type RetentionRule } from "./retention";
import { parseProxyConfig, type ProxyConfig } from "./upstreams";
import { readBoolean, readInteger } from "./variables";
import { parseEventsConfig, type EventsConfig } from "./webhooks";

/** The Worker's bindings and variables, as `npm run types` generates them from wrangler.toml
 *  and variables.env (worker-configuration.d.ts). */
export type Env = Cloudflare.Env;

export interface Config {
  stateSecret: string | null;
  /** PUBLIC_URL's origin ("https://registry.example.com"), or null to answer with the
   *  request's own host. */
  publicUrl: string | null;
  deletesEnabled: boolean;
  /** Size of every multipart part but the last. R2 needs 5 MiB or more in production. */
  partSize: number;
  uploadMaxAgeSeconds: number;
  /** Enforced body limit (the edge's, emulated locally), or null when not enforced. */
  maxRequestBodyBytes: number | null;
  /** Largest request body clients are told to send: the enforced limit, else the Free plan's. */
  advertisedMaxChunkBytes: number;
  maxManifestBytes: number;
  /** Smallest chunk clients are asked to send (OCI-Chunk-Min-Length). Any size is accepted;
   *  this only keeps tiny chunks from costing a request each. */
  chunkMinLength: number;
  maxPageSize: number;
  /** The largest blob the edge cache keeps (storage/edge-cache.ts); 0 keeps none. */
  edgeCacheMaxBytes: number;
  /** Whether blob GETs redirect, and where (BLOB_REDIRECT, src/config/delivery.ts). */
  delivery: BlobDelivery;
  proxy: ProxyConfig;
  /** Credential modes, users, anonymous pull, tokens, CORS (src/config/auth.ts). */
  auth: AuthConfig;
  /** Garbage collection (docs/gc.md). */
  gc: GcConfig;
  /** Events, webhooks and the activity log (docs/events.md). */
  events: EventsConfig;
  /** Tags that never move once they point at a manifest (IMMUTABLE_TAGS_JSON). */
  immutableTags: ImmutableTagRule[];
}

export interface GcConfig {
  /** Nothing uploaded, linked, tagged or pushed more recently than this is collected. */
  graceSeconds: number;
  /** Free manifests that no tag, index or live subject reaches. */
  untagged: boolean;
  /** Free referrers whose subject manifest is not in the repository. */
  orphanReferrers: boolean;
  retention: RetentionRule[];
  /** R2 operations one collector step may spend (Workers' subrequest limit is 1000). */
  maxOperations: number;
  /** Whether the cron trigger runs the collector. */
  scheduled: boolean;
}

const MiB = 1024 * 1024;
const FREE_PLAN_BODY_LIMIT = 100_000_000;

/** An origin only: the registry lives at /v2/ of its host, so a path could only mislead. */
function readPublicUrl(raw: string | undefined): string | null {
  if (raw === undefined || raw === "") return null;
  const url = parseBareOrigin(raw);
  if (!url || (url.protocol !== "https:" && url.protocol !== "http:")) {
    throw configurationError("PUBLIC_URL must be an http or https origin such as https://registry.example.com");
  }
  return url.origin;
}

const cache = new WeakMap<Env, Config>();

export function parseConfig(env: Env): Config {
  const cached = cache.get(env);
  if (cached) return cached;
  const maxRequestBodyBytes = env.MAX_REQUEST_BODY_BYTES ? readInteger(env, "MAX_REQUEST_BODY_BYTES", 0, 1024) : null;
  const config: Config = {
    stateSecret: env.JWT_STATE_SECRET || null,
    publicUrl: readPublicUrl(env.PUBLIC_URL),
    deletesEnabled: readBoolean(env, "DELETES_ENABLED", true),
    // The isolate's part-buffer pool is sized for eight uploads of at most MAX_PART_SIZE.
    partSize: readInteger(env, "UPLOAD_PART_SIZE", MAX_PART_SIZE, MIN_PART_SIZE, MAX_PART_SIZE),
    uploadMaxAgeSeconds: readInteger(env, "UPLOAD_MAX_AGE_SECONDS", 3 * 24 * 3600, 60, 7 * 24 * 3600),
    maxRequestBodyBytes,
    advertisedMaxChunkBytes: maxRequestBodyBytes ?? FREE_PLAN_BODY_LIMIT,
    maxManifestBytes: 4 * MiB,
    chunkMinLength: readInteger(env, "UPLOAD_CHUNK_MIN_BYTES", MiB, 1, 5 * 1024 * MiB),
    maxPageSize: readInteger(env, "CATALOG_MAX_PAGE", 1000, 1, 10000),
    // The Cache API keeps objects up to 512 MB below Enterprise, 5 GB on Enterprise.
    edgeCacheMaxBytes: readInteger(env, "EDGE_CACHE_MAX_BYTES", 512 * 1000 * 1000, 0, 5 * 1000 * 1000 * 1000),
    delivery: parseBlobDelivery(env),
    proxy: parseProxyConfig(
      env.REGISTRIES_JSON,
      readInteger(env, "PROXY_TAG_TTL_SECONDS", 300, 0, 365 * 24 * 3600),
      env as unknown as Record<string, unknown>,
    ),
    auth: parseAuthConfig(env),
    gc: {
      graceSeconds: readInteger(env, "GC_GRACE_SECONDS", 3600, 0, 365 * 24 * 3600),
      untagged: readBoolean(env, "GC_UNTAGGED", true),
      orphanReferrers: readBoolean(env, "GC_ORPHAN_REFERRERS", false),
      retention: parseRetention(env.GC_RETENTION_JSON),
      maxOperations: readInteger(env, "GC_MAX_OPERATIONS", 800, 50, 100_000),
      scheduled: readBoolean(env, "GC_SCHEDULED", true),
    },
    events: parseEventsConfig(env, env as unknown as Record<string, unknown>),
    immutableTags: parseImmutableTags(env.IMMUTABLE_TAGS_JSON),
  };
  cache.set(env, config);
  return config;
}
