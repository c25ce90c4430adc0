/**
 * regsync's semverRange, read as regsync reads it (issue 20). The tables are regclient's own
 * tests, case for case: internal/semver/semver_test.go (TestNewVersion, TestVersionCompare,
 * TestNewConstraint, TestConstraintCheck) and cmd/regsync/regsync_test.go
 * (TestFilterListVersionScheme), regclient commit 725072f6 (2026-07-01). The last table runs
 * them through a regsync file, so the sync-file mapping (allow anchored, deny as exclusions,
 * semverRange items ORed) is what is tested, not only the version rules.
 * sync-files.e2e compares with regsync itself on real registries.
 */
import { describe, expect, it } from '@jest/globals'
import {
  compareRegsync,
  readRegsyncRange,
  readRegsyncVersion,
  type RegsyncVersion
} from '../src/image/regsync-semver.js'
import { parseSyncFile } from '../src/image/sync-files.js'
import { parseTagPolicy, selectTags } from '../src/image/tag-policy.js'

const version = (text: string): RegsyncVersion => {
  const v = readRegsyncVersion(text)
  if (!v) throw new Error(`${text} is not a version`)
  return v
}
const check = (range: string, v: string) => {
  const r = readRegsyncRange(range)
  if (!r.ok) throw new Error(`${range}: ${r.reason}`)
  return r.check(version(v))
}

describe("regsync's versions (TestNewVersion)", () => {
  it.each([
    ['1.2.3', [1, 2, 3], ''],
    ['v1.2.3', [1, 2, 3], ''],
    ['1.2.3-rc1', [1, 2, 3], 'rc1'],
    ['v1.2.3-beta.1', [1, 2, 3], 'beta.1'],
    ['1.2.3+build123', [1, 2, 3], ''],
    ['1', [1], ''],
    ['1.2', [1, 2], ''],
    ['0.0.0', [0, 0, 0], ''],
    ['10.0.17763.2114', [10, 0, 17763, 2114], ''],
    // Beyond regclient's table: what else a tag may hold.
    ['v5-scratch', [5], 'scratch'],
    ['2.0.0-alpine3.21-x', [2, 0, 0], 'alpine3.21-x'],
    ['007', [7], '']
  ])('%s', (text, parts, preRelease) => {
    expect(readRegsyncVersion(text)).toEqual({ parts: parts.map(BigInt), preRelease })
  })

  it.each([
    'abc',
    '',
    'latest',
    'v',
    '1..2',
    '1.x',
    'stable-alpine',
    'vv1',
    '1.2.3.',
    '99999999999999999999'
  ])('%j is not a version', text => {
    expect(readRegsyncVersion(text)).toBeUndefined()
  })
})

describe("regsync's order (TestVersionCompare)", () => {
  it.each([
    ['1.2.3', '1.2.3', 0],
    ['1.2.3', '2.2.3', -1],
    ['2.2.3', '1.2.3', 1],
    ['1.2.3', '1.3.3', -1],
    ['1.3.3', '1.2.3', 1],
    ['1.2.3', '1.2.4', -1],
    ['1.2.4', '1.2.3', 1],
    ['v1.2.3', 'v1.2.3', 0],
    ['1.2.3-rc1', '1.2.3', -1],
    ['1.2.3', '1.2.3-rc1', 1],
    ['1.2.3-alpha', '1.2.3-beta', -1],
    ['1.2.3-rc2', '1.2.3-rc11', -1],
    ['10.0.17763.2114', '10.0.17763.2114', 0],
    ['10.0.17763.2114', '10.0.17763.2115', -1],
    ['10.0.17763.2115', '10.0.17763.2114', 1],
    ['10.0.17763', '10.0.17763.0', 0],
    ['1.2.3', '1.2.3.1', -1],
    ['1.2.3.1', '1.2.3', 1],
    // regsync's quirk, kept: words without numbers end the comparison as equal.
    ['1.0.0-alpha.1', '1.0.0-alpha.2', 0],
    ['1.0.0-rc.1', '1.0.0-rc.1.1', 0],
    ['1.0.0-rc1.1', '1.0.0-rc1.2', -1],
    ['1.0.0-rc1', '1.0.0-rc1.1', -1]
  ])('%s vs %s: %d', (a, b, expected) => {
    expect(compareRegsync(version(a), version(b))).toBe(expected)
  })
})

describe("regsync's ranges (TestNewConstraint, TestConstraintCheck)", () => {
  it.each([
    '>=1.0.0',
    '<=2.0.0',
    '>1.0.0',
    '<2.0.0',
    '=1.0.0',
    '>=1.0.0 <2.0.0',
    '^1.2.3',
    '~1.2.3'
  ])('%s is a range', range => {
    expect(readRegsyncRange(range).ok).toBe(true)
  })
  it.each([
    ['', 'an empty range'],
    ['>=abc', '">=abc" is not a comparator regsync reads'],
    ['invalid range', '"invalid" is not a comparator regsync reads'],
    // What the semver package reads and regsync does not: refused, never read otherwise.
    ['>= 1.2', '">=" is not a comparator regsync reads'],
    ['1.x', '"1.x" is not a comparator'],
    ['*', '"*" is not a comparator'],
    ['1.2 - 1.4', '"-" is not a comparator'],
    ['>=1,<2', '">=1,<2" is not a comparator']
  ])('%j is refused: %s', (range, reason) => {
    const r = readRegsyncRange(range)
    expect(r.ok).toBe(false)
    expect(r.ok ? '' : r.reason).toContain(reason)
  })

  it.each([
    ['>=1.0.0', '1.0.0', true],
    ['>=1.0.0', '1.5.0', true],
    ['>=1.0.0', '0.9.0', false],
    ['<=2.0.0', '2.0.0', true],
    ['<=2.0.0', '1.5.0', true],
    ['<=2.0.0', '2.1.0', false],
    ['>1.0.0', '1.0.1', true],
    ['>1.0.0', '1.0.0', false],
    ['<2.0.0', '1.9.9', true],
    ['<2.0.0', '2.0.0', false],
    ['=1.0.0', '1.0.0', true],
    ['=1.0.0', '1.0.1', false],
    ['>=1.0.0 <2.0.0', '1.5.0', true],
    ['>=1.0.0 <2.0.0', '1.0.0', true],
    ['>=1.0.0 <2.0.0', '2.0.0', false],
    ['>=1.0.0 <2.0.0', '0.9.0', false],
    ['>=1.0.0 <2.0.0', '2.1.0', false],
    ['^1.2.3', '1.2.3', true],
    ['^1.2.3', '1.5.0', true],
    ['^1.2.3', '1.2.5', true],
    ['^1.2.3', '2.0.0', false],
    ['^1.2.3', '1.2.2', false],
    ['^0.2.3', '0.2.5', true],
    ['^0.2.3', '0.3.0', false],
    ['^0.0.3', '0.0.3', true],
    ['^0.0.3', '0.0.4', false],
    ['~1.2.3', '1.2.3', true],
    ['~1.2.3', '1.2.5', true],
    ['~1.2.3', '1.3.0', false],
    ['~1.2.3', '1.2.2', false],
    ['>=1.0.0', 'v1.5.0', true],
    ['>=v1.0.0', '1.5.0', true],
    ['>=1.0.0-rc1', '1.0.0-rc2', true],
    ['>=1.0.0-rc1', '1.0.0', true],
    // Where regsync differs from the semver package, as regsync reads it.
    ['1.2', '1.2.0', true],
    ['1.2', '1.2.1', false],
    ['~1', '1.0.9', true],
    ['~1', '1.1.0', false],
    ['^1.2.3', '2.0.0-rc1', true],
    ['>=3.12.0', '3.15.0-rc.4', true],
    // Go's int wraps past its largest: the upper bound becomes the smallest, nothing is below.
    ['^9223372036854775807', '9223372036854775807', false],
    ['~1.9223372036854775807', '1.9223372036854775807', false],
    ['^9223372036854775806', '9223372036854775806', true],
    ['^0.9223372036854775807', '0.9223372036854775807', false],
    ['^0.0.9223372036854775807', '0.0.9223372036854775807', false],
    // The first identical word-only identifier ends the comparison: rc.1 = rc.2 to regsync.
    ['>1.0.0-rc.1', '1.0.0-rc.2', false]
  ])('%s holds for %s: %s', (range, v, expected) => {
    expect(check(range, v)).toBe(expected)
  })
})

describe('regsync files select what regsync selects (TestFilterListVersionScheme)', () => {
  /** A regsync file of one repository entry with these tags, through the action's policies. */
  function filterTagList(
    tags: { semverRange?: string[]; allow?: string[]; deny?: string[] },
    input: string[]
  ): string[] {
    const yaml = [
      'version: 1',
      'sync:',
      '  - source: r.io/app',
      '    type: repository',
      '    tags:',
      ...Object.entries(tags).map(([key, list]) => `      ${key}: ${JSON.stringify(list)}`)
    ].join('\n')
    const selected = new Set<string>()
    for (const request of parseSyncFile(yaml, 'regsync.yml')) {
      if (request.kind !== 'tag-filter') throw new Error(`not a policy: ${JSON.stringify(request)}`)
      const parsed = parseTagPolicy(request.policy)
      if (!parsed.ok) throw new Error(parsed.reason)
      for (const tag of selectTags(parsed.policy, input).selected) selected.add(tag)
    }
    // regsync keeps the registry's order; the action's selection is a set.
    return input.filter(tag => selected.has(tag))
  }

  it.each([
    [
      'semver with multiple ranges and deny',
      { semverRange: ['>=1.0.0 <2.0.0', '>=4.0.0'], deny: ['.*-rc.*'] },
      ['1.0.0', '1.5.0-rc1', '2.0.0', '4.0.0', '4.1.0-rc2', '5.0.0'],
      ['1.0.0', '4.0.0', '5.0.0']
    ],
    [
      'semver filters non-semver tags',
      { semverRange: ['>=1.0.0'] },
      ['latest', 'dev', '1.0.0', '1.5.0', 'main'],
      ['1.0.0', '1.5.0']
    ],
    [
      'semver with allow/deny combination',
      { semverRange: ['>=1.0.0 <3.0.0'], deny: ['.*-rc.*'] },
      ['1.0.0', '1.5.0-rc1', '2.0.0', '2.1.0-rc2', '3.0.0'],
      ['1.0.0', '2.0.0']
    ],
    [
      'no version range (backward compatibility)',
      { allow: ['v[0-9]+\\.[0-9]+\\.[0-9]+'] },
      ['v1.0.0', 'v1.5.0', 'latest', 'dev'],
      ['v1.0.0', 'v1.5.0']
    ],
    ['empty result when no matches', { semverRange: ['>=5.0.0'] }, ['1.0.0', '2.0.0', '3.0.0'], []],
    [
      'multiple ranges skip middle versions',
      { semverRange: ['>=1.0.0 <1.20.0', '>=1.22.0'] },
      ['1.0.0', '1.19.0', '1.20.0', '1.21.0', '1.22.0', '1.23.0'],
      ['1.0.0', '1.19.0', '1.22.0', '1.23.0']
    ],
    [
      'version range with allow filter',
      { semverRange: ['>=1.0.0'], allow: ['v.*'] },
      ['1.0.0', 'v1.5.0', 'v2.0.0', '3.0.0'],
      ['v1.5.0', 'v2.0.0']
    ],
    ['empty version range array', { semverRange: [] }, ['1.0.0', '2.0.0'], ['1.0.0', '2.0.0']],
    [
      'semver with suffix alpine',
      { semverRange: ['>=1.0.0 <2.0.0'] },
      ['v1.2.3-alpine3.21', 'v1.5.0-alpine3.20', 'v2.0.0-alpine3.21', 'v0.9.0-alpine3.19'],
      ['v1.2.3-alpine3.21', 'v1.5.0-alpine3.20', 'v2.0.0-alpine3.21']
    ],
    [
      'semver with suffix scratch',
      { semverRange: ['>=5.0.0'] },
      ['v5-scratch', 'v4-scratch', 'v6-scratch', 'v5.1-scratch'],
      ['v6-scratch', 'v5.1-scratch']
    ],
    [
      'semver with suffix mixed',
      { semverRange: ['>=1.0.0 <3.0.0'] },
      ['v1.0.0', 'v1.5.0-alpine', 'v2.0.0-scratch', 'v2.5.1-debian', 'v3.0.0-alpine'],
      ['v1.0.0', 'v1.5.0-alpine', 'v2.0.0-scratch', 'v2.5.1-debian', 'v3.0.0-alpine']
    ],
    [
      'semver major version only',
      { semverRange: ['>=2 <5'] },
      ['v1', 'v2', 'v3', 'v4', 'v5', 'v6'],
      ['v2', 'v3', 'v4']
    ],
    [
      'semver major.minor only',
      { semverRange: ['>=1.5 <2.0'] },
      ['v1.4', 'v1.5', 'v1.6', 'v1.9', 'v2.0', 'v2.1'],
      ['v1.5', 'v1.6', 'v1.9']
    ],
    [
      'semver mixed version formats',
      { semverRange: ['>=1.0.0 <3.0.0'] },
      ['v1', 'v1.5', 'v1.5.0', 'v2', 'v2.0', 'v2.0.0', 'v3', 'v3.0.0'],
      ['v1', 'v1.5', 'v1.5.0', 'v2', 'v2.0', 'v2.0.0']
    ],
    [
      'semver with deny on suffixes',
      { semverRange: ['>=1.0.0'], deny: ['.*-alpine.*'] },
      ['v1.0.0', 'v1.2.3-alpine3.21', 'v2.0.0-scratch', 'v2.5.0-alpine3.20'],
      ['v1.0.0', 'v2.0.0-scratch']
    ],
    [
      'semver + allow adds non-semver tags',
      { semverRange: ['>=1.0.0 <2.0.0'], allow: ['latest', 'edge'] },
      ['0.9.0', '1.0.0', '1.5.0', '2.0.0', 'latest', 'edge', 'dev'],
      []
    ],
    [
      'semver + allow + deny combines all filters',
      { semverRange: ['>=1.0.0'], allow: ['latest', 'stable'], deny: ['.*-rc.*', 'latest'] },
      ['1.0.0', '1.5.0-rc1', '2.0.0', 'latest', 'stable', 'dev'],
      []
    ],
    [
      'allow without semver still works (backward compatible)',
      { allow: ['v[0-9]+\\.[0-9]+'] },
      ['v1.0', 'v1.5', 'v2.0', 'latest', 'edge'],
      ['v1.0', 'v1.5', 'v2.0']
    ],
    [
      'semver + allow with overlapping matches',
      { semverRange: ['>=1.0.0'], allow: ['v[0-9]+\\.[0-9]+\\.[0-9]+'] },
      ['v1.0.0', 'v1.5.0', 'v2.0.0', 'latest'],
      ['v1.0.0', 'v1.5.0', 'v2.0.0']
    ]
  ])('%s', (_name, tags, input, expected) => {
    expect(filterTagList(tags, input)).toEqual(expected)
  })
})

describe('the regsync reading in a policy', () => {
  it('is written after semver(…); items of a semverRange list are joined by ||', () => {
    const parsed = parseTagPolicy('semver(>=1.0.0 <2 || ~3.1) regsync')
    expect(parsed.ok && parsed.policy.text).toBe('semver(>=1.0.0 <2 || ~3.1) regsync')
    const policy = parsed.ok ? parsed.policy : undefined
    expect(
      selectTags(policy!, ['1.0', '2.0.0-rc1', '2.0.0', '3.1.7', '3.2', 'latest']).selected
    ).toEqual(['1.0', '2.0.0-rc1', '3.1.7'])
  })

  it.each([
    ['semver(1.x) regsync', 'semver(1.x) is not a range regsync reads: "1.x" is not a comparator'],
    ['semver(>=1 ||) regsync', 'semver(>=1 ||) is not a range regsync reads: an empty range'],
    ['newest(3) regsync', 'regsync has no newest(N)'],
    ['semver(>=1) prereleases regsync', 'regsync has no prereleases'],
    ['semver(>=1) loose regsync', 'says loose and regsync: write one'],
    ['/^1/ regsync', 'regsync applies to semver(…): add one, or leave it out'],
    ['semver(\ufeff>=3.20) regsync', 'holds U+FEFF at character 1; the action refuses white space'],
    [
      'semver(>=1.2\u0085<2) regsync',
      'holds U+0085 at character 6; the action refuses white space'
    ],
    ['semver(>=1.2\u00a0<2)', 'holds U+00A0 at character 6']
  ])('%s is refused: %s', (text, reason) => {
    const parsed = parseTagPolicy(text)
    expect(parsed.ok).toBe(false)
    expect(parsed.ok ? '' : parsed.reason).toContain(reason)
  })
})
