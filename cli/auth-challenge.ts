// Parses WWW-Authenticate challenges (RFC 9110 §11.6.1) as registries send them:
//   Basic realm="registry"
//   Bearer realm="https://auth/token",service="registry",scope="repository:a/b:pull,push"
// Pure, unit-tested; auth.ts acts on the result.

export interface Challenge {
  /** Lower-case scheme: "basic", "bearer", ... */
  scheme: string;
  params: Record<string, string>;
}

/** Reads one token or quoted-string starting at `at`; returns the value and the next index. */
function readValue(text: string, at: number): [string, number] {
  if (text[at] !== '"') {
    const match = /^[^\s,]*/.exec(text.slice(at))!;
    return [match[0], at + match[0].length];
  }
  let value = "";
  let i = at + 1;
  for (; i < text.length && text[i] !== '"'; i++) {
    if (text[i] === "\\" && i + 1 < text.length) i++;
    value += text[i];
  }
  return [value, i + 1];
}

/** Parses a header that may hold several challenges ("Basic realm=x, Bearer realm=y"). */
export function parseChallenges(header: string | null | undefined): Challenge[] {
  if (!header) return [];
  const challenges: Challenge[] = [];
  let i = 0;
  let current: Challenge | null = null;
  while (i < header.length) {
    while (i < header.length && /[\s,]/.test(header[i]!)) i++;
    const name = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+/.exec(header.slice(i));
    if (!name) break;
    i += name[0].length;
    const afterName = header.slice(i);
    const isParam = /^\s*=/.test(afterName) && current !== null;
    if (!isParam) {
      current = { scheme: name[0].toLowerCase(), params: {} };
      challenges.push(current);
      continue;
    }
    i += afterName.indexOf("=") + 1;
    while (header[i] === " ") i++;
    const [value, next] = readValue(header, i);
    current!.params[name[0].toLowerCase()] = value;
    i = next;
  }
  return challenges;
}

/** The URL a Bearer token is requested from, with service and every scope (docker repeats
 *  `scope` once per scope string). */
export function tokenUrl(challenge: Challenge, scopes: string[], account: string | null): string {
  const realm = challenge.params.realm;
  if (!realm) throw new Error("Bearer challenge without realm");
  const url = new URL(realm);
  if (challenge.params.service) url.searchParams.set("service", challenge.params.service);
  for (const scope of scopes) url.searchParams.append("scope", scope);
  if (account) url.searchParams.set("account", account);
  return url.toString();
}

/** Scope strings to ask for: the challenge's own scope plus the ones the operation needs. */
export function mergeScopes(fromChallenge: string | undefined, needed: string[]): string[] {
  const all = new Set<string>(needed);
  if (fromChallenge) for (const scope of fromChallenge.split(" ")) if (scope) all.add(scope);
  return [...all].sort();
}
