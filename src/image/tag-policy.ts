/**
 * Tag policies (issue 20): what follows `repository:` when an entry selects tags by rule
 * rather than by name. Clauses, separated by spaces, all of which a tag must pass:
 *
 *     /regex/             tags the regular expression matches (tag-filter.ts: RE2)
 *     semver(RANGE)       versions in the range (the `semver` package's range syntax)
 *     newest(N)           the N newest versions left, with every tag of each
 *     exclude(/regex/)    not these; exclude(a, b) not these tags (any number of excludes)
 *     prereleases         let pre-releases (1.27.0-rc.1, v2.0.0-beta.2) into semver and newest
 *     loose               read versions as skopeo sync does (below)
 *     regsync             read versions and the range as regsync does (regsync-semver.ts)
 *
 * The clauses apply in that order: regex, range, exclusions, then newest, so `newest(3)
 * exclude(1.31.3)` still gives three.
 *
 * A **version** is a tag the `semver` package reads (loosely: `v1.2.3` and `1.2.3` alike).
 * Two-part tags (`1.27`) and words (`latest`, `mainline`) are not versions: they move, and
 * `semver()` and `newest()` leave them out. What follows `-` is read as Docker tags use it:
 * a **pre-release** when it starts like one (`rc1`, `-rc.2`, `beta`, `alpha.1`, `pre`, `dev`,
 * `preview`, `snapshot`, `nightly`, `canary`, `next`, `ea`, `m3`), else a **variant** of the
 * release (`1.27.3-alpine`, `v3.1.2-windowsservercore`), ranked and ranged as the release
 * itself. Variants are selected only when a regex names them (`/-alpine$/ semver(>=1.26)`):
 * without one, `semver(>=1.26)` means the plain releases.
 *
 * `loose` reads tags and the range as skopeo sync's images-by-semver does, with Go's
 * Masterminds/semver v3.5.0 (ported rule for rule in masterminds-semver.ts), so that its files select here what
 * they select there: `1.27`, `3` and `07` are versions (1.27.0, 3.0.0, 7.0.0), everything
 * after `-` is a pre-release (no variants), and the range is Masterminds' own: `,` or a space
 * between comparators that must all hold, `||`, `!=`, `=>`, `=<`, and pre-releases (of any
 * version) let in by every side of `||` that names one (`>=1.0.0-0`).
 *
 * `regsync` reads tags and the range by regsync's own rules instead (`1.2` is exact, `~1` is
 * below 1.1, pre-releases are versions below their release, `||` between the items of its
 * semverRange list); it takes no `newest` or `prereleases`, which regsync has not.
 *
 * Everything is linear in the tag list but one sort for `newest`; what is left out is
 * counted by reason, with the first few named, for the summary.
 */
import semver from 'semver'
import { codePointOf } from './references.js'
import { compileTagFilter } from './tag-filter.js'
import {
  checkLoose,
  compareLoose,
  MAX_CONSTRAINT_BYTES,
  newLooseConstraints,
  readLooseVersion,
  type LooseConstraints,
  type LooseVersion
} from './masterminds-semver.js'
import { readRegsyncRange, readRegsyncVersion, type RegsyncVersion } from './regsync-semver.js'

/** The most versions `newest(N)` may keep, and the most tags one exclude may list. */
export const MAX_NEWEST = 1000
const MAX_EXCLUDED_TAGS = 100
const MAX_RANGE_LENGTH = 256
/** Left-out tags named per reason; the rest are counted. */
const NAMED = 5

type Matcher = { test(tag: string): boolean }

export interface TagPolicy {
  /** The policy as written after `repository:`, in its normal form (one space between clauses). */
  text: string
  regex?: { pattern: string; filter: Matcher }
  /** The range: the semver package's, Masterminds' (`reading: 'loose'`) or regsync's. */
  range?: {
    text: string
    range?: semver.Range
    loose?: LooseConstraints
    regsync?: (v: RegsyncVersion) => boolean
  }
  newest?: number
  exclude: { text: string; test(tag: string): boolean }[]
  prereleases: boolean
  /** How tags and the range are read: ours, skopeo's (Masterminds/semver), or regsync's. */
  reading: 'semver' | 'loose' | 'regsync'
}

export type ParsedPolicy = { ok: true; policy: TagPolicy } | { ok: false; reason: string }

/** Why a tag was left out, as the summary words it. */
export type LeftOutReason =
  | 'not matching the regex'
  | 'not a version'
  | 'a variant'
  | 'a pre-release'
  | 'outside the range'
  | 'excluded'
  | 'older than the newest'

export interface Selection {
  /** The tags selected, in the order they are copied (sorted). */
  selected: string[]
  /** How many tags the registry listed. */
  seen: number
  /** Per reason: how many, and the first few. */
  leftOut: { reason: LeftOutReason; count: number; first: string[] }[]
}

/** One comparator of a range: an operator, then a (partial, `x`/`*`-wild) version. */
const COMPARATOR =
  /^(<=|>=|<|>|=|~>?|\^)?v?(\d+|[xX*])(\.(\d+|[xX*])){0,2}(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$/

// A word then a digit, `.`, `-` or the end: `rc1`, `beta.2`, `pre`; not `nextcloud`, `devel`.
const PRE_RELEASE =
  /^(alpha|beta|rc|pre|preview|dev|snapshot|nightly|canary|next|ea|m\d|milestone)(?=[\d.-]|$)/i

/** Whether an entry's text after `repository:` is a policy (a regex or a clause keyword). */
export function looksLikePolicy(text: string): boolean {
  // `repo:loose` alone is a tag: a flag starts a policy only when a clause follows it.
  return /^(\/|semver\(|newest\(|exclude\(|(prereleases|loose|regsync)\s+\S)/.test(text)
}

/** Read a policy; the reason reads after "tag policy ": e.g. "newest(0): N must be 1 to 1000". */
export function parseTagPolicy(text: string): ParsedPolicy {
  const fail = (reason: string): ParsedPolicy => ({ ok: false, reason })
  const policy: TagPolicy = { text: '', exclude: [], prereleases: false, reading: 'semver' }
  const clauses: string[] = []
  // The range is read once the reading is known: `semver(…) regsync` reads it as regsync.
  let rangeBody: string | undefined
  // As written: its white space is checked, and Masterminds bounds its length, before runs of
  // it are made single spaces.
  let rangeRaw = ''
  let rest = text.trim()
  while (rest.length > 0) {
    const clause = nextClause(rest)
    if (!clause.ok) return fail(clause.reason)
    rest = rest.slice(clause.length).trimStart()
    const { word, body } = clause
    if (word === 'regex') {
      if (policy.regex)
        return fail(`has two regexes (/${policy.regex.pattern}/ and /${body}/): write one`)
      const filter = compileTagFilter(body)
      if (!filter.ok) return fail(`/${body}/ ${filter.reason}`)
      policy.regex = { pattern: body, filter }
      clauses.push(`/${body}/`)
    } else if (word === 'semver') {
      if (rangeBody !== undefined) return fail(`has two ranges: write one, e.g. semver(>=1.26 <2)`)
      rangeBody = body.trim().replace(/\s+/g, ' ')
      rangeRaw = body
      clauses.push(`semver(${rangeBody})`)
    } else if (word === 'newest') {
      if (policy.newest !== undefined) return fail('has two newest(N): write one')
      if (!/^\s*\d{1,4}\s*$/.test(body) || Number(body) < 1 || Number(body) > MAX_NEWEST) {
        return fail(`newest(${body}): N must be a whole number from 1 to ${MAX_NEWEST}`)
      }
      policy.newest = Number(body)
      clauses.push(`newest(${policy.newest})`)
    } else if (word === 'exclude') {
      const exclude = readExclude(body)
      if (!exclude.ok) return fail(exclude.reason)
      policy.exclude.push(exclude.matcher)
      clauses.push(`exclude(${exclude.matcher.text})`)
    } else if (word === 'loose' || word === 'regsync') {
      if (policy.reading !== 'semver') {
        return fail(
          policy.reading === word
            ? `says ${word} twice`
            : `says ${policy.reading} and ${word}: write one`
        )
      }
      policy.reading = word
      clauses.push(word)
    } else {
      if (policy.prereleases) return fail('says prereleases twice')
      policy.prereleases = true
      clauses.push('prereleases')
    }
  }
  if (rangeBody !== undefined) {
    // Every reading's range is bounded the same, before it is read.
    if (rangeBody.length === 0) return fail('semver(): give a range, e.g. semver(>=1.26 <2)')
    if (rangeBody.length > MAX_RANGE_LENGTH) {
      return fail(`semver(…): the range is longer than ${MAX_RANGE_LENGTH} characters`)
    }
    // Only spaces, tabs and line breaks separate: other white space Go reads otherwise than
    // JavaScript (U+FEFF is none to Go, U+0085 is one; Masterminds splits on neither, nor on
    // a no-break space), so the action refuses it rather than guess.
    const odd = /[^\S\t\n\f\r ]|\u0085/.exec(rangeRaw)
    if (odd) {
      return fail(
        `semver(…) holds ${codePointOf(odd[0])} at character ${odd.index + 1}; the action refuses white space other than spaces, tabs and line breaks in a range: write plain spaces`
      )
    }
    const range =
      policy.reading === 'regsync'
        ? readRegsyncRanges(rangeBody)
        : policy.reading === 'loose'
          ? readLooseRange(rangeBody, rangeRaw)
          : readRange(rangeBody)
    if (!range.ok) return fail(range.reason)
    policy.range = { text: rangeBody, ...range.range }
  }
  if (!policy.regex && !policy.range && policy.newest === undefined) {
    return fail(
      'selects nothing: give /regex/, semver(RANGE) or newest(N); exclude() and prereleases narrow or widen one of them'
    )
  }
  const flag = policy.prereleases ? 'prereleases' : policy.reading
  if (flag !== 'semver' && !policy.range && policy.newest === undefined) {
    const to = flag === 'regsync' ? 'semver(…)' : 'semver(…) and newest(…)'
    return fail(`${flag} applies to ${to}: add one, or leave it out`)
  }
  if (policy.reading === 'regsync' && (policy.newest !== undefined || policy.prereleases)) {
    return fail(
      `regsync has no ${policy.prereleases ? 'prereleases (its ranges take pre-releases as versions below their release)' : 'newest(N)'}: leave it out, or drop the regsync reading`
    )
  }
  policy.text = clauses.join(' ')
  return { ok: true, policy }
}

type Clause =
  | {
      ok: true
      word: 'regex' | 'semver' | 'newest' | 'exclude' | 'prereleases' | 'loose' | 'regsync'
      body: string
      text: string
      length: number
    }
  | { ok: false; reason: string }

/** The clause `text` starts with. A clause ends at white space or the end. */
function nextClause(text: string): Clause {
  if (text.startsWith('/')) {
    // The regex ends at a `/` followed by the end or by white space: it may hold `/` itself.
    const end = regexEnd(text, 1)
    if (end < 0) return { ok: false, reason: `${quote(text)}: a regex ends with / (as /^1\\./)` }
    const body = text.slice(1, end)
    if (body.length === 0)
      return { ok: false, reason: '//: an empty regex; write /.*/ for every tag' }
    return { ok: true, word: 'regex', body, text: text.slice(0, end + 1), length: end + 1 }
  }
  const flag = /^(prereleases|loose|regsync)(\s|$)/.exec(text)?.[1] as
    'prereleases' | 'loose' | 'regsync' | undefined
  if (flag) return { ok: true, word: flag, body: '', text: flag, length: flag.length }
  const open = /^(semver|newest|exclude)\(/.exec(text)
  if (!open) {
    const word = text.split(/\s/, 1)[0] ?? text
    return {
      ok: false,
      reason: `${quote(word)} is not a clause: write /regex/, semver(RANGE), newest(N), exclude(…), prereleases, loose or regsync`
    }
  }
  const word = open[1] as 'semver' | 'newest' | 'exclude'
  const start = open[0].length
  // exclude(/regex/): the regex may hold `)`; it ends at `/)`.
  const close =
    word === 'exclude' && text[start] === '/'
      ? text.indexOf('/)', start + 1) + 1
      : text.indexOf(')', start)
  if (close <= 0) return { ok: false, reason: `${quote(text)}: ${word}( is not closed with )` }
  const after = text[close + 1]
  if (after !== undefined && !/\s/.test(after)) {
    return { ok: false, reason: `${quote(text.slice(0, close + 2))}: put a space between clauses` }
  }
  const body = text.slice(start, close)
  return { ok: true, word, body, text: `${word}(${body.trim()})`, length: close + 1 }
}

/** The index of the `/` closing a regex opened at `from - 1`, or -1. */
function regexEnd(text: string, from: number): number {
  for (let i = text.indexOf('/', from); i >= 0; i = text.indexOf('/', i + 1)) {
    if (i === text.length - 1 || /\s/.test(text[i + 1] as string)) return i
  }
  return -1
}

const quote = (s: string) => `"${s.length > 40 ? `${s.slice(0, 40)}…` : s}"`

/** A range as regsync reads a semverRange list: items between `||`, any of which may hold. */
function readRegsyncRanges(
  text: string
):
  { ok: true; range: { regsync: (v: RegsyncVersion) => boolean } } | { ok: false; reason: string } {
  const checks: ((v: RegsyncVersion) => boolean)[] = []
  for (const side of text.split('||')) {
    const range = readRegsyncRange(side)
    if (!range.ok)
      return { ok: false, reason: `semver(${text}) is not a range regsync reads: ${range.reason}` }
    checks.push(range.check)
  }
  return { ok: true, range: { regsync: v => checks.some(check => check(v)) } }
}

function readRange(
  body: string
): { ok: true; range: { range: semver.Range } } | { ok: false; reason: string } {
  const text = body.trim()
  // The semver package drops words it cannot read (`>=1 banana` is `>=1.0.0`): every part of
  // the range is checked here first, so nothing the user wrote is silently ignored.
  const parts = text.replace(/(<=|>=|<|>|=|~|\^)\s+/g, '$1').split(/\s+/)
  const bad = parts.find(part => part !== '-' && part !== '||' && !COMPARATOR.test(part))
  // Each side of `||` holds something; `-` stands between two plain versions (1.26 - 1.28).
  const plain = (part: string | undefined) => part !== undefined && /^v?[\dxX*]/.test(part)
  const empty = text.split('||').some(side => side.trim() === '')
  const hyphen = parts.findIndex(
    (p, i) => p === '-' && !(plain(parts[i - 1]) && plain(parts[i + 1]))
  )
  if (empty || hyphen >= 0) {
    return {
      ok: false,
      reason: `semver(${text}) is not a range: ${empty ? '"||" needs a range on each side' : '"-" stands between two versions, as in 1.26 - 1.28'}`
    }
  }
  if (bad !== undefined) {
    return {
      ok: false,
      reason: `semver(${text}) is not a range: "${bad.slice(0, 40)}" is not a version or comparator (examples: >=1.26 <2, ^1.26, ~1.26.3, 1.x, 1.26 - 1.28)`
    }
  }
  try {
    // loose: `v1.2` and `=1.2` read as people write them.
    return { ok: true, range: { range: new semver.Range(text, { loose: true }) } }
  } catch {
    return {
      ok: false,
      reason: `semver(${text}) is not a range the semver package reads (examples: >=1.26 <2, ^1.26, ~1.26.3, 1.x, 1.26 - 1.28)`
    }
  }
}

/** A range as skopeo sync reads it (Masterminds/semver), its white space made single spaces. */
function readLooseRange(
  text: string,
  raw: string
): { ok: true; range: { loose: LooseConstraints } } | { ok: false; reason: string } {
  // Runs of spaces, tabs and line breaks (the only white space parseTagPolicy lets through)
  // read as one space to Masterminds, so the single spaces of `text` do.
  const parsed = newLooseConstraints(Buffer.byteLength(raw) > MAX_CONSTRAINT_BYTES ? raw : text)
  if (!parsed.ok) {
    return {
      ok: false,
      reason: `semver(${text}) is not a range skopeo sync reads (Masterminds/semver: ${parsed.error.length > 80 ? `${parsed.error.slice(0, 80)}…` : parsed.error}; examples: >=1.26 <2, >=1.26, <2, ^1.26, ~1.26.3, 1.x, 1.26 - 1.28)`
    }
  }
  return { ok: true, range: { loose: parsed.constraints } }
}

function readExclude(
  body: string
): { ok: true; matcher: TagPolicy['exclude'][number] } | { ok: false; reason: string } {
  const text = body.trim()
  if (text.startsWith('/')) {
    if (!text.endsWith('/') || text.length < 3) {
      return { ok: false, reason: `exclude(${text}): a regex is written /…/` }
    }
    const pattern = text.slice(1, -1)
    // compileTagFilter refuses a pattern over MAX_PATTERN_LENGTH too.
    const filter = compileTagFilter(pattern)
    if (!filter.ok) return { ok: false, reason: `exclude(/${pattern}/) ${filter.reason}` }
    return { ok: true, matcher: { text: `/${pattern}/`, test: tag => filter.test(tag) } }
  }
  const tags = text.split(',').map(t => t.trim())
  if (tags.some(t => !/^[\w][\w.-]{0,127}$/.test(t))) {
    return {
      ok: false,
      reason: `exclude(${text}): list tags separated by commas (exclude(1.27.0, latest)), or give one /regex/`
    }
  }
  if (tags.length > MAX_EXCLUDED_TAGS) {
    return {
      ok: false,
      reason: `exclude(…) lists more than ${MAX_EXCLUDED_TAGS} tags: use a /regex/`
    }
  }
  const set = new Set(tags)
  return { ok: true, matcher: { text: tags.join(', '), test: tag => set.has(tag) } }
}

/**
 * A tag as a version: its semver reading, and whether the part after `-` is a variant.
 * (The loose reading reads tags with readLooseVersion.)
 */
export function readVersion(
  tag: string
): { version: semver.SemVer; variant: boolean; preRelease: boolean } | undefined {
  const version = semver.parse(tag, { loose: true })
  if (!version) return undefined
  const first = version.prerelease[0]
  if (first === undefined) return { version, variant: false, preRelease: false }
  if (PRE_RELEASE.test(String(first))) return { version, variant: false, preRelease: true }
  // A variant ranks and ranges as its release.
  const release = new semver.SemVer(`${version.major}.${version.minor}.${version.patch}`)
  return { version: release, variant: true, preRelease: false }
}

/** A variant's tag without its variant: `v1.27.3-alpine` → `v1.27.3`. */
function plainRelease(tag: string): string {
  const dash = tag.indexOf('-')
  return dash < 0 ? tag : tag.slice(0, dash)
}

/** Apply a policy to a registry's tag list. */
export function selectTags(policy: TagPolicy, tags: readonly string[]): Selection {
  const leftOut = new Map<LeftOutReason, { count: number; first: string[] }>()
  const leave = (reason: LeftOutReason, tag: string) => {
    const entry = leftOut.get(reason) ?? { count: 0, first: [] }
    entry.count++
    // Upstream names its tags: a long one is cut for the summary.
    if (entry.first.length < NAMED)
      entry.first.push(tag.length > 128 ? `${tag.slice(0, 128)}…` : tag)
    leftOut.set(reason, entry)
  }
  const versioned = policy.range !== undefined || policy.newest !== undefined
  const kept: Kept[] = []
  for (const tag of tags) {
    if (policy.regex && !policy.regex.filter.test(tag)) {
      leave('not matching the regex', tag)
      continue
    }
    let version: semver.SemVer | undefined
    let loose: LooseVersion | undefined
    if (versioned && policy.reading === 'loose') {
      // skopeo sync: NewVersion(tag), then Check against the range (IncludePrerelease is what
      // `prereleases` adds); without a range, pre-releases only when asked for.
      loose = readLooseVersion(tag)
      if (!loose) {
        leave('not a version', tag)
        continue
      }
      const constraints = policy.range?.loose
      const preRelease = loose.pre !== '' && !policy.prereleases
      if (constraints ? !checkLoose(constraints, loose, policy.prereleases) : preRelease) {
        // A pre-release the range takes once pre-releases are asked for is left out as one.
        const asked = !constraints || checkLoose(constraints, loose, true)
        leave(preRelease && asked ? 'a pre-release' : 'outside the range', tag)
        continue
      }
    } else if (versioned && policy.reading === 'regsync') {
      // regsync: no variants, no pre-release rule; only the range (newest is refused).
      const read = readRegsyncVersion(tag)
      if (!read) {
        leave('not a version', tag)
        continue
      }
      if (policy.range?.regsync && !policy.range.regsync(read)) {
        leave('outside the range', tag)
        continue
      }
    } else if (versioned) {
      const read = readVersion(tag)
      if (!read) {
        leave('not a version', tag)
        continue
      }
      // A variant only when the regex names it: it matches the tag but not its plain release
      // (`/-alpine$/` names 1.27.3-alpine; `/^1\./` matches 1.27.3 as well, and names none).
      if (read.variant && !(policy.regex && !policy.regex.filter.test(plainRelease(tag)))) {
        leave('a variant', tag)
        continue
      }
      if (read.preRelease && !policy.prereleases && !rangeNamesPreRelease(policy, read.version)) {
        leave('a pre-release', tag)
        continue
      }
      const options = { includePrerelease: policy.prereleases, loose: true }
      if (policy.range?.range && !semver.satisfies(read.version, policy.range.range, options)) {
        leave('outside the range', tag)
        continue
      }
      version = read.version
    }
    if (policy.exclude.some(e => e.test(tag))) {
      leave('excluded', tag)
      continue
    }
    kept.push(loose ? { tag, loose } : version ? { tag, version } : { tag })
  }
  let selected = kept
  if (policy.newest !== undefined) {
    // The N newest versions, each with every tag that reads as it (v1.2.3 and 1.2.3; variants).
    const versions = new Map<string, Kept>()
    for (const k of kept) if (!versions.has(keyOf(k))) versions.set(keyOf(k), k)
    const newest = new Set(
      [...versions.values()]
        .sort((a, b) => compareKept(b, a))
        .slice(0, policy.newest)
        .map(keyOf)
    )
    selected = []
    const older: typeof kept = []
    for (const k of kept) (newest.has(keyOf(k)) ? selected : older).push(k)
    for (const { tag } of older.sort(byVersionDesc)) leave('older than the newest', tag)
  }
  return {
    selected: selected.map(k => k.tag).sort(),
    seen: tags.length,
    leftOut: [...leftOut].map(([reason, { count, first }]) => ({ reason, count, first }))
  }
}

/** A tag kept, with its version: the semver package's, or Masterminds' (loose). */
type Kept = { tag: string; version?: semver.SemVer; loose?: LooseVersion }

/** The version a kept tag reads as, as a key: tags that read as one version share it. */
function keyOf(k: Kept): string {
  return k.loose
    ? `${k.loose.major}.${k.loose.minor}.${k.loose.patch}-${k.loose.pre}`
    : k.version!.format()
}

function compareKept(a: Kept, b: Kept): number {
  return a.loose && b.loose
    ? compareLoose(a.loose, b.loose)
    : semver.compare(a.version!, b.version!)
}

function byVersionDesc(a: Kept, b: Kept): number {
  return compareKept(b, a) || a.tag.localeCompare(b.tag)
}

/**
 * semver's own rule: a range naming a pre-release of a release (`>=1.27.0-rc.1`) lets that
 * release's pre-releases in.
 */
function rangeNamesPreRelease(policy: TagPolicy, version: semver.SemVer): boolean {
  return !!policy.range?.range && semver.satisfies(version, policy.range.range, { loose: true })
}

/** What a selection left out, each reason as said (`older than the newest 3`). */
export function leftOutSaid(
  selection: Selection,
  policy: TagPolicy
): { reason: string; count: number; first: string[] }[] {
  return selection.leftOut.map(l =>
    l.reason === 'older than the newest' ? { ...l, reason: `${l.reason} ${policy.newest}` } : l
  )
}

/** What a selection left out, in words: `120 not matching the regex (a, b, …)`. */
export function leftOutWords(selection: Selection, policy: TagPolicy): string {
  return leftOutSaid(selection, policy)
    .map(({ reason, count, first }) => {
      const more = count > first.length ? ', …' : ''
      return `${count} ${reason} (${first.join(', ')}${more})`
    })
    .join('; ')
}
