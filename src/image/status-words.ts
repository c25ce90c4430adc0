/**
 * How statuses are said to people: one vocabulary for the job summary, the
 * issue comment and the log. The status values themselves (`unchanged`, the
 * outputs' names, the `results` JSON) are the public contract and stay as
 * they are; `unchanged` reads "up to date" wherever a person reads it.
 */
import { STATUSES, type MirrorResult } from './results.js'

// Maps, so a status from a results file such as `constructor` finds nothing rather than Object's.
const WORDS = new Map<string, string>([
  ['copied', 'copied'],
  ['unchanged', 'up to date'],
  ['planned', 'planned'],
  ['deferred', 'deferred'],
  ['rejected', 'rejected'],
  ['failed', 'failed']
])
const ICONS = new Map<string, string>([
  ['copied', '✅'],
  ['unchanged', '✅'],
  ['planned', '📝'],
  ['deferred', '⏳'],
  ['rejected', '⛔'],
  ['failed', '❌']
])

/** Results may come from files other jobs wrote: read a field only when it is a string. */
const str = (value: unknown): string => (typeof value === 'string' ? value : '')

/** `up to date` for `unchanged`; `unknown` for anything that is not a status. */
export function statusWord(status: unknown): string {
  return WORDS.get(str(status)) ?? 'unknown'
}

/** The word with its icon, as a table shows it: `✅ up to date`. */
export function statusLabel(status: unknown): string {
  return `${ICONS.get(str(status)) ?? '❔'} ${statusWord(status)}`
}

const MIRRORED = new Set(['copied', 'unchanged', 'planned'])

/** Whether the image is (or, planned, will be) in the mirror: copied, up to date or planned. */
export function isMirrored(status: unknown): boolean {
  return MIRRORED.has(str(status))
}

/** Whether the status needs a person's attention (listed first, reasons shown). */
export function isProblem(status: unknown): boolean {
  return !isMirrored(status)
}

/** `9 image(s): 6 copied, 3 up to date`, in the order of STATUSES, unknown ones counted. */
export function totalsLine(results: readonly MirrorResult[]): string {
  const counts = new Map<string, number>()
  for (const r of results) counts.set(str(r.status), (counts.get(str(r.status)) ?? 0) + 1)
  const parts = STATUSES.filter(s => (counts.get(s) ?? 0) > 0).map(
    s => `${counts.get(s)} ${statusWord(s)}`
  )
  const unknown = results.filter(r => !WORDS.has(str(r.status))).length
  if (unknown > 0) parts.push(`${unknown} unknown`)
  return `${results.length} image(s): ${parts.join(', ') || 'none'}`
}

/** `sha256:0123456789ab`, enough to tell digests apart in a table. */
export function shortDigest(digest: string | undefined): string {
  if (typeof digest !== 'string' || !digest) return ''
  const [algorithm, hex] = digest.split(':')
  return hex ? `${algorithm}:${hex.slice(0, 12)}` : digest
}

/**
 * A reference as a narrow cell shows it: a digest in it shortened
 * (`repo@sha256:0123456789ab…`); the `results` output has it whole.
 */
export function shortReference(reference: string): string {
  return reference.replace(/@([a-z0-9]+):([a-f0-9]{12})[a-f0-9]{20,}$/, '@$1:$2…')
}
