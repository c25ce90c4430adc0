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

/**
 * Text safe to write to the runner's log: on one line, with nothing the
 * runner would read as a workflow command (`::cmd::` or `##[cmd]`).
 */
export function safeLog(text: string): string {
  return text.replace(INVISIBLE, codePoint).replace(/::/g, ':\\u003a').replace(/##\[/g, '#\\u0023[')
}
