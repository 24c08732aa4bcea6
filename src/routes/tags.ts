// GET /v2/<name>/tags/list (end-8a/8b): lexical order, n/last paging, Link to the next page.
import { Hono } from "hono";
import type { AppEnv } from "../app-env";
import { requireAccess } from "../auth/middleware";
import { nextPageLink, parsePageRequest } from "../oci/pagination";
import { RegistryError } from "../errors";
import { listTags } from "../storage/manifests";
import { repositoryExists } from "../storage/repositories";
import { repoName } from "./params";
import { proxyDeps } from "../proxy/hooks";
import { pullThroughTagList } from "../proxy/listings";

export const tagRoutes = new Hono<AppEnv>();

tagRoutes.get("/v2/:name{.+}/tags/list", async (c) => {
  const repo = repoName(c);
  requireAccess(c, repo, "pull");
  const upstream = await pullThroughTagList(proxyDeps(c), repo, new URL(c.req.url).searchParams);
  if (upstream) return upstream;
  const config = c.get("config");
  const page = parsePageRequest(c.req.query("n"), c.req.query("last"), config.maxPageSize);
  const limit = page.limit ?? config.maxPageSize;
  const { tags, more } = await listTags(c.get("storage"), repo, limit, page.last);
  // An empty page of a repository never pushed to is 404 NAME_UNKNOWN (end-8a), as
  // distribution answers; a known repository with no tags left lists none.
  if (tags.length === 0 && !(await repositoryExists(c.get("storage"), repo))) {
    throw new RegistryError("NAME_UNKNOWN", `repository unknown: ${repo}`);
  }
  if (more && tags.length > 0) c.header("Link", nextPageLink(`/v2/${repo}/tags/list`, page.limit, tags[tags.length - 1]!));
  return c.json({ name: repo, tags });
});
