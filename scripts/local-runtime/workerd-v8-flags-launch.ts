// Which V8 flags every workerd this project starts runs with, and how they get there. Shared
// by the local runtime (runtime.ts: `npm start`, the e2e harness, the bench) and vitest's
// workers pool (vitest.config.ts), whose workerd ran without them and hung in CI on
// 2026-12-07 (docs/local-runtime.md, "A workerd that stops answering").
import { createRequire } from "node:module";
import { join } from "node:path";

/** V8 flags every workerd starts with, on Linux: no concurrent garbage collector, whose
 *  sweeper the main thread can wait on forever (workerd-v8-flags.mjs). */
export const WORKERD_V8_FLAGS = ["--single-threaded-gc"];

/** The workerd binary Miniflare runs when MINIFLARE_WORKERD_PATH names none. */
export function bundledWorkerd(): string {
  const miniflare = createRequire(import.meta.url).resolve("miniflare");
  return (createRequire(miniflare)("workerd") as { default: string }).default;
}

/** The variables that make Miniflare start `workerd` through workerd-with-v8-flags.sh, which
 *  adds `flags` to the config it is given (the wrapper reads the LOCAL_RUNTIME_ ones). */
export function v8FlagsEnvironment(flags: readonly string[], workerd: string): Record<string, string> {
  return {
    MINIFLARE_WORKERD_PATH: join(import.meta.dirname, "workerd-with-v8-flags.sh"),
    LOCAL_RUNTIME_WORKERD: workerd,
    LOCAL_RUNTIME_NODE: process.execPath,
    LOCAL_RUNTIME_V8_FLAGS: flags.join(" "),
  };
}

/**
 * Makes every later Miniflare in this process, and in the processes it starts, start workerd
 * with `flags` (v8FlagsEnvironment). Miniflare reads MINIFLARE_WORKERD_PATH at every start of
 * workerd (the watchdog's restarts too); one set by the user still names the workerd that
 * runs. A second call, or a child process that inherited the first call's variables, changes
 * nothing. Linux only: that is where workerd's sweeper hung, and workerd on macOS turns the
 * concurrent collector off itself.
 */
export function startWorkerdWithV8Flags(flags: readonly string[] = WORKERD_V8_FLAGS): void {
  if (process.platform !== "linux" || process.env.LOCAL_RUNTIME_WORKERD) return;
  Object.assign(process.env, v8FlagsEnvironment(flags, process.env.MINIFLARE_WORKERD_PATH ?? bundledWorkerd()));
}
