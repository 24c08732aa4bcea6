// Expectations for the conformance checks. Each throws a message naming the request, what the
// spec wants and what came back, so a failure reads without a debugger.
import type { Reply } from "./client";

/** The only codes an error body may carry (distribution-spec "Error Codes"). */
export const SPEC_ERROR_CODES = new Set([
  "BLOB_UNKNOWN",
  "BLOB_UPLOAD_INVALID",
  "BLOB_UPLOAD_UNKNOWN",
  "DIGEST_INVALID",
  "MANIFEST_BLOB_UNKNOWN",
  "MANIFEST_INVALID",
  "MANIFEST_UNKNOWN",
  "NAME_INVALID",
  "NAME_UNKNOWN",
  "SIZE_INVALID",
  "UNAUTHORIZED",
  "DENIED",
  "UNSUPPORTED",
  "TOOMANYREQUESTS",
]);

export function describe(reply: Reply): string {
  const body = reply.body.length > 0 ? ` ${reply.text().slice(0, 300)}` : "";
  return `${reply.method} ${reply.url.pathname}${reply.url.search.slice(0, 80)} -> ${reply.status}${body}`;
}

export function fail(message: string): never {
  throw new Error(message);
}

export function expectStatus(reply: Reply, ...statuses: number[]): void {
  if (!statuses.includes(reply.status)) fail(`expected ${statuses.join(" or ")}: ${describe(reply)}`);
}

export function expectHeader(reply: Reply, name: string, expected?: string | RegExp): string {
  const value = reply.headers.get(name);
  if (value === null) fail(`missing ${name} header: ${describe(reply)}`);
  if (typeof expected === "string" && value !== expected)
    fail(`${name} is "${value}", expected "${expected}": ${describe(reply)}`);
  if (expected instanceof RegExp && !expected.test(value))
    fail(`${name} "${value}" does not match ${expected}: ${describe(reply)}`);
  return value;
}

export function expectNoHeader(reply: Reply, name: string): void {
  const value = reply.headers.get(name);
  if (value !== null) fail(`unexpected ${name}: ${value} on ${describe(reply)}`);
}

export function expectEqual<T>(actual: T, expected: T, what: string): void {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a !== e) fail(`${what}: got ${a.slice(0, 400)}, expected ${e.slice(0, 400)}`);
}

export function expectBytes(reply: Reply, expected: Uint8Array): void {
  if (Buffer.compare(Buffer.from(reply.body), Buffer.from(expected)) !== 0) {
    fail(
      `body differs: got ${reply.body.length} bytes, expected ${expected.length}: ${reply.method} ${reply.url.pathname}`,
    );
  }
}

/** Problems with an error body, or null when it follows the spec's format. */
export function errorBodyProblem(reply: Reply): string | null {
  let body: unknown;
  try {
    body = reply.json();
  } catch {
    return "error body is not JSON";
  }
  const errors = (body as { errors?: unknown }).errors;
  if (!Array.isArray(errors) || errors.length === 0)
    return `error body has no errors array: ${reply.text().slice(0, 200)}`;
  for (const entry of errors as Record<string, unknown>[]) {
    if (typeof entry?.code !== "string" || !/^[A-Z_]+$/.test(entry.code))
      return `error code ${JSON.stringify(entry?.code)} is not uppercase letters and underscores`;
    if (!SPEC_ERROR_CODES.has(entry.code)) return `error code ${entry.code} is not one of the spec's codes`;
    if (entry.message !== undefined && typeof entry.message !== "string") return `error message is not a string`;
  }
  return null;
}

/** The status and one of the codes, in a body of the spec's error format. */
export function expectError(reply: Reply, status: number | number[], ...codes: string[]): void {
  expectStatus(reply, ...(Array.isArray(status) ? status : [status]));
  if (reply.method === "HEAD") return;
  const problem = errorBodyProblem(reply);
  if (problem) fail(`${problem}: ${describe(reply)}`);
  const got = ((reply.json() as { errors: { code: string }[] }).errors ?? []).map((e) => e.code);
  if (codes.length > 0 && !got.some((c) => codes.includes(c)))
    fail(`expected error code ${codes.join(" or ")}, got ${got.join(", ")}: ${describe(reply)}`);
}
