// Reads a whole stream into memory, but never more than `max` bytes: used for manifests
// (4 MiB) from clients and from upstreams. Callers turn "too large" into their own error.
// And reads a stream of known length into a buffer the caller already holds (a session's
// tail into a pooled part buffer), allocating nothing of that length.

/** The bytes, or null once the stream passes `max` bytes (the rest is not read). */
export async function readBounded(body: ReadableStream<Uint8Array> | null, max: number): Promise<Uint8Array | null> {
  if (!body) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > max) {
      reader.cancel().catch(() => {});
      return null;
    }
    chunks.push(value);
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}

/**
 * Reads exactly `length` bytes of `body` into the start of `buffer`. A byte stream is read
 * with a BYOB reader straight into the buffer; another stream is copied chunk by chunk.
 * Returns the view of `buffer` to use from then on (a BYOB read moves its memory to a new
 * ArrayBuffer, same size and offset), or null when the stream holds a different length.
 */
export async function readInto(
  body: ReadableStream<Uint8Array>,
  buffer: Uint8Array,
  length: number,
): Promise<Uint8Array | null> {
  if (length > buffer.length)
    throw new RangeError(`readInto: ${length} bytes do not fit a ${buffer.length}-byte buffer`);
  let byob: ReadableStreamBYOBReader | null = null;
  try {
    byob = body.getReader({ mode: "byob" });
  } catch {
    return copyInto(body.getReader(), buffer, length);
  }
  const { byteOffset, length: size } = buffer;
  let view = buffer;
  let filled = 0;
  while (filled < length) {
    const result = await byob.read(new Uint8Array(view.buffer, byteOffset + filled, length - filled));
    if (result.value) {
      view = new Uint8Array(result.value.buffer as ArrayBuffer, byteOffset, size);
      filled += result.value.length;
    }
    if (result.done) break;
  }
  // One byte more than promised means the stream is not what its length said.
  const extra = filled === length ? await byob.read(new Uint8Array(1)) : { done: true };
  if (!extra.done) await byob.cancel().catch(() => {});
  return filled === length && extra.done ? view : null;
}

async function copyInto(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  buffer: Uint8Array,
  length: number,
): Promise<Uint8Array | null> {
  let filled = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return filled === length ? buffer : null;
    if (filled + value.length > length) {
      await reader.cancel().catch(() => {});
      return null;
    }
    buffer.set(value, filled);
    filled += value.length;
  }
}
