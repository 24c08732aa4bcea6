// Repository name, tag and reference grammar (distribution-spec "Pulling manifests").
// Checked before anything touches storage, so storage keys never see unchecked input.
import { RegistryError } from "../errors";
import { tryParseDigest, type Digest } from "./digest";

/** The spec's name regex; each path component also cannot start with "_", which keeps
 *  internal storage keys (all "_"-prefixed) out of reach of any valid name. */
export const NAME_RE = /^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*$/;
export const TAG_RE = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;
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

/** A manifest reference is a tag or a digest; anything with ":" must be a valid digest. */
export function parseReference(reference: string): Reference {
  if (reference.includes(":")) {
    const digest = tryParseDigest(reference);
    if (!digest) throw new RegistryError("DIGEST_INVALID", `invalid digest reference: ${reference.slice(0, 200)}`);
    return { kind: "digest", digest };
  }
  if (!isValidTag(reference)) throw new RegistryError("MANIFEST_INVALID", `invalid tag reference: ${reference.slice(0, 200)}`);
  return { kind: "tag", tag: reference };
}
