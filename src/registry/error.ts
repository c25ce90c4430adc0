import { MirrorError } from '../common/errors.js'

/** A registry request that failed: its HTTP status (none for a network error), and whether it is final. */
export class RegistryError extends MirrorError {
  constructor(
    message: string,
    /** HTTP status, or undefined for a network error. */
    readonly status?: number,
    permanent = false
  ) {
    super(message, permanent)
  }
}
