// The one error type the CLI shows to people: a message plus what to do about it.
export class CliError extends Error {
  constructor(
    message: string,
    /** The next step for the user, printed under the message. */
    readonly hint: string | null = null,
    /** HTTP status behind the error, when there was one. */
    readonly status: number | null = null,
    /** False for errors a retry cannot fix (auth refused, body too large, bad input). */
    readonly retryable = false,
  ) {
    super(message);
  }
}

/** Network-level failures (reset, refused, timeout) are worth retrying. */
export function isRetryable(error: unknown): boolean {
  if (error instanceof CliError) return error.retryable;
  const code = (error as { code?: string } | null)?.code;
  return (
    typeof code === "string" || (error instanceof Error && /socket|network|ECONN|EPIPE|aborted/i.test(error.message))
  );
}
