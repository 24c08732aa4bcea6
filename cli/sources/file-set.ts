// Named files with random access: a directory on disk, or the entries of a tar archive read
// in place (docker save output is never unpacked, which matters for multi-GiB images).
import { closeSync, createReadStream, openSync, readFileSync, readSync, statSync } from "node:fs";
import { join, posix } from "node:path";
import type { Readable } from "node:stream";

export interface FileSet {
  size(path: string): number | null;
  read(path: string): Buffer;
  /** Bytes [start, end] (inclusive) of a file. */
  open(path: string, start: number, end: number): Readable;
}

export function directoryFiles(root: string): FileSet {
  return {
    size(path) {
      try {
        return statSync(join(root, path)).size;
      } catch {
        return null;
      }
    },
    read: (path) => readFileSync(join(root, path)),
    open: (path, start, end) => createReadStream(join(root, path), { start, end, highWaterMark: 1 << 20 }),
  };
}

interface TarEntry {
  offset: number;
  size: number;
  type: string;
  link: string;
}

function field(block: Buffer, start: number, length: number): string {
  const raw = block.subarray(start, start + length);
  const nul = raw.indexOf(0);
  return raw.subarray(0, nul < 0 ? length : nul).toString("utf8");
}

/** Octal, or base-256 for sizes of 8 GiB and more (GNU). */
function tarSize(block: Buffer): number {
  if (block[124]! & 0x80) return Number(block.readBigUInt64BE(128) & 0x7fffffffffffffffn);
  return parseInt(field(block, 124, 12).trim() || "0", 8);
}

/** PAX extended headers: "LEN key=value\n" records; only path and linkpath matter here. */
function paxRecords(data: Buffer): Record<string, string> {
  const records: Record<string, string> = {};
  for (const line of data.toString("utf8").split("\n")) {
    const match = /^[0-9]+ ([^=]+)=(.*)$/.exec(line);
    if (match) records[match[1]!] = match[2]!;
  }
  return records;
}

/** Reads only the 512-byte headers of a tar file and notes where each entry's data lies. */
export function indexTar(fd: number): Map<string, TarEntry> {
  const entries = new Map<string, TarEntry>();
  const block = Buffer.alloc(512);
  let position = 0;
  let longName: string | null = null;
  let longLink: string | null = null;
  for (;;) {
    if (readSync(fd, block, 0, 512, position) < 512 || block.every((b) => b === 0)) break;
    const size = tarSize(block);
    const type = String.fromCharCode(block[156] || 48);
    const dataAt = position + 512;
    position = dataAt + Math.ceil(size / 512) * 512;
    if (type === "x" || type === "L" || type === "K") {
      const data = Buffer.alloc(size);
      readSync(fd, data, 0, size, dataAt);
      if (type === "x") {
        const pax = paxRecords(data);
        longName = pax.path ?? longName;
        longLink = pax.linkpath ?? longLink;
      } else if (type === "L") longName = field(data, 0, size);
      else longLink = field(data, 0, size);
      continue;
    }
    const prefix = field(block, 345, 155);
    const name = longName ?? (prefix ? `${prefix}/${field(block, 0, 100)}` : field(block, 0, 100));
    entries.set(posix.normalize(name).replace(/^\.\//, ""), {
      offset: dataAt,
      size,
      type,
      link: longLink ?? field(block, 157, 100),
    });
    longName = longLink = null;
  }
  return entries;
}

export function tarFiles(path: string): FileSet & { close(): void } {
  const fd = openSync(path, "r");
  const entries = indexTar(fd);
  const find = (name: string, depth = 0): TarEntry | null => {
    const entry = entries.get(posix.normalize(name));
    if (!entry || depth > 8) return null;
    if (entry.type !== "2" && entry.type !== "1") return entry;
    // docker save links identical layers to one copy; symlinks are relative to the entry.
    const target = entry.type === "2" ? posix.join(posix.dirname(name), entry.link) : entry.link;
    return find(target, depth + 1);
  };
  return {
    size: (name) => find(name)?.size ?? null,
    read(name) {
      const entry = find(name);
      if (!entry) throw new Error(`${path} has no ${name}`);
      const data = Buffer.alloc(entry.size);
      readSync(fd, data, 0, entry.size, entry.offset);
      return data;
    },
    open(name, start, end) {
      const entry = find(name);
      if (!entry) throw new Error(`${path} has no ${name}`);
      return createReadStream(path, { start: entry.offset + start, end: entry.offset + end, highWaterMark: 1 << 20 });
    },
    close: () => closeSync(fd),
  };
}
