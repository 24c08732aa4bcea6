// The local runtime's drain worker (scripts/local-runtime/runtime.ts): the front door sends it every request
// with a body; it passes each to the registry Worker through a service binding and reads the
// client's body to its end before answering. workerd resets a connection whose request body was not read when the answer
// went out, and a reset loses the answer: a 413 or 401 sent before a big body was read
// reached the client in only 7 of 20 tries. Production's edge has no such reset.
// (A native pipeTo cannot be stopped and drained reliably once the registry has answered,
// so the body is relayed here, in reads of at least READ_BYTES to keep the per-chunk cost low.)
const READ_BYTES = 256 * 1024;

/** Reads the client's body: BYOB reads of READ_BYTES where the stream allows, else chunks. */
function bodyReader(body) {
  try {
    const byob = body.getReader({ mode: "byob" });
    return () => byob.readAtLeast(READ_BYTES, new Uint8Array(READ_BYTES));
  } catch {
    const plain = body.getReader();
    return () => plain.read();
  }
}

export default {
  async fetch(request, env) {
    if (request.body === null) return env.REGISTRY.fetch(request);
    const length = request.headers.get("content-length");
    // A known length stays known (R2 needs it to store a body in one put).
    const { readable, writable } =
      length !== null ? new FixedLengthStream(Number(length)) : new IdentityTransformStream();
    const writer = writable.getWriter();
    const read = bodyReader(request.body);
    let answered = false;
    let onAnswer;
    const responded = new Promise((resolve) => (onAnswer = resolve));
    const relay = (async () => {
      for (;;) {
        let chunk;
        try {
          chunk = await read();
        } catch (error) {
          // The client went away mid-body: the registry sees its body fail, as it would.
          await writer.abort(error).catch(() => {});
          return;
        }
        if (chunk.value && chunk.value.byteLength > 0 && !answered) {
          // Once the registry has answered, the rest of the body is read and dropped.
          await Promise.race([writer.ready, responded]);
          if (!answered) writer.write(chunk.value).catch(() => (answered = true));
        }
        if (chunk.done) {
          if (!answered) await writer.close().catch(() => {});
          return;
        }
      }
    })();
    try {
      return await env.REGISTRY.fetch(new Request(request, { body: readable }));
    } finally {
      answered = true;
      onAnswer();
      writer.abort().catch(() => {});
      await relay.catch(() => {});
    }
  },
  async scheduled(controller, env) {
    await env.REGISTRY.scheduled({ cron: controller.cron, scheduledTime: new Date(controller.scheduledTime) });
  },
};
