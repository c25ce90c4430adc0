/**
 * Versions and ranges as skopeo sync's images-by-semver reads them: Go's Masterminds/semver
 * v3.5.0 (version.go, constraints.go), as skopeo runs it: NewConstraint(range), then
 * NewVersion(tag) and Check for each tag. Ported rule for rule, its regular expressions
 * included (Go's `\s` is [\t\n\f\r ]), quirks too (`^*` is 0.0.0 alone), so that a skopeo
 * sync file selects here what it selects there; masterminds-semver.test compares it with the
 * library itself (tools/masterminds-semver). The `loose` reading of tag-policy.ts.
 */

/** A version as Masterminds' NewVersion reads it; its +metadata never counts, so is dropped. */
export interface LooseVersion {
  major: bigint
  minor: bigint
  patch: bigint
  pre: string
}

/** One comparator: its operator, its version, and which parts were left out or `x`. */
interface LooseComparator {
  op: string
  con: LooseVersion
  dirty: boolean
  minorDirty: boolean
  patchDirty: boolean
}

/** The sides of `||`: comparators that must all hold, and whether one names a pre-release. */
export type LooseConstraints = { comparators: LooseComparator[]; pre: boolean }[]

const MAX_UINT64 = (1n << 64n) - 1n

/** strconv.ParseUint(s, 10, 64). */
function parseUint(s: string): bigint | undefined {
  if (!/^[0-9]+$/.test(s)) return undefined
  const n = BigInt(s)
  return n > MAX_UINT64 ? undefined : n
}

// looseSemVerRegex: NewVersion reads with it, CoerceNewVersion being true.
const LOOSE_VERSION =
  /^v?([0-9]+)(\.[0-9]+)?(\.[0-9]+)?(-([0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*))?(\+([0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*))?$/

/** NewVersion: a tag as a version, or undefined when skopeo skips it as not one. */
export function readLooseVersion(text: string): LooseVersion | undefined {
  // MaxVersionLen is 256 bytes; a longer ASCII text is longer in bytes, other text fails the regex.
  if (text.length > 256) return undefined
  const m = LOOSE_VERSION.exec(text)
  if (!m) return undefined
  const major = parseUint(m[1]!)
  const minor = m[2] ? parseUint(m[2].slice(1)) : 0n
  const patch = m[3] ? parseUint(m[3].slice(1)) : 0n
  const pre = m[5] ?? ''
  if (major === undefined || minor === undefined || patch === undefined) return undefined
  // validatePrerelease: a number has no leading 0 (the regex leaves no part empty).
  if (pre.split('.').some(p => /^0[0-9]+$/.test(p))) return undefined
  return { major, minor, patch, pre }
}

/** Version.Compare: -1, 0 or 1. */
export function compareLoose(a: LooseVersion, b: LooseVersion): number {
  for (const [x, y] of [
    [a.major, b.major],
    [a.minor, b.minor],
    [a.patch, b.patch]
  ] as const) {
    if (x !== y) return x < y ? -1 : 1
  }
  if (a.pre === '' && b.pre === '') return 0
  if (a.pre === '') return 1
  if (b.pre === '') return -1
  return comparePrerelease(a.pre, b.pre)
}

function comparePrerelease(v: string, o: string): number {
  const sparts = v.split('.')
  const oparts = o.split('.')
  for (let i = 0; i < Math.max(sparts.length, oparts.length); i++) {
    const d = comparePrePart(sparts[i] ?? '', oparts[i] ?? '')
    if (d !== 0) return d
  }
  return 0
}

function comparePrePart(s: string, o: string): number {
  if (s === o) return 0
  if (s === '') return -1
  if (o === '') return 1
  const oi = parseUint(o)
  const si = parseUint(s)
  if (oi === undefined && si === undefined) return s > o ? 1 : -1
  if (oi === undefined) return -1
  if (si === undefined) return 1
  return si > oi ? 1 : -1
}

// constraints.go's expressions, as written there.
const S = '[\\t\\n\\f\\r ]'
const OPS = '=||!=|>|<|>=|=>|<=|=<|~|~>|\\^'
const CV =
  'v?([0-9|x|X|\\*]+)(\\.[0-9|x|X|\\*]+)?(\\.[0-9|x|X|\\*]+)?' +
  '(-([0-9A-Za-z\\-]+(\\.[0-9A-Za-z\\-]+)*))?' +
  '(\\+([0-9A-Za-z\\-]+(\\.[0-9A-Za-z\\-]+)*))?'
const CONSTRAINT = new RegExp(`^${S}*(${OPS})${S}*(${CV})${S}*$`)
const CONSTRAINT_RANGE = new RegExp(`${S}*(${CV})${S}+-${S}+(${CV})${S}*`, 'g')
const FIND_CONSTRAINT = new RegExp(`(${OPS})${S}*(${CV})`, 'g')
// validConstraintRegex recognises the same texts, but Go's engine is linear and JavaScript's
// backtracks: its optional minor and patch (`1.2` read two ways) and its empty operator and
// spaces on both sides of a separator make `1.2 1.2 … !` take exponential time. This form
// has one way to match each text (no optional parts that can take the same characters).
const OPS_SOME = '!=|>=|=>|<=|=<|~>|>|<|=|~|\\^'
const CV_ONE_WAY =
  'v?[0-9|x|X|\\*]+(?:\\.[0-9|x|X|\\*]+(?:\\.[0-9|x|X|\\*]+)?)?' +
  '(?:-[0-9A-Za-z\\-]+(?:\\.[0-9A-Za-z\\-]+)*)?' +
  '(?:\\+[0-9A-Za-z\\-]+(?:\\.[0-9A-Za-z\\-]+)*)?'
const VALID_CONSTRAINT = new RegExp(
  `^${S}*(?:(?:${OPS_SOME})${S}*)?${CV_ONE_WAY}(?:(?:${S}+|${S}*,${S}*)(?:(?:${OPS_SOME})${S}*)?${CV_ONE_WAY})*${S}*$`
)
export const MAX_CONSTRAINT_BYTES = 512
const MAX_CONSTRAINT_GROUPS = 32

const isX = (x: string) => x === 'x' || x === '*' || x === 'X'

/** NewConstraint: the range, or Masterminds' own error. */
export function newLooseConstraints(
  text: string
): { ok: true; constraints: LooseConstraints } | { ok: false; error: string } {
  if (Buffer.byteLength(text) > MAX_CONSTRAINT_BYTES) {
    return { ok: false, error: `constraint string is too long (max ${MAX_CONSTRAINT_BYTES} bytes)` }
  }
  // rewriteRange: `a - b` is `>= a, <= b`.
  let c = text
  for (const m of text.matchAll(CONSTRAINT_RANGE)) {
    const rewritten = `>= ${m[1]}, <= ${m[11]} `
    c = c.replace(m[0], () => rewritten)
  }
  const ors = c.split('||')
  if (ors.length > MAX_CONSTRAINT_GROUPS) {
    return { ok: false, error: `too many constraint groups (max ${MAX_CONSTRAINT_GROUPS})` }
  }
  const constraints: LooseConstraints = []
  for (const v of ors) {
    if (!VALID_CONSTRAINT.test(v))
      return { ok: false, error: `improper constraint: ${JSON.stringify(v)}` }
    const found = v.match(FIND_CONSTRAINT) ?? [v]
    const comparators: LooseComparator[] = []
    for (const s of found) {
      const comparator = parseComparator(s)
      if (typeof comparator === 'string') return { ok: false, error: comparator }
      comparators.push(comparator)
    }
    constraints.push({ comparators, pre: comparators.some(k => k.con.pre !== '') })
  }
  return { ok: true, constraints }
}

/** parseConstraint (never given an empty string: FIND_CONSTRAINT matches none). */
function parseComparator(c: string): LooseComparator | string {
  const m = CONSTRAINT.exec(c)
  if (!m) return `improper constraint: ${JSON.stringify(c)}`
  const [major, minor, patch, pre] = [m[3] ?? '', m[4] ?? '', m[5] ?? '', m[6] ?? '']
  let ver = m[2]!
  let dirty = false
  let minorDirty = false
  let patchDirty = false
  if (isX(major) || major === '') {
    ver = `0.0.0${pre}`
    dirty = true
  } else if (isX(minor.replace(/^\./, '')) || minor === '') {
    ver = `${major}.0.0${pre}`
    dirty = minorDirty = true
  } else if (isX(patch.replace(/^\./, '')) || patch === '') {
    ver = `${major}${minor}.0${pre}`
    dirty = patchDirty = true
  }
  const con = readLooseVersion(ver)
  if (!con) return 'constraint parser error'
  return { op: m[1]!, con, dirty, minorDirty, patchDirty }
}

/** Constraints.Check; `includePrerelease` is its IncludePrerelease (skopeo leaves it false). */
export function checkLoose(
  constraints: LooseConstraints,
  v: LooseVersion,
  includePrerelease: boolean
): boolean {
  return constraints.some(side =>
    side.comparators.every(c => checkComparator(c, v, includePrerelease || side.pre))
  )
}

function checkComparator(c: LooseComparator, v: LooseVersion, includePre: boolean): boolean {
  // Every operator first: a pre-release only when its side of || names one.
  if (v.pre !== '' && !includePre) return false
  const cmp = compareLoose(v, c.con)
  switch (c.op) {
    case '':
    case '=':
      return c.dirty ? tilde(c, v, cmp) : cmp === 0
    case '!=':
      return notEqual(c, v, cmp)
    case '>':
      if (!c.dirty) return cmp === 1
      if (v.major !== c.con.major) return v.major > c.con.major
      if (c.minorDirty) return false
      if (c.patchDirty) return v.minor > c.con.minor
      return cmp === 1
    case '<':
      return cmp < 0
    case '>=':
    case '=>':
      return cmp >= 0
    case '<=':
    case '=<':
      if (!c.dirty) return cmp <= 0
      if (v.major > c.con.major) return false
      return !(v.major === c.con.major && v.minor > c.con.minor && !c.minorDirty)
    case '~':
    case '~>':
      return tilde(c, v, cmp)
    default: // ^
      return caret(c, v, cmp)
  }
}

function notEqual(c: LooseComparator, v: LooseVersion, cmp: number): boolean {
  if (c.dirty) {
    if (c.con.major !== v.major) return true
    if (c.con.minor !== v.minor && !c.minorDirty) return true
    if (c.minorDirty) return false
    if (c.con.patch !== v.patch && !c.patchDirty) return true
    if (c.patchDirty) {
      // `!=1.2.x` (or `!=1.2`) with a pre-release on either side: unequal when they differ.
      return (v.pre !== '' || c.con.pre !== '') && comparePrerelease(v.pre, c.con.pre) !== 0
    }
  }
  return cmp !== 0
}

function tilde(c: LooseComparator, v: LooseVersion, cmp: number): boolean {
  if (cmp < 0) return false
  // ~0.0.0 (and `*`, `x`): every version.
  if (
    c.con.major === 0n &&
    c.con.minor === 0n &&
    c.con.patch === 0n &&
    !c.minorDirty &&
    !c.patchDirty
  ) {
    return true
  }
  if (v.major !== c.con.major) return false
  return v.minor === c.con.minor || c.minorDirty
}

function caret(c: LooseComparator, v: LooseVersion, cmp: number): boolean {
  if (cmp < 0) return false
  if (c.con.major > 0n || c.minorDirty) return v.major === c.con.major
  if (v.major > 0n) return false
  if (c.con.minor > 0n || c.patchDirty) return v.minor === c.con.minor
  if (v.minor > 0n) return false
  return v.patch === c.con.patch
}
