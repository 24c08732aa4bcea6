// The repositories page: the repositories the caller may pull, searchable and paged.
import { Layout, Pager, repoHref, Size, Time, type PageUser } from "../components";
import type { RepositorySummary } from "../../registry/catalog";

export interface RepositoriesProps {
  user: PageUser | null;
  query: string;
  rows: RepositorySummary[];
  next: string | null;
  paged: boolean;
  now: number;
}

function pageHref(query: string, after: string | null): string {
  const params = new URLSearchParams();
  if (query) params.set("q", query);
  if (after) params.set("after", after);
  const text = params.toString();
  return text ? `/?${text}` : "/";
}

export function RepositoriesPage({ user, query, rows, next, paged, now }: RepositoriesProps) {
  return (
    <Layout title="Repositories" user={user} crumbs={[["Repositories", null]]}>
      <h1>Repositories</h1>
      <search>
        <form class="search" method="get" action="/">
          <div>
            <label for="q">Search repositories</label>
            <input type="search" id="q" name="q" value={query} placeholder="name contains…" />
          </div>
          <button type="submit">Search</button>
        </form>
      </search>
      {rows.length === 0 ? (
        <p>
          {query
            ? `No repository you may pull has "${query}" in its name on this page.`
            : user
              ? "No repositories you may pull yet."
              : "No public repositories. Sign in to see yours."}
        </p>
      ) : (
        <div class="table-wrap">
          <table>
            <caption class="skip">Repositories</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col" class="num">
                  Tags
                </th>
                <th scope="col">Last push</th>
                <th scope="col" class="num">
                  Size
                </th>
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => (
                <tr>
                  <td data-label="Name">
                    <a href={repoHref(r.name)}>{r.name}</a>
                  </td>
                  <td class="num" data-label="Tags">
                    {r.tags.count}
                    {r.tags.more ? "+" : ""}
                  </td>
                  <td data-label="Last push">
                    <Time at={r.lastPushAt} now={now} />
                  </td>
                  <td class="num" data-label="Size">
                    {r.usage ? (
                      <span title={`measured by the garbage collector ${new Date(r.usage.measuredAt).toISOString()}`}>
                        <Size bytes={r.usage.bytes} />
                      </span>
                    ) : (
                      <span class="muted" title="not measured yet: the garbage collector measures sizes as it runs">
                        not measured
                      </span>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <p class="muted">
        Sizes are the bytes of the blobs each repository links, as the garbage collector last measured them (see
        Storage).
      </p>
      <Pager
        label="Repository pages"
        first={paged ? pageHref(query, null) : null}
        next={next ? pageHref(query, next) : null}
      />
    </Layout>
  );
}
