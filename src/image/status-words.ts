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

/** A count from a results file: a whole number, else none. */
const count = (value: unknown): number =>
  typeof value === 'number' && Number.isSafeInteger(value) && value > 0 ? value : 0

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`

/**
 * What came with an image, as people read it: `2 signatures, 1 attestation, 1 SBOM`, with how
 * many this run copied; '' when nothing did (or the result says nothing of it).
 */
export function attachedWords(r: Pick<MirrorResult, 'attached'>): string {
  const a = (r.attached ?? {}) as Record<string, unknown>
  const parts = [
    count(a.signatures) && plural(count(a.signatures), 'signature'),
    count(a.attestations) && plural(count(a.attestations), 'attestation'),
    count(a.sboms) && plural(count(a.sboms), 'SBOM'),
    count(a.other) && plural(count(a.other), 'other artifact')
  ].filter((p): p is string => Boolean(p))
  if (parts.length === 0) return ''
  const copied = count(a.copied)
  return `${parts.join(', ')}${copied ? ` (${copied} copied now)` : ''}`
}

/**
 * Said of a platform subset whose source index was signed or not: its index is new, so the
 * source index's own signatures cannot be verified against it; its platform images' can.
 */
export function subsetSigningWords(r: Pick<MirrorResult, 'attached'>): string {
  const from = (r.attached as Record<string, unknown> | undefined)?.indexLeftOut
  if (typeof from !== 'string' || !/^sha256:[a-f0-9]{64}$/.test(from)) return ''
  return `a platform subset is not the source's ${shortDigest(from)}: signatures of that digest do not hold for it, its platform images' do`
}

/** Whether the mirror holds signatures for the image (so `cosign verify` has something to check). */
export function isSigned(r: Pick<MirrorResult, 'attached'>): boolean {
  return count((r.attached as Record<string, unknown> | undefined)?.signatures) > 0
}

/** `✔ signed by key keys/acme.pub (SHA256:…)`, when the signature policy checked it; else ''. */
export function verifiedWords(r: Pick<MirrorResult, 'verified'>): string {
  const by = (r.verified as Record<string, unknown> | undefined)?.by
  if (typeof by !== 'string' || by.length === 0 || by.length > 300) return ''
  return `✔ verified: signed by ${by}`
}
