// Adds V8 flags to the binary Cap'n Proto config Miniflare hands workerd on stdin.
//
// Why: workerd 1.20260426.1 (the one Miniflare 4.20260426 runs) can hang for good in V8's
// cppgc sweeper (docs/local-runtime.md, "A workerd that stops answering"). V8 15.1 ignores the
// atomic sweeping workerd asks for and sweeps incrementally *and concurrently*; as we read
// V8's sweeper, the hang is the main thread re-posting its sweep task while it waits on the
// concurrent sweeper. `--single-threaded-gc` leaves no concurrent sweeper to wait on. workerd reads V8 flags only
// from its config (`Config.v8Flags`), and Miniflare offers no option for them, so the local
// runtime starts workerd through workerd-with-v8-flags.sh, which passes the config through this.
//
// Plain JavaScript because the wrapper runs it with node before every workerd start, where a
// TypeScript loader would add a second to each start. Hand-written because the only
// Cap'n Proto library on the machine is bundled inside Miniflare, unexported; the change is
// one pointer and one appended segment, and test/e2e/runtime-watchdog.test.ts checks that
// workerd reads the flags (an unknown one makes it refuse to start) and reads the rewritten
// message back for any layout.

/** Index of `v8Flags` among Config's pointer fields (workerd.capnp: `v8Flags @2 :List(Text)`). */
const V8_FLAGS_POINTER = 2;

/**
 * The same message with `flags` as the root Config's v8Flags, which must be unset. The flags go
 * in a new last segment, reached from the root by a far pointer, so no byte of the original
 * segments moves.
 * @param {Uint8Array} message a framed (unpacked) Cap'n Proto message whose root is a Config
 * @param {string[]} flags
 * @returns {Uint8Array}
 */
export function withV8Flags(message, flags) {
  const view = new DataView(message.buffer, message.byteOffset, message.byteLength);
  const need = (ok, what) => {
    if (!ok) throw new Error(`workerd config: ${what}`);
  };
  need(message.byteLength >= 8, "shorter than a message header");
  const segmentCount = view.getUint32(0, true) + 1;
  const headerBytes = padTo8(4 * (1 + segmentCount));
  need(segmentCount < 512 && message.byteLength >= headerBytes, "a header past the message's end");
  const segmentStarts = [];
  let at = headerBytes;
  for (let i = 0; i < segmentCount; i++) {
    segmentStarts.push(at);
    at += 8 * view.getUint32(4 * (1 + i), true);
  }
  need(at === message.byteLength, "segment sizes that do not add up to its length");

  // The root pointer (segment 0, word 0), following one far pointer if the root lives elsewhere.
  let pointerAt = segmentStarts[0];
  let word = view.getBigUint64(pointerAt, true);
  if ((word & 3n) === 2n) {
    need((word & 4n) === 0n, "a double-far root pointer");
    const segment = Number(word >> 32n);
    need(segment < segmentCount, "a root far pointer to a segment it does not have");
    pointerAt = segmentStarts[segment] + 8 * Number((word & 0xffffffffn) >> 3n);
    word = view.getBigUint64(pointerAt, true);
  }
  need((word & 3n) === 0n && word !== 0n, "a root that is not a struct");
  const offsetWords = Number(BigInt.asIntN(30, (word & 0xffffffffn) >> 2n));
  const dataWords = Number((word >> 32n) & 0xffffn);
  const pointerCount = Number(word >> 48n);
  need(pointerCount > V8_FLAGS_POINTER, "a Config without a v8Flags field");
  const slotAt = pointerAt + 8 + 8 * (offsetWords + dataWords + V8_FLAGS_POINTER);
  need(slotAt + 8 <= message.byteLength, "a root struct past the message's end");
  need(view.getBigUint64(slotAt, true) === 0n, "v8Flags already set");

  // The new segment: a landing pad, the list of text pointers, then the NUL-terminated texts.
  const texts = flags.map((flag) => new TextEncoder().encode(`${flag}\0`));
  const textWords = texts.map((t) => padTo8(t.byteLength) / 8);
  const segmentWords = 1 + flags.length + textWords.reduce((a, b) => a + b, 0);
  const segment = new DataView(new ArrayBuffer(8 * segmentWords));
  segment.setBigUint64(0, listPointer(0, 6, flags.length), true); // 6: elements are pointers
  let textAt = 1 + flags.length;
  texts.forEach((text, i) => {
    const pointerWord = 1 + i;
    segment.setBigUint64(8 * pointerWord, listPointer(textAt - (pointerWord + 1), 2, text.byteLength), true); // 2: bytes
    new Uint8Array(segment.buffer, 8 * textAt, text.byteLength).set(text);
    textAt += textWords[i];
  });

  const newHeaderBytes = padTo8(4 * (2 + segmentCount));
  const out = new Uint8Array(newHeaderBytes + (message.byteLength - headerBytes) + segment.byteLength);
  const outView = new DataView(out.buffer);
  outView.setUint32(0, segmentCount, true);
  for (let i = 0; i < segmentCount; i++) outView.setUint32(4 * (1 + i), view.getUint32(4 * (1 + i), true), true);
  outView.setUint32(4 * (1 + segmentCount), segmentWords, true);
  out.set(message.subarray(headerBytes), newHeaderBytes);
  out.set(new Uint8Array(segment.buffer), newHeaderBytes + (message.byteLength - headerBytes));
  // A far pointer to the landing pad at word 0 of the new segment.
  outView.setBigUint64(slotAt - headerBytes + newHeaderBytes, 2n | (BigInt(segmentCount) << 32n), true);
  return out;
}

/** A list pointer: `offsetWords` from the end of the pointer, `count` elements of `sizeCode`. */
function listPointer(offsetWords, sizeCode, count) {
  return 1n | (BigInt.asUintN(30, BigInt(offsetWords)) << 2n) | (BigInt(sizeCode) << 32n) | (BigInt(count) << 35n);
}

function padTo8(bytes) {
  return Math.ceil(bytes / 8) * 8;
}

// As a command: the message on stdin, the flags as arguments, the new message on stdout.
if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  process.stdout.write(withV8Flags(new Uint8Array(Buffer.concat(chunks)), process.argv.slice(2)));
}
