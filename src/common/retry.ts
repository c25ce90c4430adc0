/**
 * Waiting between attempts, in one place: exponential backoff with jitter,
 * caps, and the server's own Retry-After when it gives one. The registry
 * client retries requests, the copy loop retries images; both wait with these.
 */

export const sleep = (ms: number): Promise<void> => new Promise(resolve => setTimeout(resolve, ms))

/**
 * `baseMs` doubled per attempt (0 for the first retry), capped at `capMs`, then spread over
 * ±25 % so clients that failed together do not all come back together.
 */
export function backoffDelay(attempt: number, baseMs: number, capMs = Infinity): number {
  return Math.min(baseMs * 2 ** attempt, capMs) * (0.75 + Math.random() / 2)
}

/** Seconds or an HTTP date, as milliseconds from now; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000
  const date = Date.parse(value)
  return Number.isNaN(date) ? undefined : Math.max(0, date - now)
}

/**
 * The wait before retrying an answer: what the server asked for (Retry-After), else backoff;
 * never longer than `capMs`, so one answer cannot stall a run for hours.
 */
export function answerDelay(
  retryAfter: string | undefined,
  attempt: number,
  baseMs: number,
  capMs: number
): number {
  return Math.min(parseRetryAfter(retryAfter) ?? backoffDelay(attempt, baseMs), capMs)
}
