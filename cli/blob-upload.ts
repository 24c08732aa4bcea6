// Uploads one blob, resumably: skip it when the repository has it (HEAD), mount it when
// another repository has it, else PATCH it in chunks no larger than the registry accepts.
// After a broken connection it asks the registry where the upload stands (GET on the
// session) and continues from there, with backoff. The session is saved after every chunk,
// so a re-run of a failed push continues too.
import { Transform, type Readable } from "node:stream";
import { backoffDelay, chooseChunkSize, planChunks } from "./chunk-plan.js";
import { CliError, isRetryable } from "./errors.js";
import type { Descriptor, ImageSource } from "./image-source.js";
import type { RegistryClient } from "./registry-client.js";
import {
  appendChunk,
  cancelSession,
  closeSession,
  openSession,
  RangeMismatch,
  sessionStatus,
  type Session,
} from "./upload-session.js";
import { uploadKey, type UploadStateFile } from "./upload-state.js";

export interface BlobProgress {
  /** `offset` is how many bytes of the blob the registry has (or will have) so far. */
  update(digest: string, offset: number): void;
  note(digest: string, message: string): void;
}

export interface UploadContext {
  client: RegistryClient;
  state: UploadStateFile;
  chunkSize: number | null;
  /** Repositories to try mounting a blob from, in order (--mount-from, then automatic ones). */
  mountFrom: (digest: string) => string[];
  retries: number;
  progress: BlobProgress;
}

export interface BlobResult {
  /** A push: existed, mounted or uploaded. A pull: pulled, or present (already on disk). */
  outcome: "existed" | "mounted" | "uploaded" | "pulled" | "present";
  /** Body bytes this run moved: sent by a push, received by a pull. */
  sent: number;
  /** Bytes not moved: the whole blob when it existed, was mounted or was present; for an
   *  upload, what an earlier run had sent (the resumed part). */
  skipped: number;
}

/** Test hook: R2_REGISTRY_FAULT_AFTER_BYTES=N breaks one PATCH after N bytes of this process. */
let faultBudget = Number(process.env.R2_REGISTRY_FAULT_AFTER_BYTES ?? NaN);
/** Test hook: R2_REGISTRY_KILL_AFTER_BYTES=N kills this process (SIGKILL, as `kill -9` would)
 *  once N blob bytes went out: a push cut at a known point, whatever the machine's speed. */
const killAfter = Number(process.env.R2_REGISTRY_KILL_AFTER_BYTES ?? NaN);
let bytesOut = 0;
function countForKill(n: number): void {
  bytesOut += n;
  if (bytesOut >= killAfter) process.kill(process.pid, "SIGKILL");
}

function withFault(stream: Readable): Readable {
  if (!Number.isFinite(faultBudget)) return stream;
  const breaker = new Transform({
    transform(piece: Buffer, _enc, done) {
      if (faultBudget >= 0 && piece.length > faultBudget) {
        const head = piece.subarray(0, faultBudget);
        faultBudget = NaN;
        this.push(head);
        const error = Object.assign(new Error("injected fault: connection reset"), { code: "ECONNRESET" });
        return setTimeout(() => done(error), 50);
      }
      if (Number.isFinite(faultBudget)) faultBudget -= piece.length;
      done(null, piece);
    },
  });
  return stream.pipe(breaker);
}

async function findOrOpenSession(ctx: UploadContext, desc: Descriptor): Promise<Session | "mounted"> {
  const key = uploadKey(ctx.client.ref.host, ctx.client.repo, desc.digest);
  const saved = ctx.state.get(key);
  if (saved) {
    const status = await sessionStatus(ctx.client, saved.location).catch(() => null);
    if (status) {
      ctx.progress.note(desc.digest, `resuming at byte ${status.offset}`);
      return status;
    }
  }
  // A refused mount (the blob is not there, or the user may not pull it) opens a session
  // instead; keep the last one for the upload and cancel the others.
  let session: Session | null = null;
  for (const from of ctx.mountFrom(desc.digest)) {
    if (session) await cancelSession(ctx.client, session);
    const opened = await openSession(ctx.client, { digest: desc.digest, from });
    if (opened === "mounted") return "mounted";
    session = opened;
  }
  return session ?? openSession(ctx.client);
}

/** Sends the bytes the registry lacks; returns the session once the registry holds them all. */
async function sendChunks(
  ctx: UploadContext,
  source: ImageSource,
  desc: Descriptor,
  first: Session,
  counter: { sent: number },
): Promise<Session> {
  const key = uploadKey(ctx.client.ref.host, ctx.client.repo, desc.digest);
  let session = first;
  let failures = 0;
  while (session.offset < desc.size) {
    const size = chooseChunkSize({
      advertisedMax: session.chunkMax,
      advertisedMin: session.chunkMin,
      requested: ctx.chunkSize,
    });
    const chunk = planChunks(session.offset, desc.size, size)[0]!;
    let position = chunk.start;
    const stream = withFault(await source.openBlob(desc, chunk.start, chunk.end));
    try {
      session = await appendChunk(
        ctx.client,
        session,
        chunk.start,
        chunk.end,
        () => stream,
        (n) => {
          countForKill(n);
          counter.sent += n;
          position += n;
          ctx.progress.update(desc.digest, position);
        },
      );
      ctx.state.set(key, { location: session.location, offset: session.offset, updatedAt: Date.now() });
      failures = 0;
    } catch (error) {
      stream.destroy();
      if (!isRetryable(error) || ++failures > ctx.retries) throw error;
      if (error instanceof RangeMismatch && error.registryOffset === chunk.start && failures >= 2) {
        // The registry agrees on the offset yet refuses the chunk: a request that died
        // mid-write still holds the session's lock. A new session beats waiting out its lease.
        ctx.progress.note(desc.digest, "the upload session is locked by a request that died; starting a new session");
        session = (await openSession(ctx.client)) as Session;
        ctx.progress.update(desc.digest, 0);
        continue;
      }
      const wait = backoffDelay(failures);
      ctx.progress.note(desc.digest, `${(error as Error).message}; retrying in ${wait} ms`);
      await new Promise((resolve) => setTimeout(resolve, wait));
      session = await resumePoint(ctx, session, error);
      ctx.progress.update(desc.digest, session.offset);
    }
  }
  return session;
}

/** Where to continue after a failed chunk: the registry's word, from 416 or a status GET. */
async function resumePoint(ctx: UploadContext, session: Session, error: unknown): Promise<Session> {
  if (error instanceof RangeMismatch && error.registryOffset !== null)
    return { ...session, offset: error.registryOffset };
  const status = await sessionStatus(ctx.client, session.location);
  if (!status)
    throw new CliError(
      "the registry dropped the upload session",
      "re-run the same command to start this blob again",
      null,
      false,
    );
  return status;
}

/** Runs an idempotent step again after network errors and 5xx answers, with backoff. */
async function retrying<T>(ctx: UploadContext, digest: string, what: string, work: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (!isRetryable(error) || attempt > ctx.retries) throw error;
      const wait = backoffDelay(attempt);
      ctx.progress.note(digest, `${what}: ${(error as Error).message}; retrying in ${wait} ms`);
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }
}

/** PUT ?digest= can fail after the registry published the blob (a 503 from a proxy, a reset
 *  connection): then the blob is there, and that is success. */
async function finish(ctx: UploadContext, session: Session, digest: string): Promise<void> {
  await retrying(ctx, digest, "closing the upload", async () => {
    try {
      await closeSession(ctx.client, session, digest);
    } catch (error) {
      if ((await ctx.client.headBlob(digest).catch(() => null)) !== null) return;
      throw error;
    }
  });
}

export async function uploadBlob(ctx: UploadContext, source: ImageSource, desc: Descriptor): Promise<BlobResult> {
  if ((await retrying(ctx, desc.digest, "HEAD", () => ctx.client.headBlob(desc.digest))) !== null) {
    ctx.progress.update(desc.digest, desc.size);
    return { outcome: "existed", sent: 0, skipped: desc.size };
  }
  const opened = await retrying(ctx, desc.digest, "opening the upload", () => findOrOpenSession(ctx, desc));
  if (opened === "mounted") {
    ctx.progress.update(desc.digest, desc.size);
    return { outcome: "mounted", sent: 0, skipped: desc.size };
  }
  const key = uploadKey(ctx.client.ref.host, ctx.client.repo, desc.digest);
  ctx.state.set(key, { location: opened.location, offset: opened.offset, updatedAt: Date.now() });
  const resumedFrom = opened.offset;
  ctx.progress.update(desc.digest, resumedFrom);
  const counter = { sent: 0 };
  const done = await sendChunks(ctx, source, desc, opened, counter);
  await finish(ctx, done, desc.digest);
  ctx.state.set(key, null);
  return { outcome: "uploaded", sent: counter.sent, skipped: resumedFrom };
}
