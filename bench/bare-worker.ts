// The baseline for the benchmark: a worker that only streams request bodies into R2 and
// objects back out, with no registry logic. Its throughput is what the platform gives.
interface BareEnv {
  BUCKET: R2Bucket;
}

export default {
  async fetch(request: Request, env: BareEnv): Promise<Response> {
    const key = new URL(request.url).pathname.slice(1) || "object";
    if (request.method === "PUT") {
      await env.BUCKET.put(key, request.body);
      return new Response(null, { status: 201 });
    }
    const object = await env.BUCKET.get(key);
    if (!object) return new Response("missing", { status: 404 });
    return new Response(object.body, { headers: { "Content-Type": "application/octet-stream" } });
  },
} satisfies ExportedHandler<BareEnv>;
