// Reads one isolate's memory through Miniflare's inspector: `Runtime.getHeapUsage` on the
// isolate's own target, summed as V8 heap in use + embedder heap + ArrayBuffer backing stores
// (where part buffers live). wrangler dev's inspector proxy does not answer this call.
import { createRequire } from "node:module";

interface Socket {
  on(event: "open" | "message" | "error" | "close", listener: (data: unknown) => void): void;
  send(text: string): void;
  close(): void;
}

// `ws` comes with wrangler (no types are installed for it).
const WebSocket = createRequire(import.meta.url)("ws") as new (url: string) => Socket;

export interface HeapSampler {
  /** Stops sampling; the largest sum seen, in bytes. */
  stop(): Promise<number>;
}

/** Samples the isolate `target` (e.g. "core:user:registry") every `everyMs`. */
export async function sampleIsolateHeap(inspectorPort: number, target: string, everyMs = 100): Promise<HeapSampler> {
  const socket = new WebSocket(`ws://127.0.0.1:${inspectorPort}/${target}`);
  await new Promise<void>((resolve, reject) => {
    socket.on("open", () => resolve());
    socket.on("error", (error) => reject(error as Error));
  });
  let peak = 0;
  let id = 0;
  socket.on("message", (data) => {
    const reply = JSON.parse(String(data)) as {
      result?: { usedSize: number; embedderHeapUsedSize: number; backingStorageSize: number };
    };
    if (reply.result)
      peak = Math.max(
        peak,
        reply.result.usedSize + reply.result.embedderHeapUsedSize + reply.result.backingStorageSize,
      );
  });
  const ask = () => socket.send(JSON.stringify({ id: ++id, method: "Runtime.getHeapUsage" }));
  ask();
  const timer = setInterval(ask, everyMs);
  return {
    async stop() {
      clearInterval(timer);
      ask();
      await new Promise((resolve) => setTimeout(resolve, everyMs));
      socket.close();
      return peak;
    },
  };
}
