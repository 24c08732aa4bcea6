// The one error type of the registry, and the table that maps each OCI error code to its
// HTTP status and message. Only app.ts turns a RegistryError into a response body.
// Codes: https://github.com/opencontainers/distribution-spec/blob/main/spec.md#error-codes

export const ERROR_TABLE = {
  BLOB_UNKNOWN: { status: 404, message: "blob unknown to registry" },
  BLOB_UPLOAD_INVALID: { status: 400, message: "blob upload invalid" },
  BLOB_UPLOAD_UNKNOWN: { status: 404, message: "blob upload unknown to registry" },
  DIGEST_INVALID: { status: 400, message: "provided digest did not match uploaded content" },
  MANIFEST_BLOB_UNKNOWN: { status: 404, message: "manifest references a manifest or blob unknown to registry" },
  MANIFEST_INVALID: { status: 400, message: "manifest invalid" },
  MANIFEST_UNKNOWN: { status: 404, message: "manifest unknown to registry" },
  NAME_INVALID: { status: 400, message: "invalid repository name" },
  NAME_UNKNOWN: { status: 404, message: "repository name not known to registry" },
  SIZE_INVALID: { status: 400, message: "provided length did not match content length" },
  TAG_INVALID: { status: 400, message: "invalid tag", wire: "MANIFEST_INVALID" },
  UNAUTHORIZED: { status: 401, message: "authentication required" },
  // The token endpoint's answer to a malformed OAuth2 request; the spec's table has no code
  // for it, so it goes out as UNSUPPORTED like the other 400s without one.
  TOKEN_REQUEST_INVALID: { status: 400, message: "invalid token request", wire: "UNSUPPORTED" },
  DENIED: { status: 403, message: "requested access to the resource is denied" },
  UNSUPPORTED: { status: 405, message: "the operation is unsupported" },
  TOOMANYREQUESTS: { status: 429, message: "too many requests" },
  // The codes below are internal names with their own status; on the wire they use the
  // spec's codes, because a 4xx error code MUST be one of the spec's table.
  RANGE_INVALID: { status: 416, message: "chunk does not continue the upload", wire: "BLOB_UPLOAD_INVALID" },
  RANGE_NOT_SATISFIABLE: { status: 416, message: "requested range not satisfiable", wire: "SIZE_INVALID" },
  PAYLOAD_TOO_LARGE: { status: 413, message: "request body too large", wire: "SIZE_INVALID" },
  PAGINATION_NUMBER_INVALID: { status: 400, message: "invalid number of results requested", wire: "UNSUPPORTED" },
  QUERY_INVALID: { status: 400, message: "invalid query parameter", wire: "UNSUPPORTED" },
  METHOD_UNKNOWN: { status: 405, message: "method not allowed", wire: "UNSUPPORTED" },
  NOT_FOUND: { status: 404, message: "not found", wire: "UNSUPPORTED" },
  UNAVAILABLE: { status: 503, message: "service unavailable" },
  UNKNOWN: { status: 500, message: "unknown error" },
} as const satisfies Record<string, { status: number; message: string; wire?: string }>;

export type ErrorCode = keyof typeof ERROR_TABLE;

/** The code sent to clients: the spec's own code for every internal name. */
export function wireCode(code: ErrorCode): string {
  const entry = ERROR_TABLE[code] as { wire?: string };
  return entry.wire ?? code;
}

/** A deployment's configuration the registry cannot run with. The detail names the variable
 *  and what it must hold; app.ts's readConfig logs it for the operator and answers callers a
 *  bare 503. Every refusal of a variable is made by this one function. */
export function configurationError(detail: string): RegistryError {
  return new RegistryError("UNKNOWN", `configuration: ${detail}`);
}

/** A body over the request limit (the edge's, or MAX_REQUEST_BODY_BYTES). docker, podman and
 *  skopeo send each layer in one request and cannot split it, so "send smaller chunks" helps
 *  none of them; the project's push client does (docs/push-client.md). */
export function bodyTooLarge(what: string): RegistryError {
  return new RegistryError(
    "PAYLOAD_TOO_LARGE",
    `${what}; clients that send a layer in one request (docker, podman, skopeo) cannot push it here: use \`r2-registry push\` (docs/push-client.md), which sends chunks within OCI-Chunk-Max-Length`,
  );
}

export class RegistryError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly detail: unknown;
  /** Extra response headers, e.g. Range on a 416 or WWW-Authenticate on a 401. */
  readonly headers: Record<string, string>;

  constructor(code: ErrorCode, detail?: unknown, headers: Record<string, string> = {}) {
    super(typeof detail === "string" ? detail : ERROR_TABLE[code].message);
    this.name = "RegistryError";
    this.code = code;
    this.status = ERROR_TABLE[code].status;
    this.detail = detail;
    this.headers = headers;
  }

  /** The OCI error body: {"errors":[{code,message,detail}]}. */
  toBody(): { errors: { code: string; message: string; detail?: unknown }[] } {
    const entry: { code: string; message: string; detail?: unknown } = {
      code: wireCode(this.code),
      message: typeof this.detail === "string" ? this.detail : ERROR_TABLE[this.code].message,
    };
    if (this.detail !== undefined) entry.detail = this.detail;
    return { errors: [entry] };
  }
}
