// The web UI's routes, mounted at / beside the API (src/app.ts): pages under /, /r/<name>
// and /-/..., none of which an API client requests. Routes parse, check rights, call the
// loaders of data.ts, and render; everything that changes something is a POST carrying the
// session's CSRF token. Repository names never hold a "-" component, so "/r/<name>/-/..."
// cannot be read as a longer name.
import { Hono, type Context } from "hono";
import {
  browserSession,
  endSession,
  loginCsrf,
  loginCsrfValid,
  sessionCsrfValid,
  startSession,
  type BrowserSessionEnv,
} from "../auth/browser-session";
import { serviceName } from "../auth/challenge";
import { authenticatePassword } from "../auth/credentials";
import { loginThrottle } from "../auth/login-throttle";
import { deps } from "../http/request-deps";
import { hasAdminRight } from "../registry/identity";
import { RegistryError } from "../errors";
import { formatDigest, parseDigest } from "../oci/digest";
import { isValidTag, parseName } from "../oci/reference";
import { collectOnce } from "../registry/collection";
import { serveBlob } from "../registry/blobs";
import { listRepositorySummaries } from "../registry/catalog";
import { deletePolicy, refuseDelete, refuseTagRemoval } from "../registry/write-policy";
import type { Reference } from "../oci/reference";
import { deleteManifest } from "../registry/manifests";
import { findManifestLock } from "../registry/tags";
import { readBounded } from "../util/read-bounded";
import { downloadName, downloadType } from "./format";
import { FAVICON_PATH, type PageUser } from "./components";
import { loadActivity, loadManifest, loadRepository, loadStorage } from "./data";
import { sameOriginPath } from "./next-path";
import { ActivityPage, activityHref } from "./pages/activity";
import { ManifestPage } from "./pages/manifest";
import { ConfirmDeletePage, ErrorPage, LoginPage } from "./pages/forms";
import { RepositoriesPage } from "./pages/repositories";
import { RepositoryPage } from "./pages/repository";
import { StoragePage } from "./pages/storage";
import { CSS, FAVICON_SVG, SCRIPT } from "./styles";

export const uiRoutes = new Hono<BrowserSessionEnv>();
type C = Context<BrowserSessionEnv>;

/** Pages only ever embed their own stylesheet and script. */
const SECURITY_HEADERS: Record<string, string> = {
  "Content-Security-Policy":
    "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "same-origin",
};

async function pageHeaders(c: C, next: () => Promise<void>) {
  await next();
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) c.res.headers.set(name, value);
  if (!c.res.headers.has("Cache-Control")) c.res.headers.set("Cache-Control", "no-store");
}
/** The paths the UI answers; app.ts configures and meters storage on them as on /v2/. */
export const UI_PATHS = ["/", "/-/*", "/r/*"] as const;
for (const path of UI_PATHS) uiRoutes.use(path, pageHeaders, browserSession());

uiRoutes.get("/-/static/ui.css", (c) =>
  c.body(CSS, 200, { "Content-Type": "text/css; charset=utf-8", "Cache-Control": "public, max-age=300" }),
);
uiRoutes.get("/-/static/ui.js", (c) =>
  c.body(SCRIPT, 200, { "Content-Type": "text/javascript; charset=utf-8", "Cache-Control": "public, max-age=300" }),
);

uiRoutes.get(FAVICON_PATH, (c) =>
  c.body(FAVICON_SVG, 200, { "Content-Type": "image/svg+xml", "Cache-Control": "public, max-age=86400" }),
);

function pageUser(c: C): PageUser | null {
  const session = c.get("session");
  if (!session) return null;
  return {
    name: session.subject.replace(/^(admin|readonly|user|jwt):/, ""),
    csrf: session.csrf,
    admin: hasAdminRight(session.identity),
  };
}

/** Forms are small: a bounded read, refused beyond 16 KiB. */
async function readForm(c: C): Promise<URLSearchParams> {
  const bytes = await readBounded(c.req.raw.body, 16 * 1024);
  if (!bytes) throw new RegistryError("PAYLOAD_TOO_LARGE", "form too large");
  return new URLSearchParams(new TextDecoder().decode(bytes));
}

/** Browsers send Origin with every POST; one from elsewhere is refused outright. */
function sameOrigin(c: C): boolean {
  const origin = c.req.header("Origin");
  return origin === undefined || origin === new URL(c.req.url).origin || origin === c.get("config").publicUrl;
}

/** The statuses the UI's error pages are sent with. */
type ErrorStatus = 400 | 403 | 404 | 405 | 413 | 429 | 500;

/** The repository a UI path is about (/r/<name> or /r/<name>/-/...), so an error page keeps
 *  it in its breadcrumb; null elsewhere or for a name that does not parse. */
function repositoryOfPath(pathname: string): string | null {
  const match = /^\/r\/(.+?)(?:\/-\/.*)?$/.exec(pathname);
  if (!match) return null;
  try {
    return parseName(match[1]!);
  } catch {
    return null;
  }
}

/** An error page with its status, for whoever is signed in (or nobody). */
function errorPage(c: C, status: ErrorStatus, title: string, detail: string) {
  const repo = repositoryOfPath(new URL(c.req.url).pathname);
  return c.html(<ErrorPage user={pageUser(c)} repo={repo} status={status} title={title} detail={detail} />, status);
}

function refuseForm(c: C) {
  return errorPage(
    c,
    403,
    "Form refused",
    "The form carried no valid token for your session (it may have expired, or come from another site). Reload the page and try again.",
  );
}

/** Anonymous callers go to sign in; signed-in callers without the right see "not found",
 *  as they would for a repository that does not exist. */
function denyPull(c: C) {
  if (!c.get("session"))
    return c.redirect(
      `/-/login?next=${encodeURIComponent(new URL(c.req.url).pathname + new URL(c.req.url).search)}`,
      303,
    );
  return notFound(c);
}

function notFound(c: C) {
  return errorPage(c, 404, "Not found", "There is no such repository or manifest, or you may not pull it.");
}

uiRoutes.get("/-/login", (c) => {
  if (c.get("session")) return c.redirect(sameOriginPath(c.req.query("next")), 303);
  const unavailable = c.get("config").stateSecret
    ? null
    : "Sign-in is unavailable: the registry has no JWT_STATE_SECRET to sign sessions with.";
  return c.html(
    <LoginPage csrf={loginCsrf(c)} error={null} next={sameOriginPath(c.req.query("next"))} unavailable={unavailable} />,
  );
});

uiRoutes.post("/-/login", async (c) => {
  const form = await readForm(c);
  if (!sameOrigin(c) || !(await loginCsrfValid(c, form.get("_csrf")))) return refuseForm(c);
  const config = c.get("config");
  const next = sameOriginPath(form.get("next"));
  const secret = config.stateSecret;
  const account =
    secret && config.auth.configured
      ? await authenticatePassword(
          config.auth,
          form.get("username") ?? "",
          form.get("password") ?? "",
          loginThrottle(c),
        )
      : null;
  if (!secret || !account) {
    const error = secret ? "Wrong username or password." : null;
    const unavailable = secret
      ? null
      : "Sign-in is unavailable: the registry has no JWT_STATE_SECRET to sign sessions with.";
    return c.html(
      <LoginPage csrf={loginCsrf(c)} error={error} next={next} unavailable={unavailable} />,
      secret ? 401 : 503,
    );
  }
  await startSession(c, secret, account);
  return c.redirect(next, 303);
});

uiRoutes.post("/-/logout", async (c) => {
  const form = await readForm(c);
  const session = c.get("session");
  if (!sameOrigin(c) || !(await sessionCsrfValid(session, form.get("_csrf")))) return refuseForm(c);
  await endSession(c, session);
  return c.redirect("/", 303);
});

uiRoutes.get("/", async (c) => {
  const query = (c.req.query("q") ?? "").trim().toLowerCase().slice(0, 255);
  const after = c.req.query("after") || null;
  const { rows, next } = await listRepositorySummaries(deps(c), c.get("identity"), query, after);
  if (!c.get("session") && rows.length === 0 && !after && !query) return c.redirect("/-/login", 303);
  return c.html(
    <RepositoriesPage
      user={pageUser(c)}
      query={query}
      rows={rows}
      next={next}
      paged={after !== null}
      now={Date.now()}
    />,
  );
});

uiRoutes.get("/-/storage", async (c) => {
  const user = pageUser(c);
  if (!user) return c.redirect("/-/login?next=/-/storage", 303);
  const data = await loadStorage(c);
  const gc = c.req.query("gc");
  const message =
    gc === "busy"
      ? { kind: "error" as const, text: "A collector step is already running; try again shortly." }
      : gc === "dry-run" || gc === "run"
        ? {
            kind: "ok" as const,
            text: `The collector ran one ${gc === "run" ? "" : "dry-run "}step; its report is below.`,
          }
        : null;
  return c.html(<StoragePage {...data} user={user} message={message} now={Date.now()} />);
});

/** The activity log, for admins (the API's GET /v2/_activity, as a page). */
uiRoutes.get("/-/activity", async (c) => {
  const user = pageUser(c);
  if (!user) return c.redirect(`/-/login?next=${encodeURIComponent("/-/activity")}`, 303);
  if (!user.admin) return errorPage(c, 403, "Not allowed", "Only administrators read the activity log.");
  const params = new URL(c.req.url).searchParams;
  const { query, events, cursor } = await loadActivity(c, params);
  return c.html(
    <ActivityPage
      user={user}
      query={query}
      events={events}
      next={cursor === null ? null : activityHref(query, cursor)}
      paged={query.cursor !== null}
      now={Date.now()}
    />,
  );
});

uiRoutes.post("/-/storage/gc", async (c) => {
  const form = await readForm(c);
  const session = c.get("session");
  if (!sameOrigin(c) || !(await sessionCsrfValid(session, form.get("_csrf")))) return refuseForm(c);
  if (!hasAdminRight(c.get("identity")))
    return errorPage(c, 403, "Not allowed", "Only administrators run the garbage collector.");
  const dryRun = form.get("mode") !== "run";
  const ran = await collectOnce(deps(c), c.get("identity"), dryRun).then(
    () => true,
    (error: unknown) =>
      error instanceof RegistryError && error.code === "TOOMANYREQUESTS" ? false : Promise.reject(error),
  );
  return c.redirect(`/-/storage?gc=${ran ? (dryRun ? "dry-run" : "run") : "busy"}`, 303);
});

uiRoutes.get("/r/:name{.+}/-/manifest/:digest", async (c) => {
  const repo = parseName(c.req.param("name"));
  const digest = parseDigest(c.req.param("digest"));
  const identity = c.get("identity");
  if (!identity.allows(repo, "pull")) return denyPull(c);
  const rawTag = c.req.query("tag");
  const data = await loadManifest(c, repo, digest, rawTag && isValidTag(rawTag) ? rawTag : null);
  // A locked tag pointing here makes the core refuse the delete: none is offered, and when
  // the check could not read every tag, the page says so to whoever could otherwise delete.
  const mayDelete = deletePolicy(c.get("config"), identity, repo).allowed;
  const withheld = mayDelete && data.lock?.kind === "unchecked" ? data.lock.reason : null;
  const rawIndex = c.req.query("index");
  return c.html(
    <ManifestPage
      {...data}
      index={rawIndex ? formatDigest(parseDigest(rawIndex)) : null}
      user={pageUser(c)}
      repo={repo}
      digest={formatDigest(digest)}
      host={serviceName(c.get("config"), c.req.url)}
      canDelete={mayDelete && data.lock === null}
      deleteWithheld={withheld}
      now={Date.now()}
    />,
  );
});

/** A layer, config or SBOM as a file, for anyone who may pull the repository: the API's
 *  own blob GET (registry/blobs.ts serveBlob: this repository's link, else the pull-through
 *  cache, with the API's headers and Cache-Control), streamed, never buffered; only the type
 *  and the file name are the download's. The link names the descriptor's media type in ?type=. */
uiRoutes.get("/r/:name{.+}/-/blob/:digest", async (c) => {
  const repo = parseName(c.req.param("name"));
  const digest = parseDigest(c.req.param("digest"));
  if (!c.get("identity").allows(repo, "pull")) return denyPull(c);
  // A plain GET: a browser's Range or conditional headers must not turn the download into
  // a part of the blob.
  const answer = await serveBlob(deps(c), repo, digest, new Request(c.req.url), { redirect: false });
  if (answer.status !== 200) {
    await answer.body?.cancel();
    throw new RegistryError("BLOB_UNKNOWN", `blob unknown: ${formatDigest(digest)}`);
  }
  const type = downloadType(c.req.query("type"));
  const headers = new Headers(answer.headers);
  headers.set("Content-Type", type);
  headers.set("Content-Disposition", `attachment; filename="${downloadName(formatDigest(digest), type)}"`);
  return new Response(answer.body, { status: 200, headers });
});

function deleteTarget(params: {
  get(name: string): string | null | undefined;
}): { tag: string } | { digest: string } | null {
  const tag = params.get("tag");
  const digest = params.get("digest");
  if (tag && isValidTag(tag)) return { tag };
  if (digest) return { digest: formatDigest(parseDigest(digest)) };
  return null;
}

uiRoutes.get("/r/:name{.+}/-/delete", async (c) => {
  const repo = parseName(c.req.param("name"));
  const target = deleteTarget({ get: (n) => c.req.query(n) });
  const user = pageUser(c);
  if (!user || !target) return notFound(c);
  // Without the right the repository is "not found", as on every other page; a mirror or a
  // registry without deletes says why.
  const decision = deletePolicy(c.get("config"), c.get("identity"), repo);
  if (!decision.allowed && decision.why === "rights") return notFound(c);
  refuseDelete(c.get("config"), c.get("identity"), repo);
  // The core's immutable-tag refusals (DENIED, naming the rule) before asking to confirm.
  if ("tag" in target) refuseTagRemoval(c.get("config"), repo, [target.tag]);
  else {
    const lock = await findManifestLock(deps(c), repo, parseDigest(target.digest));
    if (lock?.kind === "tag") refuseTagRemoval(c.get("config"), repo, [lock.tag]);
  }
  return c.html(<ConfirmDeletePage user={user} repo={repo} target={target} />);
});

uiRoutes.post("/r/:name{.+}/-/delete", async (c) => {
  const repo = parseName(c.req.param("name"));
  const form = await readForm(c);
  if (!sameOrigin(c) || !(await sessionCsrfValid(c.get("session"), form.get("_csrf")))) return refuseForm(c);
  const target = deleteTarget(form);
  if (!target) return notFound(c);
  // The core refuses what its delete policy refuses (rights, mirrors, DELETES_ENABLED).
  const reference: Reference =
    "tag" in target ? { kind: "tag", tag: target.tag } : { kind: "digest", digest: parseDigest(target.digest) };
  await deleteManifest(deps(c), c.get("identity"), repo, reference);
  const done =
    "tag" in target ? `tag=${encodeURIComponent(target.tag)}` : `digest=${encodeURIComponent(target.digest)}`;
  return c.redirect(`/r/${repo}?deleted_${done}`, 303);
});

uiRoutes.get("/r/:name{.+}", async (c) => {
  const repo = parseName(c.req.param("name"));
  const identity = c.get("identity");
  if (!identity.allows(repo, "pull")) return denyPull(c);
  const rawAfter = c.req.query("after");
  const after = rawAfter && isValidTag(rawAfter) ? rawAfter : null;
  const data = await loadRepository(c, repo, after);
  const deletedTag = c.req.query("deleted_tag");
  const deletedDigest = c.req.query("deleted_digest");
  const deleted =
    deletedTag && isValidTag(deletedTag)
      ? `tag ${deletedTag}`
      : deletedDigest
        ? `manifest ${formatDigest(parseDigest(deletedDigest))}`
        : null;
  const canDelete = deletePolicy(c.get("config"), identity, repo).allowed;
  return c.html(
    <RepositoryPage
      {...data}
      user={pageUser(c)}
      repo={repo}
      host={serviceName(c.get("config"), c.req.url)}
      paged={after !== null}
      canDelete={canDelete}
      deleted={deleted}
      now={Date.now()}
    />,
  );
});

const UI_ERRORS: Record<string, [ErrorStatus, string]> = {
  NAME_INVALID: [404, "Not found"],
  NAME_UNKNOWN: [404, "Not found"],
  MANIFEST_UNKNOWN: [404, "Not found"],
  DIGEST_INVALID: [404, "Not found"],
  BLOB_UNKNOWN: [404, "Not found"],
  TAG_INVALID: [404, "Not found"],
  DENIED: [403, "Not allowed"],
  UNSUPPORTED: [405, "Not supported"],
  PAYLOAD_TOO_LARGE: [413, "Too large"],
  TOOMANYREQUESTS: [429, "Busy"],
  QUERY_INVALID: [400, "Invalid filter"],
  PAGINATION_NUMBER_INVALID: [400, "Invalid filter"],
};

uiRoutes.onError((error, c) => {
  const known = error instanceof RegistryError ? UI_ERRORS[error.code] : undefined;
  if (!known) console.error("ui error", error instanceof Error ? (error.stack ?? error.message) : String(error));
  const [status, title] = known ?? [500, "Something went wrong"];
  const detail = known ? error.message : "The registry could not render this page; the log says why.";
  // The headers the core computed for this error, as the API sends them (Retry-After on a
  // throttled sign-in: auth/login-throttle.ts).
  if (error instanceof RegistryError && known)
    for (const [name, value] of Object.entries(error.headers)) c.header(name, value);
  return errorPage(c, status, title, detail);
});
