/**
 * The one error base for failures a retry may or may not cure, like
 * go-containerregistry's transport errors answering whether they are
 * temporary: the registry client, the engines and the copy loop throw
 * subclasses of it, and every retry decision reads `permanent` here.
 */

/** A failure that says whether trying again can help. */
export class MirrorError extends Error {
  constructor(
    message: string,
    /** Retrying will not help (wrong credentials, denied, missing, malformed). */
    readonly permanent: boolean
  ) {
    super(message)
  }
}

/** Whether a thrown value says no retry can cure it; anything else is worth another try. */
export function isPermanent(error: unknown): boolean {
  return error instanceof MirrorError && error.permanent
}

/** What went wrong, as text, whatever was thrown (an Error's message, else the value itself). */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
