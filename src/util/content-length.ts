// The Content-Length request header as a number. Pure; shared by every reader of a body (the
// upload chunk rule in src/registry/uploads.ts, bounded reads in src/http/request-body.ts).
import { RegistryError } from "../errors";

/** At most 15 digits, so the value is an exact integer. */
const CONTENT_LENGTH_RE = /^[0-9]{1,15}$/;

/** The declared length, null when the header is absent; SIZE_INVALID when it is not a number. */
export function parseContentLength(raw: string | null | undefined): number | null {
  if (raw === undefined || raw === null) return null;
  if (!CONTENT_LENGTH_RE.test(raw.trim())) throw new RegistryError("SIZE_INVALID", "invalid Content-Length");
  return Number(raw.trim());
}
