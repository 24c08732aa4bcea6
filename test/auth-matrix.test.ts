// Mode × endpoint × repository: every credential kind against every protected endpoint on
// repositories it may and may not use. Each principal has a model of its rights, written
// here independently of src/auth; the registry must grant exactly that and refuse the rest
// (403 DENIED for signed-in Basic callers, 401 with a scoped challenge for anonymous callers
// and for tokens lacking the scope).
import { beforeAll, describe, expect, it, vi } from "vitest";
import { claimsOf, fetcher, getToken, makeKeyPair, PASSWORDS, tokenFor, usersJson, type Fetch } from "./auth-setup";
import { AUTH, basic, pushImage, sha256 } from "./helpers";

type Action = "pull" | "push" | "delete";
type Model = (repo: string, action: Action) => boolean;
type Kind = "basic" | "anonymous" | "token";

const REPOS = ["team-a/app", "team-b/app", "public/app", "shared/lib"];
const ANON: Model = (repo, action) => action === "pull" && repo.startsWith("public/");
const ALICE: Model = (repo, action) =>
  repo.startsWith("team-a/") || (action === "pull" && repo.startsWith("shared/")) || ANON(repo, action);
const BOB: Model = (repo, action) => (repo.startsWith("team-b/") && action !== "delete") || ANON(repo, action);
const ALL: Model = () => true;
const PULL: Model = (_repo, action) => action === "pull";

interface Principal {
  name: string;
  kind: Kind;
  model: Model;
  catalog: boolean;
  auth: () => Promise<string | null>;
}

interface Endpoint {
  name: string;
  action: Action;
  /** Status when access is granted (auth passed, the request itself then runs). */
  granted: number;
  request(fetch: Fetch, repo: string, auth: string | null): Promise<Response>;
}

const layers = new Map<string, string>();
const headers = (auth: string | null, extra: Record<string, string> = {}) =>
  auth ? { ...extra, Authorization: auth } : extra;

const ENDPOINTS: Endpoint[] = [
  {
    name: "GET manifest",
    action: "pull",
    granted: 200,
    request: (f, r, a) => f(`/v2/${r}/manifests/latest`, { headers: headers(a) }),
  },
  {
    name: "HEAD manifest",
    action: "pull",
    granted: 200,
    request: (f, r, a) => f(`/v2/${r}/manifests/latest`, { method: "HEAD", headers: headers(a) }),
  },
  {
    name: "GET blob",
    action: "pull",
    granted: 200,
    request: (f, r, a) => f(`/v2/${r}/blobs/${layers.get(r)}`, { headers: headers(a) }),
  },
  {
    name: "GET tags",
    action: "pull",
    granted: 200,
    request: (f, r, a) => f(`/v2/${r}/tags/list`, { headers: headers(a) }),
  },
  {
    name: "GET referrers",
    action: "pull",
    granted: 200,
    request: (f, r, a) => f(`/v2/${r}/referrers/${layers.get(r)}`, { headers: headers(a) }),
  },
  {
    name: "POST upload",
    action: "push",
    granted: 202,
    request: (f, r, a) => f(`/v2/${r}/blobs/uploads/`, { method: "POST", headers: headers(a) }),
  },
  {
    name: "PUT manifest",
    action: "push",
    granted: 400,
    request: (f, r, a) =>
      f(`/v2/${r}/manifests/bad`, {
        method: "PUT",
        body: "{}",
        headers: headers(a, { "Content-Type": "application/vnd.oci.image.manifest.v1+json" }),
      }),
  },
  {
    name: "DELETE manifest",
    action: "delete",
    granted: 404,
    request: (f, r, a) => f(`/v2/${r}/manifests/no-such-tag`, { method: "DELETE", headers: headers(a) }),
  },
  {
    name: "DELETE blob",
    action: "delete",
    granted: 404,
    request: async (f, r, a) => f(`/v2/${r}/blobs/${sha256(`absent ${r}`)}`, { method: "DELETE", headers: headers(a) }),
  },
];

const ALL_SCOPES = [...REPOS.map((r) => `repository:${r}:pull,push,delete`), "registry:catalog:*"];

let fetch: Fetch;
const creds = { jwtPull: "", jwtPush: "" };
const alice = basic("alice", PASSWORDS.alice);
const bob = basic("bob", PASSWORDS.bob);
const reader = basic("reader", "reader-password");
const bearer = (auth: () => string | null) => async () => `Bearer ${await tokenFor(fetch, auth(), ALL_SCOPES)}`;
const fixed = (auth: () => string | null) => async () => auth();

const PRINCIPALS: Principal[] = [
  { name: "USERNAME/PASSWORD", kind: "basic", model: ALL, catalog: true, auth: fixed(() => AUTH) },
  { name: "READONLY", kind: "basic", model: PULL, catalog: true, auth: fixed(() => reader) },
  { name: "users: alice", kind: "basic", model: ALICE, catalog: true, auth: fixed(() => alice) },
  { name: "users: bob", kind: "basic", model: BOB, catalog: false, auth: fixed(() => bob) },
  {
    name: "JWT password, pull",
    kind: "basic",
    model: PULL,
    catalog: true,
    auth: fixed(() => basic("ci", creds.jwtPull)),
  },
  {
    name: "JWT password, push",
    kind: "basic",
    model: ALL,
    catalog: true,
    auth: fixed(() => basic("ci", creds.jwtPush)),
  },
  {
    name: "JWT as Bearer, pull",
    kind: "basic",
    model: PULL,
    catalog: true,
    auth: fixed(() => `Bearer ${creds.jwtPull}`),
  },
  { name: "anonymous", kind: "anonymous", model: ANON, catalog: false, auth: fixed(() => null) },
  { name: "token: USERNAME", kind: "token", model: ALL, catalog: true, auth: bearer(() => AUTH) },
  { name: "token: READONLY", kind: "token", model: PULL, catalog: true, auth: bearer(() => reader) },
  { name: "token: alice", kind: "token", model: ALICE, catalog: true, auth: bearer(() => alice) },
  { name: "token: bob", kind: "token", model: BOB, catalog: false, auth: bearer(() => bob) },
  {
    name: "token: JWT password",
    kind: "token",
    model: PULL,
    catalog: true,
    auth: bearer(() => basic("ci", creds.jwtPull)),
  },
  { name: "token: anonymous", kind: "token", model: ANON, catalog: false, auth: bearer(() => null) },
];

beforeAll(async () => {
  const keys = await makeKeyPair();
  fetch = fetcher({
    AUTH_USERS_JSON: await usersJson(),
    ANONYMOUS_PULL: "public/*",
    JWT_REGISTRY_TOKENS_PUBLIC_KEY: keys.publicJwkBase64,
  });
  for (const [i, repo] of REPOS.entries()) layers.set(repo, (await pushImage(repo, "latest", 40 + i)).layerDigest);
  const exp = Math.floor(Date.now() / 1000) + 3600;
  creds.jwtPull = await keys.sign({ capabilities: ["pull"], username: "ci", exp });
  creds.jwtPush = await keys.sign({ capabilities: ["pull", "push"], username: "ci", exp });
});

async function expectRefused(response: Response, principal: Principal, scope: string): Promise<void> {
  // HEAD answers carry no body; every other refusal must name its OCI code.
  const text = await response.text();
  const code = text === "" ? null : (JSON.parse(text) as { errors: { code: string }[] }).errors[0]!.code;
  if (principal.kind === "basic") {
    expect(response.status).toBe(403);
    if (code !== null) expect(code).toBe("DENIED");
    return;
  }
  expect(response.status).toBe(401);
  if (code !== null) expect(code).toBe("UNAUTHORIZED");
  const challenge = response.headers.get("WWW-Authenticate") ?? "";
  expect(challenge).toMatch(/^Bearer realm="http:\/\/registry\.test\/v2\/token",service="registry\.test"/);
  expect(challenge).toContain(`scope="${scope}"`);
}

describe("every principal on every endpoint and repository", () => {
  it.each(PRINCIPALS)("$name gets exactly its rights", async (principal) => {
    const auth = await principal.auth();
    for (const repo of REPOS) {
      for (const endpoint of ENDPOINTS) {
        const response = await endpoint.request(fetch, repo, auth);
        const label = `${principal.name} ${endpoint.name} ${repo}`;
        if (principal.model(repo, endpoint.action)) {
          expect(response.status, label).toBe(endpoint.granted);
          await response.body?.cancel();
        } else {
          const scope = `repository:${repo}:${endpoint.action === "push" ? "pull,push" : endpoint.action}`;
          await expectRefused(response, principal, scope).catch((e) => {
            throw new Error(`${label}: ${e}`);
          });
        }
      }
    }
  });

  it.each(PRINCIPALS)("$name: catalog and base endpoint", async (principal) => {
    const auth = await principal.auth();
    const catalog = await fetch("/v2/_catalog", { headers: headers(auth) });
    if (principal.catalog) expect(catalog.status, principal.name).toBe(200);
    else await expectRefused(catalog, principal, "registry:catalog:*");
    const base = await fetch("/v2/", { headers: headers(auth) });
    expect(base.status, principal.name).toBe(principal.kind === "anonymous" ? 401 : 200);
  });

  it.each(PRINCIPALS.filter((p) => p.kind === "token"))(
    "$name: the token holds exactly the intersection of asked and allowed",
    async (principal) => {
      const token = (await principal.auth())!.slice("Bearer ".length);
      const access = claimsOf(token).access as { type: string; name: string; actions: string[] }[];
      const expected: { type: string; name: string; actions: string[] }[] = REPOS.map((name) => ({
        type: "repository",
        name,
        actions: (["pull", "push", "delete"] as Action[]).filter((a) => principal.model(name, a)),
      })).filter((e) => e.actions.length > 0);
      if (principal.catalog) expected.push({ type: "registry", name: "catalog", actions: ["*"] });
      expect(access).toEqual(expected);
    },
  );
});

describe("deployments with few or no credentials", () => {
  const NONE = { USERNAME: undefined, PASSWORD: undefined, READONLY_USERNAME: undefined, READONLY_PASSWORD: undefined };

  it("refuses every request when nothing is configured, and logs why once", async () => {
    const spy = vi.spyOn(console, "error").mockImplementation(() => {});
    const f = fetcher(NONE);
    for (const [path, init] of [
      ["/v2/", {}],
      ["/v2/public/app/manifests/latest", {}],
      ["/v2/_catalog", {}],
      ["/v2/token", { headers: { Authorization: AUTH } }],
      ["/v2/public/app/blobs/uploads/", { method: "POST", headers: { Authorization: AUTH } }],
    ] as const) {
      const response = await f(path, init);
      expect(response.status, path).toBe(401);
    }
    const logged = spy.mock.calls.map((c) => c.join(" ")).join("\n");
    spy.mockRestore();
    // The warning is per isolate: another test file may have triggered it first.
    if (logged !== "") expect(logged).toContain("no credentials are configured");
  });

  it("serves anonymous pull alone: pulls work, pushes and docker login do not", async () => {
    const f = fetcher({ ...NONE, ANONYMOUS_PULL: "*" });
    expect((await f("/v2/public/app/manifests/latest")).status).toBe(200);
    expect((await f("/v2/team-a/app/manifests/latest")).status).toBe(200);
    expect((await f("/v2/public/app/blobs/uploads/", { method: "POST" })).status).toBe(401);
    expect((await f("/v2/")).status).toBe(401);
    expect((await f("/v2/_catalog")).status).toBe(401);
    expect((await getToken(f, null, ["repository:public/app:pull,push"])).status).toBe(200);
    expect((await getToken(f, AUTH, [])).status).toBe(401);
  });
});

describe("mounts and upload sessions under each credential kind", () => {
  it("mounts only from repositories the caller may pull, else falls back to 202", async () => {
    const digest = layers.get("shared/lib")!;
    const teamB = layers.get("team-b/app")!;
    const post = (auth: string, query: string) =>
      fetch(`/v2/team-a/mounted/blobs/uploads/?${query}`, { method: "POST", headers: { Authorization: auth } });
    expect((await post(alice, `mount=${teamB}&from=team-b/app`)).status).toBe(202);
    expect((await post(alice, `mount=${digest}&from=shared/lib`)).status).toBe(201);
    const narrow = `Bearer ${await tokenFor(fetch, alice, ["repository:team-a/mounted:pull,push"])}`;
    expect((await post(narrow, `mount=${digest}&from=shared/lib`)).status).toBe(202);
    const wide = `Bearer ${await tokenFor(fetch, alice, ["repository:team-a/mounted:pull,push", "repository:shared/lib:pull"])}`;
    expect((await post(wide, `mount=${digest}&from=shared/lib`)).status).toBe(201);
  });

  it("binds an upload to its user across Basic and Bearer, and to nobody else", async () => {
    const start = await fetch("/v2/team-a/bound/blobs/uploads/", { method: "POST", headers: { Authorization: alice } });
    expect(start.status).toBe(202);
    const location = start.headers.get("Location")!;
    const patch = (auth: string) =>
      fetch(location, {
        method: "PATCH",
        body: new Uint8Array(10),
        headers: { Authorization: auth, "Content-Type": "application/octet-stream" },
      });
    const token = `Bearer ${await tokenFor(fetch, alice, ["repository:team-a/bound:pull,push"])}`;
    expect((await patch(token)).status).toBe(202);
    const stranger = await patch(AUTH);
    expect(stranger.status).toBe(404);
    expect(((await stranger.json()) as { errors: { code: string }[] }).errors[0]!.code).toBe("BLOB_UPLOAD_UNKNOWN");
    expect((await patch(bob)).status).toBe(403);
  });
});
