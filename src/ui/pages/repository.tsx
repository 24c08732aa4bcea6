// A repository's page: its tags, a page at a time, with what each points to.
import {
  DigestLink,
  Facts,
  Layout,
  manifestHref,
  Notice,
  Pager,
  repoHref,
  Size,
  TagLock,
  Time,
  type PageUser,
} from "../components";
import type { TagRow } from "../data";
import { groupDigits, humanBytes, mediaTypeLabel } from "../format";
import { LIMITS } from "../limits";
import type { RegistryEvent } from "../../registry/activity";
import type { RepositoryUsage } from "../../registry/collection";
import { ActivityTable } from "./activity";

export interface RepositoryProps {
  user: PageUser | null;
  repo: string;
  host: string;
  tags: TagRow[];
  next: string | null;
  paged: boolean;
  usage: RepositoryUsage | null;
  /** Its newest events that the caller may see (registry/activity.ts, recentActivity). */
  activity: RegistryEvent[];
  canDelete: boolean;
  deleted: string | null;
  now: number;
}

function platformsOf(row: TagRow): string {
  const summary = row.summary;
  if (summary?.kind !== "index") return "";
  if (summary.platforms.length === 0) return `${groupDigits(summary.entryCount)} manifests`;
  const rest = summary.entryCount - summary.platforms.length;
  return summary.platforms.join(", ") + (rest > 0 ? ` and ${groupDigits(rest)} more` : "");
}

export function RepositoryPage(p: RepositoryProps) {
  const base = repoHref(p.repo);
  return (
    <Layout
      title={p.repo}
      user={p.user}
      crumbs={[
        ["Repositories", "/"],
        [p.repo, null],
      ]}
    >
      <h1>{p.repo}</h1>
      {p.deleted ? <Notice kind="ok">Deleted {p.deleted}.</Notice> : null}
      <Facts
        rows={[
          ["Pull", <code>{`docker pull ${p.host}/${p.repo}:<tag>`}</code>],
          [
            "Size",
            p.usage ? (
              <span>
                <Size bytes={p.usage.bytes} />{" "}
                <span class="muted">
                  (measured <Time at={p.usage.measuredAt} now={p.now} />)
                </span>
              </span>
            ) : (
              <span class="muted">not measured yet</span>
            ),
          ],
        ]}
      />
      <h2>Tags</h2>
      {p.tags.length === 0 ? (
        <p>No tags{p.paged ? " on this page" : ""}.</p>
      ) : (
        <div class="table-wrap">
          <table>
            <caption class="skip">Tags of {p.repo}</caption>
            <thead>
              <tr>
                <th scope="col">Tag</th>
                <th scope="col">Digest</th>
                <th scope="col">Type</th>
                <th scope="col">Platforms</th>
                <th scope="col" class="num">
                  Size
                </th>
                <th scope="col">Pushed</th>
                {p.canDelete ? (
                  <th scope="col">
                    <span class="skip">Actions</span>
                  </th>
                ) : null}
              </tr>
            </thead>
            <tbody>
              {p.tags.map((t) => (
                <tr>
                  <td data-label="Tag">
                    <a href={manifestHref(p.repo, t.digest, t.tag)}>{t.tag}</a>
                    {t.lockedBy ? (
                      <>
                        {" "}
                        <TagLock rule={t.lockedBy} />
                      </>
                    ) : null}
                  </td>
                  <td data-label="Digest">
                    <DigestLink digest={t.digest} href={manifestHref(p.repo, t.digest, t.tag)} />
                  </td>
                  <td data-label="Type">
                    {t.summary ? (
                      mediaTypeLabel(t.summary.mediaType)
                    ) : (
                      <span class="muted">{t.unread ? "not read" : "unreadable"}</span>
                    )}
                  </td>
                  <td data-label="Platforms">
                    {t.summary?.kind === "image" ? <span class="muted">single</span> : platformsOf(t)}
                  </td>
                  <td class="num" data-label="Size">
                    {t.summary?.kind === "image" ? (
                      <Size bytes={t.summary.totalSize} />
                    ) : (
                      <span class="muted" title="an index: see each platform">
                        —
                      </span>
                    )}
                  </td>
                  <td data-label="Pushed">
                    <Time at={t.taggedAt} now={p.now} />
                  </td>
                  {p.canDelete ? (
                    <td>
                      {t.lockedBy ? null : (
                        <a
                          href={`${base}/-/delete?tag=${encodeURIComponent(t.tag)}`}
                          aria-label={`Delete tag ${t.tag}`}
                        >
                          Delete…
                        </a>
                      )}
                    </td>
                  ) : null}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {p.tags.some((t) => t.unread) ? (
        <p class="muted">
          Manifests marked "not read" were past what one page reads ({humanBytes(LIMITS.readBytes)}); their tags open
          them.
        </p>
      ) : null}
      <Pager
        label="Tag pages"
        first={p.paged ? base : null}
        next={p.next ? `${base}?after=${encodeURIComponent(p.next)}` : null}
      />
      {p.activity.length > 0 ? (
        <section aria-labelledby="activity">
          <h2 id="activity">Recent activity</h2>
          <ActivityTable events={p.activity} now={p.now} withRepository={false} />
          {p.user?.admin ? (
            <p>
              <a href={`/-/activity?repository=${encodeURIComponent(p.repo)}`}>All activity of {p.repo}</a>
            </p>
          ) : null}
        </section>
      ) : null}
    </Layout>
  );
}
