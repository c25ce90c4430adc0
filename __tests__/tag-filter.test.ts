/**
 * Tag filters on RE2: linear time on hostile tags, RegExp's meaning on
 * ordinary filters, and clear refusals for what RE2 cannot run.
 */
import { describe, expect, it } from '@jest/globals'
import fc from 'fast-check'
import { MAX_TAG_LENGTH } from '../src/image/references.js'
import { compileTagFilter, MAX_PATTERN_LENGTH, MAX_PROGRAM_SIZE } from '../src/image/tag-filter.js'

function compiled(pattern: string): (tag: string) => boolean {
  const filter = compileTagFilter(pattern)
  if (!filter.ok) throw new Error(`/${pattern}/ refused: ${filter.reason}`)
  return tag => filter.test(tag)
}

function refusal(pattern: string): string {
  const filter = compileTagFilter(pattern)
  if (filter.ok) throw new Error(`/${pattern}/ was accepted`)
  return filter.reason
}

describe('linear time', () => {
  it('runs the catastrophic-backtracking filter on 1,000 hostile tags in milliseconds', () => {
    const test = compiled('^(\\d+\\.?)+$')
    const hostile = `${'1'.repeat(30)}x`
    let matched = 0
    const started = performance.now()
    for (let i = 0; i < 1000; i++) if (test(hostile)) matched++
    const re2Ms = performance.now() - started
    expect(matched).toBe(0)
    expect(re2Ms).toBeLessThan(200)

    // RegExp on one far shorter tag: each further `1` doubles its time (30 would take seconds).
    const js = /^(\d+\.?)+$/
    const jsStarted = performance.now()
    expect(js.test(`${'1'.repeat(22)}x`)).toBe(false)
    const jsMs = performance.now() - jsStarted
    // One shorter tag on RegExp outlasts the thousand on RE2 (measured: ~200 ms against ~10 ms).
    expect(jsMs).toBeGreaterThan(re2Ms)
  })

  it('never matches a "tag" longer than any valid tag, so each match is bounded', () => {
    const test = compiled('a')
    expect(test('a'.repeat(MAX_TAG_LENGTH))).toBe(true)
    expect(test('a'.repeat(MAX_TAG_LENGTH + 1))).toBe(false)
  })
})

describe('same meaning as RegExp', () => {
  it.each([
    ['3\\.2', 'v3.20', true],
    ['3\\.2', '3.2', true],
    ['^3\\.2$', 'v3.20', false],
    ['^3\\.2$', '3.2', true],
    ['^3\\.2$', '3.2\n', false],
    ['^v?\\d+\\.\\d+\\.\\d+$', 'v1.27.3', true],
    ['^v?\\d+\\.\\d+\\.\\d+$', '1.27.3-alpine', false],
    ['-alpine$', '1.27.3-alpine', true],
    ['^(1\\.2[6-7]|latest)$', '1.27', true],
    ['^(1\\.2[6-7]|latest)$', 'latest-x', false],
    ['^[^-]+$', '1.27', true],
    ['^[^-]+$', '1.27-rc1', false],
    ['^\\w+$', 'A_1', true],
    ['\\bv1\\b', 'app-v1', true],
    ['\\Bv1', 'app-v1', false],
    ['^(?<major>\\d+)\\.', '12.0', true],
    ['^\\u0031\\x2e', '1.0', true],
    ['\\/', 'a/b', true],
    ['[]', 'anything', false],
    ['^[^]+$', 'anything', true],
    ['^a{2,3}$', 'aaaa', false],
    ['^a{,3}$', 'a{,3}', true],
    ['^(?:a|ab)(?:c|bcd)$', 'abcd', true],
    ['', 'x', true]
  ])('/%s/ on %j → %s', (pattern, tag, expected) => {
    expect(new RegExp(pattern).test(tag)).toBe(expected)
    expect(compiled(pattern)(tag)).toBe(expected)
  })

  it('agrees with RegExp on generated filters and tags', () => {
    const literal = fc.constantFrom('a', 'b', '1', '2', '\\.', '-', '_', 'v')
    const atom = fc.oneof(
      literal,
      fc.constantFrom('.', '\\d', '\\w', '\\W', '[a-b]', '[^1]', '[\\d.]', '[-a]')
    )
    const quantifier = fc.constantFrom('', '', '*', '+', '?', '{1,2}', '*?', '+?', '{2}')
    const { pattern } = fc.letrec<{ pattern: string; sequence: string; piece: string }>(tie => ({
      piece: fc.oneof(
        { depthSize: 'small' },
        fc.tuple(atom, quantifier).map(([a, q]) => a + q),
        fc
          .tuple(fc.constantFrom('(', '(?:'), tie('pattern'), quantifier)
          .map(([open, inner, q]) => `${open}${inner})${q}`)
      ),
      sequence: fc.array(tie('piece'), { maxLength: 4 }).map(pieces => pieces.join('')),
      pattern: fc
        .tuple(
          fc.constantFrom('', '^'),
          fc.array(tie('sequence'), { minLength: 1, maxLength: 3 }),
          fc.constantFrom('', '$')
        )
        .map(([start, alternatives, end]) => start + alternatives.join('|') + end)
    }))
    const small = pattern.filter(p => p.length <= 60)
    const tag = fc
      .array(fc.constantFrom('a', 'b', '1', '2', '.', '-', '_', 'v', 'x'), { maxLength: 12 })
      .map(chars => chars.join(''))
    fc.assert(
      fc.property(small, fc.array(tag, { minLength: 1, maxLength: 8 }), (p, tags) => {
        const test = compiled(p)
        const js = new RegExp(p)
        for (const t of tags) expect(test(t)).toBe(js.test(t))
      }),
      { numRuns: 1000 }
    )
  })
})

describe('refusals', () => {
  it.each([
    ['^(\\d+)\\.\\1$', /backreference \(\\1\).*RE2.*linear time/],
    ['^(?<v>\\d)\\k<v>$', /backreference \(\\k<…>\)/],
    ['^v(?=\\d)', /lookahead \(\(\?=…\)\).*rewrite it without lookaround/],
    ['^v(?!1)', /lookahead \(\(\?!…\)\)/],
    ['(?<=v)1', /lookbehind/],
    ['(?<!v)1', /lookbehind/],
    ['\\Av1', /escape \\A, which JavaScript and RE2 read differently; write A/],
    ['\\p{L}', /escape \\p/],
    ['\\u{31}', /\\u\{…\}/],
    ['\\x{31}', /\\x\{…\}/],
    ['\\012', /octal escape/],
    ['a{1001}', /cannot run on RE2.*invalid repeat count/],
    ['(', /is not a valid regular expression/],
    ['[z-a]', /is not a valid regular expression/],
    ['(?i)v1', /is not a valid regular expression/]
  ])('/%s/ is refused', (pattern, reason) => {
    expect(refusal(pattern)).toMatch(reason)
  })

  it('does not mistake a class member or an escaped parenthesis for lookaround', () => {
    expect(compiled('[(?=]')('=')).toBe(true)
    expect(compiled('\\(?=')('=')).toBe(true)
    expect(compiled('[\\]\\\\1]')('1')).toBe(true)
  })

  it('refuses an overlong pattern and one that compiles too large', () => {
    expect(refusal('a'.repeat(MAX_PATTERN_LENGTH + 1))).toMatch(
      new RegExp(`is ${MAX_PATTERN_LENGTH + 1} characters long`)
    )
    expect(refusal('(a{999}|b{999})')).toMatch(
      new RegExp(`too large once compiled \\(\\d+ RE2 instructions, at most ${MAX_PROGRAM_SIZE}\\)`)
    )
    expect(compileTagFilter('^[\\w][\\w.-]{0,127}$').ok).toBe(true)
  })
})
