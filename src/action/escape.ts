/**
 * Escaping for text that came from users (entries, issue titles and bodies)
 * on its way into HTML/Markdown and into the runner's log.
 */

const HTML: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
  '|': '&#124;',
  '`': '&#96;',
  '\\': '&#92;',
  '[': '&#91;',
  ']': '&#93;',
  '*': '&#42;',
  _: '&#95;',
  '@': '&#64;',
  '!': '&#33;',
  '~': '&#126;',
  $: '&#36;',
  '#': '&#35;',
  '{': '&#123;',
  '}': '&#125;'
}

// C0/C1 controls, DEL, line/paragraph separators and bidi overrides: they can
// end a log line, hide text, or reorder what a reader sees.
// eslint-disable-next-line no-control-regex
const INVISIBLE = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/g

function codePoint(ch: string): string {
  return `\\u${(ch.codePointAt(0) ?? 0).toString(16).padStart(4, '0')}`
}

/**
 * Text safe to place in HTML or Markdown (a table cell, a comment): every
 * character with a meaning there is an entity, and invisible ones are shown.
 */
export function escapeHtml(text: string): string {
  return text
    .replace(/[&<>"'|`\\[\]*_@!~${}#]/g, ch => HTML[ch] ?? ch)
    .replace(INVISIBLE, codePoint)
}

/** U+2060 WORD JOINER: invisible, and no mention, reference or autolink pattern matches across it. */
export const WORD_JOINER = '\u2060'

/**
 * User text as prose in a comment or the job summary (never inside `<code>`,
 * whose text users copy): escapeHtml, then a word joiner after `@` and `#`,
 * in `GH-`, in `://` and after `www`. GitHub decodes entities before it looks
 * for mentions, references and autolinks, so `&#64;user` alone would still
 * notify; with the joiner the text reads the same and no pattern matches.
 * Escape raw text once: the output is not meant to be escaped again.
 */
export function escapeProse(text: string): string {
  return (
    escapeHtml(text)
      // Every `&` left is the start of an entity escapeHtml wrote.
      .replace(/&#(64|35);/g, `&#$1;${WORD_JOINER}`)
      .replace(/(gh)-/gi, `$1${WORD_JOINER}-`)
      .replace(/:\/\//g, `:${WORD_JOINER}//`)
      .replace(/(www)\./gi, `$1${WORD_JOINER}.`)
  )
}

/**
 * At most `max` characters of `text`, the last one `…` when cut (never
 * halving a surrogate pair). Cut raw text, before escaping, so no entity is split.
 */
export function clip(text: string, max: number): string {
  if (text.length <= max) return text
  let end = Math.max(0, max - 1)
  const last = text.charCodeAt(end - 1)
  if (last >= 0xd800 && last <= 0xdbff) end--
  return `${text.slice(0, end)}…`
}

// core.summary writes an empty cell as an unclosed tag; give every cell content.
export const EMPTY_CELL = '–'

/** A table cell of code, what users copy: escaped, but no joiners (see escapeProse). */
export function codeCell(text: string, max = Infinity): string {
  return text ? `<code>${escapeHtml(clip(text, max))}</code>` : EMPTY_CELL
}

/** Longest run of a reference without a place to wrap (a commit-SHA tag has 40). */
const MAX_UNBROKEN = 12

/**
 * A reference (or a digest) as code in a table cell that wraps: clipped, cut into pieces
 * after each `/ : @ . _ -` and within any longer run every MAX_UNBROKEN characters, each
 * piece escaped, joined by `<wbr>` (a line-break opportunity GitHub's sanitizer keeps and a
 * copy leaves out), so no name pushes the columns after it off the screen. Empty text gives
 * an empty string.
 */
export function breakableCode(text: string, max = Infinity): string {
  return text ? `<code>${breakable(text, max)}</code>` : ''
}

/** The escaped pieces of breakableCode, without the `<code>` around them. */
export function breakable(text: string, max = Infinity): string {
  const pieces: string[] = []
  for (const part of clip(text, max).split(/(?<=[/:@._-])/)) {
    for (let i = 0; i < part.length; i += MAX_UNBROKEN) {
      pieces.push(escapeHtml(part.slice(i, i + MAX_UNBROKEN)))
    }
  }
  return pieces.join('<wbr>')
}

/**
 * Text safe to write to the runner's log: on one line, with nothing the
 * runner would read as a workflow command (`::cmd::` or `##[cmd]`).
 */
export function safeLog(text: string): string {
  return text.replace(INVISIBLE, codePoint).replace(/::/g, ':\\u003a').replace(/##\[/g, '#\\u0023[')
}
