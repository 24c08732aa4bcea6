// Which V8 flags every workerd this project starts runs with, and how they get there. Shared
// by the local runtime (runtime.ts: `npm start`, the e2e harness, the bench) and vitest's
// workers pool (vitest.config.ts), whose workerd ran without them and hung in CI on
// 2026-12-07 (docs/local-runtime.md, "A workerd that stops answering").
import { createRequire } from "node:module";
import { join, resolve } from "node:path";

/** V8 flags every workerd starts with, on Linux: no concurrent garbage collector, whose
 *  sweeper the main thread can wait on forever (workerd-v8-flags.mjs). */
export const WORKERD_V8_FLAGS = ["--single-threaded-gc"];

const WRAPPER = join(resolve(import.meta.dirname, "../.."), "scripts/local-runtime/workerd-with-v8-flags.sh");

/**
 * Makes every later Miniflare in this process, and in the processes it starts, start workerd
 * through workerd-with-v8-flags.sh, which adds `flags` to the config it is given. Miniflare
 * reads MINIFLARE_WORKERD_PATH at every start of workerd (the watchdog's restarts too); one set
 * by the user still names the workerd that runs. A second call, or a child process that
 * inherited the first call's variables, changes nothing. Linux only: that is where workerd's
 * sweeper hung, and workerd on macOS turns the concurrent collector off itself.
 */
export function startWorkerdWithV8Flags(flags: readonly string[] = WORKERD_V8_FLAGS): void {
  if (process.platform !== "linux" || process.env.LOCAL_RUNTIME_WORKERD) return;
  const miniflare = createRequire(import.meta.url).resolve("miniflare");
  process.env.LOCAL_RUNTIME_WORKERD =
    process.env.MINIFLARE_WORKERD_PATH ?? (createRequire(miniflare)("workerd") as { default: string }).default;
  process.env.LOCAL_RUNTIME_NODE = process.execPath;
  process.env.LOCAL_RUNTIME_V8_FLAGS = flags.join(" ");
  process.env.MINIFLARE_WORKERD_PATH = WRAPPER;
}
