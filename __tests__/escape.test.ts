import { describe, expect, test } from '@jest/globals'
import { escapeHtml, safeLog } from '../src/escape.js'

describe('escapeHtml', () => {
  test.each([
    ['<script>alert(1)</script>', '&lt;script&gt;alert(1)&lt;/script&gt;'],
    ['a|b', 'a&#124;b'],
    [
      '`code` **bold** _em_ [link](x) ![img](y)',
      '&#96;code&#96; &#42;&#42;bold&#42;&#42; &#95;em&#95; &#91;link&#93;(x) &#33;&#91;img&#93;(y)'
    ],
    ['@octocat #1', '&#64;octocat &#35;1'],
    ['${{ secrets.X }}', '&#36;&#123;&#123; secrets.X &#125;&#125;'],
    ['"quoted" & \'single\'', '&quot;quoted&quot; &amp; &#39;single&#39;'],
    ['line\nbreak\r\u2028x', 'line\\u000abreak\\u000d\\u2028x'],
    ['rtl\u202eevil', 'rtl\\u202eevil'],
    ['&amp;', '&amp;amp;']
  ])('%j', (input, expected) => {
    expect(escapeHtml(input)).toBe(expected)
  })

  test('never leaves a raw tag, pipe or newline', () => {
    const nasty = '</td></tr></table><img src=x onerror=alert(1)>|\n\n# heading'
    expect(escapeHtml(nasty)).not.toMatch(/[<>|\n]/)
  })
})

describe('safeLog', () => {
  test.each([
    ['::error::pwned', ':\\u003aerror:\\u003apwned'],
    ['x\n::set-output name=a::b', 'x\\u000a:\\u003aset-output name=a:\\u003ab'],
    ['##[error]old style', '#\\u0023[error]old style'],
    ['tab\there', 'tab\\u0009here'],
    ['docker.io/library/nginx:1.27', 'docker.io/library/nginx:1.27']
  ])('%j', (input, expected) => {
    expect(safeLog(input)).toBe(expected)
  })

  test('no output line can start a workflow command', () => {
    const input = 'a\r\n  ::add-mask::x\u2028::stop-commands::y\u0085::warning::z'
    for (const line of safeLog(input).split(/\r?\n/)) expect(line.trimStart()).not.toMatch(/^::/)
    expect(safeLog(input)).not.toContain('::')
  })
})
