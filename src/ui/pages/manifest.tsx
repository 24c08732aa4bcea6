// An image or index: platforms, layers, config, annotations, referrers, and pull commands.
import type { Child } from "hono/jsx";
import {
  blobHref,
  CopyLine,
  DigestLink,
  Facts,
  Layout,
  manifestHref,
  platformHref,
  repoHref,
  Size,
  TagLock,
  Time,
  type PageUser,
} from "../components";
import type { ChildView } from "../data";
import { groupDigits, humanBytes, mediaTypeLabel } from "../format";
import { LIMITS } from "../limits";
import {
  artifactLabel,
  groupByArtifactType,
  isImageConfig,
  type ConfigView,
  type DescriptorView,
  type ManifestView,
} from "../manifest-view";
import type { Descriptor } from "../../oci/manifest";
import type { ManifestLock } from "../../registry/tags";

export interface ManifestProps {
  user: PageUser | null;
  repo: string;
  digest: string;
  host: string;
  tag: string | null;
  view: ManifestView;
  size: number;
  uploadedAt: number;
  config: ConfigView | null;
  platforms: ChildView[];
  /** The index this platform's page was opened from (a checked digest), linked back to. */
  index: string | null;
  referrers: Descriptor[];
  moreReferrers: boolean;
  /** What keeps this manifest from a delete by digest (IMMUTABLE_TAGS_JSON), or null; a
   *  locked tag is shown with its rule. */
  lock: ManifestLock | null;
  /** The delete policy allows it and no lock stops it. */
  canDelete: boolean;
  /** Why a delete the policy allows is not offered (a lock check that read only some tags). */
  deleteWithheld: string | null;
  now: number;
}

/** What a capped table leaves out, e.g. "26,539 layers, showing the first 100." */
function Cut({ shown, total, noun }: { shown: number; total: number; noun: string }) {
  if (total <= shown) return null;
  return (
    <p class="muted">
      {groupDigits(total)} {noun}, showing the first {groupDigits(shown)}.
    </p>
  );
}

function Pairs({ caption, pairs, total }: { caption: string; pairs: [string, string][]; total: number }) {
  if (pairs.length === 0) return null;
  return (
    <>
      <div class="table-wrap">
        <table>
          <caption class="skip">{caption}</caption>
          <thead>
            <tr>
              <th scope="col">Key</th>
              <th scope="col">Value</th>
            </tr>
          </thead>
          <tbody>
            {pairs.map(([k, v]) => (
              <tr>
                <td data-label="Key">
                  <code>{k}</code>
                </td>
                <td data-label="Value">{v}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <Cut shown={pairs.length} total={total} noun={caption.toLowerCase()} />
    </>
  );
}

function Layers({
  repo,
  caption,
  layers,
  total,
}: {
  repo: string;
  caption: string;
  layers: DescriptorView[];
  total: number;
}) {
  if (total === 0) return <p class="muted">No layers.</p>;
  return (
    <>
      <div class="table-wrap">
        <table>
          <caption class="skip">{caption}</caption>
          <thead>
            <tr>
              <th scope="col" class="num">
                #
              </th>
              <th scope="col">Digest</th>
              <th scope="col">Media type</th>
              <th scope="col" class="num">
                Size
              </th>
              <th scope="col">
                <span class="skip">File</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {layers.map((l, i) => (
              <tr>
                <td class="num" data-label="#">
                  {i + 1}
                </td>
                <td data-label="Digest">
                  <DigestLink digest={l.digest} href={blobHref(repo, l.digest, l.mediaType)} />
                </td>
                <td data-label="Media type">
                  <code>{l.mediaType}</code>
                </td>
                <td class="num" data-label="Size">
                  <Size bytes={l.size} />
                </td>
                <td>
                  <a href={blobHref(repo, l.digest, l.mediaType)} download aria-label={`Download layer ${i + 1}`}>
                    Download
                  </a>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <Cut shown={layers.length} total={total} noun="layers" />
    </>
  );
}

const command = (parts: string[] | undefined): Child =>
  parts && parts.length > 0 ? <code>{JSON.stringify(parts)}</code> : <span class="muted">—</span>;

function ConfigSection({ config }: { config: ConfigView }) {
  return (
    <section aria-labelledby="config">
      <h2 id="config">Config</h2>
      <Facts
        rows={[
          [
            "Created",
            config.created ? <time datetime={config.created}>{config.created}</time> : <span class="muted">—</span>,
          ],
          ["Platform", config.platform],
          ["Entrypoint", command(config.entrypoint)],
          ["Cmd", command(config.cmd)],
          ...(config.workingDir ? [["Working dir", <code>{config.workingDir}</code>] as [string, Child]] : []),
          ...(config.user ? [["User", <code>{config.user}</code>] as [string, Child]] : []),
        ]}
      />
      <h3>Environment</h3>
      {config.env.length > 0 ? <pre>{config.env.join("\n")}</pre> : <p class="muted">None.</p>}
      <Cut shown={config.env.length} total={config.envCount} noun="variables" />
      <h3>Labels</h3>
      {config.labels.length > 0 ? (
        <Pairs caption="Labels" pairs={config.labels} total={config.labelCount} />
      ) : (
        <p class="muted">None.</p>
      )}
      <h3>History</h3>
      {config.history.length === 0 ? (
        <p class="muted">No history.</p>
      ) : (
        <div class="table-wrap">
          <table>
            <caption class="skip">History</caption>
            <thead>
              <tr>
                <th scope="col">Created</th>
                <th scope="col">Created by</th>
                <th scope="col">Layer</th>
              </tr>
            </thead>
            <tbody>
              {config.history.map((h) => (
                <tr>
                  <td class="mono" data-label="Created">
                    {h.created ?? "—"}
                  </td>
                  <td data-label="Created by">
                    <code>{h.createdBy ?? h.comment ?? ""}</code>
                  </td>
                  <td data-label="Layer">{h.emptyLayer ? <span class="muted">empty</span> : "yes"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <Cut shown={config.history.length} total={config.historyCount} noun="history entries" />
    </section>
  );
}

function Platforms({
  repo,
  index,
  platforms,
  total,
}: {
  repo: string;
  index: string;
  platforms: ChildView[];
  total: number;
}) {
  return (
    <section aria-labelledby="platforms">
      <h2 id="platforms">Platforms</h2>
      {platforms.map((c) => (
        <section aria-label={c.descriptor.platform ?? c.descriptor.digest}>
          <h3>
            <a href={platformHref(repo, c.descriptor.digest, index)}>{c.descriptor.platform ?? "unknown platform"}</a>{" "}
            <DigestLink digest={c.descriptor.digest} href={platformHref(repo, c.descriptor.digest, index)} />{" "}
            <span class="badge">{mediaTypeLabel(c.descriptor.mediaType)}</span>
          </h3>
          {c.view?.kind === "image" ? (
            <Layers
              repo={repo}
              caption={`Layers of ${c.descriptor.platform ?? c.descriptor.digest}`}
              layers={c.view.layers}
              total={c.view.layerCount}
            />
          ) : (
            <p class="muted">
              {c.unread
                ? `Not read: this page reads at most ${humanBytes(LIMITS.readBytes)} of manifests; open the platform to see it.`
                : c.view
                  ? "Not an image."
                  : "Not in this repository."}
            </p>
          )}
        </section>
      ))}
      {total > platforms.length ? (
        <p class="muted">
          {groupDigits(total - platforms.length)} more entries; open the index's JSON with the API to see them.
        </p>
      ) : null}
    </section>
  );
}

function Referrers({
  repo,
  referrers,
  more,
  now,
}: {
  repo: string;
  referrers: Descriptor[];
  more: boolean;
  now: number;
}) {
  return (
    <section aria-labelledby="referrers">
      <h2 id="referrers">Referrers</h2>
      {referrers.length === 0 ? (
        <p class="muted">No signatures, SBOMs or attestations refer to this manifest.</p>
      ) : null}
      {groupByArtifactType(referrers).map(([type, items]) => (
        <>
          <h3>
            {artifactLabel(type)} <span class="badge">{type}</span>
          </h3>
          <ul>
            {items.map((d) => {
              const created = d.annotations?.["org.opencontainers.image.created"];
              return (
                <li>
                  <a href={manifestHref(repo, d.digest)}>{d.digest.slice(0, 19)}</a> · <Size bytes={d.size} />
                  {created && !Number.isNaN(Date.parse(created)) ? (
                    <>
                      {" "}
                      · <Time at={Date.parse(created)} now={now} />
                    </>
                  ) : null}
                </li>
              );
            })}
          </ul>
        </>
      ))}
      {more ? <p class="muted">More referrers exist; the API lists them all.</p> : null}
    </section>
  );
}

/** An index's size as a user means it: the index and every platform's manifest, config and
 *  layers. A platform this page did not read (beyond the first ones, over the page's read
 *  budget, or not stored here) counts its manifest only, and the figure says "at least". */
function IndexSize({ size, platforms, total }: { size: number; platforms: ChildView[]; total: number }) {
  const read = platforms.filter((c) => c.view?.kind === "image");
  const sum = platforms.reduce(
    (bytes, c) => bytes + (c.view?.kind === "image" ? c.view.totalSize : c.descriptor.size),
    size,
  );
  const partial = read.length < total;
  return (
    <span>
      {partial ? "at least " : ""}
      <Size bytes={sum} />{" "}
      <span class="muted">
        (the index and its {groupDigits(total)} {total === 1 ? "entry" : "entries"}: manifests, configs and layers)
      </span>
    </span>
  );
}

export function ManifestPage(p: ManifestProps) {
  const title = p.tag ? `${p.repo}:${p.tag}` : `${p.repo}@${p.digest.slice(0, 19)}`;
  const v = p.view;
  return (
    <Layout
      title={title}
      user={p.user}
      crumbs={[
        ["Repositories", "/"],
        [p.repo, repoHref(p.repo)],
        ...(p.index ? [[p.index.slice(0, 19), manifestHref(p.repo, p.index)] as [string, string]] : []),
        [p.tag ?? p.digest.slice(0, 19), null],
      ]}
    >
      <h1>{title}</h1>
      <Facts
        rows={[
          ["Digest", <code>{p.digest}</code>],
          ...(p.index
            ? [["Index", <DigestLink digest={p.index} href={manifestHref(p.repo, p.index)} />] as [string, Child]]
            : []),
          ["Media type", <code>{v.mediaType}</code>],
          ...(v.artifactType ? [["Artifact type", <code>{v.artifactType}</code>] as [string, Child]] : []),
          [
            "Size",
            v.kind === "image" ? (
              <span>
                <Size bytes={v.totalSize} /> <span class="muted">(manifest, config and layers)</span>
              </span>
            ) : v.kind === "index" ? (
              <IndexSize size={p.size} platforms={p.platforms} total={v.entryCount} />
            ) : (
              <Size bytes={p.size} />
            ),
          ],
          ...(v.kind === "image" && v.config
            ? [
                [
                  "Config",
                  <DigestLink digest={v.config.digest} href={blobHref(p.repo, v.config.digest, v.config.mediaType)} />,
                ] as [string, Child],
              ]
            : []),
          ["Pushed", <Time at={p.uploadedAt} now={p.now} />],
          ...(p.lock?.kind === "tag"
            ? [
                [
                  "Immutable",
                  <span>
                    <TagLock rule={p.lock.rule} /> tag <code>{p.lock.tag}</code> points here and never moves
                  </span>,
                ] as [string, Child],
              ]
            : []),
          ...(v.subject
            ? [
                ["Refers to", <a href={manifestHref(p.repo, v.subject.digest)}>{v.subject.digest}</a>] as [
                  string,
                  Child,
                ],
              ]
            : []),
        ]}
      />
      <h2>Pull</h2>
      <CopyLine label="By digest" text={`docker pull ${p.host}/${p.repo}@${p.digest}`} />
      {p.tag ? <CopyLine label="By tag" text={`docker pull ${p.host}/${p.repo}:${p.tag}`} /> : null}
      {v.kind === "index" ? (
        <Platforms repo={p.repo} index={p.digest} platforms={p.platforms} total={v.entryCount} />
      ) : null}
      {v.kind === "image" ? (
        <section aria-labelledby="layers">
          <h2 id="layers">Layers</h2>
          <Layers repo={p.repo} caption="Layers" layers={v.layers} total={v.layerCount} />
        </section>
      ) : null}
      {p.config && isImageConfig(v.config?.mediaType) ? <ConfigSection config={p.config} /> : null}
      <h2>Annotations</h2>
      {v.annotations.length > 0 ? (
        <Pairs caption="Annotations" pairs={v.annotations} total={v.annotationCount} />
      ) : (
        <p class="muted">None.</p>
      )}
      <Referrers repo={p.repo} referrers={p.referrers} more={p.moreReferrers} now={p.now} />
      {p.deleteWithheld ? <p class="muted">Delete is not offered: {p.deleteWithheld}.</p> : null}
      {p.canDelete ? (
        <div class="actions">
          <a class="button danger" href={`${repoHref(p.repo)}/-/delete?digest=${encodeURIComponent(p.digest)}`}>
            Delete this manifest…
          </a>
        </div>
      ) : null}
    </Layout>
  );
}
