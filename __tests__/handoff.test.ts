/** The files a matrix run hands between jobs: plan, legs' results, and their merge. */
import { describe, expect, it } from '@jest/globals'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {
  checkLegResult,
  legWork,
  mergeResults,
  readPlan,
  writeLegResults,
  writePlan,
  type PlanFile
} from '../src/plan/handoff.js'
import type { MirrorResult } from '../src/image/results.js'

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'handoff-'))

function image(name: string, status: MirrorResult['status']): MirrorResult {
  return {
    request: name,
    origin: 'images line 1',
    source: `docker.io/library/${name}:1`,
    target: `r.example.com/m/docker.io/library/${name}:1`,
    status,
    ...(status === 'rejected' ? { reason: 'not allowed' } : {})
  }
}

function samplePlan(dir: string, id = 'run-1'): PlanFile {
  const results = [
    image('a', 'planned'),
    image('b', 'unchanged'),
    image('c', 'planned'),
    image('d', 'rejected')
  ]
  writePlan(dir, {
    id,
    created: '2026-11-24T00:00:00.000Z',
    target: 'r.example.com/m',
    platforms: 'all',
    dryRun: false,
    results,
    legs: [[0], [2]],
    work: { 0: image('a', 'planned'), 2: image('c', 'planned') }
  })
  return readPlan(dir)
}

const DIGEST = `sha256:${'a'.repeat(64)}`
const copied = (name: string): MirrorResult => ({ ...image(name, 'copied'), digest: DIGEST })

describe('plan and legs', () => {
  it('reads the plan back, and gives each leg its images with their plan indices', () => {
    const plan = samplePlan(tmp())
    expect(plan.format).toBe('image-mirror-plan/1')
    expect(legWork(plan, 2)).toEqual([{ index: 2, result: image('c', 'planned') }])
    expect(() => legWork(plan, 3)).toThrow('leg 3 is not in the plan, which has 2 leg(s)')
  })

  it('says how to get the plan there when it is missing, and refuses plans of two runs', () => {
    const dir = tmp()
    expect(() => readPlan(dir)).toThrow(
      /no plan\.json under results-dir .*download the plan job's artifact/
    )
    samplePlan(path.join(dir, 'one'), 'run-1')
    samplePlan(path.join(dir, 'two'), 'run-2')
    expect(() => readPlan(dir)).toThrow('holds plans of different runs')
    fs.writeFileSync(path.join(dir, 'one', 'plan.json'), '{"format":"something else"}')
    expect(() => readPlan(path.join(dir, 'one'))).toThrow('is not a plan written by this action')
  })
})

describe('mergeResults', () => {
  it('puts every leg result in its place, found at any depth', () => {
    const dir = tmp()
    const plan = samplePlan(dir)
    writeLegResults(path.join(dir, 'image-mirror-results-1'), plan, 1, [
      { index: 0, result: copied('a') }
    ])
    writeLegResults(path.join(dir, 'image-mirror-results-2'), plan, 2, [
      { index: 2, result: copied('c') }
    ])
    const merged = mergeResults(plan, dir)
    expect(merged.missing).toEqual([])
    expect(merged.warnings).toEqual([])
    expect(merged.results.map(r => r.status)).toEqual(['copied', 'unchanged', 'copied', 'rejected'])
  })

  it("counts a missing leg's images as failed, naming the leg", () => {
    const dir = tmp()
    const plan = samplePlan(dir)
    writeLegResults(dir, plan, 1, [{ index: 0, result: copied('a') }])
    const merged = mergeResults(plan, dir)
    expect(merged.missing).toEqual([2])
    expect(merged.results[2]).toMatchObject({
      request: 'c',
      status: 'failed',
      reason: expect.stringContaining('leg 2 of 2 never reported its results')
    })
    expect(merged.results).toHaveLength(4)
  })

  it('passes over files of another plan and anything that is not a results file', () => {
    const dir = tmp()
    const plan = samplePlan(dir)
    const other = { ...plan, id: 'run-0' }
    writeLegResults(path.join(dir, 'old'), other, 1, [{ index: 0, result: copied('a') }])
    fs.writeFileSync(path.join(dir, 'results-leg-9.json'), '{"hello":1}')
    const merged = mergeResults(plan, dir)
    expect(merged.missing).toEqual([1, 2])
    expect(merged.warnings).toEqual([
      expect.stringContaining('belongs to another plan (run-0)'),
      expect.stringContaining("is not a leg's results file")
    ])
  })

  it('uses the later of two reports of one leg (a re-run leg)', () => {
    const dir = tmp()
    const plan = samplePlan(dir)
    const first = writeLegResults(path.join(dir, 'a'), plan, 1, [
      { index: 0, result: { ...image('a', 'failed'), reason: 'timeout' } }
    ])
    const data = JSON.parse(fs.readFileSync(first, 'utf8')) as { finished: string }
    data.finished = '2000-01-01T00:00:00.000Z'
    fs.writeFileSync(first, JSON.stringify(data))
    writeLegResults(path.join(dir, 'b'), plan, 1, [{ index: 0, result: copied('a') }])
    const merged = mergeResults(plan, dir)
    expect(merged.results[0]?.status).toBe('copied')
    expect(merged.warnings).toEqual(['leg 1 reported twice; the later results are used'])
  })

  it('an image the plan found up to date, given a leg only for its record, stays up to date whatever the leg did', () => {
    const dir = tmp()
    const current = { ...image('b', 'unchanged'), digest: DIGEST, note: 'a leg writes its record' }
    writePlan(dir, {
      id: 'run-1',
      created: '2026-11-24T00:00:00.000Z',
      target: 'r.example.com/m',
      platforms: ['linux/arm64'],
      dryRun: false,
      results: [image('a', 'planned'), current, { ...image('c', 'unchanged'), digest: DIGEST }],
      legs: [[0, 1], [2]],
      work: { 0: image('a', 'planned'), 1: image('b', 'planned'), 2: image('c', 'planned') },
      current: [1, 2]
    })
    const plan = readPlan(dir)
    // Leg 1 ran out of pulls for it; leg 2 never reported.
    writeLegResults(dir, plan, 1, [
      { index: 0, result: copied('a') },
      { index: 1, result: { ...image('b', 'deferred'), reason: 'needs 3 pull(s)' } }
    ])
    const merged = mergeResults(plan, dir)
    expect(merged.results.map(r => r.status)).toEqual(['copied', 'unchanged', 'unchanged'])
    expect(merged.results[1]).toMatchObject({
      digest: DIGEST,
      note: 'a leg writes its record; its mirror record was not written (needs 3 pull(s))'
    })
    expect(merged.results[2]?.note).toBe(
      'its mirror record was not written (its leg never reported)'
    )
    expect(merged.missing).toEqual([2])
  })
})

describe('checkLegResult: a leg file is not trusted', () => {
  const planned = image('a', 'planned')
  it.each([
    [{ ...planned, status: 'constructor' }, 'has an unknown status "constructor"'],
    [{ ...planned, status: '__proto__' }, 'has an unknown status'],
    [
      { ...planned, status: 'copied', target: 'evil.example/x:1' },
      'has another target than the plan'
    ],
    [{ ...planned, status: 'copied', source: 'docker.io/library/b:1' }, 'has another source'],
    [{ ...planned, status: 'copied', request: 'b' }, 'has another request'],
    [{ ...planned, status: 'copied', digest: 'sha256:```' }, 'has a malformed digest'],
    [{ ...planned, status: 'planned' }, 'is still planned in a run that copies'],
    ['copied', 'is not a result'],
    [null, 'is not a result']
  ])('%j is refused: %s', (value, problem) => {
    const checked = checkLegResult(value, planned)
    expect('problem' in checked && checked.problem).toContain(problem)
  })

  it('keeps only the fields a leg sets, checked and bounded', () => {
    const checked = checkLegResult(
      {
        ...planned,
        status: 'failed',
        reason: 'x'.repeat(5000),
        platforms: ['linux/amd64', 'not a platform'],
        size: -1,
        seconds: 2.5,
        extra: '<script>'
      },
      planned
    )
    expect('result' in checked).toBe(true)
    const result = 'result' in checked ? checked.result : undefined
    expect(result?.status).toBe('failed')
    expect(result?.reason?.length).toBe(2000)
    expect(result?.platforms).toBeUndefined()
    expect(result?.size).toBeUndefined()
    expect(result?.seconds).toBe(2.5)
    expect(Object.keys(result ?? {})).not.toContain('extra')
  })

  it('planned is a leg result only in a dry run', () => {
    const checked = checkLegResult({ ...planned, status: 'planned' }, planned, true)
    expect('result' in checked && checked.result.status).toBe('planned')
  })

  it('a failure without a reason gets one', () => {
    const checked = checkLegResult({ ...planned, status: 'failed' }, planned)
    expect('result' in checked && checked.result.reason).toMatch(/without a reason/)
  })

  it('a leg may defer an image (its own runner, its own pull budget); with a reason, or one is given', () => {
    const reason = 'needs 3 pull(s) from docker.io and 1 can be spent'
    const checked = checkLegResult({ ...planned, status: 'deferred', reason }, planned)
    expect('result' in checked && checked.result).toMatchObject({ status: 'deferred', reason })
    const bare = checkLegResult({ ...planned, status: 'deferred' }, planned)
    expect('result' in bare && bare.result.reason).toMatch(/reported it deferred without a reason/)
  })
})
