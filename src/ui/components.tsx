// Shared pieces of the web UI's pages: the layout, breadcrumbs, sizes, times, digests, copy
// lines, pagers and the CSRF field.
import { raw } from "hono/html";
import type { Child } from "hono/jsx";
import type { HeldByGrace } from "../registry/collection";
import { absoluteTime, groupDigits, humanBytes, relativeTime, shortDigest } from "./format";

export interface PageUser {
  name: string;
  csrf: string;
  admin: boolean;
}

export interface LayoutProps {
  title: string;
  crumbs?: [string, string | null][];
  user: PageUser | null;
  children?: Child;
}

/** Every page: the doctype first, which keeps browsers in standards mode (without it they
 *  lay the page out in quirks mode), then the document. */
export function Layout(props: LayoutProps) {
  return (
    <>
      {raw("<!DOCTYPE html>")}
      <Document {...props} />
    </>
  );
}

function Document({ title, crumbs, user, children }: LayoutProps) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="color-scheme" content="light dark" />
        <title>{`${title} · Registry`}</title>
        <link rel="icon" href={FAVICON_PATH} type="image/svg+xml" />
        <link rel="stylesheet" href="/-/static/ui.css" />
        <script src="/-/static/ui.js" defer></script>
      </head>
      <body>
        <a class="skip" href="#main">
          Skip to content
        </a>
        <header class="top">
          <a class="brand" href="/">
            Registry
          </a>
          <nav aria-label="Main">
            <ul>
              <li>
                <a href="/">Repositories</a>
              </li>
              {user ? (
                <li>
                  <a href="/-/storage">Storage</a>
                </li>
              ) : null}
              {user?.admin ? (
                <li>
                  <a href="/-/activity">Activity</a>
                </li>
              ) : null}
            </ul>
          </nav>
          <div class="who">
            {user ? (
              <>
                <span>
                  Signed in as <strong>{user.name}</strong>
                </span>
                <form class="inline" method="post" action="/-/logout">
                  <CsrfField token={user.csrf} />
                  <button type="submit" class="secondary">
                    Sign out
                  </button>
                </form>
              </>
            ) : (
              <a href="/-/login">Sign in</a>
            )}
          </div>
        </header>
        <main id="main">
          {crumbs && crumbs.length > 0 ? <Breadcrumbs crumbs={crumbs} /> : null}
          {children}
        </main>
      </body>
    </html>
  );
}

/** Served by routes.tsx; a same-origin path, because the pages' CSP allows no data: images. */
export const FAVICON_PATH = "/-/static/favicon.svg";

export function Breadcrumbs({ crumbs }: { crumbs: [string, string | null][] }) {
  return (
    <nav class="crumbs" aria-label="Breadcrumb">
      <ol>
        {crumbs.map(([label, href], i) => (
          <li>
            {href && i < crumbs.length - 1 ? <a href={href}>{label}</a> : <span aria-current="page">{label}</span>}
          </li>
        ))}
      </ol>
    </nav>
  );
}

/** A human size with the exact byte count on hover. */
export function Size({ bytes }: { bytes: number | null | undefined }) {
  if (bytes === null || bytes === undefined) return <span class="muted">—</span>;
  return (
    <data value={String(bytes)} title={`${groupDigits(bytes)} bytes`}>
      {humanBytes(bytes)}
    </data>
  );
}

/** A relative time with the absolute time on hover. */
export function Time({ at, now }: { at: number | null | undefined; now: number }) {
  if (!at) return <span class="muted">—</span>;
  const iso = new Date(at).toISOString();
  return (
    <time datetime={iso} title={absoluteTime(at)}>
      {relativeTime(at, now)}
    </time>
  );
}

export function ShortDigest({ digest }: { digest: string }) {
  return <code title={digest}>{shortDigest(digest)}</code>;
}

/** A command to copy: selectable text, and a Copy button once the script runs. */
export function CopyLine({ label, text }: { label: string; text: string }) {
  return (
    <div class="copy">
      <span class="muted">{label}</span>
      <code data-copy>{text}</code>
    </div>
  );
}

/** What a collector step kept only because it was newer than GC_GRACE_SECONDS, and when the
 *  first of it may go: why a step right after a delete frees "0 B". Reports saved before the
 *  field existed have none. */
export function GraceHeldNote({ held, now }: { held: HeldByGrace | undefined; now: number }) {
  if (!held || held.tags + held.manifests + held.links === 0) return null;
  const counts = (
    [
      [held.tags, "tag"],
      [held.manifests, "manifest"],
      [held.links, "link"],
    ] as const
  )
    .filter(([n]) => n > 0)
    .map(([n, name]) => `${n} ${name}${n === 1 ? "" : "s"}`)
    .join(", ");
  return (
    <div class="muted">
      Kept for the grace period ({held.graceSeconds} s): {counts}, <Size bytes={held.bytes} />; collectable from{" "}
      <Time at={held.firstCollectableAt ? Date.parse(held.firstCollectableAt) : null} now={now} />
    </div>
  );
}

export function CsrfField({ token }: { token: string }) {
  return <input type="hidden" name="_csrf" value={token} />;
}

export function Pager({ first, next, label }: { first: string | null; next: string | null; label: string }) {
  if (!first && !next) return null;
  return (
    <nav class="pager" aria-label={label}>
      {first ? <a href={first}>First page</a> : null}
      {next ? <a href={next}>Next page</a> : null}
    </nav>
  );
}

export function Notice({ kind, children }: { kind: "ok" | "error" | "info"; children?: Child }) {
  return (
    <div class={`notice ${kind}`} role={kind === "error" ? "alert" : "status"}>
      {children}
    </div>
  );
}

/** The lock of an immutable tag (IMMUTABLE_TAGS_JSON), naming its rule on hover and to
 *  screen readers. */
export function TagLock({ rule }: { rule: string }) {
  const label = `immutable: rule ${rule}`;
  return (
    <span class="lock" role="img" title={label} aria-label={label}>
      🔒
    </span>
  );
}

export function Facts({ rows }: { rows: [string, Child][] }) {
  return (
    <dl class="facts">
      {rows.map(([term, value]) => (
        <>
          <dt>{term}</dt>
          <dd>{value}</dd>
        </>
      ))}
    </dl>
  );
}

/** /r/<name>, the repository page; names never contain characters that need escaping
 *  except the slashes, which stay. */
export const repoHref = (repo: string) => `/r/${repo}`;
export const manifestHref = (repo: string, digest: string, tag?: string | null) =>
  `/r/${repo}/-/manifest/${digest}${tag ? `?tag=${encodeURIComponent(tag)}` : ""}`;
/** A platform's page opened from its index, which it links back to. */
export const platformHref = (repo: string, digest: string, index: string) =>
  `/r/${repo}/-/manifest/${digest}?index=${encodeURIComponent(index)}`;
/** A blob as a download, sent with its descriptor's media type (routes.tsx). */
export const blobHref = (repo: string, digest: string, mediaType: string) =>
  `/r/${repo}/-/blob/${digest}?type=${encodeURIComponent(mediaType)}`;

/** A short digest that opens what it names; the full digest on hover. */
export function DigestLink({ digest, href }: { digest: string; href: string }) {
  return (
    <a href={href} title={digest}>
      <code>{shortDigest(digest)}</code>
    </a>
  );
}
