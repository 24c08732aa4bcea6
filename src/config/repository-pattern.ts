// Repository patterns in the users configuration and ANONYMOUS_PULL. Pure.
// A pattern is a repository name in which `*` stands for any run of characters, slashes
// included: `*` is every repository, `team-a/*` everything under team-a/ (at any depth),
// `*-public` every repository ending in "-public". Nothing else is special.

const PATTERN_RE = /^[a-z0-9._\-/*]{1,255}$/;

export function isValidPattern(pattern: string): boolean {
  return PATTERN_RE.test(pattern);
}

/** Matches `name` against `pattern` by splitting on `*`: each literal piece must appear in
 *  order, the first at the start and the last at the end. Linear, with no regex built from
 *  configuration, so no pattern can backtrack catastrophically. */
export function matchesPattern(pattern: string, name: string): boolean {
  const pieces = pattern.split("*");
  if (pieces.length === 1) return pattern === name;
  const first = pieces[0]!;
  const last = pieces[pieces.length - 1]!;
  if (!name.startsWith(first) || name.length < first.length + last.length) return false;
  let at = first.length;
  const end = name.length - last.length;
  for (const piece of pieces.slice(1, -1)) {
    const found = name.indexOf(piece, at);
    if (found < 0 || found + piece.length > end) return false;
    at = found + piece.length;
  }
  return name.endsWith(last);
}

export function matchesAny(patterns: readonly string[], name: string): boolean {
  return patterns.some((p) => matchesPattern(p, name));
}

/** Parses a comma- or space-separated list of patterns; returns the invalid ones too. */
export function parsePatternList(raw: string | undefined): { patterns: string[]; invalid: string[] } {
  const items = (raw ?? "").split(/[\s,]+/).filter((s) => s !== "");
  return { patterns: items.filter(isValidPattern), invalid: items.filter((s) => !isValidPattern(s)) };
}
