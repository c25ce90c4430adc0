/**
 * The normal form of an allowlist, and what keeps a file from it. DaoCloud's
 * `allows.txt` normal form (their formatter and pull-request check) is: one
 * pattern a line, sorted in byte order (`LC_ALL=C sort -u`), no duplicates,
 * no line that a wildcard line already covers. Our format also has comments,
 * so the normal form adds:
 *
 * - a leading block of comment lines followed by a blank line is the header:
 *   it stays on top, followed by exactly one blank line;
 * - other comment lines belong to the pattern below them and move with it;
 *   comments after the last pattern stay at the end; a comment on a pattern's
 *   line stays there, after one space;
 * - no other blank lines, no spaces around a line, LF line ends, one line
 *   break at the end;
 * - every pattern written in full as the matcher reads it (`nginx` is
 *   `docker.io/library/nginx`), so equal patterns look equal and sort together.
 *
 * A removed line's comments move to the line that covers it, so the fix never
 * loses what an author wrote. "Covered" is decided by the matcher itself
 * (allowlist.ts), not by comparing text. Malformed lines are reported and
 * kept as written: the fix never guesses what an allowlist meant.
 */
import { Allowlist, parsePattern, patternText, splitLine, type AllowPattern } from './allowlist.js'
import { parseReference, repositoryName } from '../image/references.js'

export type FindingKind =
  | 'invalid'
  | 'duplicate'
  | 'covered'
  | 'order'
  | 'spelling'
  | 'whitespace'
  | 'blank'
  | 'line-ends'
  | 'final-newline'
  | 'layout'

export interface Finding {
  /** 1-based line of the file. */
  line: number
  /** The line as written (without its line end). */
  text: string
  kind: FindingKind
  /** What is wrong. */
  problem: string
  /** What to do about it. */
  action: string
  /** Whether the normal form repairs it (false: the author must). */
  fixable: boolean
}

export interface LintResult {
  source: string
  findings: Finding[]
  /** The file in normal form (malformed lines kept as written). */
  normalForm: string
  /** True when there is nothing to report: the file is valid and in normal form. */
  normalized: boolean
  /** Patterns in the normal form. */
  patterns: number
}

interface Entry {
  line: number
  raw: string
  /** The pattern as written, trimmed. */
  written: string
  comment?: string
  /** Comment lines above it, trimmed. */
  comments: string[]
  pattern?: AllowPattern
  /** The pattern in full (the written text for a malformed line): what sorting and duplicates use. */
  key: string
  /** Where this line went when it was removed (a duplicate or a covered line). */
  removedInto?: Entry
  /** Comments of removed lines that now live above this one. */
  moved: string[]
}

/** A UTF-16 unit lifted so that unit order is code point order (surrogates above U+FFFF). */
function lift(unit: number): number {
  return unit >= 0xe000 ? unit - 0x800 : unit >= 0xd800 ? unit + 0x2000 : unit
}

/**
 * Byte order of the UTF-8 text, as `LC_ALL=C sort` compares (code point order
 * is UTF-8 byte order), without encoding every key on every comparison.
 */
export function compareBytes(a: string, b: string): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i)
    const y = b.charCodeAt(i)
    if (x !== y) return lift(x) - lift(y)
  }
  return a.length - b.length
}

function isComment(raw: string): boolean {
  return raw.trim().startsWith('#')
}

function quote(text: string): string {
  return `"${text}"`
}

/** A repair to show (never apply) for a malformed line without a wildcard. */
function suggestion(written: string): string | undefined {
  if (written.includes('*')) return undefined
  const read = parseReference(written)
  if (read.ok) return repositoryName(read.ref)
  if (!read.suggestion) return undefined
  const repaired = parseReference(read.suggestion)
  return repaired.ok ? repositoryName(repaired.ref) : undefined
}

/**
 * Indices (into `keys`) of a longest strictly increasing run, found by
 * patience sorting: the lines outside it are the fewest that must move.
 */
function longestSorted(keys: readonly string[]): Set<number> {
  const tails: number[] = []
  const previous: number[] = new Array<number>(keys.length).fill(-1)
  keys.forEach((key, i) => {
    let lo = 0
    let hi = tails.length
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (compareBytes(keys[tails[mid] as number] as string, key) < 0) lo = mid + 1
      else hi = mid
    }
    if (lo > 0) previous[i] = tails[lo - 1] as number
    tails[lo] = i
  })
  const kept = new Set<number>()
  for (let i = tails[tails.length - 1] ?? -1; i >= 0; i = previous[i] as number) kept.add(i)
  return kept
}

/** Lint an allowlist's text: what keeps it from normal form, and the normal form itself. */
export function lintAllowlist(text: string, source: string): LintResult {
  const findings: Finding[] = []
  const report = (
    line: number,
    raw: string,
    kind: FindingKind,
    problem: string,
    action: string,
    fixable = true
  ): void => {
    findings.push({ line, text: raw, kind, problem, action, fixable })
  }

  const lines = text === '' ? [] : text.split('\n')
  if (text.endsWith('\n')) lines.pop()
  let crlf = 0
  let firstCrlf = 0
  const raws = lines.map((line, i) => {
    if (!line.endsWith('\r') || (i === lines.length - 1 && !text.endsWith('\n'))) return line
    crlf++
    firstCrlf ||= i + 1
    return line.slice(0, -1)
  })
  if (crlf > 0) {
    report(
      firstCrlf,
      raws[firstCrlf - 1] as string,
      'line-ends',
      `${crlf} line(s) end with CR LF`,
      'end every line with LF alone'
    )
  }
  if (text !== '' && !text.endsWith('\n')) {
    report(
      raws.length,
      raws[raws.length - 1] as string,
      'final-newline',
      'no line break at the end of the file',
      'end the last line with a line break'
    )
  }

  // The header: leading comment lines followed by a blank line.
  let start = 0
  while (start < raws.length && isComment(raws[start] as string)) start++
  const header = start > 0 && raws[start]?.trim() === '' ? raws.slice(0, start) : []
  const body = header.length > 0 ? start + 1 : 0
  if (header.length > 0 && raws[start] !== '') {
    report(
      start + 1,
      raws[start] as string,
      'whitespace',
      'the blank line after the header holds spaces or invisible characters',
      'leave it empty'
    )
  }

  const entries: Entry[] = []
  let pending: string[] = []
  const checkSpacing = (i: number, raw: string, normal: string): void => {
    if (raw === normal) return
    report(
      i + 1,
      raw,
      'whitespace',
      'spaces or invisible characters around the line or before its comment',
      `write it as ${quote(normal)}`
    )
  }
  header.forEach((raw, i) => checkSpacing(i, raw, raw.trim()))
  for (let i = body; i < raws.length; i++) {
    const raw = raws[i] as string
    if (raw.trim() === '') {
      report(
        i + 1,
        raw,
        'blank',
        'a blank line among the patterns',
        'remove it (only the blank line after a leading comment block is kept)'
      )
      continue
    }
    if (isComment(raw)) {
      checkSpacing(i, raw, raw.trim())
      pending.push(raw.trim())
      continue
    }
    const { pattern: written, comment } = splitLine(raw)
    checkSpacing(i, raw, comment === undefined ? written : `${written} ${comment}`)
    const entry: Entry = {
      line: i + 1,
      raw,
      written,
      comments: pending,
      key: written,
      moved: []
    }
    if (comment !== undefined) entry.comment = comment
    pending = []
    try {
      entry.pattern = parsePattern(written, i + 1)
      entry.key = patternText(entry.pattern)
      if (entry.key !== written) {
        report(
          i + 1,
          raw,
          'spelling',
          `${quote(written)} is not written in full`,
          `write it as ${quote(entry.key)}`
        )
      }
    } catch (e) {
      const repair = suggestion(written)
      report(
        i + 1,
        raw,
        'invalid',
        // The parser's message starts by quoting the line, which the finding already names.
        `not a valid pattern: ${(e as Error).message.replace(`${quote(written)}: `, '')}`,
        repair
          ? `write ${quote(repair)} if that is what you meant, or remove the line; the fix leaves it as it is`
          : 'correct or remove the line; the fix leaves it as it is',
        false
      )
    }
    entries.push(entry)
  }
  const trailer = pending

  // Duplicates: the same pattern once written in full; the first one stays.
  const byKey = new Map<string, Entry>()
  for (const entry of entries) {
    const first = byKey.get(entry.key)
    if (first) entry.removedInto = first
    else byKey.set(entry.key, entry)
  }

  // Covered lines, asked of the matcher: an exact name one of the wildcards
  // matches; `p/*` when a `**` line matches `p/x`; `p/**` when a `**` line matches `p` itself.
  const unique = [...byKey.values()]
  const valid = unique.filter((e): e is Entry & { pattern: AllowPattern } => Boolean(e.pattern))
  const byPattern = new Map<AllowPattern, Entry>(valid.map(e => [e.pattern, e]))
  const wildcards = new Allowlist(
    source,
    valid.filter(e => e.pattern.kind !== 'exact').map(e => e.pattern)
  )
  const deep = new Allowlist(
    source,
    valid.filter(e => e.pattern.kind === 'any').map(e => e.pattern)
  )
  // The matcher takes a registry and a repository and joins them with "/".
  const named = (name: string) => {
    const slash = name.indexOf('/')
    return { registry: name.slice(0, slash), repository: name.slice(slash + 1) }
  }
  for (const entry of valid) {
    const { kind, prefix } = entry.pattern
    // Nothing covers a whole registry (`gcr.io/**`) but the same line.
    if (kind === 'any' && !prefix.includes('/')) continue
    const cover =
      kind === 'exact'
        ? wildcards.match(named(prefix))
        : kind === 'one'
          ? deep.match(named(`${prefix}/x`))
          : deep.match(named(prefix))
    if (cover && cover !== entry.pattern) entry.removedInto = byPattern.get(cover) as Entry
  }

  // A removed line is reported with the line that stays in its place (covers are
  // transitive: what covers its cover covers it too), and its comments move there.
  for (const entry of entries) {
    if (!entry.removedInto) continue
    let home = entry.removedInto
    while (home.removedInto) home = home.removedInto
    home.moved.push(...entry.comments, ...(entry.comment ? [entry.comment] : []))
    const comments = entry.comments.length > 0 || entry.comment !== undefined
    const action = `remove it${comments ? `; its comments move to line ${home.line}` : ''}`
    if (entry.removedInto.key === entry.key) {
      const first = entry.removedInto
      const full = entry.key === entry.written ? '' : ` (${quote(entry.key)})`
      report(
        entry.line,
        entry.raw,
        'duplicate',
        `${quote(entry.written)}${full} is already on line ${first.line}`,
        action
      )
    } else {
      report(
        entry.line,
        entry.raw,
        'covered',
        `${quote(entry.written)} is already covered by ${quote(home.written)} on line ${home.line}`,
        action
      )
    }
  }
  const kept = unique.filter(e => !e.removedInto)

  const sorted = [...kept].sort((a, b) => compareBytes(a.key, b.key))
  const inPlace = new Set([...longestSorted(kept.map(e => e.key))].map(i => kept[i] as Entry))
  // For each place in the sorted list, the nearest line before and after it that stays put.
  const stayBefore: (Entry | undefined)[] = []
  const stayAfter: (Entry | undefined)[] = []
  for (let i = 0, last: Entry | undefined; i < sorted.length; i++) {
    stayBefore[i] = last
    if (inPlace.has(sorted[i] as Entry)) last = sorted[i]
  }
  for (let i = sorted.length - 1, next: Entry | undefined; i >= 0; i--) {
    stayAfter[i] = next
    if (inPlace.has(sorted[i] as Entry)) next = sorted[i]
  }
  sorted.forEach((entry, at) => {
    if (inPlace.has(entry)) return
    const previous = sorted[at - 1]
    const next = sorted[at + 1]
    const place =
      previous && next
        ? `after ${quote(previous.key)} and before ${quote(next.key)}`
        : previous
          ? `last, after ${quote(previous.key)}`
          : `first, before ${quote((next as Entry).key)}`
    const anchorBefore = stayBefore[at]
    const anchorAfter = stayAfter[at]
    report(
      entry.line,
      entry.raw,
      'order',
      `out of order: in byte order (LC_ALL=C sort) it comes ${place}`,
      anchorBefore
        ? `move it after line ${anchorBefore.line} (${quote(anchorBefore.key)})`
        : anchorAfter
          ? `move it before line ${anchorAfter.line} (${quote(anchorAfter.key)})`
          : 'sort the file'
    )
  })

  const out: string[] = []
  if (header.length > 0) out.push(...header.map(h => h.trim()), '')
  for (const entry of sorted) {
    out.push(...entry.comments, ...entry.moved)
    out.push(entry.comment === undefined ? entry.key : `${entry.key} ${entry.comment}`)
  }
  out.push(...trailer)
  while (out.length > 0 && out[out.length - 1] === '') out.pop()
  const normalForm = out.length > 0 ? `${out.join('\n')}\n` : ''

  // Every difference must have a finding; this one says so if a rule above missed one.
  if (findings.length === 0 && normalForm !== text) {
    report(
      1,
      raws[0] ?? '',
      'layout',
      'the file differs from its normal form',
      'replace it with the normal form'
    )
  }
  findings.sort((a, b) => a.line - b.line)
  return {
    source,
    findings,
    normalForm,
    normalized: findings.length === 0,
    patterns: kept.length
  }
}
