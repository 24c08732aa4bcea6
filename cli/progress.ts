// What the user sees while a push or pull runs. Four modes: bars on a terminal (cli-progress:
// one bar per blob in flight plus a total, with bytes, speed and ETA), plain lines when stderr
// is not a terminal (a line per blob, and a progress line every few seconds so CI logs do not
// go silent on a big layer), JSON lines on stdout (--json), and nothing but the digest (--quiet).
import cliProgress from "cli-progress";
import type { BlobProgress, BlobResult } from "./blob-upload.js";
import { formatBytes } from "./chunk-plan.js";
import type { CliError } from "./errors.js";
import type { Descriptor } from "./image-source.js";

export interface Reporter extends BlobProgress {
  planned(blobs: Descriptor[]): void;
  blobStarted(desc: Descriptor): void;
  blobFinished(desc: Descriptor, result: BlobResult): void;
  /** Prints the final summary (`lines` for people, `data` for --json). */
  finish(lines: string[], data: object): void;
  fail(error: CliError | Error): void;
}

export type OutputMode = "tty" | "plain" | "json" | "quiet";

const short = (digest: string) => digest.replace(/^sha256:/, "").slice(0, 12);
const OUTCOME = {
  existed: "exists",
  mounted: "mounted",
  uploaded: "pushed",
  pulled: "pulled",
  present: "on disk",
} as const;

/** A pull's bytes come in; a push's go out. */
const isPull = (result: BlobResult) => result.outcome === "pulled" || result.outcome === "present";

/** Without a terminal, a progress line at least this often while bytes move... */
const PROGRESS_LINE_MS = 5000;
/** ...and one at each tenth of the total, so a fast transfer still shows its pace. */
const PROGRESS_STEPS = 10;

function hint(error: CliError | Error): string | null {
  return "hint" in error ? error.hint : null;
}

class LineReporter implements Reporter {
  private started = new Map<string, number>();
  /** Bytes of finished blobs, and the offset of each blob in flight. */
  private finished = 0;
  private offsets = new Map<string, number>();
  private total = 0;
  private since = Date.now();
  private lastLine = Date.now();
  private lastStep = 0;
  constructor(private readonly quiet: boolean) {}
  planned(blobs: Descriptor[]) {
    this.total = blobs.reduce((s, b) => s + b.size, 0);
    this.since = this.lastLine = Date.now();
    if (!this.quiet) console.error(`${blobs.length} blobs, ${formatBytes(this.total)}`);
  }
  blobStarted(desc: Descriptor) {
    this.started.set(desc.digest, Date.now());
  }
  update(digest: string, offset: number) {
    this.offsets.set(digest, offset);
    this.progressLine();
  }
  /** Prints "progress: 45.0 MiB of 300.0 MiB (15%) after 5 s" when due; never at 0 or 100%. */
  private progressLine() {
    if (this.quiet || this.total === 0) return;
    const done = this.finished + [...this.offsets.values()].reduce((s, o) => s + o, 0);
    const step = Math.floor((done * PROGRESS_STEPS) / this.total);
    const now = Date.now();
    if (done >= this.total || (step <= this.lastStep && now - this.lastLine < PROGRESS_LINE_MS)) return;
    this.lastStep = Math.max(step, this.lastStep);
    this.lastLine = now;
    const percent = Math.floor((done * 100) / this.total);
    const seconds = Math.round((now - this.since) / 1000);
    console.error(`progress: ${formatBytes(done)} of ${formatBytes(this.total)} (${percent}%) after ${seconds} s`);
  }
  note(digest: string, message: string) {
    if (!this.quiet) console.error(`${short(digest)}: ${message}`);
  }
  blobFinished(desc: Descriptor, result: BlobResult) {
    this.offsets.delete(desc.digest);
    this.finished += desc.size;
    if (this.quiet) return;
    const seconds = (Date.now() - (this.started.get(desc.digest) ?? Date.now())) / 1000;
    const moved = `${isPull(result) ? "received" : "sent"} ${formatBytes(result.sent)}`;
    console.error(
      `${short(desc.digest)}: ${OUTCOME[result.outcome]} ${formatBytes(desc.size)} (${moved}) in ${seconds.toFixed(1)} s`,
    );
    this.progressLine();
  }
  finish(lines: string[]) {
    if (this.quiet) console.log(lines[0]);
    else for (const line of lines) console.log(line);
  }
  fail(error: CliError | Error) {
    console.error(`error: ${error.message}`);
    const next = hint(error);
    if (next) console.error(`hint: ${next}`);
  }
}

class JsonReporter implements Reporter {
  private lastEmit = new Map<string, number>();
  private emit(event: string, data: object) {
    process.stdout.write(`${JSON.stringify({ event, ...data })}\n`);
  }
  planned(blobs: Descriptor[]) {
    this.emit("plan", { blobs: blobs.map(({ digest, size, mediaType }) => ({ digest, size, mediaType })) });
  }
  blobStarted(desc: Descriptor) {
    this.emit("blob-start", { digest: desc.digest, size: desc.size });
  }
  /** At most two progress events per blob and second keep CI logs readable. */
  update(digest: string, offset: number) {
    const now = Date.now();
    if (now - (this.lastEmit.get(digest) ?? 0) < 500) return;
    this.lastEmit.set(digest, now);
    this.emit("progress", { digest, offset });
  }
  note(digest: string, message: string) {
    this.emit("note", { digest, message });
  }
  /** A pull's blob events say `received` where a push's say `sent`. */
  blobFinished(desc: Descriptor, result: BlobResult) {
    const { sent, ...rest } = result;
    this.emit("blob", { digest: desc.digest, size: desc.size, ...rest, [isPull(result) ? "received" : "sent"]: sent });
  }
  finish(_lines: string[], data: object) {
    this.emit("summary", data);
  }
  fail(error: CliError | Error) {
    this.emit("error", { message: error.message, hint: hint(error) });
  }
}

interface BarState {
  bar: cliProgress.SingleBar;
  size: number;
  offset: number;
  /** Offset and time when this run started sending, for the speed. */
  base: number;
  since: number;
}

class BarReporter implements Reporter {
  private readonly multi = new cliProgress.MultiBar({
    format: "{label} {bar} {percentage}% | {done}/{total_h} | {speed} | ETA {eta_formatted}",
    barCompleteChar: "█",
    barIncompleteChar: "░",
    barsize: 30,
    hideCursor: true,
    clearOnComplete: false,
    stopOnComplete: false,
    etaBuffer: 40,
    fps: 8,
    stream: process.stderr,
  });
  private readonly bars = new Map<string, BarState>();
  private total: BarState | null = null;
  private totalDone = 0;
  private readonly offsets = new Map<string, number>();

  private payload(label: string, state: BarState, value: number) {
    const elapsed = (Date.now() - state.since) / 1000;
    const speed = elapsed > 0.5 ? `${formatBytes((value - state.base) / elapsed)}/s` : "…";
    return {
      label: label.padEnd(14),
      done: formatBytes(value).padStart(10),
      total_h: formatBytes(state.size),
      speed: speed.padStart(11),
    };
  }
  private makeBar(label: string, size: number, start: number): BarState {
    const state: BarState = { bar: null!, size, offset: start, base: start, since: Date.now() };
    state.bar = this.multi.create(Math.max(size, 1), start, this.payload(label, state, start));
    return state;
  }
  /** Every bar exists from the start: bars added after a log line leave stale copies. */
  planned(blobs: Descriptor[]) {
    this.total = this.makeBar(
      "total",
      blobs.reduce((s, b) => s + b.size, 0),
      0,
    );
    for (const blob of blobs) this.bars.set(blob.digest, this.makeBar(short(blob.digest), blob.size, 0));
  }
  blobStarted(desc: Descriptor) {
    const state = this.bars.get(desc.digest);
    if (state) state.since = Date.now();
  }
  update(digest: string, offset: number) {
    const state = this.bars.get(digest);
    if (!state) return;
    this.offsets.set(digest, offset);
    state.bar.update(offset, this.payload(short(digest), state, offset));
    const all = this.totalDone + [...this.offsets.values()].reduce((s, o) => s + o, 0);
    if (this.total) this.total.bar.update(all, this.payload("total", this.total, all));
  }
  /** One line, cut to the terminal's width: a wrapped line would throw off the redraw. */
  note(digest: string, message: string) {
    const width = (process.stderr.columns || 100) - 1;
    const line = `${short(digest)}: ${message}`;
    this.multi.log(`${line.length > width ? `${line.slice(0, width - 1)}…` : line}\n`);
  }
  blobFinished(desc: Descriptor, result: BlobResult) {
    this.offsets.delete(desc.digest);
    this.totalDone += desc.size;
    const state = this.bars.get(desc.digest);
    if (state)
      state.bar.update(desc.size, {
        ...this.payload(short(desc.digest), state, desc.size),
        speed: OUTCOME[result.outcome].padStart(11),
      });
    if (this.total) this.total.bar.update(this.totalDone, this.payload("total", this.total, this.totalDone));
  }
  finish(lines: string[]) {
    this.multi.stop();
    for (const line of lines) console.log(line);
  }
  fail(error: CliError | Error) {
    this.multi.stop();
    new LineReporter(false).fail(error);
  }
}

export function createReporter(mode: OutputMode): Reporter {
  if (mode === "json") return new JsonReporter();
  if (mode === "tty") return new BarReporter();
  return new LineReporter(mode === "quiet");
}
