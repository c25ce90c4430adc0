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
import {
  Allowlist,
  parsePattern,
  patternText,
  splitLine,
  tagPolicyIn,
  type AllowPattern
} from './allowlist.js'
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
  // An entry with a tag policy (`nginx:semver(>=1.26)`): its repository is what a line names.
  const policy = tagPolicyIn(written)
  if (policy) return policy.repository
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

/** How a stage records a finding (fixable unless it says otherwise). */
type Report = (
  line: number,
  raw: string,
  kind: FindingKind,
  problem: string,
  action: string,
  fixable?: boolean
) => void

/** Lint an allowlist's text: what keeps it from normal form, and the normal form itself. */
export function lintAllowlist(text: string, source: string): LintResult {
  const findings: Finding[] = []
  const report: Report = (line, raw, kind, problem, action, fixable = true) => {
    findings.push({ line, text: raw, kind, problem, action, fixable })
  }

  const raws = splitLines(text, report)
  checkFinalNewline(text, raws, report)
  const { header, body } = readHeader(raws, report)
  const { entries, trailer } = readEntries(raws, body, report)
  const unique = dropDuplicates(entries)
  markCovered(unique, source)
  reportRemoved(entries, report)
  const kept = unique.filter(e => !e.removedInto)
  const sorted = sortEntries(kept, report)
  const normalForm = writeNormalForm(header, sorted, trailer)
  // Every difference must have a finding; this one says so if a rule above missed one.
  if (findings.length === 0 && normalForm !== text) reportLayout(raws, report)

  findings.sort((a, b) => a.line - b.line)
  return {
    source,
    findings,
    normalForm,
    normalized: findings.length === 0,
    patterns: kept.length
  }
}

/** The file's lines without their line ends; CR LF is reported once, for all lines. */
function splitLines(text: string, report: Report): string[] {
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
  return raws
}

/** The normal form ends with one line break; a file without one is reported on its last line. */
function checkFinalNewline(text: string, raws: readonly string[], report: Report): void {
  if (text === '' || text.endsWith('\n')) return
  report(
    raws.length,
    raws[raws.length - 1] as string,
    'final-newline',
    'no line break at the end of the file',
    'end the last line with a line break'
  )
}

/**
 * The header (leading comment lines followed by a blank line) stays on top,
 * so it is set apart before the patterns are read; `body` is its first line after it.
 */
function readHeader(raws: readonly string[], report: Report): { header: string[]; body: number } {
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
  header.forEach((raw, i) => checkSpacing(i + 1, raw, raw.trim(), report))
  return { header, body }
}

/** The normal form has no stray spaces; a line that differs from `normal` is reported. */
function checkSpacing(line: number, raw: string, normal: string, report: Report): void {
  if (raw === normal) return
  report(
    line,
    raw,
    'whitespace',
    'spaces or invisible characters around the line or before its comment',
    `write it as ${quote(normal)}`
  )
}

/**
 * The pattern lines after the header, each carrying the comment lines above it
 * (so comments move with their pattern); the comments after the last pattern are the trailer.
 */
function readEntries(
  raws: readonly string[],
  body: number,
  report: Report
): { entries: Entry[]; trailer: string[] } {
  const entries: Entry[] = []
  let pending: string[] = []
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
    } else if (isComment(raw)) {
      checkSpacing(i + 1, raw, raw.trim(), report)
      pending.push(raw.trim())
    } else {
      entries.push(readEntry(i + 1, raw, pending, report))
      pending = []
    }
  }
  return { entries, trailer: pending }
}

/** One pattern line, split from its comment; its key is the pattern in full when it parses. */
function readEntry(line: number, raw: string, comments: string[], report: Report): Entry {
  const { pattern: written, comment } = splitLine(raw)
  checkSpacing(line, raw, comment === undefined ? written : `${written} ${comment}`, report)
  const entry: Entry = { line, raw, written, comments, key: written, moved: [] }
  if (comment !== undefined) entry.comment = comment
  readPattern(entry, report)
  return entry
}

/**
 * Parse the entry's pattern with the matcher's own parser, so that equal patterns
 * get equal keys; a short spelling is fixable, a malformed line is only reported.
 */
function readPattern(entry: Entry, report: Report): void {
  const { line, raw, written } = entry
  try {
    entry.pattern = parsePattern(written, line)
    entry.key = patternText(entry.pattern)
    if (entry.key !== written) {
      report(
        line,
        raw,
        'spelling',
        `${quote(written)} is not written in full`,
        `write it as ${quote(entry.key)}`
      )
    }
  } catch (e) {
    const repair = suggestion(written)
    report(
      line,
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
}

/**
 * Duplicates: the same pattern once written in full; the first one stays and
 * the others are marked as removed into it. Returns the first of each, in file order.
 */
function dropDuplicates(entries: readonly Entry[]): Entry[] {
  const byKey = new Map<string, Entry>()
  for (const entry of entries) {
    const first = byKey.get(entry.key)
    if (first) entry.removedInto = first
    else byKey.set(entry.key, entry)
  }
  return [...byKey.values()]
}

/**
 * Covered lines, asked of the matcher: an exact name one of the wildcards
 * matches; `p/*` when a `**` line matches `p/x`; `p/**` when a `**` line matches `p` itself.
 */
function markCovered(unique: readonly Entry[], source: string): void {
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
}

/** The matcher takes a registry and a repository and joins them with "/". */
function named(name: string): { registry: string; repository: string } {
  const slash = name.indexOf('/')
  return { registry: name.slice(0, slash), repository: name.slice(slash + 1) }
}

/**
 * A removed line is reported with the line that stays in its place (covers are
 * transitive: what covers its cover covers it too), and its comments move there.
 */
function reportRemoved(entries: readonly Entry[], report: Report): void {
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
}

/**
 * The kept lines in byte order. Only the lines outside a longest sorted run are
 * reported, each with a place to move it to, so the author moves as few as possible.
 */
function sortEntries(kept: readonly Entry[], report: Report): Entry[] {
  const sorted = [...kept].sort((a, b) => compareBytes(a.key, b.key))
  const inPlace = new Set([...longestSorted(kept.map(e => e.key))].map(i => kept[i] as Entry))
  const { stayBefore, stayAfter } = staying(sorted, inPlace)
  sorted.forEach((entry, at) => {
    if (inPlace.has(entry)) return
    report(
      entry.line,
      entry.raw,
      'order',
      `out of order: in byte order (LC_ALL=C sort) it comes ${sortedPlace(sorted, at)}`,
      moveAction(stayBefore[at], stayAfter[at])
    )
  })
  return sorted
}

/**
 * For each place in the sorted list, the nearest line before and after it that
 * stays put: a line that does not move is an anchor the author can find.
 */
function staying(
  sorted: readonly Entry[],
  inPlace: ReadonlySet<Entry>
): { stayBefore: (Entry | undefined)[]; stayAfter: (Entry | undefined)[] } {
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
  return { stayBefore, stayAfter }
}

/** Where a line belongs, said by its neighbours in the sorted list. */
function sortedPlace(sorted: readonly Entry[], at: number): string {
  const previous = sorted[at - 1]
  const next = sorted[at + 1]
  return previous && next
    ? `after ${quote(previous.key)} and before ${quote(next.key)}`
    : previous
      ? `last, after ${quote(previous.key)}`
      : `first, before ${quote((next as Entry).key)}`
}

/** Where to move a line, said by a line that stays put (line numbers of the file as it is). */
function moveAction(anchorBefore: Entry | undefined, anchorAfter: Entry | undefined): string {
  return anchorBefore
    ? `move it after line ${anchorBefore.line} (${quote(anchorBefore.key)})`
    : anchorAfter
      ? `move it before line ${anchorAfter.line} (${quote(anchorAfter.key)})`
      : 'sort the file'
}

/** The file as the normal form writes it: header, sorted patterns with their comments, trailer. */
function writeNormalForm(
  header: readonly string[],
  sorted: readonly Entry[],
  trailer: readonly string[]
): string {
  const out: string[] = []
  if (header.length > 0) out.push(...header.map(h => h.trim()), '')
  for (const entry of sorted) {
    out.push(...entry.comments, ...entry.moved)
    out.push(entry.comment === undefined ? entry.key : `${entry.key} ${entry.comment}`)
  }
  out.push(...trailer)
  while (out.length > 0 && out[out.length - 1] === '') out.pop()
  return out.length > 0 ? `${out.join('\n')}\n` : ''
}

/** The catch-all finding, so a file never differs from its normal form without one. */
function reportLayout(raws: readonly string[], report: Report): void {
  report(
    1,
    raws[0] ?? '',
    'layout',
    'the file differs from its normal form',
    'replace it with the normal form'
  )
}
