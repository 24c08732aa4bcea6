// Types `env` from "cloudflare:workers" (used by tests) with the registry's bindings.
declare namespace Cloudflare {
  interface Env {
    REGISTRY: R2Bucket;
    UPLOADS: KVNamespace;
  }
}
