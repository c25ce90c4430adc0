/**
 * The `loose` tag policy against the library skopeo sync itself runs: for each range, the
 * tags `semver(RANGE) loose` selects from every tag library/nginx, alpine, traefik and
 * consul have published (__fixtures__/tags/) and from a list of odd tags, beside what
 * tools/masterminds-semver selects from the same list. That program makes skopeo's own three
 * calls (semverFilterCollection, cmd/skopeo/sync.go: NewConstraint, NewVersion, Check) on
 * github.com/Masterminds/semver/v3 v3.5.0, the version skopeo pins; the jest global set-up
 * builds it with Go into .tools/.
 *
 * Ranges go through a skopeo sync file's images-by-semver (parseSyncFile), so the sync-file
 * mapping is tested too, and through `semver(…) loose` written directly.
 */
import { describe, expect, it } from '@jest/globals'
import { spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'
import { builtMastermindsSemver, MASTERMINDS_SEMVER_VERSION } from '../scripts/lib/go-tools.mjs'
import { parseSyncFile } from '../src/image/sync-files.js'
import { parseTagPolicy, selectTags } from '../src/image/tag-policy.js'

const here = path.dirname(fileURLToPath(import.meta.url))
const tagsOf = (name: string) =>
  fs
    .readFileSync(path.join(here, '..', '__fixtures__', 'tags', `${name}.txt`), 'utf8')
    .split('\n')
    .filter(line => line && !line.startsWith('#'))

/** Tags that probe the edges of Masterminds' reading, all valid Docker tags. */
const ODD = [
  ...['07', '1.07', '007.1.2', '0.2', '0.2.5', '0.3.0', '0.0.3', '0.0', '0', '00'],
  ...['10.0.17763.2114', '1.2.3.4', '1.2.3.', '1..2', '.1', 'v', 'V1.2.3', 'vv1', 'v1', 'v1.2'],
  ...['v2.10.0', 'v2.10', '2.10.1', 'v2.9.9', 'v3.0.0-rc.1', 'v3.0.0', '3', '3.0'],
  ...['1.0.0-0', '1.0.0-alpha', '1.0.0-alpha.1', '1.0.0-alpha.beta', '1.0.0-beta.11', '1.0.0'],
  ...['1.0.0-01', '1.0.0-rc.01', '1.0.0-rc..1', '1.0.0-', '1.0.0-rc.1-2', '1.0.0-RC1', '1.0.0_rc1'],
  ...['1.27.3-alpine', '1.27-alpine', '1-alpine', '1.27.3-alpine-perl', '1.27.3', '1.27.0'],
  ...['1.27.0-rc.1', '1.28.0-rc.1', '1.27', '1.28', '1', '2', '2.0.0-99999999999999999999'],
  ...['18446744073709551615', '18446744073709551616', '9007199254740993', '9007199254740992'],
  ...['1.18446744073709551615.0', '4.0.0-rc1', '3.15.0-rc.1', '3.15.0-rc.10', '3.15.0-rc.2'],
  ...['3.16.0-rc.1', '3.15.0', '3.15.9-alpha', '3.15', '20190228', '3-rc1', 'latest', 'x']
]

const LISTS: Record<string, string[]> = {
  nginx: tagsOf('nginx'),
  alpine: tagsOf('alpine'),
  traefik: tagsOf('traefik'),
  consul: tagsOf('consul'),
  odd: ODD
}

/** Ranges both read; each selects the same tags. */
const RANGES = [
  // skopeo's documentation example, its spacing as written.
  '>= 3.12.0',
  '>=3.12.0',
  '>=1.26',
  '>=1.26 <1.28',
  '>=1.26, <1.28',
  '>=1.26,<1.28',
  '>= 1.26 , < 1.28',
  '~1.27',
  '~1',
  '~0',
  '~0.2',
  '~>1.27',
  '~*',
  '^1.27.3',
  '^0.2',
  '^0.0',
  '^0.0.3',
  '^0',
  '^*',
  '1.27.x',
  '1.x',
  '1.x.x',
  'x',
  'X',
  '*',
  '>=1.0.0-0',
  '>=0.0.0-0',
  '>=3.15.0-rc.1 <4',
  '>=3.15.0-0 <3.16',
  '>=3.15.0-rc.2 <=3.15',
  '<1.27.0-0',
  '>1.27.3-alpine',
  '1.27.3-alpine',
  '>=2.0.0 || <1.0.0',
  '>=3.12.0, <3.13 || >=3.19',
  '>=3.15.0-rc.1 <4 || >=1.27 <1.28',
  '=1.27.3',
  '1.27.3',
  '1.27',
  '1',
  '=1',
  '!=1.27.3 >=1.27',
  '!=1.27 >=1.26',
  '!=1.x',
  '!=1.27.0-rc.1 >=1.27.0-0 <1.28',
  '>1.27',
  '>1.27.x',
  '>1',
  '<1.27',
  '<1.x',
  '<=1.27',
  '<=1',
  '=>1.26',
  '=<1.27',
  '1.26 - 1.28',
  '1.26.0 - 1.27',
  '3.12 - 3.15.0-rc.1',
  '>=v2.10',
  '>=v2.10 <v3',
  'v2.x',
  '>=07',
  '1.07',
  '>=10.0.17763',
  '>=18446744073709551615',
  '>=9007199254740992',
  '>=3',
  '~3.1',
  '^3.1.2',
  '>= 1.27 || >= 3.12',
  '>=1.2.3+build.5 <2',
  '>=1.26\t<1.28',
  '>*',
  '<=*',
  '!=*',
  '^0.0.x',
  '<=1.27.x',
  '!=1.27.x',
  '!=1.27.x-0 >=1.27.0-0 <1.28',
  '>=1.27.0-rc.1 <1.28 || >=3.15.0-0'
]

/** Ranges Masterminds refuses; the loose reading refuses them too. */
const REFUSED = [
  'banana',
  'latest',
  '>=1 banana',
  '>=1.2.3.4',
  '1.2.3.4',
  '>=1 ||',
  '|| >=1',
  '>=1 | <2',
  '1.2x',
  '>=1.2x',
  'xx',
  '>=1.0 - 2.0',
  '1.26 -1.28',
  '>==1',
  '>>1',
  '~=1',
  '==1',
  '>=1.x.y',
  '1.2.3-',
  '1.0.0-01',
  '>=1.0.0-rc.01',
  '>=1 <2 >',
  'v',
  '>=1.18446744073709551616',
  'x |',
  '1|2',
  // Go's \s is [\t\n\f\r ]: a no-break space or a vertical tab separates nothing.
  '>=1\u00a0<2',
  '>=1\v<2',
  // 33 groups: Masterminds allows 32 sides of ||.
  Array.from({ length: 33 }, (_, i) => `${i}`).join('||')
]

/** Stray commas, which Masterminds refuses: refused here too, written directly or in a file. */
const STRAY_COMMAS = [',>=1', '>=1,', '>=1,,<2', '>=1, ,<2', '>=1 ||, <1']

const masterminds = builtMastermindsSemver()

/** Masterminds' selection, or its refusal. */
function theirs(range: string, tags: readonly string[]): string[] | { error: string } {
  const run = spawnSync(masterminds!, [], { input: [range, ...tags].join('\n') + '\n' })
  const out = run.stdout.toString()
  if (run.status === 2 && out.startsWith('error: ')) return { error: out.slice(7).trim() }
  if (run.status !== 0) throw new Error(`masterminds-semver: exit ${run.status}: ${run.stderr}`)
  return out.split('\n').filter(Boolean).sort()
}

/** The loose reading's selection through a skopeo sync file, or its refusal. */
function viaSyncFile(range: string, tags: readonly string[]): string[] | { error: string } {
  const file = `r.io:\n  images-by-semver:\n    repo: ${JSON.stringify(range)}\n`
  const requests = parseSyncFile(file, 'sync.yml')
  expect(requests).toHaveLength(1)
  const request = requests[0]!
  if (request.kind === 'invalid') return { error: request.reason }
  if (request.kind !== 'tag-filter') throw new Error(`${range}: ${request.kind}`)
  expect(request.policy).toMatch(/^semver\(.*\) loose$/)
  return viaPolicy(request.policy, tags)
}

function viaPolicy(text: string, tags: readonly string[]): string[] | { error: string } {
  const parsed = parseTagPolicy(text)
  if (!parsed.ok) return { error: parsed.reason }
  return selectTags(parsed.policy, tags).selected
}

const direct = (range: string, tags: readonly string[]) => viaPolicy(`semver(${range}) loose`, tags)

/** Both selections side by side, as the differences: equal when both are empty. */
function differences(ours: string[] | { error: string }, reference: string[] | { error: string }) {
  if (!Array.isArray(ours) || !Array.isArray(reference)) return { ours, reference }
  const mine = new Set(ours)
  const them = new Set(reference)
  return {
    onlyOurs: ours.filter(t => !them.has(t)),
    onlyMasterminds: reference.filter(t => !mine.has(t))
  }
}
const SAME = { onlyOurs: [], onlyMasterminds: [] }

// CI (.ci/run builds it first) fails without it rather than leaving the comparisons out.
const required =
  (process.env.CI ?? 'false') !== 'false' || process.env.IMAGE_MIRROR_REQUIRE_CRANE === '1'
if (!masterminds && required) {
  describe('Masterminds/semver as skopeo sync runs it', () => {
    it('is built', () => {
      throw new Error(
        'tools/masterminds-semver is not built (the jest global set-up builds it with Go into .tools/; .ci/run builds it first): the loose tag policy cannot be compared with Masterminds/semver'
      )
    })
  })
}

// Without Go the comparisons are left out, and crane-reporter.mjs lists them.
const block = masterminds ? describe : describe.skip

block(`loose against Masterminds/semver ${MASTERMINDS_SEMVER_VERSION} (needs Go)`, () => {
  it("the program is built from skopeo's pin", () => {
    expect(MASTERMINDS_SEMVER_VERSION).toBe('v3.5.0')
  })

  describe.each(Object.keys(LISTS))('%s', name => {
    const tags = LISTS[name]!
    it.each(RANGES)('%s', range => {
      const reference = theirs(range, tags)
      expect(Array.isArray(reference)).toBe(true)
      expect(differences(viaSyncFile(range, tags), reference)).toEqual(SAME)
      expect(differences(direct(range, tags), reference)).toEqual(SAME)
    })
  })

  it('the ranges select something, and pre-releases, somewhere', () => {
    const all = Object.values(LISTS).flat()
    for (const range of RANGES) expect([range, theirs(range, all)]).not.toEqual([range, []])
    expect(theirs('>=3.15.0-rc.1 <4', LISTS.alpine!)).toContain('3.15.0-rc.4')
  })

  it.each(REFUSED)('%j is refused by both', range => {
    expect(theirs(range, ['1.0.0'])).toEqual({ error: expect.any(String) })
    expect(viaSyncFile(range, ['1.0.0'])).toEqual({
      error: expect.stringMatching(/not a range|the action refuses white space/)
    })
    expect(direct(range, ['1.0.0'])).toEqual({
      error: expect.stringMatching(/not a range|the action refuses white space/)
    })
  })

  it.each(STRAY_COMMAS)('%j (a stray comma) is refused by both', range => {
    expect(theirs(range, ['1.0.0'])).toEqual({ error: expect.any(String) })
    expect(direct(range, ['1.0.0'])).toEqual({
      error: expect.stringMatching(/not a range|the action refuses white space/)
    })
    expect(viaSyncFile(range, ['1.0.0'])).toEqual({
      error: expect.stringMatching(/not a range|the action refuses white space/)
    })
  })

  it('stricter: a range over 256 characters is refused, where Masterminds reads up to 512 bytes', () => {
    // The shared bound of every semver(…) clause; no real range comes near it.
    const long = Array.from({ length: 70 }, () => '>=1').join(' ')
    expect(long.length).toBeGreaterThan(256)
    expect(theirs(long, ['1.0.0', '0.9'])).toEqual(['1.0.0'])
    expect(direct(long, ['1.0.0'])).toEqual({ error: expect.stringMatching(/longer than 256/) })
    const longer = Array.from({ length: 130 }, () => '>=1').join(' ')
    expect(theirs(longer, ['1.0.0'])).toEqual({ error: expect.stringMatching(/too long/) })
  })
})
