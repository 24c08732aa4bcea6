// The storage page: the collector's measurements with their times, its recent reports and
// buttons, and every upload session in progress (admins); others see the repositories they
// may pull and their own uploads (ui/data.ts, loadStorage).
import { CsrfField, GraceHeldNote, Layout, Notice, repoHref, Size, Time, type PageUser } from "../components";
import type { StorageData } from "../data";

export interface StorageProps extends StorageData {
  user: PageUser;
  message: { kind: "ok" | "error"; text: string } | null;
  now: number;
}

function Usage({ data, now }: { data: StorageProps; now: number }) {
  const b = data.bucket;
  return (
    <section aria-labelledby="usage">
      <h2 id="usage">Bytes stored</h2>
      {b ? (
        <p>
          <strong>
            <Size bytes={b.bytes} />
          </strong>{" "}
          in {b.blobs} blobs, as of <Time at={b.measuredAt} now={now} />. The garbage collector measured this while it
          walked every blob record (from <Time at={b.startedAt} now={now} />
          ); each blob counts once, however many repositories link it. Uploads in progress are not included.
        </p>
      ) : data.user.admin ? (
        <p>
          Not measured yet. The garbage collector measures storage as it runs (on its schedule, or with the buttons
          below); this page never walks the bucket itself.
        </p>
      ) : (
        <p class="muted">The bucket's total is shown to administrators; below are the repositories you may pull.</p>
      )}
      <h3>By repository</h3>
      {data.repositories.length === 0 ? (
        <p class="muted">No repository you may pull has been measured yet.</p>
      ) : (
        <div class="table-wrap">
          <table>
            <caption class="skip">Bytes by repository</caption>
            <thead>
              <tr>
                <th scope="col">Repository</th>
                <th scope="col" class="num">
                  Size
                </th>
                <th scope="col" class="num">
                  Tags
                </th>
                <th scope="col" class="num">
                  Manifests
                </th>
                <th scope="col">Measured</th>
              </tr>
            </thead>
            <tbody>
              {data.repositories.map((r) => (
                <tr>
                  <td data-label="Repository">
                    <a href={repoHref(r.name)}>{r.name}</a>
                  </td>
                  <td class="num" data-label="Size">
                    <Size bytes={r.usage.bytes} />
                  </td>
                  <td class="num" data-label="Tags">
                    {r.usage.tags}
                  </td>
                  <td class="num" data-label="Manifests">
                    {r.usage.manifests}
                  </td>
                  <td data-label="Measured">
                    <Time at={r.usage.measuredAt} now={now} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <p class="muted">
        A repository's size is the bytes of the blobs it links plus its manifests, measured at the end of the
        collector's pass over it; blobs shared by repositories count in each.
        {data.moreRepositories ? " Only the first 1,000 repositories by name are listed." : ""}
      </p>
    </section>
  );
}

function Collector({ data, now }: { data: StorageProps; now: number }) {
  if (!data.reports) return null;
  return (
    <section aria-labelledby="collector">
      <h2 id="collector">Garbage collector</h2>
      <div class="actions">
        <form method="post" action="/-/storage/gc">
          <CsrfField token={data.user.csrf} />
          <input type="hidden" name="mode" value="dry-run" />
          <button type="submit" class="secondary">
            Dry run (frees nothing)
          </button>
        </form>
        <form method="post" action="/-/storage/gc">
          <CsrfField token={data.user.csrf} />
          <input type="hidden" name="mode" value="run" />
          <button type="submit" class="danger">
            Run collector step
          </button>
        </form>
      </div>
      <p class="muted">Each press runs one bounded step; a large bucket takes several steps to finish a cycle.</p>
      <h3>Recent steps</h3>
      {data.reports.length === 0 ? (
        <p class="muted">The collector has not run yet.</p>
      ) : (
        <div class="table-wrap">
          <table>
            <caption class="skip">Recent collector steps</caption>
            <thead>
              <tr>
                <th scope="col">Started</th>
                <th scope="col">Kind</th>
                <th scope="col">Phase</th>
                <th scope="col" class="num">
                  Freed
                </th>
                <th scope="col" class="num">
                  Operations
                </th>
              </tr>
            </thead>
            <tbody>
              {data.reports.map((r) => (
                <tr>
                  <td data-label="Started">
                    <Time at={Date.parse(r.startedAt)} now={now} />
                  </td>
                  <td data-label="Kind">
                    {r.dryRun ? "dry run" : "run"} · {r.trigger}
                  </td>
                  <td data-label="Phase">{r.cycleFinished ? "cycle finished" : r.phase}</td>
                  <td class="num" data-label="Freed">
                    <Size bytes={r.freed.bytesFreed} />{" "}
                    <span class="muted">
                      ({r.freed.manifests} manifests, {r.freed.blobs} blobs)
                    </span>
                    <GraceHeldNote held={r.heldByGrace} now={now} />
                  </td>
                  <td class="num" data-label="Operations">
                    {r.operations}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function Uploads({ data, now }: { data: StorageProps; now: number }) {
  return (
    <section aria-labelledby="uploads">
      <h2 id="uploads">{data.user.admin ? "Uploads in progress" : "Your uploads in progress"}</h2>
      {data.uploads.length === 0 ? (
        <p class="muted">None.</p>
      ) : (
        <div class="table-wrap">
          <table>
            <caption class="skip">Uploads in progress</caption>
            <thead>
              <tr>
                <th scope="col">Repository</th>
                <th scope="col" class="num">
                  Received
                </th>
                <th scope="col">Started</th>
                <th scope="col">Last data</th>
              </tr>
            </thead>
            <tbody>
              {data.uploads.map((u) => (
                <tr>
                  <td data-label="Repository">{u.repo}</td>
                  <td class="num" data-label="Received">
                    <Size bytes={u.offset} />
                  </td>
                  <td data-label="Started">
                    <Time at={u.createdAt} now={now} />
                  </td>
                  <td data-label="Last data">
                    <Time at={u.updatedAt} now={now} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {data.moreUploads ? <p class="muted">More sessions exist than this page reads.</p> : null}
    </section>
  );
}

export function StoragePage(p: StorageProps) {
  return (
    <Layout
      title="Storage"
      user={p.user}
      crumbs={[
        ["Repositories", "/"],
        ["Storage", null],
      ]}
    >
      <h1>Storage</h1>
      {p.message ? <Notice kind={p.message.kind}>{p.message.text}</Notice> : null}
      <Usage data={p} now={p.now} />
      <Collector data={p} now={p.now} />
      <Uploads data={p} now={p.now} />
    </Layout>
  );
}
