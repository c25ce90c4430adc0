/**
 * Tag filters (`repo:/regex/`) run on RE2 (re2js), not on JavaScript's
 * backtracking RegExp: the upstream owner chooses the tags a filter is run
 * against, and with backtracking a tag can take exponential time
 * (`/^(\d+\.?)+$/` against thirty `1`s and an `x`). RE2 matches in time
 * linear in the tag.
 *
 * The pattern is read as JavaScript writes it (it must also be a valid
 * RegExp) and matches as RegExp.test does: unanchored, anchored only where the
 * user wrote `^`/`$`. What RE2 cannot run (backreferences, lookaround) or
 * would read differently from RegExp (escapes such as `\A`, `\p`, `\Q`) is
 * refused with a reason, never silently changed. Known remaining differences
 * lie outside tag syntax: `\s` and `.` on whitespace or line breaks.
 */
import { RE2JS } from 're2js'
// The distribution spec's longest tag: longer "tags" cannot be mirrored and are never matched.
import { MAX_TAG_LENGTH } from './references.js'

/** Tag filters run against every tag a registry lists; keep them small. */
export const MAX_PATTERN_LENGTH = 256
/**
 * RE2 instructions a filter may compile to. Matching costs up to tag length ×
 * program size; this keeps a worst tag around a millisecond. Ordinary filters
 * are under 100; `[\w.-]{0,127}` is 259.
 */
export const MAX_PROGRAM_SIZE = 1000

export type TagFilter =
  | { ok: true; test(tag: string): boolean }
  | {
      ok: false
      /** Reads after "tag filter /…/ ", e.g. "uses a backreference (\1), …". */
      reason: string
    }

const NOT_RE2 =
  'which tag filters cannot use: they run on RE2, which matches in linear time so that no tag an upstream registry lists can stall the run'

/** Escapes read alike by RegExp and RE2 (plus punctuation, `\0`, `\xHH` and `\uHHHH`). */
const SAME_ESCAPES = new Set('dDwWsSbBnrtfv')

/** The first construct of the pattern RE2 cannot run as RegExp would, as a refusal. */
function unsupported(pattern: string): string | undefined {
  let inClass = false
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string
    if (c === '\\') {
      const next = pattern[i + 1] ?? ''
      i++
      if (/[1-9]/.test(next) || (next === 'k' && pattern[i + 1] === '<')) {
        return `uses a backreference (\\${next}${next === 'k' ? '<…>' : ''}), ${NOT_RE2}; list the tags instead or match without referring back`
      }
      if (next === '0' && /[0-9]/.test(pattern[i + 1] ?? '')) {
        return `uses an octal escape (\\0${pattern[i + 1]}), which JavaScript and RE2 read differently; write the character itself`
      }
      if ((next === 'u' || next === 'x') && pattern[i + 1] === '{') {
        return `uses \\${next}{…}, which JavaScript reads as a repeated "${next}" (no u flag); write the character itself`
      }
      if (/[a-zA-Z]/.test(next) && !SAME_ESCAPES.has(next) && !/^[xu0]$/.test(next)) {
        return `uses the escape \\${next}, which JavaScript and RE2 read differently; write ${next} without the backslash, or a character class`
      }
    } else if (inClass) {
      if (c === ']') inClass = false
    } else if (c === '[') {
      // JavaScript's `[]` and `[^]` close at once (translateRegExp keeps that meaning).
      const close = pattern[i + 1] === '^' ? i + 2 : i + 1
      if (pattern[close] === ']') i = close
      else inClass = true
    } else if (c === '(' && pattern[i + 1] === '?') {
      const look = /^\(\?(<?[=!])/.exec(pattern.slice(i))
      if (look) {
        const kind = (look[1] as string).startsWith('<') ? 'lookbehind' : 'lookahead'
        return `uses a ${kind} ((?${look[1]}…)), ${NOT_RE2}; rewrite it without lookaround, e.g. with a character class ([^a]) or by listing the alternatives`
      }
    }
  }
  return undefined
}

/** Compile a tag filter's pattern (the text between the slashes). */
export function compileTagFilter(pattern: string): TagFilter {
  if (pattern.length > MAX_PATTERN_LENGTH) {
    return {
      ok: false,
      reason: `is ${pattern.length} characters long; a tag filter is at most ${MAX_PATTERN_LENGTH}`
    }
  }
  try {
    // Syntax only: compiling never backtracks.
    new RegExp(pattern)
  } catch (e) {
    return {
      ok: false,
      reason: `is not a valid regular expression (${(e as Error).message.replace(/^Invalid regular expression: /, '')})`
    }
  }
  const problem = unsupported(pattern)
  if (problem) return { ok: false, reason: problem }
  let re: RE2JS
  try {
    // translateRegExp maps JavaScript-only spellings (\uHHHH, (?<name>, [^], /) to RE2's.
    re = RE2JS.compile(RE2JS.translateRegExp(pattern))
  } catch (e) {
    return {
      ok: false,
      reason: `cannot run on RE2, the linear-time matcher tag filters use (${(e as Error).message.replace(/^error parsing regexp: /, '')})`
    }
  }
  if (re.programSize() > MAX_PROGRAM_SIZE) {
    return {
      ok: false,
      reason: `is too large once compiled (${re.programSize()} RE2 instructions, at most ${MAX_PROGRAM_SIZE}); use smaller counts in {n,m}`
    }
  }
  return { ok: true, test: tag => tag.length <= MAX_TAG_LENGTH && re.test(tag) }
}
