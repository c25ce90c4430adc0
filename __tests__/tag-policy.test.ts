/**
 * Tag policies (issue 20) over real tag lists: every tag library/nginx, library/alpine,
 * library/traefik and library/consul have published, as docker-library/official-images'
 * history lists them (__fixtures__/tags/, source commit and date in each file's header).
 * Each expectation is computed from the list by a separate, plainer rule (a regex over the
 * tag, numbers compared as numbers), not by the code under test.
 */
import { describe, expect, it } from '@jest/globals'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  parseTagPolicy,
  selectTags,
  leftOutWords,
  type TagPolicy
} from '../src/image/tag-policy.js'

const here = path.dirname(fileURLToPath(import.meta.url))
const tagsOf = (name: string) =>
  fs
    .readFileSync(path.join(here, '..', '__fixtures__', 'tags', `${name}.txt`), 'utf8')
    .split('\n')
    .filter(line => line && !line.startsWith('#'))
const nginx = tagsOf('nginx')
const alpine = tagsOf('alpine')
const traefik = tagsOf('traefik')
const consul = tagsOf('consul')

function policy(text: string): TagPolicy {
  const parsed = parseTagPolicy(text)
  if (!parsed.ok) throw new Error(`${text}: ${parsed.reason}`)
  return parsed.policy
}
const select = (text: string, tags: readonly string[]) => selectTags(policy(text), tags).selected

/** x.y.z as numbers, for the oracle. */
const triple = (tag: string) => {
  const m = /^v?(\d+)\.(\d+)\.(\d+)/.exec(tag)
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined
}
const atLeast = (tag: string, min: number[]) => {
  const t = triple(tag)!
  for (let i = 0; i < 3; i++) if (t[i] !== min[i]) return t[i]! > min[i]!
  return true
}
const below = (tag: string, max: number[]) => !atLeast(tag, max)
const sorted = (tags: string[]) => [...tags].sort()
/** The N newest distinct x.y.z among tags (numbers compared as numbers). */
function newestOf(tags: string[], n: number): string[] {
  const versions = [...new Set(tags.map(t => triple(t)!.join('.')))]
    .map(v => v.split('.').map(Number))
    .sort((a, b) => b[0]! - a[0]! || b[1]! - a[1]! || b[2]! - a[2]!)
    .slice(0, n)
    .map(v => v.join('.'))
  return sorted(tags.filter(t => versions.includes(triple(t)!.join('.'))))
}

describe('the fixtures are what they say', () => {
  it('hold hundreds of tags each, with variants, moving tags and pre-releases', () => {
    expect(nginx.length).toBeGreaterThan(1000)
    expect(nginx).toEqual(expect.arrayContaining(['1.27.3', '1.27.3-alpine', '1.27', 'mainline']))
    expect(alpine).toEqual(expect.arrayContaining(['3.15.0-rc.4', '3.17.0_rc1', '20190228']))
    expect(traefik).toEqual(
      expect.arrayContaining(['v3.1.2', '3.1.2', 'v3.1.2-windowsservercore-ltsc2022'])
    )
    expect(consul).toEqual(expect.arrayContaining(['1.10.0-beta1', '1.10.0-rc2']))
  })
})

describe('semver ranges', () => {
  it('nginx semver(>=1.26 <2): the plain releases, not variants, not two-part tags', () => {
    const expected = nginx.filter(
      t => /^\d+\.\d+\.\d+$/.test(t) && atLeast(t, [1, 26, 0]) && below(t, [2, 0, 0])
    )
    expect(expected.length).toBeGreaterThan(10)
    expect(select('semver(>=1.26 <2)', nginx)).toEqual(sorted(expected))
    const { leftOut } = selectTags(policy('semver(>=1.26 <2)'), nginx)
    const reasons = Object.fromEntries(leftOut.map(l => [l.reason, l.count]))
    expect(reasons['a variant']).toBeGreaterThan(100)
    expect(reasons['not a version']).toBeGreaterThan(100)
    expect(reasons['outside the range']).toBeGreaterThan(10)
  })

  it('caret, tilde, x-ranges and hyphen ranges read as the semver package reads them', () => {
    const plain = nginx.filter(t => /^\d+\.\d+\.\d+$/.test(t))
    expect(select('semver(~1.26.0)', nginx)).toEqual(
      sorted(plain.filter(t => t.startsWith('1.26.')))
    )
    expect(select('semver(1.27.x)', nginx)).toEqual(
      sorted(plain.filter(t => t.startsWith('1.27.')))
    )
    expect(select('semver(^1.26)', nginx)).toEqual(
      sorted(plain.filter(t => atLeast(t, [1, 26, 0]) && below(t, [2, 0, 0])))
    )
    expect(select('semver(1.26 - 1.27)', nginx)).toEqual(
      sorted(plain.filter(t => t.startsWith('1.26.') || t.startsWith('1.27.')))
    )
  })

  it('alpine: a release candidate is left out unless asked for; 3.17.0_rc1 and dates are not versions', () => {
    const releases = alpine.filter(t => /^\d+\.\d+\.\d+$/.test(t) && atLeast(t, [3, 15, 0]))
    expect(select('semver(>=3.15)', alpine)).toEqual(sorted(releases))
    expect(select('semver(>=3.15) prereleases', alpine)).toEqual(
      sorted([...releases, '3.15.0-rc.4'])
    )
    // semver's own rule: a range naming a pre-release of 3.15.0 lets 3.15.0's in.
    expect(select('semver(>=3.15.0-rc.1 <3.16)', alpine)).toEqual(
      sorted([...releases.filter(t => t.startsWith('3.15.')), '3.15.0-rc.4'])
    )
    const { leftOut } = selectTags(policy('semver(>=3.15)'), alpine)
    expect(leftOut.find(l => l.reason === 'a pre-release')?.first).toEqual(['3.15.0-rc.4'])
    expect(leftOut.find(l => l.reason === 'not a version')?.first).toContain('20190228')
  })

  it('traefik: v1.2.3 and 1.2.3 are the same version, and both are selected', () => {
    const expected = traefik.filter(t => /^v?3\.1\.\d+$/.test(t))
    expect(expected.some(t => t.startsWith('v'))).toBe(true)
    expect(select('semver(~3.1)', traefik)).toEqual(sorted(expected))
    expect(select('semver(>=v3.1.0 <v3.2.0)', traefik)).toEqual(sorted(expected))
  })
})

describe('loose: versions and ranges as skopeo sync reads them (Masterminds/semver v3.5.0)', () => {
  it.each([
    // Sized so Masterminds' own regex would take a second or two here (measured: 20 ms at 18
    // repeats of the first, doubling each; 460 ms at 12 of the second, ×4 each), so that a
    // regression fails by its time instead of hanging the run.
    `${'1.2 '.repeat(24)}!`,
    `${'1.2, '.repeat(13)}!`,
    `${'>= 1.2.3-a.b '.repeat(19)}!`
  ])('reads a range in linear time, whatever it holds: %#', range => {
    // Masterminds' own regexes run on Go's linear engine; here they must not backtrack.
    const started = performance.now()
    const parsed = parseTagPolicy(`semver(${range}) loose`)
    expect(performance.now() - started).toBeLessThan(200)
    expect(parsed.ok ? '' : parsed.reason).toMatch(/is not a range skopeo sync reads/)
  })

  it('alpine semver(>=3.12.0) loose: two-part tags and dates count, every -suffix is a pre-release', () => {
    const coerced = (t: string) => {
      const m = /^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?$/.exec(t)
      return m ? [Number(m[1]), Number(m[2] ?? 0), Number(m[3] ?? 0)] : undefined
    }
    const expected = alpine.filter(t => {
      const v = coerced(t)
      return v !== undefined && (v[0]! > 3 || (v[0] === 3 && v[1]! >= 12))
    })
    expect(expected).toEqual(expect.arrayContaining(['3.20', '3.12.0', '20190228']))
    expect(select('semver(>=3.12.0) loose', alpine)).toEqual(sorted(expected))
    // Without loose: only x.y.z releases.
    expect(select('semver(>=3.12.0)', alpine)).not.toContain('3.20')
    // A variant is a pre-release to loose: left out by a range without one, even under a regex.
    expect(select('/-alpine$/ semver(>=1.27) loose', nginx)).toEqual([])
    expect(select('/-alpine$/ semver(>=1.27)', nginx).length).toBeGreaterThan(5)
  })

  // masterminds-semver.test compares with the library itself; these hold without Go.
  it('a side of || naming a pre-release lets in the pre-releases of every version', () => {
    const preReleases = consul.filter(t => /^\d+\.\d+\.\d+-/.test(t))
    expect(preReleases).toEqual(expect.arrayContaining(['1.10.0-beta1', '1.10.0-rc2']))
    // The semver package lets in only 1.0.0's own; Masterminds any version's.
    expect(select('semver(>=1.0.0-0) loose', consul)).toEqual(
      sorted(consul.filter(t => /^\d+(\.\d+){0,2}(-.*)?$/.test(t) && !t.startsWith('0.')))
    )
    // Only the side that names one: 1.10.0-rc2 is in neither side's plain releases.
    expect(select('semver(>=1.10.0-0 <1.11 || >=1.20) loose', consul)).toContain('1.10.0-rc2')
    expect(select('semver(<1.10 || >=1.20.0-0) loose', consul)).not.toContain('1.10.0-rc2')
    expect(select('semver(<1.11) loose prereleases', consul)).toContain('1.10.0-rc2')
  })

  it("Masterminds' own syntax and numbers: commas, !=, =>, ^*, 07, uint64", () => {
    const tags = ['1.26.0', '1.27', '1.27.3', 'v1.27.4', '1.28.0', '07', '18446744073709551615']
    expect(select('semver(>=1.26, <1.28) loose', tags)).toEqual(
      select('semver(>=1.26 <1.28) loose', tags)
    )
    expect(select('semver(!=1.27.3 =>1.27 <1.28) loose', tags)).toEqual(['1.27', 'v1.27.4'])
    // Masterminds' caret on * is 0.0.0 alone; its tilde on * is every version.
    expect(select('semver(^*) loose', [...tags, '0.0.0'])).toEqual(['0.0.0'])
    expect(select('semver(~*) loose', tags)).toEqual(sorted(tags))
    expect(select('semver(7) loose', tags)).toEqual(['07'])
    expect(select('semver(>=9007199254740993) loose', tags)).toEqual(['18446744073709551615'])
    expect(select('newest(2) loose', tags)).toEqual(['07', '18446744073709551615'])
    // Masterminds refuses what the semver package reads: a pre-release number with a leading 0.
    expect(parseTagPolicy('semver(>=1.0.0-rc.01) loose')).toEqual({
      ok: false,
      reason: expect.stringMatching(/is not a range skopeo sync reads .*constraint parser error/)
    })
    expect(select('semver(>=0.9) loose prereleases', ['1.0.0-rc.01', '1.0.0-rc.1'])).toEqual([
      '1.0.0-rc.1'
    ])
  })

  it('what is left out, and why', () => {
    const p = policy('semver(>=1.27 <1.28) loose')
    const selection = selectTags(p, ['1.27.1', '1.27.2-rc1', '1.26.0-rc1', '1.28.0', 'latest'])
    expect(selection.selected).toEqual(['1.27.1'])
    // 1.27.2-rc1 is in the range once pre-releases are asked for; 1.26.0-rc1 is not.
    expect(leftOutWords(selection, p)).toBe(
      '1 a pre-release (1.27.2-rc1); 2 outside the range (1.26.0-rc1, 1.28.0); 1 not a version (latest)'
    )
  })
})

describe('variants come in only when the regex names them', () => {
  it('a regex that matches the plain release too names no variant (/^1\\./ newest(3) is newest(3))', () => {
    expect(select('/^1\\./ newest(3)', nginx)).toEqual(select('newest(3)', nginx))
    expect(select('/^1\\.2/ semver(>=1.26)', nginx)).toEqual(
      select('semver(>=1.26)', nginx).filter(t => t.startsWith('1.2'))
    )
    // -nextcloud, -devel: words, not pre-releases.
    expect(select('/-devel$/ newest(1)', ['1.2.3-devel', '1.2.2-devel'])).toEqual(['1.2.3-devel'])
  })
})

describe('the newest N', () => {
  it('nginx newest(3): the three newest releases', () => {
    const expected = newestOf(
      nginx.filter(t => /^\d+\.\d+\.\d+$/.test(t)),
      3
    )
    expect(expected).toHaveLength(3)
    expect(select('newest(3)', nginx)).toEqual(expected)
  })

  it('traefik newest(2): each version with both of its spellings', () => {
    const expected = newestOf(
      traefik.filter(t => /^v?\d+\.\d+\.\d+$/.test(t)),
      2
    )
    expect(expected.length).toBeGreaterThanOrEqual(2)
    expect(select('newest(2)', traefik)).toEqual(expected)
  })

  it('within a range, and within a regex that names a variant', () => {
    const plain = nginx.filter(t => /^\d+\.\d+\.\d+$/.test(t))
    expect(select('semver(~1.26) newest(2)', nginx)).toEqual(
      newestOf(
        plain.filter(t => t.startsWith('1.26.')),
        2
      )
    )
    const alpineVariant = nginx.filter(t => /^\d+\.\d+\.\d+-alpine$/.test(t))
    expect(select('/^[0-9.]+-alpine$/ newest(2)', nginx)).toEqual(newestOf(alpineVariant, 2))
    expect(select('/^[0-9.]+-alpine$/ semver(<1.28) newest(1)', nginx)).toEqual(
      newestOf(
        alpineVariant.filter(t => below(t, [1, 28, 0])),
        1
      )
    )
  })

  it('consul: pre-releases rank below their release, and only count when asked for', () => {
    const releases = consul.filter(t => /^\d+\.\d+\.\d+$/.test(t))
    expect(select('newest(1)', consul)).toEqual(newestOf(releases, 1))
    // 1.10.0's pre-releases alone: rc2 > rc > beta4 > … as semver orders them.
    const early = consul.filter(t => t.startsWith('1.10.0-'))
    expect(early).toEqual(expect.arrayContaining(['1.10.0-rc2', '1.10.0-beta1']))
    expect(select('newest(1) prereleases', early)).toEqual(['1.10.0-rc2'])
    expect(select('newest(1)', [...early, '1.9.17'])).toEqual(['1.9.17'])
    expect(select('newest(1) prereleases', [...early, '1.10.0'])).toEqual(['1.10.0'])
  })
})

describe('exclusions', () => {
  it('apply to a range, a regex and newest alike, before newest counts', () => {
    const plain = nginx.filter(t => /^\d+\.\d+\.\d+$/.test(t))
    const inRange = plain.filter(t => atLeast(t, [1, 26, 0]) && below(t, [2, 0, 0]))
    expect(select('semver(>=1.26 <2) exclude(/^1\\.27\\./)', nginx)).toEqual(
      sorted(inRange.filter(t => !t.startsWith('1.27.')))
    )
    const newest = newestOf(plain, 3)
    expect(select(`newest(3) exclude(${newest[2]})`, nginx)).toEqual(
      newestOf(
        plain.filter(t => t !== newest[2]),
        3
      )
    )
    expect(select('/^1\\.27\\.\\d+$/ exclude(1.27.0, 1.27.1) exclude(/\\.3$/)', nginx)).toEqual(
      sorted(
        plain.filter(
          t => /^1\.27\.\d+$/.test(t) && !['1.27.0', '1.27.1'].includes(t) && !t.endsWith('.3')
        )
      )
    )
  })

  it('a regex alone still means what it meant', () => {
    expect(select('/^3\\.2\\d$/', alpine)).toEqual(sorted(alpine.filter(t => /^3\.2\d$/.test(t))))
  })
})

describe('what is left out is said, counted, the first few named', () => {
  it('per reason, bounded', () => {
    const p = policy('semver(>=1.26 <2) newest(2) exclude(1.29.0)')
    const selection = selectTags(p, nginx)
    const total = selection.selected.length + selection.leftOut.reduce((n, l) => n + l.count, 0)
    expect(total).toBe(nginx.length)
    for (const l of selection.leftOut) expect(l.first.length).toBeLessThanOrEqual(5)
    const words = leftOutWords(selection, p)
    expect(words).toMatch(/\d+ older than the newest 2 \(1\.\d+\.\d+, /)
    expect(words).toMatch(/\d+ a variant \(/)
  })
})

describe('bad policies are named', () => {
  it.each([
    ['newest(0)', /newest\(0\): N must be a whole number from 1 to 1000/],
    ['newest(x)', /newest\(x\): N must be a whole number/],
    ['semver(banana)', /semver\(banana\) is not a range: "banana" is not a version/],
    ['semver()', /semver\(\): give a range/],
    [
      'semver(>=1 newest(3)',
      /semver\(>=1 newest\(3\) is not a range: "newest\(3" is not a version/
    ],
    ['semver(>=1.26 banana)', /"banana" is not a version or comparator/],
    ['/a/ /b/', /two regexes/],
    ['semver(>=1) semver(<2)', /two ranges/],
    ['exclude(latest)', /selects nothing/],
    ['prereleases /a/', /prereleases applies to semver/],
    ['newest(3)exclude(a)', /put a space between clauses/],
    ['newest(3) latest', /"latest" is not a clause/],
    ['exclude(a b) newest(1)', /list tags separated by commas/],
    ['/(a/', /\/\(a\/ /],
    ['/^(\\d+)\\1$/ newest(1)', /backreference/]
  ])('%s', (text, reason) => {
    const parsed = parseTagPolicy(text)
    expect(parsed.ok).toBe(false)
    if (!parsed.ok) expect(parsed.reason).toMatch(reason)
  })

  it.each([
    ['semver(>=1.26 ||)', /"\|\|" needs a range on each side/],
    ['semver(||)', /"\|\|" needs a range on each side/],
    ['semver(1.2.3 -)', /"-" stands between two versions/],
    ['semver(>=1.26 - <2)', /"-" stands between two versions/]
  ])('a range that would be read as something else is refused: %s', (text, reason) => {
    const parsed = parseTagPolicy(text)
    expect(parsed.ok).toBe(false)
    if (!parsed.ok) expect(parsed.reason).toMatch(reason)
  })

  it('a policy is kept in its normal form', () => {
    expect(policy('  semver( >=1.26  <2 )   newest(3)  exclude( 1.27.0 ,latest )').text).toBe(
      'semver(>=1.26 <2) newest(3) exclude(1.27.0, latest)'
    )
  })
})
