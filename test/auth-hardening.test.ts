// The hostile review's auth findings (issue 15), each with the attack it saw: credential
// kinds that share a name must not share an identity; refresh tokens die with the credential
// they came from; token requests are capped so that every issued token is usable; failed
// logins are throttled; the Bearer challenge names the configured public URL, not Host.
import { beforeAll, describe, expect, it } from "vitest";
import { hashPassword } from "../src/auth/password-hash";
import { basic, fetcher, type Fetch } from "./auth-setup";
import { AUTH, seededBytes } from "./helpers";

let users: string;

beforeAll(async () => {
  users = JSON.stringify({
    // Named like the shared USERNAME login ("tester") of the test bindings.
    tester: { password: await hashPassword("team-tester-pw", 10_000), access: { "*": ["pull", "push", "delete"] } },
  });
});

describe("identity namespaces", () => {
  it("keeps a team user named like the shared login out of the shared login's upload session", async () => {
    const fetch: Fetch = fetcher({ AUTH_USERS_JSON: users });
    const start = await fetch("/v2/ns/app/blobs/uploads/", { method: "POST", headers: { Authorization: AUTH } });
    expect(start.status).toBe(202);
    const location = start.headers.get("Location")!;
    const intruder = basic("tester", "team-tester-pw");
    const patch = await fetch(location, { method: "PATCH", body: seededBytes(50, 1), headers: { Authorization: intruder, "Content-Type": "application/octet-stream" } });
    expect(patch.status).toBe(404);
    const status = await fetch(location, { headers: { Authorization: AUTH } });
    expect(status.status).toBe(204);
    expect(status.headers.get("Range")).toBe("0-0");
  });
});
