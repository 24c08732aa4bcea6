// An OCI image layout (image-spec image-layout.md): index.json names the images, blobs live
// under blobs/<alg>/<hex>. Read from a directory, or in place from a docker save archive
// (docker 25 and later write this layout inside the tar).
import { CliError } from "../errors.js";
import type { Descriptor, ImageSource } from "../image-source.js";
import type { FileSet } from "./file-set.js";

const REF_NAME = "org.opencontainers.image.ref.name";
const CONTAINERD_NAME = "io.containerd.image.name";

function blobPath(digest: string): string {
  const [algorithm, hex] = digest.split(":");
  return `blobs/${algorithm}/${hex}`;
}

/** The tag an index.json entry is known by: the OCI ref name, or the tag of docker's name. */
function entryTag(entry: Descriptor): string | null {
  const ref = entry.annotations?.[REF_NAME];
  if (ref) return ref.includes(":") ? ref.slice(ref.lastIndexOf(":") + 1) : ref;
  const name = entry.annotations?.[CONTAINERD_NAME];
  return name && name.lastIndexOf(":") > name.lastIndexOf("/") ? name.slice(name.lastIndexOf(":") + 1) : null;
}

/** Picks the index.json entry for `tag`, or the only entry when no tag is given. */
export function selectEntry(entries: Descriptor[], tag: string | null, where: string): Descriptor {
  if (tag) {
    const found = entries.find(
      (e) => entryTag(e) === tag || e.annotations?.[REF_NAME] === tag || e.annotations?.[CONTAINERD_NAME] === tag,
    );
    if (!found)
      throw new CliError(
        `${where} has no image tagged ${tag}`,
        `tags there: ${entries.map(entryTag).filter(Boolean).join(", ") || "(none)"}`,
      );
    return found;
  }
  if (entries.length === 1) return entries[0]!;
  throw new CliError(
    `${where} holds ${entries.length} images; say which one`,
    `add :TAG, one of: ${entries.map(entryTag).filter(Boolean).join(", ")}`,
  );
}

export class OciLayoutSource implements ImageSource {
  constructor(
    readonly name: string,
    private readonly files: FileSet,
    private readonly tag: string | null,
    private readonly onClose: () => void = () => {},
  ) {}

  static isLayout(files: FileSet): boolean {
    return files.size("oci-layout") !== null && files.size("index.json") !== null;
  }

  async root(): Promise<Descriptor> {
    const index = JSON.parse(this.files.read("index.json").toString("utf8")) as { manifests?: Descriptor[] };
    return selectEntry(index.manifests ?? [], this.tag, this.name);
  }

  async readBytes(desc: Descriptor): Promise<Buffer> {
    return this.files.read(blobPath(desc.digest));
  }

  async openBlob(desc: Descriptor, start: number, end: number) {
    return this.files.open(blobPath(desc.digest), start, end);
  }

  async has(desc: Descriptor): Promise<boolean> {
    return this.files.size(blobPath(desc.digest)) === desc.size;
  }

  async close(): Promise<void> {
    this.onClose();
  }
}
