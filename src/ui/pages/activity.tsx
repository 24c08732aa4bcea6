// The activity log (admins): what changed, who changed it and in which request, newest first,
// filtered by repository, actor and kind (ui/data.ts, loadActivity); and the table a
// repository page shows its own recent activity in.
import { EVENT_KINDS } from "../../config/webhooks";
import type { ActivityQuery, RegistryEvent } from "../../registry/activity";
import { Layout, Pager, repoHref, ShortDigest, Time, type PageUser } from "../components";
import { groupDigits, humanBytes } from "../format";

export interface ActivityProps {
  user: PageUser;
  query: ActivityQuery;
  events: RegistryEvent[];
  /** The page after this one, or null after the last. */
  next: string | null;
  paged: boolean;
  now: number;
}

/** What changed, in a few words (the names are the pusher's: JSX escapes them). */
function What({ event }: { event: RegistryEvent }) {
  const d = event.detail;
  switch (d.kind) {
    case "push":
      return (
        <>
          pushed <ShortDigest digest={d.digest} />
          {d.tags.length > 0 ? ` as ${d.tags.join(", ")}` : ""}
        </>
      );
    case "tag":
      return d.action === "moved" ? (
        <>
          tag {d.tag} now names <ShortDigest digest={d.digest} />
        </>
      ) : (
        <>
          deleted tag {d.tag} (<ShortDigest digest={d.digest} />)
        </>
      );
    case "delete":
      return (
        <>
          deleted <ShortDigest digest={d.digest} />
        </>
      );
    case "mount":
      return (
        <>
          mounted <ShortDigest digest={d.digest} />
          {d.fromRepository ? ` from ${d.fromRepository}` : ""}
        </>
      );
    case "pull":
      return (
        <>
          pulled {d.tag ?? ""} <ShortDigest digest={d.digest} />
        </>
      );
    case "mirror":
      return (
        <>
          cached <ShortDigest digest={d.digest} /> from upstream {d.upstream}
        </>
      );
    case "gc":
      return (
        <>
          {`${d.trigger === "cron" ? "scheduled" : "manual"} collector step freed ${groupDigits(d.freed.tags)} tags, ${groupDigits(d.freed.manifests)} manifests, ${groupDigits(d.freed.blobs)} blobs (${humanBytes(d.freed.bytesFreed)})`}
        </>
      );
  }
}

/** A table of events; `withRepository` adds the repository column (the Activity page). */
export function ActivityTable({
  events,
  now,
  withRepository,
}: {
  events: RegistryEvent[];
  now: number;
  withRepository: boolean;
}) {
  return (
    <div class="table-wrap">
      <table>
        <caption class="skip">Activity, newest first</caption>
        <thead>
          <tr>
            <th scope="col">When</th>
            <th scope="col">Kind</th>
            {withRepository ? <th scope="col">Repository</th> : null}
            <th scope="col">What</th>
            <th scope="col">Who</th>
          </tr>
        </thead>
        <tbody>
          {events.map((e) => (
            <tr>
              <td data-label="When">
                <Time at={Date.parse(e.time)} now={now} />
              </td>
              <td data-label="Kind">{e.detail.kind}</td>
              {withRepository ? (
                <td data-label="Repository">
                  {e.detail.repository ? (
                    <a href={repoHref(e.detail.repository)}>{e.detail.repository}</a>
                  ) : (
                    <span class="muted">all</span>
                  )}
                </td>
              ) : null}
              <td data-label="What">
                <What event={e} />
              </td>
              <td data-label="Who">
                {e.actor ? e.actor.name : <span class="muted">{e.request ? "anonymous" : "scheduled"}</span>}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function ActivityPage(p: ActivityProps) {
  const q = p.query;
  return (
    <Layout title="Activity" user={p.user} crumbs={[["Activity", null]]}>
      <h1>Activity</h1>
      <form class="search filters" method="get" action="/-/activity">
        <div>
          <label for="repository">Repository</label>
          <input type="text" id="repository" name="repository" value={q.repository ?? ""} maxlength={256} />
        </div>
        <div>
          <label for="actor">Who</label>
          <input
            type="text"
            id="actor"
            name="actor"
            value={q.actor ?? ""}
            maxlength={256}
            placeholder="admin:alice, user:bob…"
          />
        </div>
        <div>
          <label for="kind">Kind</label>
          <select id="kind" name="kind">
            <option value="" selected={q.kind === null}>
              any
            </option>
            {EVENT_KINDS.map((k) => (
              <option value={k} selected={q.kind === k}>
                {k}
              </option>
            ))}
          </select>
        </div>
        <button type="submit">Filter</button>
      </form>
      {p.events.length === 0 ? (
        <p class="muted">
          {p.next ? "No matching events in this stretch of the log; the next page looks further back." : "No events."}
        </p>
      ) : (
        <ActivityTable events={p.events} now={p.now} withRepository={true} />
      )}
      <p class="muted">
        Who is the user or token that made the change. The log keeps events for EVENTS_RETENTION_DAYS.
      </p>
      <Pager label="Activity pages" first={p.paged ? activityHref(q, null) : null} next={p.next} />
    </Layout>
  );
}

/** The Activity page's address for the filters of `q`, from `cursor` (null: the newest). */
export function activityHref(q: ActivityQuery, cursor: string | null): string {
  const params = new URLSearchParams();
  if (q.repository !== null) params.set("repository", q.repository);
  if (q.actor !== null) params.set("actor", q.actor);
  if (q.kind !== null) params.set("kind", q.kind);
  if (cursor !== null) params.set("last", cursor);
  const search = params.toString();
  return search === "" ? "/-/activity" : `/-/activity?${search}`;
}
