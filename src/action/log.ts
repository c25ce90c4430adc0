/** Debug lines for a user who turned on step debug logging (RUNNER_DEBUG=1). */
import * as core from '@actions/core'

/**
 * A debug line, built only when debug logging is on: planning makes thousands
 * of requests, and a line each would cost time in every run for nobody. The
 * runner's command escapes line breaks, so a stranger's text cannot start a
 * workflow command from here.
 */
export function debug(message: () => string): void {
  if (core.isDebug()) core.debug(message())
}
