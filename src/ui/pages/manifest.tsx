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
  Time,
  type PageUser,
} from "../components";
import type { ChildView } from "../data";
import { mediaTypeLabel } from "../format";
import {
  artifactLabel,
  groupByArtifactType,
  isImageConfig,
  type ConfigView,
  type DescriptorView,
  type ManifestView,
} from "../manifest-view";
import type { Descriptor } from "../../oci/manifest";

export interface ManifestProps {
  user: PageUser | null;
  repo: string;
  digest: string;
  host: string;
  tag: string | null;
  /** The index this platform's page was opened from (a checked digest), linked back to. */
  index: string | null;
  view: ManifestView;
  size: number;
  uploadedAt: number;
  config: ConfigView | null;
  children: ChildView[];
  referrers: Descriptor[];
  moreReferrers: boolean;
  canDelete: boolean;
  now: number;
}

function Pairs({ caption, pairs }: { caption: string; pairs: [string, string][] }) {
  if (pairs.length === 0) return null;
  return (
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
  );
}

function Layers({ repo, caption, layers }: { repo: string; caption: string; layers: DescriptorView[] }) {
  if (layers.length === 0) return <p class="muted">No layers.</p>;
  return (
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
      <h3>Labels</h3>
      {config.labels.length > 0 ? <Pairs caption="Labels" pairs={config.labels} /> : <p class="muted">None.</p>}
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
    </section>
  );
}

function Platforms({
  repo,
  index,
  children,
  total,
}: {
  repo: string;
  index: string;
  children: ChildView[];
  total: number;
}) {
  return (
    <section aria-labelledby="platforms">
      <h2 id="platforms">Platforms</h2>
      {children.map((c) => (
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
            />
          ) : (
            <p class="muted">{c.view ? "Not an image." : "Not in this repository."}</p>
          )}
        </section>
      ))}
      {total > children.length ? (
        <p class="muted">{total - children.length} more entries; open the index's JSON with the API to see them.</p>
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
 *  layers. A platform this page did not read (beyond the first ones, or not stored here)
 *  counts its manifest only, and the figure says "at least". */
function IndexSize({ size, children, total }: { size: number; children: ChildView[]; total: number }) {
  const read = children.filter((c) => c.view?.kind === "image");
  const sum = children.reduce(
    (bytes, c) => bytes + (c.view?.kind === "image" ? c.view.totalSize : c.descriptor.size),
    size,
  );
  const partial = read.length < total;
  return (
    <span>
      {partial ? "at least " : ""}
      <Size bytes={sum} />{" "}
      <span class="muted">
        (the index and its {total} {total === 1 ? "entry" : "entries"}: manifests, configs and layers)
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
              <IndexSize size={p.size} children={p.children} total={v.children.length} />
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
        <Platforms repo={p.repo} index={p.digest} children={p.children} total={v.children.length} />
      ) : null}
      {v.kind === "image" ? (
        <section aria-labelledby="layers">
          <h2 id="layers">Layers</h2>
          <Layers repo={p.repo} caption="Layers" layers={v.layers} />
        </section>
      ) : null}
      {p.config && isImageConfig(v.config?.mediaType) ? <ConfigSection config={p.config} /> : null}
      <h2>Annotations</h2>
      {v.annotations.length > 0 ? <Pairs caption="Annotations" pairs={v.annotations} /> : <p class="muted">None.</p>}
      <Referrers repo={p.repo} referrers={p.referrers} more={p.moreReferrers} now={p.now} />
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
