/** Splitting a plan into matrix legs: whole repositories, balanced, bounded, deterministic. */
import { describe, expect, it } from '@jest/globals'
import fc from 'fast-check'
import { matrixOf, splitIntoLegs } from '../src/plan/legs.js'
import type { MirrorResult, Status } from '../src/image/results.js'

function result(repo: string, tag: string, status: Status = 'planned'): MirrorResult {
  return {
    request: `${repo}:${tag}`,
    origin: 'images line 1',
    source: `docker.io/${repo}:${tag}`,
    target: `r.example.com/m/docker.io/${repo}:${tag}`,
    status
  }
}

/** The repository of each index, for checking that none is split. */
const repoOf = (results: MirrorResult[], index: number) =>
  (results[index] as MirrorResult).target.replace(/:[^:/]+$/, '')

describe('splitIntoLegs', () => {
  it('keeps only planned images, in plan order within a leg', () => {
    const results = [
      result('library/a', '1'),
      result('library/b', '1', 'unchanged'),
      result('library/c', '1', 'rejected'),
      result('library/d', '1')
    ]
    expect(splitIntoLegs(results, 16)).toEqual([[0], [3]])
  })

  it('takes what the caller says it takes (the plan job: deferred ones too)', () => {
    const results = [
      result('library/a', '1', 'deferred'),
      result('library/b', '1', 'unchanged'),
      result('library/a', '2')
    ]
    const take = (r: MirrorResult) => r.status === 'planned' || r.status === 'deferred'
    expect(splitIntoLegs(results, 16, take)).toEqual([[0, 2]])
  })

  it('never splits a repository, and never makes more legs than repositories or max-legs', () => {
    const results = [
      ...['1', '2', '3', '4'].map(t => result('library/big', t)),
      result('library/small', '1'),
      result('library/tiny', '1')
    ]
    expect(splitIntoLegs(results, 16)).toEqual([[0, 1, 2, 3], [4], [5]])
    expect(splitIntoLegs(results, 2)).toEqual([
      [0, 1, 2, 3],
      [4, 5]
    ])
    expect(splitIntoLegs(results, 1)).toEqual([[0, 1, 2, 3, 4, 5]])
  })

  it('is empty when nothing needs copying', () => {
    expect(splitIntoLegs([result('a/b', '1', 'unchanged')], 16)).toEqual([])
    expect(matrixOf([])).toEqual({ include: [] })
  })

  it('writes a matrix entry per leg', () => {
    expect(matrixOf([[0, 1], [2]])).toEqual({
      include: [
        { leg: 1, legs: 2, images: 2 },
        { leg: 2, legs: 2, images: 1 }
      ]
    })
  })

  it('for any plan: each planned image once, whole repositories, legs within one repository of each other', () => {
    const plan = fc.array(
      fc.record({
        repo: fc.integer({ min: 0, max: 40 }),
        tags: fc.integer({ min: 1, max: 12 }),
        status: fc.constantFrom<Status>('planned', 'planned', 'unchanged', 'rejected')
      }),
      { maxLength: 120 }
    )
    fc.assert(
      fc.property(plan, fc.integer({ min: 1, max: 256 }), (entries, maxLegs) => {
        const results = entries.flatMap(e =>
          Array.from({ length: e.tags }, (_, t) => result(`org/r${e.repo}`, `t${t}`, e.status))
        )
        const legs = splitIntoLegs(results, maxLegs)
        const planned = results.flatMap((r, i) => (r.status === 'planned' ? [i] : []))
        expect(legs.flat().sort((a, b) => a - b)).toEqual(planned)
        expect(legs.length).toBeLessThanOrEqual(maxLegs)
        expect(legs.every(leg => leg.length > 0)).toBe(true)
        const legOfRepo = new Map<string, number>()
        const groupSize = new Map<string, number>()
        legs.forEach((leg, n) => {
          for (const index of leg) {
            const repo = repoOf(results, index)
            expect(legOfRepo.get(repo) ?? n).toBe(n)
            legOfRepo.set(repo, n)
            groupSize.set(repo, (groupSize.get(repo) ?? 0) + 1)
          }
        })
        if (legs.length > 1) {
          const sizes = legs.map(l => l.length)
          const largest = Math.max(...groupSize.values())
          expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(largest)
        }
      })
    )
  })

  it('balances single-tag repositories to within one image', () => {
    const results = Array.from({ length: 301 }, (_, i) => result(`org/r${i}`, '1'))
    const sizes = splitIntoLegs(results, 16).map(l => l.length)
    expect(sizes).toHaveLength(16)
    expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1)
  })
})
