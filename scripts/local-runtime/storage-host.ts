// The local stand-in for the storage host a blob redirect sends clients to (npm start's
// --storage-host ADDR:PORT). There is no S3 endpoint on this machine, so this serves the
// local bucket as R2's S3 API would serve a presigned GET, and checks each URL's signature
// with botocore (sigv4-check.py), an independent signer, before it serves a byte:
// - GET /<bucket>/<key>?X-Amz-…: the object of the local REGISTRY bucket, whole or one Range,
//   once botocore agrees on the signature and the URL has not expired; else S3's 403.
// - A request carrying Authorization is refused (400), as S3 refuses two kinds of
//   credentials at once: a client that followed the redirect with the registry's
//   credentials fails here as it would in production, and shows in the log.
// - GET /<key> without a signature: the object of the public bucket (PUBLIC_BLOBS), as a
//   public bucket's custom domain serves it, when that binding exists; else 403.
// One log line per request: `storage-host GET <path> <status> <what>`.
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from "node:child_process";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { parseRangeHeader } from "../../src/oci/range";

export interface StorageHostOptions {
  host: string;
  port: number;
  /** The presigned URLs' bucket and credentials (R2_BUCKET_NAME, R2_ACCESS_KEY_ID,
   *  R2_SECRET_ACCESS_KEY): what the registry signs with. */
  bucketName: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** The local buckets, read through Miniflare (the public one may not be bound). */
  bucket(binding: "REGISTRY" | "PUBLIC_BLOBS"): Promise<R2Bucket | null>;
  log(line: string): void;
}

export interface StorageHost {
  origin: string;
  stop(): Promise<void>;
}

/** botocore's checker and signer (one JSON job per line). */
export const SIGV4_CHECKER = join(import.meta.dirname, "sigv4-check.py");

/** Debian's python3 first (python3-botocore installs there), then the PATH's. */
export function botocorePython(): string {
  for (const python of ["/usr/bin/python3", "python3"]) {
    const probe = spawnSync(python, ["-c", "import botocore"], { stdio: "ignore" });
    if (probe.status === 0) return python;
  }
  throw new Error("--storage-host checks signatures with botocore: apt-get install python3-botocore");
}

interface Verdict {
  ok: boolean;
  code?: string;
  reason?: string;
}

/** botocore's checker as a child process: one job per line, answers in order. */
class SignatureChecker {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly waiting: ((verdict: Verdict) => void)[] = [];
  constructor() {
    this.child = spawn(botocorePython(), [SIGV4_CHECKER], { stdio: ["pipe", "pipe", "pipe"] });
    createInterface({ input: this.child.stdout }).on("line", (line) => {
      this.waiting.shift()?.(JSON.parse(line) as Verdict);
    });
    this.child.stderr.resume();
  }
  check(job: Record<string, unknown>): Promise<Verdict> {
    return new Promise((resolveVerdict) => {
      this.waiting.push(resolveVerdict);
      this.child.stdin.write(`${JSON.stringify({ op: "check", ...job })}\n`);
    });
  }
  stop(): void {
    this.child.kill();
  }
}

function s3Error(res: ServerResponse, status: number, code: string, message: string): void {
  const body = `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${message}</Message></Error>`;
  res.writeHead(status, { "Content-Type": "application/xml", "Content-Length": Buffer.byteLength(body) });
  res.end(body);
}

/** The Range header's one range of an object of `size` bytes, by the registry's own reading
 *  (src/oci/range.ts); null for none, "bad" for one that is answered 416. */
function rangeOf(header: string | undefined, size: number): { offset: number; length: number } | null | "bad" {
  const wanted = parseRangeHeader(header, size);
  if (wanted.kind === "none") return null;
  if (wanted.kind !== "range") return "bad";
  return { offset: wanted.range.start, length: wanted.range.end - wanted.range.start + 1 };
}

async function serveObject(req: IncomingMessage, res: ServerResponse, bucket: R2Bucket, key: string): Promise<string> {
  const head = await bucket.head(key);
  if (!head) {
    s3Error(res, 404, "NoSuchKey", "The specified key does not exist.");
    return "no such key";
  }
  const range = rangeOf(req.headers.range, head.size);
  if (range === "bad") {
    res.writeHead(416, { "Content-Range": `bytes */${head.size}` });
    res.end();
    return "bad range";
  }
  const object = await bucket.get(key, range ? { range } : undefined);
  if (!object || !("body" in object)) {
    s3Error(res, 404, "NoSuchKey", "The specified key does not exist.");
    return "no such key";
  }
  const headers: Record<string, string | number> = {
    "Content-Type": head.httpMetadata?.contentType ?? "application/octet-stream",
    "Content-Length": range ? range.length : head.size,
    "Accept-Ranges": "bytes",
    ETag: head.httpEtag,
  };
  if (range) headers["Content-Range"] = `bytes ${range.offset}-${range.offset + range.length - 1}/${head.size}`;
  res.writeHead(range ? 206 : 200, headers);
  if (req.method === "HEAD") {
    await object.body.cancel();
    res.end();
  } else {
    // pipeline settles however the response ends. A client that has every byte may close the
    // connection before the response's own end is reported (a premature close): the bytes
    // handed to the response tell a whole answer from a cut one.
    const length = range ? range.length : head.size;
    let sent = 0;
    const counted = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        sent += chunk.length;
        done(null, chunk);
      },
    });
    try {
      await pipeline(Readable.fromWeb(object.body as never), counted, res);
    } catch (error) {
      if (sent !== length) throw error;
    }
  }
  return range ? "range" : "whole";
}

export async function startStorageHost(options: StorageHostOptions): Promise<StorageHost> {
  const checker = new SignatureChecker();
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<string> => {
    const url = new URL(req.url ?? "/", `http://${req.headers.host ?? options.host}`);
    if (req.method !== "GET" && req.method !== "HEAD") {
      s3Error(res, 405, "MethodNotAllowed", "The specified method is not allowed against this resource.");
      return "method";
    }
    if (req.headers.authorization) {
      s3Error(res, 400, "InvalidArgument", "Only one auth mechanism allowed");
      return "refused: the request carried Authorization";
    }
    if (!url.searchParams.has("X-Amz-Signature")) {
      const publicBucket = await options.bucket("PUBLIC_BLOBS");
      if (!publicBucket) {
        s3Error(res, 403, "AccessDenied", "Access Denied");
        return "refused: unsigned";
      }
      return `public ${await serveObject(req, res, publicBucket, decodeURIComponent(url.pathname.slice(1)))}`;
    }
    const prefix = `/${options.bucketName}/`;
    if (!url.pathname.startsWith(prefix)) {
      s3Error(res, 404, "NoSuchBucket", "The specified bucket does not exist.");
      return "no such bucket";
    }
    const verdict = await checker.check({
      method: req.method,
      url: url.toString(),
      accessKeyId: options.accessKeyId,
      secretAccessKey: options.secretAccessKey,
      region: "auto",
      now: Math.floor(Date.now() / 1000),
    });
    if (!verdict.ok) {
      s3Error(res, 403, verdict.code ?? "AccessDenied", verdict.reason ?? "Access Denied");
      return `refused: ${verdict.reason}`;
    }
    const bucket = await options.bucket("REGISTRY");
    const key = decodeURIComponent(url.pathname.slice(prefix.length));
    return `verified ${await serveObject(req, res, bucket!, key)}`;
  };
  const server: Server = createServer((req, res) => {
    handle(req, res).then(
      (what) => options.log(`storage-host ${req.method} ${req.url?.split("?")[0]} ${res.statusCode} ${what}\n`),
      (error: unknown) => {
        options.log(`storage-host ${req.method} ${req.url?.split("?")[0]} failed: ${String(error)}\n`);
        if (!res.headersSent) s3Error(res, 500, "InternalError", "We encountered an internal error.");
        else res.destroy();
      },
    );
  });
  const port = await new Promise<number>((listening, fail) => {
    server.once("error", fail);
    server.listen(options.port, options.host, () => {
      const address = server.address();
      listening(typeof address === "object" && address ? address.port : options.port);
    });
  });
  return {
    origin: `http://${options.host}:${port}`,
    stop: async () => {
      checker.stop();
      server.closeAllConnections();
      await new Promise((closed) => server.close(closed));
    },
  };
}
