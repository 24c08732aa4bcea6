// The client runner itself: a client that exits without reading its input (docker with no
// engine, asked for a password on stdin) must give an exit code, not an unhandled EPIPE that
// fails the whole run after every test passed or skipped.
import { expect, it } from "vitest";
import { run } from "./clients/run";

it("reports the exit code of a child that never reads its input", async () => {
  const result = await run("sh", ["-c", "exit 3"], { input: "x".repeat(4 * 1024 * 1024) });
  expect(result.code).toBe(3);
  // Let a late EPIPE from the closed pipe surface inside this test if it is unhandled.
  await new Promise((r) => setTimeout(r, 200));
});
