// What every repository route starts from: the repository name, parsed once by the
// `repository` middleware (the spec's grammar; NAME_INVALID otherwise).
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../http/app-env";
import { parseName } from "../oci/reference";

/** Registered before each repository route; the routes read c.get("repo"). */
export const repository: MiddlewareHandler<AppEnv> = async function repository(c, next) {
  c.set("repo", parseName(c.req.param("name") ?? ""));
  await next();
};
