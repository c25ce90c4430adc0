/**
 * Versions and ranges as regsync reads them (`tags.semverRange`), so that a regsync file
 * mirrored by the action selects the tags regsync itself selects. regsync does not use a
 * semver library: regclient's own `internal/semver` (v0.11) reads
 *
 *  - a version as an optional `v`, any number of dot-separated whole numbers (`2`, `1.5`,
 *    `1.2.3.4`; missing parts count as 0), then `-pre-release` and `+metadata`;
 *  - everything after the first `-` as a pre-release, ranked below its release
 *    (`2.0.0-alpine3.21` < `2.0.0`), never left out for being one;
 *  - a range as comparators separated by spaces, all of which must hold: `>=`, `<=`, `>`, `<`,
 *    `=` or none (exact: `1.2` is `1.2.0` only), `^v` (below the next major, or the next
 *    minor/patch under 0), `~v` (below the next minor: `~1` is below 1.1.0).
 *
 * It knows no `||`, `x` or hyphen ranges; a semverRange list ORs its items, which the
 * action writes as `||` between them. Its quirks are kept on purpose: the first identical
 * identifier that is a word without a number ends a pre-release comparison (`1.0.0-alpha.1`
 * = `1.0.0-alpha.2`, so `>1.0.0-rc.1` does not take 1.0.0-rc.2), and `^`/`~` bounds past
 * Go's largest int wrap.
 */

/** A version as regsync reads it. */
export interface RegsyncVersion {
  parts: bigint[]
  preRelease: string
}

/** Go's `int` on the runners: a number past it is not a number to regsync (strconv.Atoi). */
const MAX_INT = 9223372036854775807n

function atoi(text: string): bigint | undefined {
  if (!/^[0-9]+$/.test(text)) return undefined
  const n = BigInt(text)
  return n > MAX_INT ? undefined : n
}

/** `n + 1` as Go's int adds it: past the largest, it wraps to the smallest (and selects nothing). */
const next = (n: bigint): bigint => (n === MAX_INT ? -MAX_INT - 1n : n + 1n)

/** `NewVersion`: a tag as a version, or undefined when regsync skips it as not a version. */
export function readRegsyncVersion(text: string): RegsyncVersion | undefined {
  let rest = text.startsWith('v') ? text.slice(1) : text
  const plus = rest.indexOf('+')
  if (plus >= 0) rest = rest.slice(0, plus)
  const dash = rest.indexOf('-')
  const preRelease = dash >= 0 ? rest.slice(dash + 1) : ''
  if (dash >= 0) rest = rest.slice(0, dash)
  const parts: bigint[] = []
  for (const part of rest.split('.')) {
    const n = atoi(part)
    if (n === undefined) return undefined
    parts.push(n)
  }
  return { parts, preRelease }
}

/** `Compare`: -1, 0 or 1. */
export function compareRegsync(a: RegsyncVersion, b: RegsyncVersion): number {
  const length = Math.max(a.parts.length, b.parts.length)
  for (let i = 0; i < length; i++) {
    const x = a.parts[i] ?? 0n
    const y = b.parts[i] ?? 0n
    if (x !== y) return x < y ? -1 : 1
  }
  if (a.preRelease === '' && b.preRelease !== '') return 1
  if (a.preRelease !== '' && b.preRelease === '') return -1
  if (a.preRelease !== b.preRelease) return comparePreReleases(a.preRelease, b.preRelease)
  return 0
}

function comparePreReleases(a: string, b: string): number {
  const aParts = a.split('.')
  const bParts = b.split('.')
  for (let i = 0; i < aParts.length && i < bParts.length; i++) {
    let aCur = aParts[i] as string
    let bCur = bParts[i] as string
    while (aCur !== '' && bCur !== '') {
      const [aHead, aNum, aTail] = splitNumeric(aCur)
      const [bHead, bNum, bTail] = splitNumeric(bCur)
      if (aHead !== bHead) return aHead < bHead ? -1 : 1
      const aN = atoi(aNum)
      const bN = atoi(bNum)
      if (aN === undefined || bN === undefined) {
        // As regsync does: a missing or oversized number ends the comparison here.
        if (bN !== undefined) return -1
        if (aN !== undefined) return 1
        return 0
      }
      if (aN !== bN) return aN < bN ? -1 : 1
      aCur = aTail
      bCur = bTail
    }
    if (aCur !== '') return 1
    if (bCur !== '') return -1
  }
  if (aParts.length !== bParts.length) return aParts.length < bParts.length ? -1 : 1
  return 0
}

/** `rc12b` → [`rc`, `12`, `b`]. Go compares these strings byte-wise, as `<` does on ASCII. */
function splitNumeric(text: string): [string, string, string] {
  const m = /^([^0-9]*)([0-9]*)(.*)$/s.exec(text) as RegExpExecArray
  return [m[1] as string, m[2] as string, m[3] as string]
}

type Operator = '=' | '>' | '>=' | '<' | '<='
interface Comparator {
  operator: Operator
  version: RegsyncVersion
}

/** One semverRange item, or why regsync refuses it. */
export type RegsyncRange =
  { ok: true; check(v: RegsyncVersion): boolean } | { ok: false; reason: string }

/** `NewConstraint`: comparators separated by white space, all of which must hold. */
export function readRegsyncRange(text: string): RegsyncRange {
  const comparators: Comparator[] = []
  for (const part of text
    .trim()
    .split(/\s+/)
    .filter(p => p !== '')) {
    const sign = /^(\^|~|>=|<=|>|<|=)?(.*)$/s.exec(part) as RegExpExecArray
    const operator = sign[1] ?? '='
    const version = readRegsyncVersion(sign[2] as string)
    if (!version) {
      return {
        ok: false,
        reason: `"${part.slice(0, 40)}" is not a comparator regsync reads (an operator >=, <=, >, <, =, ^ or ~ and a version of whole numbers, as >=1.26 or ~1.2.3; no spaces after the operator)`
      }
    }
    if (operator === '^' || operator === '~') {
      const [major = 0n, minor = 0n, patch = 0n] = version.parts
      const upper =
        operator === '~'
          ? [major, next(minor), 0n]
          : major > 0n
            ? [next(major), 0n, 0n]
            : minor > 0n
              ? [0n, next(minor), 0n]
              : [0n, 0n, next(patch)]
      comparators.push({ operator: '>=', version })
      comparators.push({ operator: '<', version: { parts: upper, preRelease: '' } })
    } else {
      comparators.push({ operator: operator as Operator, version })
    }
  }
  if (comparators.length === 0) return { ok: false, reason: 'an empty range' }
  return {
    ok: true,
    check: v =>
      comparators.every(({ operator, version }) => {
        const c = compareRegsync(v, version)
        switch (operator) {
          case '=':
            return c === 0
          case '>':
            return c > 0
          case '>=':
            return c >= 0
          case '<':
            return c < 0
          case '<=':
            return c <= 0
        }
      })
  }
}
