// The methods each endpoint answers. Routing finds a handler by path and method together, so
// when it finds none this tells "no such endpoint" (404) from "this endpoint, another method"
// (405 with Allow, as HTTP asks). Kept beside the route modules; the routes test checks that
// every listed method reaches a handler.
const ENDPOINTS: ReadonlyArray<readonly [RegExp, readonly string[]]> = [
  [/^\/v2\/$/, ["GET", "HEAD"]],
  [/^\/v2\/_catalog$/, ["GET", "HEAD"]],
  [/^\/v2\/token$/, ["GET", "HEAD", "POST"]],
  [/^\/v2\/_gc$/, ["POST"]],
  [/^\/v2\/_gc\/reports$/, ["GET", "HEAD"]],
  [/^\/v2\/_activity$/, ["GET", "HEAD"]],
  // Upload paths come before blob paths: "<name>/blobs/uploads/<id>" is not a blob digest.
  [/^\/v2\/.+\/blobs\/uploads\/$/, ["POST"]],
  [/^\/v2\/.+\/blobs\/uploads\/[^/]+$/, ["GET", "HEAD", "PATCH", "PUT", "DELETE"]],
  [/^\/v2\/.+\/blobs\/[^/]+$/, ["GET", "HEAD", "DELETE"]],
  [/^\/v2\/.+\/manifests\/[^/]+$/, ["GET", "HEAD", "PUT", "DELETE"]],
  [/^\/v2\/.+\/tags\/list$/, ["GET", "HEAD"]],
  [/^\/v2\/.+\/referrers\/[^/]+$/, ["GET", "HEAD"]],
];

/** The methods the endpoint at `path` answers, or null when no endpoint lives there. */
export function allowedMethods(path: string): readonly string[] | null {
  for (const [pattern, methods] of ENDPOINTS) if (pattern.test(path)) return methods;
  return null;
}
