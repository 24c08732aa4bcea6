// Throttling of password guessing with the Workers Rate Limiting binding (wrangler.toml
// [[ratelimits]]; Miniflare simulates it under wrangler dev and in the tests). Every sign-in
// whose password must really be checked spends one unit per client (CF-Connecting-IP, which
// Cloudflare's edge sets) and one per user name as typed, known or not, so that a 429 says
// nothing about which names exist. Credentials this isolate already verified skip it (see
// credentials.ts), so clients that send Basic on every request are not slowed down.
// Over either limit the answer is 429 TOOMANYREQUESTS with Retry-After, before any check.
import type { Context } from "hono";
import type { AppEnv } from "../http/app-env";
import { RegistryError } from "../errors";

/** The `period` of both [[ratelimits]] entries in wrangler.toml: how long a client waits. */
export const LOGIN_THROTTLE_PERIOD_SECONDS = 60;
const MAX_KEY_LENGTH = 256;

/** Spends one attempt for `username`; throws 429 when the client or the name is over its limit. */
export type LoginThrottle = (username: string) => Promise<void>;

const NO_THROTTLE: LoginThrottle = async () => {};

/** The client an attempt counts against: its IPv4 address, or the /64 of its IPv6 address,
 *  since one IPv6 client commonly holds a whole /64 and could otherwise rotate through it. */
export function clientKey(ip: string | undefined): string {
  if (ip === undefined || ip === "") return "unknown";
  if (!ip.includes(":")) return ip.slice(0, MAX_KEY_LENGTH);
  const [head = "", tail = ""] = ip.toLowerCase().split("::");
  const left = head === "" ? [] : head.split(":");
  const right = ip.includes("::") && tail !== "" ? tail.split(":") : [];
  const groups = ip.includes("::")
    ? [...left, ...Array(Math.max(0, 8 - left.length - right.length)).fill("0"), ...right]
    : left;
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ""))
    .join(":")}::/64`.slice(0, MAX_KEY_LENGTH);
}

export function loginThrottle<E extends AppEnv>(c: Context<E>): LoginThrottle {
  const { LOGIN_LIMIT_PER_CLIENT: perClient, LOGIN_LIMIT_PER_USER: perUser } = c.env;
  if (!perClient && !perUser) return NO_THROTTLE;
  const client = clientKey(c.req.header("CF-Connecting-IP"));
  return async function spendLoginAttempt(username) {
    const [byClient, byUser] = await Promise.all([
      perClient?.limit({ key: `client:${client}` }),
      perUser?.limit({ key: `user:${username.slice(0, MAX_KEY_LENGTH)}` }),
    ]);
    if (byClient?.success === false || byUser?.success === false) {
      throw new RegistryError("TOOMANYREQUESTS", "too many sign-in attempts; try again later", {
        "Retry-After": String(LOGIN_THROTTLE_PERIOD_SECONDS),
      });
    }
  };
}
