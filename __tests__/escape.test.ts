import { describe, expect, test } from '@jest/globals'
import { WORD_JOINER, clip, escapeHtml, escapeProse, safeLog } from '../src/action/escape.js'
import { HOSTILE_PROSE, decodeEntities, githubLinks } from '../__fixtures__/github-api.js'

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

describe('escapeProse', () => {
  test.each(HOSTILE_PROSE)('%j reads the same and links nothing', input => {
    const out = escapeProse(input)
    expect(out).not.toMatch(/[<>|\n[\]`]/)
    expect(decodeEntities(out).replaceAll(WORD_JOINER, '')).toBe(input)
    expect(githubLinks(out)).toEqual([])
  })

  test('the patterns do find what escapeHtml alone lets through', () => {
    const plain = HOSTILE_PROSE.filter(t => githubLinks(escapeHtml(t)).length > 0)
    expect(plain.length).toBeGreaterThanOrEqual(HOSTILE_PROSE.length - 4)
    expect(githubLinks(escapeHtml('@octocat #1 GH-2 https://x www.y.z a@b.c'))).toEqual([
      'mention: @octocat',
      'issue: #1',
      'gh: GH-2',
      'url: https://x',
      'www: www.y',
      'email: a@b.c'
    ])
  })

  test('the joiners go where a pattern would start, and nowhere else', () => {
    const j = WORD_JOINER
    expect(escapeProse('@a #1 GH-2 https://x www.y')).toBe(
      `&#64;${j}a &#35;${j}1 GH${j}-2 https:${j}//x www${j}.y`
    )
    expect(escapeProse('docker.io/library/nginx:1.27 is fine')).toBe(
      'docker.io/library/nginx:1.27 is fine'
    )
  })

  test('a joiner the user wrote is shown, not kept', () => {
    expect(escapeProse(`@${WORD_JOINER}x`)).toBe(`&#64;${WORD_JOINER}\\u2060x`)
  })

  test('unescaped text without patterns is left as escapeHtml leaves it', () => {
    expect(escapeProse('a < b & c')).toBe(escapeHtml('a < b & c'))
  })
})

describe('clip', () => {
  test('cuts to the length with an ellipsis, and leaves short text alone', () => {
    expect(clip('abcdef', 6)).toBe('abcdef')
    expect(clip('abcdefg', 6)).toBe('abcde…')
    expect(clip('abcdefg', 6)).toHaveLength(6)
  })

  test('never halves a surrogate pair', () => {
    const cut = clip('ab😀😀😀', 4)
    expect(cut).toBe('ab…')
    expect(cut).not.toMatch(/[\ud800-\udbff](?![\udc00-\udfff])/)
  })
})
