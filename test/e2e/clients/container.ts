// Runs a command inside a container of a pulled image through testcontainers, against the
// same dockerd the docker CLI uses. Ryuk is off (its image cannot be pulled offline) and the
// container has no network: it only reads files from its own image.
process.env.TESTCONTAINERS_RYUK_DISABLED ??= "true";
process.env.TESTCONTAINERS_HOST_OVERRIDE ??= "127.0.0.1";

export interface ExecOutput {
  exitCode: number;
  output: string;
}

/** Starts `image` (already present locally, never pulled) with a long sleep, runs each
 *  command in it, then removes the container. */
export async function execInImage(image: string, commands: string[][]): Promise<ExecOutput[]> {
  const { GenericContainer } = await import("testcontainers");
  const container = await new GenericContainer(image)
    .withNetworkMode("none")
    .withCommand(["/bin/sleep", "600"])
    .withPullPolicy({ shouldPull: () => false })
    .start();
  try {
    const results: ExecOutput[] = [];
    for (const command of commands) {
      const result = await container.exec(command);
      results.push({ exitCode: result.exitCode, output: result.stdout });
    }
    return results;
  } finally {
    await container.stop({ remove: true, timeout: 0 });
  }
}
