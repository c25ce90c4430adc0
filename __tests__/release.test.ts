/**
 * The release script's plan (scripts/release.mjs): which tag a version makes,
 * whether the major tag is created or moved, the notes taken from the
 * changelog, and every reason to refuse. The repository's own CHANGELOG.md and
 * package.json are checked to agree, so a release cannot start half-prepared.
 */
import { describe, expect, it } from '@jest/globals'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { ROOT } from '../__fixtures__/action-runner.js'
import { releasePlan } from '../scripts/release.mjs'

const CHANGELOG = `# Changelog

## [Unreleased]

## [1.2.0] - 2027-01-05

### Added

- A thing.

## [1.1.0] - 2026-12-20

- An older thing.

[Unreleased]: https://example.com/compare/v1.2.0...HEAD
[1.2.0]: https://example.com/releases/tag/v1.2.0
`

const plan = (over: Partial<Parameters<typeof releasePlan>[0]> = {}) =>
  releasePlan({
    version: '1.2.0',
    packageVersion: '1.2.0',
    changelog: CHANGELOG,
    existing: { v1: 'old111', 'v1.1.0': 'old111' },
    sha: 'abc123',
    ...over
  })

describe('releasePlan', () => {
  it('tags vX.Y.Z and moves the existing major tag to it, with the section as notes', () => {
    const p = plan()
    expect(p.problems).toEqual([])
    expect([p.tag, p.major, p.moves, p.sha, p.release]).toEqual([
      'v1.2.0',
      'v1',
      'moves v1 to it',
      'abc123',
      true
    ])
    expect(p.notes).toBe('### Added\n\n- A thing.')
  })

  it('creates the major tag on the first release of a major', () => {
    const p = plan({
      version: '2.0.0',
      packageVersion: '2.0.0',
      changelog: '## [2.0.0] - 2027-02-01\n\n- New.\n'
    })
    expect(p.problems).toEqual([])
    expect([p.tag, p.moves]).toEqual(['v2.0.0', 'creates v2 at it'])
  })

  it.each([
    [{ version: 'v1.2.0' }, /"v1.2.0" is not a version X.Y.Z/],
    [{ version: '1.2.0-rc.1', packageVersion: '1.2.0-rc.1' }, /not a version X.Y.Z/],
    [{ packageVersion: '1.1.0' }, /package.json says 1.1.0, not 1.2.0/],
    [
      { version: '1.3.0', packageVersion: '1.3.0' },
      /CHANGELOG.md has no section "## \[1.3.0\] - YYYY-MM-DD"/
    ],
    [
      { existing: { v1: 'old111', 'v1.2.0': 'other9999999999' } },
      /v1.2.0 is already tagged at other9999999; releases are never moved/
    ],
    [{ version: '1.0.0(', packageVersion: '1.0.0(' }, /not a version X.Y.Z/],
    [{ changelog: '## [1.2.0] - soon\n' }, /no section/]
  ])('refuses %j', (over, problem) => {
    expect(plan(over).problems.join('\n')).toMatch(problem)
  })

  it('is run again after a failure to move the major tag: the release is not made twice', () => {
    const p = plan({ existing: { v1: 'old111', 'v1.1.0': 'old111', 'v1.2.0': 'abc123' } })
    expect(p.problems).toEqual([])
    expect([p.release, p.moves]).toEqual([false, 'moves v1 to it'])
    expect(plan({ existing: { v1: 'abc123', 'v1.2.0': 'abc123' } }).moves).toBe(
      'v1 already points at it'
    )
  })

  it('never moves the major tag back: a patch of an older line leaves v1 at the newest release', () => {
    const p = plan({
      version: '1.1.1',
      packageVersion: '1.1.1',
      changelog: '## [1.1.1] - 2027-01-09\n\n- Fix.\n',
      existing: { v1: 'new222', 'v1.1.0': 'old111', 'v1.2.0': 'new222' }
    })
    expect(p.problems).toEqual([])
    expect([p.release, p.moves]).toEqual([true, 'leaves v1 at v1.2.0, which is newer'])
  })

  it("agrees with the repository: package.json's version has a dated CHANGELOG.md section", () => {
    const version = (
      JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }
    ).version
    const p = releasePlan({
      version,
      packageVersion: version,
      changelog: fs.readFileSync(path.join(ROOT, 'CHANGELOG.md'), 'utf8'),
      existing: {},
      sha: 'HEAD'
    })
    expect(p.problems).toEqual([])
    expect(p.notes.length).toBeGreaterThan(0)
  })
})
