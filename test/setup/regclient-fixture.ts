// Global setup of the workers project (runs in Node): reads the real-world OCI layout in
// test/fixtures/regclient-testrepo (a copy of the shared fixture, with its README) and provides it to the tests, because code inside
// workerd cannot read the host's files. test/fixtures.test.ts reads it with inject().
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { TestProject } from "vitest/node";

export interface RegclientFixture {
  /** index.json of the layout, as text (it is not pushed: it is the layout's own index). */
  index: string;
  /** Every blob of the layout: hex digest (sha256) -> base64 bytes. */
  blobs: Record<string, string>;
}

declare module "vitest" {
  export interface ProvidedContext {
    regclientFixture: RegclientFixture | null;
  }
}

/** The fixture is kept in the repository (test/fixtures, with its attribution README) so a
 *  fresh clone anywhere runs it; REGCLIENT_FIXTURE points at another copy. */
function fixtureDir(): string {
  return process.env.REGCLIENT_FIXTURE ?? resolve(import.meta.dirname, "../fixtures/regclient-testrepo");
}

export default function setup(project: TestProject): void {
  const dir = fixtureDir();
  if (!existsSync(join(dir, "index.json"))) {
    project.provide("regclientFixture", null);
    return;
  }
  const blobDir = join(dir, "blobs", "sha256");
  const blobs: Record<string, string> = {};
  for (const name of readdirSync(blobDir)) blobs[name] = readFileSync(join(blobDir, name)).toString("base64");
  project.provide("regclientFixture", { index: readFileSync(join(dir, "index.json"), "utf8"), blobs });
}
