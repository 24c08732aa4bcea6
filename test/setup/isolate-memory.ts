// Runs before each workers test: what the isolate remembers between requests (the links the
// blob read path keeps, src/storage/link-cache.ts) starts empty, as storage does after a
// test's reset(), which deletes objects without going through the registry.
import { beforeEach } from "vitest";
import { forgetLinks } from "../../src/storage/link-cache";

beforeEach(() => {
  forgetLinks();
});
