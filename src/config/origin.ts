// An origin given in a variable (PUBLIC_URL, R2_S3_ENDPOINT, BLOB_REDIRECT=public:…): one
// reading of "just scheme, host and port", so each variable refuses a path, query, fragment
// or credentials the same way. Which schemes and hosts are allowed stays with the variable.
// Pure.

/** The URL when `raw` is a bare origin (its path "/" at most, no query, fragment or
 *  credentials), else null. */
export function parseBareOrigin(raw: string): URL | null {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return null;
  }
  const bare =
    url.pathname === "/" && url.search === "" && url.hash === "" && url.username === "" && url.password === "";
  return bare ? url : null;
}
