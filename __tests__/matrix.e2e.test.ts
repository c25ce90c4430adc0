/**
 * A matrix run end to end: the bundled action as the plan job, every copy
 * leg and the report job, against two real docker-registry servers, once per
 * engine (crane installed by the action from a loopback release, and skopeo),
 * each with a fresh target; the source (316 images, only read) is seeded
 * once. Artifacts are simulated the way upload/download-artifact
 * move them: the plan's file copied into each leg's results-dir, and every
 * artifact downloaded into its own subfolder of the report's results-dir.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { resultsOf, runActionAsync } from '../__fixtures__/action-runner.js'
import type { MirrorResult as Result } from '../src/image/results.js'
import { describeEngines, mirrorInputs } from '../__fixtures__/engines.js'
import { issueEnv, issueEvent, startGitHubApi, type GitHubApi } from '../__fixtures__/github-api.js'
import { ensureTools, startRegistry, type LocalRegistry } from '../scripts/lib/local-registry.mjs'
import { headDigest, pushImage } from '../scripts/lib/seed-images.mjs'

const AUTH = { username: 'matrix-bot', password: 'm4trix-legs-Pa55' }
const MAX_LEGS = 6

interface Plan {
  results: Result[]
  legs: number[][]
}

let source: LocalRegistry
let target: LocalRegistry
let api: GitHubApi
/** Source image → digest, for every image seeded. */
const seeded = new Map<string, string>()

const tmp = (prefix: string) => fs.mkdtempSync(path.join(os.tmpdir(), `matrix-${prefix}-`))
const results = resultsOf
const mirrorRepo = (repo: string) => `mirror/${source.host.replace(':', '_')}/${repo}`

/** 64 repositories of 1 to 9 tags each: 316 images. */
const REPOS = Array.from({ length: 64 }, (_, i) => ({
  repo: `library/app${i}`,
  tags: Array.from({ length: 1 + (i % 9) }, (_, t) => `v${t}`)
}))

function inputs(extra: Record<string, string>): Record<string, string> {
  return mirrorInputs(
    { source, target, auth: AUTH },
    {
      allowlist: 'allows.txt',
      'max-legs': String(MAX_LEGS),
      concurrency: '8',
      retries: '0',
      ...extra
    }
  )
}
const files = () => ({ 'allows.txt': `${source.host}/library/*\n` })

/** Run `task` over `items`, `width` at a time. */
async function pool<T, R>(items: T[], width: number, task: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length)
  let next = 0
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) {
        const i = next++
        out[i] = await task(items[i] as T)
      }
    })
  )
  return out
}

async function plan(
  images: string,
  extra: Record<string, string> = {},
  env: Record<string, string> = {}
) {
  const dir = tmp('plan')
  const run = await runActionAsync(inputs({ mode: 'plan', images, 'results-dir': dir, ...extra }), {
    files: files(),
    env
  })
  const file = JSON.parse(fs.readFileSync(path.join(dir, 'plan.json'), 'utf8')) as Plan
  return { run, dir, file }
}

/** Every leg as its own job: the plan artifact downloaded into a fresh results-dir. */
async function copyLegs(planDir: string, legs: number) {
  return pool(
    Array.from({ length: legs }, (_, i) => i + 1),
    2,
    async leg => {
      const dir = tmp(`leg${leg}`)
      fs.copyFileSync(path.join(planDir, 'plan.json'), path.join(dir, 'plan.json'))
      // No checkout in a leg: the allowlist input is given but its file is not there.
      const run = await runActionAsync(
        inputs({ mode: 'copy', leg: String(leg), 'results-dir': dir })
      )
      return { leg, run, file: path.join(dir, `results-leg-${leg}.json`) }
    }
  )
}

/** The report job's results-dir after download-artifact: one subfolder per artifact. */
function reportDir(planDir: string, legFiles: { leg: number; file: string }[]): string {
  const dir = tmp('report')
  fs.mkdirSync(path.join(dir, 'image-mirror-plan'))
  fs.copyFileSync(path.join(planDir, 'plan.json'), path.join(dir, 'image-mirror-plan', 'plan.json'))
  for (const { leg, file } of legFiles) {
    const sub = path.join(dir, `image-mirror-results-${leg}`)
    fs.mkdirSync(sub)
    fs.copyFileSync(file, path.join(sub, path.basename(file)))
  }
  return dir
}

function report(dir: string, extra: Record<string, string> = {}, env: Record<string, string> = {}) {
  // The report job needs no target: only results-dir.
  return runActionAsync({ mode: 'report', 'results-dir': dir, ...extra }, { files: files(), env })
}

const LIST = () =>
  [
    ...REPOS.flatMap(({ repo, tags }) => tags.map(t => `${source.host}/${repo}:${t}`)),
    `${source.host}/private/secret:1`,
    `${source.host}/Library/Upper:1`,
    'docker.io/library/nginx:1.27'
  ].join('\n')

beforeAll(async () => {
  await ensureTools()
  source = await startRegistry()
  const all = REPOS.flatMap(({ repo, tags }) => tags.map(tag => ({ repo, tag })))
  await pool(all, 8, async ({ repo, tag }) => {
    const pushed = await pushImage(source.host, repo, tag, { seed: `${repo}:${tag}` })
    seeded.set(`${source.host}/${repo}:${tag}`, pushed.digest)
  })
  await pushImage(source.host, 'library/from-issue', '1', { seed: 'from-issue' })
}, 180_000)

afterAll(async () => {
  await source?.stop()
})

describeEngines('a matrix run', () => {
  beforeAll(async () => {
    api = await startGitHubApi()
    target = await startRegistry({ auth: AUTH })
    // Already mirrored: app0 (1 tag) and app1 (2 tags) are up to date in the target.
    for (const { repo, tags } of REPOS.slice(0, 2)) {
      for (const tag of tags) {
        await pushImage(target.host, mirrorRepo(repo), tag, { seed: `${repo}:${tag}`, auth: AUTH })
      }
    }
  }, 60_000)

  afterAll(async () => {
    await api?.close()
    await target?.stop()
  })

  describe('plan → legs → report over 316 images', () => {
    let planned: Awaited<ReturnType<typeof plan>>
    let legs: Awaited<ReturnType<typeof copyLegs>>

    it('plans: a valid matrix of at most max-legs balanced legs, whole repositories, nothing copied', async () => {
      target.clearLog()
      planned = await plan(LIST())
      const { run, file } = planned
      expect(run.stderr).toBe('')
      expect(run.code).toBe(0)
      expect(run.outputs).toMatchObject({
        unchanged: '3',
        rejected: '3',
        planned: '313',
        failed: '0'
      })
      expect(run.outputs.legs).toBe(String(MAX_LEGS))
      const matrix = JSON.parse(run.outputs.matrix ?? '') as {
        include: { leg: number; legs: number; images: number }[]
      }
      expect(matrix.include.map(l => [l.leg, l.legs])).toEqual(
        Array.from({ length: MAX_LEGS }, (_, i) => [i + 1, MAX_LEGS])
      )
      expect(matrix.include.reduce((n, l) => n + l.images, 0)).toBe(313)
      // Within one repository (at most 9 tags) of each other.
      const sizes = matrix.include.map(l => l.images)
      expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(9)
      expect(file.legs.map(l => l.length)).toEqual(sizes)
      // Each repository in exactly one leg.
      const legOf = new Map<string, number>()
      file.legs.forEach((indices, leg) => {
        for (const index of indices) {
          const repo = file.results[index]?.source.replace(/:[^:]+$/, '') as string
          expect([repo, legOf.get(repo) ?? leg]).toEqual([repo, leg])
          legOf.set(repo, leg)
        }
      })
      expect(run.summary).toContain('313 image(s) to copy over 6 leg(s)')
      // The plan only compared: nothing was written.
      expect(target.requests().filter(r => r.method === 'PUT' || r.method === 'POST')).toEqual([])
    })

    it('copies every leg: each leg copies exactly its share', async () => {
      legs = await copyLegs(planned.dir, MAX_LEGS)
      for (const { leg, run } of legs) {
        expect([leg, run.stderr, run.code]).toEqual([leg, '', 0])
        expect(run.outputs.copied).toBe(String(planned.file.legs[leg - 1]?.length))
        expect(run.summary).toContain(`Leg ${leg} of ${MAX_LEGS}.`)
      }
    }, 300_000)

    it('reports: every image exactly once, all mirrored with the source digest', async () => {
      const run = await report(reportDir(planned.dir, legs))
      expect(run.stderr).toBe('')
      expect(run.code).toBe(0)
      expect(run.outputs).toMatchObject({
        copied: '313',
        unchanged: '3',
        rejected: '3',
        failed: '0'
      })
      const all = results(run)
      expect(all).toHaveLength(319)
      expect(new Set(all.map(r => r.request)).size).toBe(319)
      for (const image of seeded.keys()) {
        expect(all.filter(r => r.source === image)).toHaveLength(1)
      }
      // The summary's table has one row per image.
      expect((run.summary.match(/<tr>/g) ?? []).length).toBe(319 + 1)
      expect(run.summary).toContain('Merged 6 leg(s) into 319 image(s).')
      expect(run.outputs.mirrored?.split('\n')).toHaveLength(316)
      // What the target now holds is what the source had, image by image.
      const checks = [...seeded].filter(([image]) => !image.includes('from-issue'))
      await pool(checks, 8, async ([image, digest]) => {
        const [repo, tag] = image.slice(source.host.length + 1).split(':') as [string, string]
        expect([image, await headDigest(target.host, mirrorRepo(repo), tag, AUTH)]).toEqual([
          image,
          digest
        ])
      })
    })

    it('names a leg that never reported, counts its images as failed, and fails', async () => {
      const dir = reportDir(
        planned.dir,
        legs.filter(l => l.leg !== 3)
      )
      // A stale file of an earlier run must not stand in for the missing leg.
      const stale = JSON.parse(fs.readFileSync(legs[2]?.file as string, 'utf8')) as { plan: string }
      stale.plan = 'an-earlier-run'
      fs.mkdirSync(path.join(dir, 'old'))
      fs.writeFileSync(path.join(dir, 'old', 'results-leg-3.json'), JSON.stringify(stale))

      const run = await report(dir)
      expect(run.code).toBe(1)
      const missing = planned.file.legs[2]?.length as number
      expect(run.outputs.failed).toBe(String(missing))
      expect(run.outputs.copied).toBe(String(313 - missing))
      expect(results(run)).toHaveLength(319)
      expect(run.stdout).toContain('::warning::Leg(s) 3 of 6 never reported')
      expect(run.stdout).toMatch(/::warning::.*results-leg-3\.json belongs to another plan/)
      expect(run.summary).toContain(
        'Leg(s) 3 of 6 never reported; their images are counted as failed.'
      )
      expect(run.summary).toContain('leg 3 of 6 never reported its results')
    })

    it('plans again: everything is up to date, an empty matrix the workflow skips, and a clean report', async () => {
      const again = await plan(LIST())
      expect(again.run.code).toBe(0)
      expect(again.run.outputs.legs).toBe('0')
      expect(again.run.outputs.matrix).toBe('{"include":[]}')
      expect(again.run.outputs.unchanged).toBe('316')
      const run = await report(reportDir(again.dir, []))
      expect(run.code).toBe(0)
      expect(run.outputs).toMatchObject({ unchanged: '316', rejected: '3', failed: '0' })
    })

    it('refuses a copy leg without a plan, or for another target, saying how to fix it', async () => {
      const empty = await runActionAsync(
        inputs({ mode: 'copy', leg: '1', 'results-dir': tmp('none') })
      )
      expect(empty.code).toBe(1)
      expect(empty.stdout).toMatch(
        /::error::no plan\.json under results-dir .*download the plan job/
      )
      const dir = tmp('other')
      fs.copyFileSync(path.join(planned.dir, 'plan.json'), path.join(dir, 'plan.json'))
      const other = await runActionAsync(
        inputs({ mode: 'copy', leg: '1', 'results-dir': dir, target: `${target.host}/elsewhere` })
      )
      expect(other.code).toBe(1)
      expect(other.stdout).toContain("is not the plan's target")
    })
  })

  describe('an issue request over a matrix', () => {
    it('plan says it is accepted, the leg copies, the report answers, labels and closes', async () => {
      const event = issueEvent({ number: 7, title: `${source.host}/library/from-issue:1` })
      const env = issueEnv(api, event)
      const token = { 'from-issue': 'true', 'github-token': 'ghs_matrixStandIn000000000000000' }
      const before = api.calls.length
      const { run, dir } = await plan('', token, env)
      expect(run.code).toBe(0)
      expect(run.outputs.legs).toBe('1')
      const [leg] = await copyLegs(dir, 1)
      expect(leg?.run.code).toBe(0)
      const answered = await report(reportDir(dir, leg ? [leg] : []), token, env)
      expect(answered.code).toBe(0)
      const calls = api.calls.slice(before)
      const comments = calls
        .filter(c => c.path.endsWith('/comments'))
        .map(c => (c.body as { body: string }).body)
      expect(comments).toHaveLength(2)
      expect(comments[0]).toContain('Request accepted: mirroring 1 image(s)')
      expect(comments[1]).toContain('✅ **Mirrored 1 of 1 image(s).**')
      expect(comments[1]).toContain(
        `docker pull ${target.host}/${mirrorRepo('library/from-issue')}:1`
      )
      expect(
        calls.filter(c => !c.path.endsWith('/comments')).map(c => `${c.method} ${c.path}`)
      ).toEqual(['POST /repos/acme/mirror/issues/7/labels', 'PATCH /repos/acme/mirror/issues/7'])
    }, 120_000)
  })
})
