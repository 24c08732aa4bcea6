// Repository name, tag and reference grammar (distribution-spec "Pulling manifests").
// Checked before anything touches storage, so storage keys never see unchecked input.
import { RegistryError } from "../errors";
import { tryParseDigest, type Digest } from "./digest";

/** The spec's name regex; each path component also cannot start with "_", which keeps
 *  internal storage keys (all "_"-prefixed) out of reach of any valid name. */
const NAME_RE = /^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*$/;
const TAG_RE = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;
/** Longest accepted name: the spec lets registries cap it; distribution uses 255. */
export const MAX_NAME_LENGTH = 255;

export function isValidName(name: string): boolean {
  return name.length <= MAX_NAME_LENGTH && NAME_RE.test(name);
}

export function parseName(name: string): string {
  if (!isValidName(name)) throw new RegistryError("NAME_INVALID", `invalid repository name: ${name.slice(0, 300)}`);
  return name;
}

export function isValidTag(tag: string): boolean {
  return TAG_RE.test(tag);
}

export function parseTag(tag: string): string {
  if (!isValidTag(tag)) throw new RegistryError("TAG_INVALID", `invalid tag: ${tag.slice(0, 200)}`);
  return tag;
}

export type Reference = { kind: "tag"; tag: string } | { kind: "digest"; digest: Digest };

/**
 * A manifest reference is a tag or a digest; anything with ":" must be a valid digest.
 * A reference that is neither names no manifest: reading it is 404 MANIFEST_UNKNOWN (the
 * conformance suite asks for `.INVALID_MANIFEST_NAME` and requires 404), writing it is 400
 * TAG_INVALID. A malformed digest is 400 DIGEST_INVALID either way (the spec allows 400).
 */
export function parseReference(reference: string, use: "read" | "write"): Reference {
  if (reference.includes(":")) {
    const digest = tryParseDigest(reference);
    if (!digest) throw new RegistryError("DIGEST_INVALID", `invalid digest reference: ${reference.slice(0, 200)}`);
    return { kind: "digest", digest };
  }
  if (!isValidTag(reference)) {
    if (use === "read")
      throw new RegistryError("MANIFEST_UNKNOWN", `no manifest can be named ${reference.slice(0, 200)}`);
    throw new RegistryError("TAG_INVALID", `invalid tag reference: ${reference.slice(0, 200)}`);
  }
  return { kind: "tag", tag: reference };
}
