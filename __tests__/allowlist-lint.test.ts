/**
 * The allowlist's normal form: DaoCloud's real allows.txt (__fixtures__/README.md
 * says where it comes from) is in it, and shuffled, redundant, duplicated,
 * malformed and badly spaced copies are reported line by line and fixed back
 * to exactly that file. "Covered" is checked against the matcher itself.
 */
import { describe, expect, test } from '@jest/globals'
import fc from 'fast-check'
import { parseAllowlist, type Allowlist } from '../src/allowlist/allowlist.js'
import {
  compareBytes,
  lintAllowlist,
  type Finding,
  type LintResult
} from '../src/allowlist/lint.js'
import { parseRepositoryName } from '../src/image/references.js'
import { readFixture } from '../__fixtures__/action-runner.js'

const TEXT = readFixture('allowlist-daocloud.txt')
const LINES = TEXT.split('\n').slice(0, -1)

/** A deterministic shuffle (mulberry32), so a failure can be replayed. */
function shuffled<T>(items: readonly T[], seed: number): T[] {
  let state = seed
  const random = () => {
    state = (state + 0x6d2b79f5) | 0
    let t = Math.imul(state ^ (state >>> 15), 1 | state)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  const out = [...items]
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    ;[out[i], out[j]] = [out[j] as T, out[i] as T]
  }
  return out
}

const cSort = (lines: readonly string[]) => [...lines].sort(compareBytes)

function kinds(result: LintResult): string[] {
  return [...new Set(result.findings.map(f => f.kind))].sort()
}

/** Every finding names a real line of the file and quotes it as written. */
function expectLinesNamed(text: string, findings: readonly Finding[]): void {
  const lines = text.split(/\r?\n/)
  for (const f of findings) {
    expect(f.line).toBeGreaterThanOrEqual(1)
    expect(f.line).toBeLessThanOrEqual(lines.length)
    expect(f.text).toBe(lines[f.line - 1])
  }
}

/** Lint, then check the fix: the normal form is clean and fixing again changes nothing. */
function lintAndFix(text: string): LintResult {
  const result = lintAllowlist(text, 'allows.txt')
  expectLinesNamed(text, result.findings)
  const again = lintAllowlist(result.normalForm, 'allows.txt')
  expect(again.normalForm).toBe(result.normalForm)
  expect(again.findings.filter(f => f.fixable)).toEqual([])
  return result
}

describe("DaoCloud's allows.txt", () => {
  test('is in normal form: no findings, and the normal form is the file itself', () => {
    const result = lintAllowlist(TEXT, 'allows.txt')
    expect(result.findings).toEqual([])
    expect(result.normalized).toBe(true)
    expect(result.normalForm).toBe(TEXT)
    expect(result.patterns).toBe(1321)
  })

  test('its order is LC_ALL=C sort -u order', () => {
    expect(cSort([...new Set(LINES)])).toEqual(LINES)
  })

  test('a shuffled copy: every misplaced line reported, the fix gives back the file', () => {
    const copy = shuffled(LINES, 6).join('\n') + '\n'
    const result = lintAndFix(copy)
    expect(kinds(result)).toEqual(['order'])
    // Far more than a handful are out of place; each one says where it goes.
    expect(result.findings.length).toBeGreaterThan(1000)
    for (const f of result.findings) {
      expect(f.problem).toMatch(/^out of order: in byte order \(LC_ALL=C sort\) it comes /)
      expect(f.action).toMatch(/^move it (after|before) line \d+ \(".+"\)$/)
    }
    expect(result.normalForm).toBe(TEXT)
  })

  test('one misplaced line is the only finding, and says where it belongs', () => {
    const at = LINES.indexOf('gcr.io/**')
    const copy = ['gcr.io/**', ...LINES.filter(l => l !== 'gcr.io/**')].join('\n') + '\n'
    const result = lintAndFix(copy)
    expect(result.findings).toHaveLength(1)
    const [f] = result.findings as [Finding]
    expect(f).toMatchObject({ line: 1, text: 'gcr.io/**', kind: 'order', fixable: true })
    // In the copy, the line that precedes it in sorted order sits at its old place (0-based at).
    expect(f.action).toBe(`move it after line ${at + 1} (${JSON.stringify(LINES[at - 1])})`)
    expect(result.normalForm).toBe(TEXT)
  })

  /**
   * Lines the real wildcards cover: for `p/*` a name one segment below; for
   * `p/**` names at several depths and wildcards below it, and `p/*` itself.
   * `docker.io/*` is left out on purpose: it covers no Docker Hub name (see below).
   */
  function coveredLines(): string[] {
    const extra: string[] = []
    for (const line of LINES) {
      if (line.endsWith('/**')) {
        const p = line.slice(0, -3)
        extra.push(`${p}/zz-covered`, `${p}/zz-covered/deeper`, `${p}/zz-covered/*`)
        extra.push(`${p}/zz-covered/**`, `${p}/*`)
      } else if (line.endsWith('/*') && line !== 'docker.io/*') {
        extra.push(`${line.slice(0, -2)}/zz-covered`)
      }
    }
    return extra.filter(l => !LINES.includes(l))
  }

  test('a copy with lines the wildcards cover: each reported with its cover, the fix drops them', () => {
    const extra = coveredLines()
    expect(extra.length).toBeGreaterThan(900)
    const lines = cSort([...LINES, ...extra])
    const copy = lines.join('\n') + '\n'
    const result = lintAndFix(copy)
    expect(kinds(result)).toEqual(['covered'])
    expect(result.findings.map(f => f.text).sort()).toEqual([...extra].sort())
    const list = parseAllowlist(TEXT, 'allows.txt')
    for (const f of result.findings) {
      // The cover named is a real wildcard line of the copy, and the matcher agrees it covers.
      const [, cover, line] = /covered by "(.+)" on line (\d+)$/.exec(f.problem) ?? []
      expect(lines[Number(line) - 1]).toBe(cover)
      expect(cover).toMatch(/\/\*\*?$/)
      const probe = f.text.replace(/\/\*\*?$/, '/x')
      expect(list.match(name(probe))?.text).toBeDefined()
    }
    expect(result.normalForm).toBe(TEXT)
  })

  test('a copy with duplicates (some spelled short): each names the first, the fix drops them', () => {
    const doubled = LINES.flatMap((l, i) => (i % 97 === 0 ? [l, l] : [l]))
    const lines = [...doubled]
    // `nginx` is docker.io/library/nginx, already on a line of the file.
    lines.splice(lines.indexOf('docker.io/library/nginx') + 1, 0, 'docker.io/library/nginx')
    const copy = lines.join('\n') + '\n'
    const result = lintAndFix(copy)
    expect(kinds(result)).toEqual(['duplicate'])
    expect(result.findings).toHaveLength(doubled.length - LINES.length + 1)
    for (const f of result.findings) {
      const first = Number(/already on line (\d+)$/.exec(f.problem)?.[1])
      expect(first).toBe(f.line - 1)
      expect(lines[first - 1]).toBe(f.text)
    }
    expect(result.normalForm).toBe(TEXT)
  })

  test('shuffled, redundant, duplicated, CRLF, spaces, blank lines and short names at once: fixed back to the file', () => {
    const noisy = shuffled([...LINES, ...coveredLines(), ...LINES.slice(0, 50)], 42).map((l, i) =>
      i % 31 === 0 ? `  ${l}\t` : i % 37 === 0 ? l.replace(/^docker\.io\/library\//, '') : l
    )
    noisy.splice(100, 0, '', '   ')
    const copy = noisy.join('\r\n')
    const result = lintAndFix(copy)
    expect(kinds(result)).toEqual([
      'blank',
      'covered',
      'duplicate',
      'final-newline',
      'line-ends',
      'order',
      'spelling',
      'whitespace'
    ])
    expect(result.findings.filter(f => f.kind === 'line-ends')).toEqual([
      expect.objectContaining({ line: 1, problem: `${noisy.length - 1} line(s) end with CR LF` })
    ])
    expect(result.findings.filter(f => f.kind === 'blank').map(f => f.line)).toEqual([101, 102])
    expect(result.normalForm).toBe(TEXT)
  })
})

function name(text: string) {
  const parsed = parseRepositoryName(text)
  if (!parsed.ok) throw new Error(`${text}: ${parsed.reason}`)
  return parsed.ref
}

/** The findings of a small list, as [line, kind] pairs. */
function findingsOf(text: string): [number, string][] {
  return lintAllowlist(text, 'a.txt').findings.map(f => [f.line, f.kind])
}

describe('what covers what (as src/allowlist/allowlist.ts matches)', () => {
  test.each([
    ['a.io/x/*', 'a.io/x/y'],
    ['a.io/x/**', 'a.io/x/y'],
    ['a.io/x/**', 'a.io/x/y/z'],
    ['a.io/x/**', 'a.io/x/*'],
    ['a.io/x/**', 'a.io/x/y/*'],
    ['a.io/x/**', 'a.io/x/y/**'],
    ['a.io/**', 'a.io/*'],
    ['a.io/**', 'a.io/x'],
    ['a.io/*', 'a.io/x'],
    ['localhost:5000/**', 'localhost:5000/x/y'],
    ['docker.io/**', 'docker.io/library/nginx'],
    ['docker.io/library/*', 'docker.io/library/nginx'],
    ['docker.io/bitnami/*', 'docker.io/bitnami/redis']
  ])('%s covers %s', (wide, narrow) => {
    const text = cSort([wide, narrow]).join('\n') + '\n'
    const line = text.split('\n').indexOf(narrow) + 1
    expect(findingsOf(text)).toEqual([[line, 'covered']])
    expect(lintAllowlist(text, 'a.txt').normalForm).toBe(`${wide}\n`)
  })

  test.each([
    // `*` is exactly one segment: not deeper, not the prefix itself, not another wildcard.
    ['a.io/x/*', 'a.io/x/y/z'],
    ['a.io/x/*', 'a.io/x'],
    ['a.io/x/*', 'a.io/x/**'],
    ['a.io/x/*', 'a.io/x/y/*'],
    // `**` is one or more segments: the prefix itself is not matched.
    ['a.io/x/**', 'a.io/x'],
    ['a.io/**', 'a.io/x/**'.replace('a.io', 'b.io')],
    // Segments, not text: a longer segment is another name.
    ['a.io/x/**', 'a.io/xy/z'],
    ['a.io/x/*', 'a.io/xy'],
    // docker.io/* is docker.io/<one segment>, which no normalised Docker Hub name is.
    ['docker.io/*', 'docker.io/library/nginx'],
    ['docker.io/*', 'docker.io/bitnami/redis'],
    // Another host, or the same host on another port.
    ['a.io/**', 'a.io:5000/x'],
    ['a.io/**', 'a.io.evil.com/x']
  ])('%s does not cover %s', (wide, other) => {
    const text = cSort([wide, other]).join('\n') + '\n'
    const line = text.split('\n').indexOf(other) + 1
    expect(findingsOf(text).filter(([l]) => l === line)).toEqual([])
    expect(lintAllowlist(text, 'a.txt').normalForm.split('\n')).toContain(other)
  })

  test('a chain of covers: everything under the widest line goes, with its comments', () => {
    const text = ['a.io/x/**', '# y', 'a.io/x/y/*', 'a.io/x/y/z # z', '# the host', 'a.io/**'].join(
      '\n'
    )
    const result = lintAllowlist(text + '\n', 'a.txt')
    expect(result.findings.map(f => [f.line, f.kind])).toEqual([
      [1, 'covered'],
      [3, 'covered'],
      [4, 'covered']
    ])
    // Each names the line that stays, even when the matcher found a narrower cover first.
    expect(result.findings.map(f => f.problem.replace(/^.* is already /, ''))).toEqual(
      Array(3).fill('covered by "a.io/**" on line 6')
    )
    expect(result.findings.map(f => f.action)).toEqual([
      'remove it',
      'remove it; its comments move to line 6',
      'remove it; its comments move to line 6'
    ])
    expect(result.normalForm).toBe('# the host\n# y\n# z\na.io/**\n')
  })
})

describe('comments, blank lines and spacing', () => {
  test('the header stays on top; comments move with their pattern; inline comments stay', () => {
    const text = [
      '# Images we mirror.',
      '# One repository a line.',
      '',
      '# Kubernetes',
      'registry.k8s.io/**',
      'quay.io/b/app # team b',
      '# Docker Hub official images',
      'docker.io/library/nginx',
      '# end of list'
    ].join('\n')
    const result = lintAndFix(text + '\n')
    expect(result.findings.map(f => [f.line, f.kind])).toEqual([
      [5, 'order'],
      [6, 'order']
    ])
    expect(result.normalForm).toBe(
      [
        '# Images we mirror.',
        '# One repository a line.',
        '',
        '# Docker Hub official images',
        'docker.io/library/nginx',
        'quay.io/b/app # team b',
        '# Kubernetes',
        'registry.k8s.io/**',
        '# end of list',
        ''
      ].join('\n')
    )
  })

  test('a comment block not followed by a blank line belongs to the first pattern', () => {
    const result = lintAndFix('# about b\nb.io/x\na.io/x\n')
    expect(result.normalForm).toBe('a.io/x\n# about b\nb.io/x\n')
  })

  test('spacing, blank lines, CRLF and the final line break, each on its line', () => {
    const text = '# head  \r\n\r\n a.io/x\r\n\r\nb.io/y\t#  note \r\n\r\n\r\nc.io/z'
    const result = lintAndFix(text)
    expect(result.findings.map(f => [f.line, f.kind])).toEqual([
      [1, 'line-ends'],
      [1, 'whitespace'],
      [3, 'whitespace'],
      [4, 'blank'],
      [5, 'whitespace'],
      [6, 'blank'],
      [7, 'blank'],
      [8, 'final-newline']
    ])
    expect(result.findings[3]?.action).toMatch(/^remove it/)
    expect(result.findings[4]?.action).toBe('write it as "b.io/y #  note"')
    expect(result.normalForm).toBe('# head\n\na.io/x\nb.io/y #  note\nc.io/z\n')
  })

  test('short names are written in full, hosts in lower case', () => {
    const result = lintAndFix('GHCR.IO/org/*\nbitnami/*\nnginx\nindex.docker.io/library/alpine\n')
    expect(result.findings.filter(f => f.kind === 'spelling').map(f => [f.line, f.action])).toEqual(
      [
        [1, 'write it as "ghcr.io/org/*"'],
        [2, 'write it as "docker.io/bitnami/*"'],
        [3, 'write it as "docker.io/library/nginx"'],
        [4, 'write it as "docker.io/library/alpine"']
      ]
    )
    expect(result.normalForm).toBe(
      'docker.io/bitnami/*\ndocker.io/library/alpine\ndocker.io/library/nginx\nghcr.io/org/*\n'
    )
  })

  test('empty files and comment-only files', () => {
    expect(lintAllowlist('', 'a.txt')).toMatchObject({ findings: [], normalForm: '' })
    expect(findingsOf('\n')).toEqual([[1, 'blank']])
    expect(lintAndFix('# nothing yet\n').findings).toEqual([])
    expect(lintAndFix('# nothing yet\n\n').normalForm).toBe('# nothing yet\n')
  })
})

describe('malformed lines', () => {
  const text = [
    'a.io/x',
    'docker.io/**/x',
    'ghcr.io/Org/app',
    'nginx:latest',
    '::error::x',
    'https://hub.docker.com/r/bitnami/redis',
    'quay.io/a*',
    '<img src=x>'
  ].join('\n')

  test('reported with line numbers and what they might mean; never rewritten', () => {
    const result = lintAllowlist(text + '\n', 'allows.txt')
    const invalid = result.findings.filter(f => f.kind === 'invalid')
    expect(invalid.map(f => f.line)).toEqual([2, 3, 4, 5, 6, 7, 8])
    expect(invalid.every(f => !f.fixable)).toBe(true)
    expect(invalid[0]?.problem).toMatch(/may only stand as the last path segment/)
    expect(invalid[1]?.problem).toMatch(/upper-case/)
    expect(invalid[2]?.action).toMatch(
      /^write "docker\.io\/library\/nginx" if that is what you meant/
    )
    expect(invalid[4]?.action).toMatch(
      /^write "docker\.io\/bitnami\/redis" if that is what you meant/
    )
    expect(result.normalized).toBe(false)
    // Kept as written, sorted with the rest; fixing again changes nothing and they stay reported.
    const normal = result.normalForm.split('\n')
    for (const line of text.split('\n')) expect(normal).toContain(line)
    const again = lintAllowlist(result.normalForm, 'allows.txt')
    expect(again.normalForm).toBe(result.normalForm)
    expect(again.findings.map(f => f.kind)).toEqual(Array(7).fill('invalid'))
  })

  test('the parser agrees: each of them is an error there too', () => {
    for (const line of text.split('\n').slice(1)) {
      expect(() => parseAllowlist(line, 'a.txt')).toThrow(/invalid line/)
    }
  })
})

describe('image entries with tag policies, written into an allowlist', () => {
  test('are named as such, with the repository line to write; never rewritten', () => {
    const text = [
      'docker.io/library/nginx:semver(>=1.26 <2) newest(3)',
      'ghcr.io/acme/app:/^v1\\./',
      'quay.io/x/y'
    ].join('\n')
    const result = lintAllowlist(`${text}\n`, 'allows.txt')
    const invalid = result.findings.filter(f => f.kind === 'invalid')
    expect(invalid.map(f => [f.line, f.fixable])).toEqual([
      [1, false],
      [2, false]
    ])
    expect(invalid[0]?.problem).toBe(
      'not a valid pattern: an allowlist names repositories, never tags: the tag policy semver(>=1.26 <2) newest(3) belongs in images; here write "docker.io/library/nginx"'
    )
    expect(invalid[0]?.action).toMatch(
      /^write "docker\.io\/library\/nginx" if that is what you meant/
    )
    expect(invalid[1]?.action).toMatch(/^write "ghcr\.io\/acme\/app" if that is what you meant/)
    expect(() => parseAllowlist('nginx:newest(2)', 'a.txt')).toThrow(
      /a.txt line 1: "nginx:newest\(2\)": an allowlist names repositories, never tags: the tag policy newest\(2\) belongs in images; here write "docker.io\/library\/nginx"/
    )
  })
})

describe('property: the normal form allows exactly what the file allowed', () => {
  const hosts = ['a.io', 'b.io:5000', 'docker.io']
  const segments = ['library', 'x', 'y']
  const paths = (depth: number): string[] =>
    depth === 0 ? [''] : paths(depth - 1).flatMap(p => segments.map(s => (p ? `${p}/${s}` : s)))
  const pathsUpTo = (max: number) => [1, 2, 3].filter(d => d <= max).flatMap(paths)
  // Every name a pattern of this universe can reach, spelled in full.
  const universe = hosts.flatMap(h => pathsUpTo(3).map(p => name(`${h}/${p}`)))
  const written = fc.oneof(
    fc
      .tuple(fc.constantFrom(...hosts, ''), fc.constantFrom(...pathsUpTo(3)))
      .map(([h, p]) => (h ? `${h}/${p}` : p)),
    fc
      .tuple(
        fc.constantFrom(...hosts, ''),
        fc.constantFrom('', ...pathsUpTo(2)),
        fc.constantFrom('/*', '/**')
      )
      .filter(([h, p]) => Boolean(h || p))
      .map(([h, p, w]) => (h && p ? `${h}/${p}` : h || p) + w)
  )
  const line = fc
    .tuple(
      written,
      fc.constantFrom('', '  ', '\t'),
      fc.option(fc.constantFrom('# one', '# two'), { nil: undefined })
    )
    .map(([p, space, comment]) => space + p + space + (comment ? ` ${comment}` : ''))
  const file = fc
    .tuple(
      fc.array(fc.oneof(line, line, line, fc.constantFrom('', '# note')), { maxLength: 25 }),
      fc.constantFrom('\n', '\r\n')
    )
    .map(([lines, eol]) => lines.join(eol) + eol)

  const allowed = (list: Allowlist) => universe.map(ref => list.match(ref) !== undefined)
  const comments = (text: string) =>
    text
      .split(/\r?\n/)
      .flatMap(l => (l.includes('#') ? [l.slice(l.indexOf('#')).trim()] : []))
      .sort()

  test('same names allowed, no finding left, idempotent, no comment lost', () => {
    fc.assert(
      fc.property(file, text => {
        const result = lintAllowlist(text, 'a.txt')
        const before = parseAllowlist(text, 'a.txt')
        const after = parseAllowlist(result.normalForm, 'a.txt')
        expect(allowed(after)).toEqual(allowed(before))
        const again = lintAllowlist(result.normalForm, 'a.txt')
        expect(again.findings).toEqual([])
        expect(again.normalForm).toBe(result.normalForm)
        expect(comments(result.normalForm)).toEqual(comments(text))
        expect(result.normalized).toBe(result.normalForm === text)
        expect(result.patterns).toBe(after.patterns.length)
      }),
      { numRuns: 1500 }
    )
  })
})
