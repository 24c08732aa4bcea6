// How blob GETs are delivered (BLOB_REDIRECT and the variables it needs): streamed by the
// Worker (the default, with the edge cache), a redirect to a presigned GET on R2's S3
// endpoint, or, for repositories anyone may pull, a redirect to a public bucket's domain.
// Pure: parseBlobDelivery reads the variables and refuses a half-configured mode, so a
// deployment never answers a redirect it cannot sign. docs/delivery.md explains the modes.
import { configurationError } from "../errors";
import { parseBareOrigin } from "./origin";
import { readInteger } from "./variables";

/** Signing a presigned GET: R2's S3 API takes SigV4 with region "auto" and service "s3". */
export interface PresignedDelivery {
  mode: "presigned";
  /** The S3 endpoint's origin: https://<account id>.r2.cloudflarestorage.com unless
   *  R2_S3_ENDPOINT names another (a jurisdiction's, or the local storage host). */
  endpoint: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** How long a signed URL may be used (BLOB_REDIRECT_TTL_SECONDS). R2 checks it when a
   *  download starts, not while it runs. */
  expiresSeconds: number;
}

/** Public images from a public bucket's custom domain (the PUBLIC_BLOBS binding). */
export interface PublicDelivery {
  mode: "public";
  /** The domain's origin, with no trailing slash: blobs are at `${base}/<object key>`. */
  base: string;
}

export type BlobDelivery = { mode: "worker" } | PresignedDelivery | PublicDelivery;

/** The variables parseBlobDelivery reads; all strings, any absent. */
export interface DeliveryVariables {
  BLOB_REDIRECT?: string;
  BLOB_REDIRECT_TTL_SECONDS?: string;
  R2_ACCOUNT_ID?: string;
  R2_BUCKET_NAME?: string;
  R2_ACCESS_KEY_ID?: string;
  R2_SECRET_ACCESS_KEY?: string;
  R2_S3_ENDPOINT?: string;
  /** The public bucket's binding, looked at only to see that it is there. */
  PUBLIC_BLOBS?: unknown;
}

export const DEFAULT_REDIRECT_TTL_SECONDS = 600;
/** SigV4 allows a week; an hour is more than any client needs to start a download. */
const MAX_REDIRECT_TTL_SECONDS = 3600;

const LOOPBACK_HOSTS = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|localhost|\[::1\])$/;

/** An origin that clients will be sent to: https, or http on this machine only (the local
 *  storage host). */
function readOrigin(name: string, raw: string): string {
  const url = parseBareOrigin(raw);
  const secure = url && (url.protocol === "https:" || (url.protocol === "http:" && LOOPBACK_HOSTS.test(url.hostname)));
  if (!url || !secure)
    throw configurationError(
      `${name} must be an https origin such as https://blobs.example.com (http only on loopback)`,
    );
  return url.origin;
}

function readPresigned(vars: DeliveryVariables): PresignedDelivery {
  // The account id only names the endpoint, so R2_S3_ENDPOINT stands in for it.
  const needed: (keyof DeliveryVariables)[] = vars.R2_S3_ENDPOINT ? [] : ["R2_ACCOUNT_ID"];
  needed.push("R2_BUCKET_NAME", "R2_ACCESS_KEY_ID", "R2_SECRET_ACCESS_KEY");
  const missing = needed.filter((name) => !vars[name]);
  if (missing.length > 0) throw configurationError(`BLOB_REDIRECT=presigned needs ${missing.join(", ")}`);
  const account = vars.R2_ACCOUNT_ID ?? "";
  if (account && !/^[0-9a-f]{32}$/.test(account))
    throw configurationError("R2_ACCOUNT_ID must be the account's 32-character hex id");
  // Bucket names are 3-63 lower-case letters, digits and hyphens (R2's rule).
  if (!/^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/.test(vars.R2_BUCKET_NAME!))
    throw configurationError("R2_BUCKET_NAME must be the bucket's name (3-63 lower-case letters, digits, hyphens)");
  return {
    mode: "presigned",
    endpoint: vars.R2_S3_ENDPOINT
      ? readOrigin("R2_S3_ENDPOINT", vars.R2_S3_ENDPOINT)
      : `https://${account}.r2.cloudflarestorage.com`,
    bucket: vars.R2_BUCKET_NAME!,
    accessKeyId: vars.R2_ACCESS_KEY_ID!,
    secretAccessKey: vars.R2_SECRET_ACCESS_KEY!,
    expiresSeconds: readInteger(
      vars,
      "BLOB_REDIRECT_TTL_SECONDS",
      DEFAULT_REDIRECT_TTL_SECONDS,
      1,
      MAX_REDIRECT_TTL_SECONDS,
    ),
  };
}

/** BLOB_REDIRECT: empty or "off" (the Worker streams), "presigned", or "public:<origin>". */
export function parseBlobDelivery(vars: DeliveryVariables): BlobDelivery {
  const raw = (vars.BLOB_REDIRECT ?? "").trim();
  if (raw === "" || raw === "off") return { mode: "worker" };
  if (raw === "presigned") return readPresigned(vars);
  if (raw.startsWith("public:")) {
    const base = readOrigin("BLOB_REDIRECT", raw.slice(7));
    // Refused here, with the rest of the configuration, rather than at the first pull that
    // would copy a blob: a mistake is the operator's to read in the log, never a caller's.
    if (!vars.PUBLIC_BLOBS) throw configurationError("BLOB_REDIRECT=public needs the PUBLIC_BLOBS bucket binding");
    return { mode: "public", base };
  }
  throw configurationError(
    `BLOB_REDIRECT must be off, presigned or public:https://<domain>, got ${JSON.stringify(raw)}`,
  );
}
