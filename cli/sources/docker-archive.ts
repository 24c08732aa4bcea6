// A `docker save` archive. Docker 25 and later put an OCI layout inside the tar: that is
// pushed as it is, digests unchanged. Older docker writes only the legacy manifest.json with
// uncompressed layer tars and no registry manifest; for those this builds a Docker v2
// schema 2 manifest whose layer digests are the layers' own (their diff IDs), and whose
// config digest is the image ID docker shows.
import { createHash } from "node:crypto";
import { CliError } from "../errors.js";
import type { Descriptor, ImageSource } from "../image-source.js";
import { tarFiles, type FileSet } from "./file-set.js";
import { OciLayoutSource } from "./oci-layout.js";

interface LegacyEntry {
  Config: string;
  RepoTags?: string[] | null;
  Layers: string[];
}

const DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";
const DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json";
const LAYER_TAR = "application/vnd.docker.image.rootfs.diff.tar";
const LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip";

export async function openDockerArchive(path: string, tag: string | null): Promise<ImageSource> {
  const files = tarFiles(path);
  if (OciLayoutSource.isLayout(files)) return new OciLayoutSource(`docker-archive:${path}`, files, tag, files.close);
  if (files.size("manifest.json") === null) {
    files.close();
    throw new CliError(`${path} is neither a docker save archive nor an OCI layout tar`);
  }
  return LegacyArchiveSource.open(path, files, tag);
}

function pickEntry(entries: LegacyEntry[], tag: string | null, path: string): LegacyEntry {
  if (!tag) {
    if (entries.length === 1) return entries[0]!;
    throw new CliError(
      `${path} holds ${entries.length} images`,
      `add :TAG, one of: ${entries.flatMap((e) => e.RepoTags ?? []).join(", ")}`,
    );
  }
  const found = entries.find((e) => (e.RepoTags ?? []).some((t) => t === tag || t.endsWith(`:${tag}`)));
  if (!found) throw new CliError(`${path} has no image tagged ${tag}`);
  return found;
}

async function hashFile(files: FileSet, name: string, size: number): Promise<string> {
  const hash = createHash("sha256");
  if (size > 0) for await (const piece of files.open(name, 0, size - 1)) hash.update(piece as Buffer);
  return `sha256:${hash.digest("hex")}`;
}

class LegacyArchiveSource implements ImageSource {
  private constructor(
    readonly name: string,
    private readonly files: FileSet & { close(): void },
    private readonly manifest: Buffer,
    private readonly paths: Map<string, string>,
  ) {}

  static async open(
    path: string,
    files: FileSet & { close(): void },
    tag: string | null,
  ): Promise<LegacyArchiveSource> {
    const entry = pickEntry(JSON.parse(files.read("manifest.json").toString("utf8")) as LegacyEntry[], tag, path);
    const paths = new Map<string, string>();
    const describe = async (name: string, mediaType: string): Promise<Descriptor> => {
      const size = files.size(name);
      if (size === null) throw new CliError(`${path} lacks ${name}`);
      const digest = await hashFile(files, name, size);
      paths.set(digest, name);
      return { mediaType, size, digest };
    };
    const config = await describe(entry.Config, DOCKER_CONFIG);
    const layers: Descriptor[] = [];
    for (const layer of entry.Layers) {
      const gzip = await isGzip(files, layer);
      layers.push(await describe(layer, gzip ? LAYER_GZIP : LAYER_TAR));
    }
    const manifest = { schemaVersion: 2, mediaType: DOCKER_MANIFEST, config, layers };
    return new LegacyArchiveSource(
      `docker-archive:${path}`,
      files,
      Buffer.from(JSON.stringify(manifest, null, 3)),
      paths,
    );
  }

  async root(): Promise<Descriptor> {
    const digest = `sha256:${createHash("sha256").update(this.manifest).digest("hex")}`;
    return { mediaType: DOCKER_MANIFEST, digest, size: this.manifest.length };
  }

  async readBytes(desc: Descriptor): Promise<Buffer> {
    if (desc.mediaType === DOCKER_MANIFEST) return this.manifest;
    return this.files.read(this.pathOf(desc));
  }

  async openBlob(desc: Descriptor, start: number, end: number) {
    return this.files.open(this.pathOf(desc), start, end);
  }

  async has(desc: Descriptor): Promise<boolean> {
    return desc.mediaType === DOCKER_MANIFEST || this.paths.has(desc.digest);
  }

  async close(): Promise<void> {
    this.files.close();
  }

  private pathOf(desc: Descriptor): string {
    const path = this.paths.get(desc.digest);
    if (!path) throw new CliError(`${this.name} has no blob ${desc.digest}`);
    return path;
  }
}

/** Legacy layers are plain tars, but LayerSources (foreign layers) may be gzip. */
async function isGzip(files: FileSet, name: string): Promise<boolean> {
  if ((files.size(name) ?? 0) < 2) return false;
  for await (const piece of files.open(name, 0, 1))
    return (piece as Buffer)[0] === 0x1f && (piece as Buffer)[1] === 0x8b;
  return false;
}
