// Where the sign-in page may send the browser afterwards (its `next` value): a path on this
// origin, so a crafted link cannot send a signed-in user to another site.

/** A stand-in origin to resolve against; the answer is a path, so it holds on any origin. */
const PROBE = "http://registry.invalid";

/** The path and query of `value` resolved the way a browser resolves a Location (dropping
 *  tabs and newlines, reading "\" as "/", removing "." and ".." segments, "%2e" included),
 *  or "/" when that leaves this origin. The result must also read as itself: normalizing
 *  "/.//evil.example" gives "//evil.example", which a browser reads as another host. */
export function sameOriginPath(value: string | null | undefined): string {
  if (!value?.startsWith("/")) return "/";
  const path = localPath(value);
  return path !== null && localPath(path) === path ? path : "/";
}

function localPath(value: string): string | null {
  try {
    const url = new URL(value, PROBE);
    return url.origin === PROBE ? url.pathname + url.search : null;
  } catch {
    return null;
  }
}
