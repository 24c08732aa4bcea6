// The events configuration (src/config/webhooks.ts, src/config/public-address.ts): every
// refusal of WEBHOOKS_JSON and the events variables, as a table, with the rule that no message
// shows a URL's query string or a secret; and which webhook wants which event.
import { describe, expect, it } from "vitest";
import { RegistryError } from "../src/errors";
import { type EventsVariables, parseEventsConfig, webhookWants } from "../src/config/webhooks";
import { nonPublicReason } from "../src/config/public-address";

const SECRET = "hook-secret-0123456789";
const secrets = { HOOK_KEY: SECRET, SHORT_KEY: "too-short", EMPTY_KEY: "" };
const hook = (fields: Record<string, unknown>) => ({ events: ["push"], secret_env: "HOOK_KEY", ...fields });
const parse = (webhooks: unknown, vars: EventsVariables = {}) =>
  parseEventsConfig({ WEBHOOKS_JSON: JSON.stringify(webhooks), ...vars }, secrets);

/** Hosts a webhook may not name unless WEBHOOKS_ALLOW_PRIVATE=true, each in a URL with a
 *  query string that must never reach a message. */
const NON_PUBLIC_URLS: [string, string][] = [
  ["http://127.0.0.1/hook?token=QUERYSECRET", "loopback"],
  ["http://127.1.2.3:8080/hook?token=QUERYSECRET", "loopback"],
  ["http://2130706433/hook?token=QUERYSECRET", "loopback"], // decimal 127.0.0.1
  ["http://0x7f.0.0.1/hook?token=QUERYSECRET", "loopback"], // hex
  ["http://0177.0.0.1/hook?token=QUERYSECRET", "loopback"], // octal
  ["http://017700000001/hook?token=QUERYSECRET", "loopback"], // one octal number
  ["http://127.0.0.1./hook?token=QUERYSECRET", "loopback"], // trailing dot
  ["http://10.1.2.3/hook?token=QUERYSECRET", "private"],
  ["http://172.16.0.1/hook?token=QUERYSECRET", "private"],
  ["http://172.31.255.255/hook?token=QUERYSECRET", "private"],
  ["http://192.168.1.10/hook?token=QUERYSECRET", "private"],
  ["http://100.64.0.1/hook?token=QUERYSECRET", "shared (CGNAT)"],
  ["http://100.127.255.254/hook?token=QUERYSECRET", "shared (CGNAT)"],
  ["http://169.254.169.254/latest/meta-data?token=QUERYSECRET", "link-local"],
  ["http://0.0.0.0/hook?token=QUERYSECRET", "this-network"],
  ["http://198.18.0.1/hook?token=QUERYSECRET", "benchmarking"],
  ["http://192.0.2.1/hook?token=QUERYSECRET", "documentation"],
  ["http://224.0.0.1/hook?token=QUERYSECRET", "multicast"],
  ["http://255.255.255.255/hook?token=QUERYSECRET", "reserved"],
  ["http://[::1]/hook?token=QUERYSECRET", "loopback"],
  ["http://[::]/hook?token=QUERYSECRET", "unspecified"],
  ["http://[::ffff:127.0.0.1]/hook?token=QUERYSECRET", "loopback"], // IPv4-mapped
  ["http://[::ffff:7f00:1]/hook?token=QUERYSECRET", "loopback"],
  ["http://[::ffff:10.0.0.1]/hook?token=QUERYSECRET", "private"],
  ["http://[64:ff9b::a9fe:a9fe]/hook?token=QUERYSECRET", "link-local"], // NAT64 of 169.254.169.254
  ["http://[2002:c0a8:0101::1]/hook?token=QUERYSECRET", "private"], // 6to4 of 192.168.1.1
  ["http://[fe80::1]/hook?token=QUERYSECRET", "link-local"],
  ["http://[fc00::1]/hook?token=QUERYSECRET", "unique local"],
  ["http://[fd12:3456::1]/hook?token=QUERYSECRET", "unique local"],
  ["http://[ff02::1]/hook?token=QUERYSECRET", "multicast"],
  ["http://[2001:db8::1]/hook?token=QUERYSECRET", "documentation"],
  ["http://[::127.0.0.1]/hook?token=QUERYSECRET", "reserved"], // IPv4-compatible
  ["http://localhost:9000/hook?token=QUERYSECRET", "local name"],
  ["http://LOCALHOST/hook?token=QUERYSECRET", "local name"],
  ["http://api.localhost/hook?token=QUERYSECRET", "local name"],
  ["http://printer.local/hook?token=QUERYSECRET", "local name"],
  ["http://vault.internal/hook?token=QUERYSECRET", "local name"],
  ["http://metadata/computeMetadata?token=QUERYSECRET", "single-label name"],
];

describe("webhook URLs", () => {
  it.each(NON_PUBLIC_URLS)("refuses %s (%s) unless WEBHOOKS_ALLOW_PRIVATE=true", (url, reason) => {
    expect(nonPublicReason(new URL(url).hostname)).toBe(reason);
    let message = "";
    try {
      parse([hook({ url })]);
    } catch (error) {
      expect(error).toBeInstanceOf(RegistryError);
      message = (error as Error).message;
    }
    expect(message).toContain("WEBHOOKS_JSON[0].url points at a non-public address");
    expect(message).toContain(reason);
    expect(message).not.toContain("QUERYSECRET");
    expect(message).not.toContain("/hook");
    const allowed = parse([hook({ url })], { WEBHOOKS_ALLOW_PRIVATE: "true" });
    expect(allowed.webhooks[0]!.url).toBe(new URL(url).href);
  });

  it.each([
    "https://hooks.example.com/registry?token=abc",
    "http://93.184.216.34:8080/hook",
    "https://8.8.8.8/",
    "https://[2606:4700:4700::1111]/hook",
    "https://[::ffff:8.8.8.8]/hook",
    "https://[64:ff9b::808:808]/hook",
    "https://172.32.0.1/", // just past 172.16.0.0/12
    "https://100.128.0.1/", // just past 100.64.0.0/10
  ])("accepts the public address %s", (url) => {
    expect(parse([hook({ url })]).webhooks[0]).toMatchObject({ url: new URL(url).href, host: new URL(url).host });
  });
});

/** [what, WEBHOOKS_JSON (or other variables), the message's expected part]. */
const REFUSALS: [string, unknown, RegExp][] = [
  ["not JSON", "{", /WEBHOOKS_JSON is not valid JSON/],
  ["not a list", { url: "https://a.example.com" }, /must be a JSON array/],
  [
    "too many",
    Array.from({ length: 21 }, () => hook({ url: "https://a.example.com/" })),
    /WEBHOOKS_JSON lists 21 entries; at most 20/,
  ],
  ["an entry that is not an object", ["https://a.example.com"], /\[0\] must be an object/],
  ["an unknown field", [hook({ url: "https://a.example.com/", secret: SECRET })], /unknown field "secret"/],
  ["a URL that is not a string", [hook({ url: 42 })], /\[0\]\.url must be a string/],
  ["a URL that does not parse", [hook({ url: "not a url?token=QUERYSECRET" })], /\[0\]\.url is not a URL/],
  ["ftp", [hook({ url: "ftp://files.example.com/x?token=QUERYSECRET" })], /must be http or https/],
  ["file", [hook({ url: "file:///etc/passwd" })], /must be http or https/],
  ["javascript", [hook({ url: "javascript:alert(1)" })], /must be http or https/],
  ["credentials", [hook({ url: "https://user:QUERYSECRET@a.example.com/" })], /must not carry credentials/],
  ["a user name", [hook({ url: "https://QUERYSECRET@a.example.com/" })], /must not carry credentials/],
  ["no events", [hook({ url: "https://a.example.com/", events: [] })], /events must be a non-empty list/],
  ["events not a list", [hook({ url: "https://a.example.com/", events: "push" })], /events must be a non-empty list/],
  ["an unknown event", [hook({ url: "https://a.example.com/", events: ["push", "upload"] })], /unknown event "upload"/],
  ["a bad pattern", [hook({ url: "https://a.example.com/", repositories: "Team A/*" })], /repositories must be/],
  ["an empty pattern list", [hook({ url: "https://a.example.com/", repositories: [] })], /repositories must be/],
  ["an unknown format", [hook({ url: "https://a.example.com/", format: "json" })], /format must be distribution or/],
  ["no secret_env", [{ url: "https://a.example.com/", events: ["*"] }], /secret_env must name the secret/],
  ["a bad secret name", [hook({ url: "https://a.example.com/", secret_env: "a-b" })], /secret_env must name/],
  [
    "an unset secret",
    [hook({ url: "https://a.example.com/", secret_env: "NOPE" })],
    /secret NOPE \(secret_env\) is not set/,
  ],
  ["an empty secret", [hook({ url: "https://a.example.com/", secret_env: "EMPTY_KEY" })], /EMPTY_KEY .* is not set/],
  ["a short secret", [hook({ url: "https://a.example.com/", secret_env: "SHORT_KEY" })], /at least 16 characters/],
];

const VARIABLE_REFUSALS: [EventsVariables, RegExp][] = [
  [{ WEBHOOKS_ALLOW_PRIVATE: "yes" }, /WEBHOOKS_ALLOW_PRIVATE must be true or false/],
  [{ EVENTS_RETENTION_DAYS: "-1" }, /EVENTS_RETENTION_DAYS must be an integer between 0 and 3650/],
  [{ EVENTS_RETENTION_DAYS: "1.5" }, /EVENTS_RETENTION_DAYS must be an integer/],
  [{ EVENTS_RETENTION_DAYS: "3651" }, /EVENTS_RETENTION_DAYS/],
  [{ PULL_EVENTS_SAMPLE_RATE: "2" }, /PULL_EVENTS_SAMPLE_RATE must be a number between 0 and 1/],
  [{ PULL_EVENTS_SAMPLE_RATE: "half" }, /PULL_EVENTS_SAMPLE_RATE/],
  [{ WEBHOOKS_RETRY_DELAY_SECONDS: "0" }, /WEBHOOKS_RETRY_DELAY_SECONDS must be an integer between 1 and 3600/],
];

describe("parseEventsConfig", () => {
  it.each(REFUSALS)("refuses %s, naming no query string or secret", (_what, webhooks, expected) => {
    const json = typeof webhooks === "string" ? webhooks : JSON.stringify(webhooks);
    const run = () => parseEventsConfig({ WEBHOOKS_JSON: json }, secrets);
    expect(run).toThrow(RegistryError);
    expect(run).toThrow(expected);
    const message = (() => {
      try {
        run();
      } catch (error) {
        return (error as Error).message;
      }
    })();
    expect(message).not.toContain("QUERYSECRET");
    expect(message).not.toContain(SECRET);
  });

  it.each(VARIABLE_REFUSALS)("refuses %o", (vars, expected) => {
    expect(() => parseEventsConfig(vars, secrets)).toThrow(expected);
  });

  it("has defaults: no webhooks, 30 days of log, no pull events, 10 s first retry", () => {
    expect(parseEventsConfig({}, {})).toEqual({
      webhooks: [],
      retentionDays: 30,
      pullSampleRate: 0,
      retryDelaySeconds: 10,
      deadLetterQueue: "registry-events-dlq",
    });
  });

  it("reads every field, with distribution and every repository as defaults", () => {
    const [first, second] = parse([
      hook({ url: "https://a.example.com/x?t=1" }),
      hook({
        url: "https://b.example.com/",
        events: ["*"],
        repositories: ["team-a/*", "prod/*"],
        format: "cloudevents",
      }),
    ]).webhooks;
    expect(first).toMatchObject({ index: 0, host: "a.example.com", format: "distribution", repositories: ["*"] });
    expect(first!.secret).toBe(SECRET);
    expect([...first!.kinds]).toEqual(["push"]);
    expect(second).toMatchObject({ index: 1, format: "cloudevents", repositories: ["team-a/*", "prod/*"] });
    expect([...second!.kinds].sort()).toEqual(["delete", "gc", "mirror", "mount", "pull", "push", "tag"]);
  });
});

describe("webhookWants", () => {
  const [pushes, deletes, team] = parse([
    hook({ url: "https://a.example.com/", events: ["push"] }),
    hook({ url: "https://b.example.com/", events: ["delete", "gc"] }),
    hook({ url: "https://c.example.com/", events: ["*"], repositories: "team-a/*" }),
  ]).webhooks as [never, never, never];

  it.each([
    ["push", null, "x/app", [true, false, false]],
    ["push", null, "team-a/app", [true, false, true]],
    ["tag", "moved", "x/app", [true, false, false]],
    ["tag", "deleted", "x/app", [false, true, false]],
    ["delete", null, "team-a/deep/app", [false, true, true]],
    ["gc", null, null, [false, true, true]],
    ["mount", null, "x/app", [false, false, false]],
  ] as const)("%s %s in %s", (kind, action, repo, expected) => {
    expect([pushes, deletes, team].map((w) => webhookWants(w, kind, action, repo))).toEqual(expected);
  });
});
