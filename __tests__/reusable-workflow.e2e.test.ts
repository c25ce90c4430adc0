/**
 * The reusable workflow `.github/workflows/mirror.yml` run as written, by the
 * workflow runner double (__fixtures__/workflow-runner.ts): its `with:`
 * expressions, artifact names, paths and patterns, results-dir, the matrix
 * built from the plan's output, the jobs' `if:` conditions and the outputs,
 * against two real docker-registry servers (target behind htpasswd), once per
 * engine: crane (which each copy leg installs as on a runner, from github.com's
 * release downloads, here a TLS-intercepting proxy in front of a loopback
 * release of crane built from its Go module: startGitHubDownloads) and skopeo.
 * workflows.test.ts shows the workflow parses; this shows it works.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { resultsOf, ROOT } from '../__fixtures__/action-runner.js'
import type { MirrorResult as Result } from '../src/image/results.js'
import { describeEngines, engine } from '../__fixtures__/engines.js'
import { issueEvent, startGitHubApi, type GitHubApi } from '../__fixtures__/github-api.js'
import {
  ArtifactStore,
  removeRun,
  runWorkflow,
  startGitHubDownloads,
  UnsupportedError,
  type GitHubDownloads,
  type StepHookContext,
  type WorkflowRun,
  type WorkflowRunOptions
} from '../__fixtures__/workflow-runner.js'
import type { ReleaseServer } from '../scripts/lib/crane-release.mjs'
import { ensureTools, startRegistry, type LocalRegistry } from '../scripts/lib/local-registry.mjs'
import { headDigest, pushImage } from '../scripts/lib/seed-images.mjs'

const WORKFLOW = path.join(ROOT, '.github', 'workflows', 'mirror.yml')
const AUTH = { username: 'workflow-bot', password: 'reusable-W0rkflow-Pa55' }
const ACTION = { repository: 'acme/image-mirror', ref: 'v1' }
const MAX_LEGS = 4

/** 10 repositories of 2 to 5 tags: 35 images. */
const REPOS = Array.from({ length: 10 }, (_, i) => ({
  repo: `library/app${i}`,
  tags: Array.from({ length: 2 + (i % 4) }, (_, t) => `v${t}`)
}))
const IMAGES = REPOS.reduce((n, r) => n + r.tags.length, 0)

let network: GitHubDownloads
let source: LocalRegistry
let target: LocalRegistry
let api: GitHubApi
/** Source image → digest, for every image seeded. */
const seeded = new Map<string, string>()
/** Every run, removed from disk at the end. */
const runs: WorkflowRun[] = []

const mirrorRepo = (repo: string) => `mirror/${source.host.replace(':', '_')}/${repo}`
const results = resultsOf

/** Run `task` over `items`, `width` at a time. */
async function pool<T>(items: T[], width: number, task: (item: T) => Promise<void>) {
  let next = 0
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) await task(items[next++] as T)
    })
  )
}

async function track(file: string, options: WorkflowRunOptions = {}): Promise<WorkflowRun> {
  const run = await runWorkflow(file, options)
  runs.push(run)
  return run
}

/**
 * The workflow's inputs that select the engine. Without crane-url, crane
 * comes from github.com's release downloads (the runner's network), under the
 * local release's version label; the issue test gives crane-url instead.
 */
function engineInputs(): Record<string, string> {
  const release = engine.release()
  return release ? { engine: 'crane', 'crane-version': release.label } : { engine: engine.name }
}

/** Where the action downloads crane from, as the Copy step's log says. */
function craneDownload(): string {
  const release = engine.release() as ReleaseServer
  return `Downloading crane ${release.label} from https://github.com/google/go-containerregistry/releases/download/${release.label}/${release.archive}`
}

/** A caller's `with:` and `secrets:` for this workflow, and its repository's files. */
function call(
  inputs: WorkflowRunOptions['inputs'] = {},
  more: Partial<WorkflowRunOptions> = {}
): Promise<WorkflowRun> {
  const list = [
    ...REPOS.flatMap(({ repo, tags }) => tags.map(t => `${source.host}/${repo}:${t}`)),
    `${source.host}/private/secret:1 # not in the allowlist`
  ]
  return track(WORKFLOW, {
    inputs: {
      'action-repository': ACTION.repository,
      'action-ref': ACTION.ref,
      'images-file': 'lists/images.txt',
      allowlist: 'allows.txt',
      target: `${target.host}/mirror`,
      ...engineInputs(),
      'insecure-registries': `${source.host},${target.host}`,
      'max-legs': MAX_LEGS,
      concurrency: 4,
      retries: 0,
      username: AUTH.username,
      ...inputs
    },
    secrets: { password: AUTH.password },
    files: {
      'lists/images.txt': `${list.join('\n')}\n`,
      'allows.txt': `${source.host}/library/*\n`
    },
    repositories: { [`${ACTION.repository}@${ACTION.ref}`]: ROOT },
    // The runner's network: github.com's release downloads, for the crane the legs install.
    env: network.env,
    // Legs run side by side, as on GitHub; each still on its own runner.
    parallelLegs: 2,
    ...more
  })
}

/** No log (but the runner's own ::add-mask:: commands), summary or output shows the password. */
function expectNoPassword(run: WorkflowRun) {
  for (const step of run.steps) {
    const log = `${step.stdout}\n${step.stderr}`.replace(/^::add-mask::.*$/gm, '')
    const shown = [log, step.summary, JSON.stringify(step.outputs)].join('\n')
    expect([step.job, step.name, shown.includes(AUTH.password)]).toEqual([
      step.job,
      step.name,
      false
    ])
  }
  expect(JSON.stringify(run.outputs)).not.toContain(AUTH.password)
}

/** What the plan job handed the legs: its plan.json, read back from the run's artifacts. */
function planOf(run: WorkflowRun, prefix = 'image-mirror') {
  const dir = run.artifacts.path(`${prefix}-plan`) as string
  return JSON.parse(fs.readFileSync(path.join(dir, 'plan.json'), 'utf8')) as {
    results: Result[]
    legs: number[][]
  }
}

async function expectMirrored(images: string[]) {
  await pool(images, 8, async image => {
    const [repo, tag] = image.slice(source.host.length + 1).split(':') as [string, string]
    expect([image, await headDigest(target.host, mirrorRepo(repo), tag, AUTH)]).toEqual([
      image,
      seeded.get(image)
    ])
  })
}

describeEngines('mirror.yml run as written', current => {
  beforeAll(async () => {
    await ensureTools()
    network = await startGitHubDownloads(
      current.release() ? { 'google/go-containerregistry': current.release()?.url as string } : {}
    )
    api = await startGitHubApi()
    source = await startRegistry()
    target = await startRegistry({ auth: AUTH })
    const all = REPOS.flatMap(({ repo, tags }) => tags.map(tag => ({ repo, tag })))
    // Pushed later by the tests that need them: one new tag per repository, an issue's image.
    all.push(...REPOS.map(({ repo }) => ({ repo, tag: 'next' })))
    all.push({ repo: 'library/from-issue', tag: '1' })
    await pool(all, 8, async ({ repo, tag }) => {
      const pushed = await pushImage(source.host, repo, tag, { seed: `${repo}:${tag}` })
      seeded.set(`${source.host}/${repo}:${tag}`, pushed.digest)
    })
  }, 120_000)

  afterAll(async () => {
    for (const run of runs.splice(0)) removeRun(run)
    await network?.close()
    await api?.close()
    await source?.stop()
    await target?.stop()
  })

  describe('plan, legs and report', () => {
    it('plans, copies over min(max-legs, repositories) legs, and reports every image once', async () => {
      const run = await call()
      expect(run.jobs.plan?.error).toBeUndefined()
      expect(
        run.steps.filter(s => s.outcome === 'failure').map(s => [s.job, s.name, s.error, s.stdout])
      ).toEqual([])
      expect(run.result).toBe('success')
      expect(run.concurrency).toBe(`image-mirror-${target.host}/mirror`)

      // The plan: one job, read the caller's list and allowlist, got the password from the secret.
      const [plan] = run.jobs.plan?.runs ?? []
      expect(run.jobs.plan?.runs).toHaveLength(1)
      const planStep = plan?.steps.find(s => s.id === 'plan')
      expect(planStep?.inputs).toMatchObject({
        mode: 'plan',
        'images-file': 'lists/images.txt',
        'from-issue': 'false',
        'max-legs': String(MAX_LEGS),
        username: AUTH.username,
        password: AUTH.password,
        'results-dir': `${plan?.temp}/image-mirror`
      })
      const legs = Math.min(MAX_LEGS, REPOS.length)
      expect(run.jobs.plan?.outputs.legs).toBe(String(legs))

      // One copy job per leg, each on its own runner, named from its matrix entry.
      const copies = run.jobs.copy?.runs ?? []
      expect(run.jobs.copy?.result).toBe('success')
      expect(copies.map(c => [c.name, c.matrix?.leg, c.result])).toEqual(
        Array.from({ length: legs }, (_, i) => [`Copy leg ${i + 1} of ${legs}`, i + 1, 'success'])
      )
      expect(new Set(copies.map(c => c.temp)).size).toBe(legs)
      const planned = planOf(run)
      for (const [i, copy] of copies.entries()) {
        const step = copy.steps.find(s => s.name === 'Copy')
        expect(step?.inputs).toMatchObject({ mode: 'copy', leg: String(i + 1), concurrency: '4' })
        expect(step?.outputs.copied).toBe(String(planned.legs[i]?.length))
      }
      expect(run.artifacts.names()).toEqual([
        ...Array.from({ length: legs }, (_, i) => `image-mirror-leg-${i + 1}`),
        'image-mirror-plan'
      ])

      // The report's outputs, through the workflow_call outputs: every image exactly once.
      expect(run.jobs.report?.result).toBe('success')
      expect(run.outputs).toMatchObject({
        copied: String(IMAGES),
        unchanged: '0',
        failed: '0',
        rejected: '1',
        deferred: '0'
      })
      const all = results(run)
      expect(all).toHaveLength(IMAGES + 1)
      const images = REPOS.flatMap(({ repo, tags }) => tags.map(t => `${source.host}/${repo}:${t}`))
      for (const image of images) {
        expect([image, all.filter(r => r.source === image).map(r => r.status)]).toEqual([
          image,
          ['copied']
        ])
      }
      expect(run.outputs.mirrored?.split('\n').sort()).toEqual(
        images.map(i => `${target.host}/${mirrorRepo(i.slice(source.host.length + 1))}`).sort()
      )
      await expectMirrored(images)
      expect(run.steps.flatMap(s => s.warnings)).toEqual([])
      expectNoPassword(run)

      // Each leg installed the engine on its own runner; the plan and the report copy nothing.
      const release = engine.release()
      if (release) {
        for (const copy of copies) {
          const step = copy.steps.find(s => s.name === 'Copy')
          expect(step?.stdout).toContain(craneDownload())
          expect(step?.stdout).toMatch(/crane archive verified \(sha256 [0-9a-f]{64}\)/)
        }
        const archive = `GET github.com/google/go-containerregistry/releases/download/${release.label}/${release.archive}`
        expect(network.requests().filter(r => r === archive)).toHaveLength(legs)
      } else {
        expect(network.requests()).toEqual([])
      }
      for (const step of run.steps.filter(s => s.job !== 'copy'))
        expect([step.job, step.name, step.stdout.includes('Downloading crane')]).toEqual([
          step.job,
          step.name,
          false
        ])
    }, 90_000)

    it('runs again: legs 0, the copy job skipped by its if:, the report says all unchanged', async () => {
      const run = await call({ 'client-configs': true })
      expect(run.result).toBe('success')
      expect(run.jobs.plan?.outputs).toMatchObject({ legs: '0', matrix: '{"include":[]}' })
      expect(run.jobs.copy).toEqual({ result: 'skipped', outputs: {}, runs: [] })
      expect(run.jobs.report?.result).toBe('success')
      // client-configs: the report job's configs, as an artifact of their own.
      expect(run.artifacts.names()).toEqual(['image-mirror-client-configs', 'image-mirror-plan'])
      expect(run.artifacts.files('image-mirror-client-configs')).toEqual([
        `containerd/certs.d/${source.host}/hosts.toml`,
        'k3s/registries.yaml',
        'registries.conf'
      ])
      expect(run.outputs).toMatchObject({
        copied: '0',
        unchanged: String(IMAGES),
        failed: '0',
        rejected: '1'
      })
      expect(results(run).filter(r => r.status === 'unchanged')).toHaveLength(IMAGES)
    }, 60_000)

    it('a leg that fails: the other legs copy, the report still runs and fails naming the failures', async () => {
      const images = REPOS.map(({ repo }) => `${source.host}/${repo}:next`)
      const broken = 2
      // The target is down for exactly one leg's Copy step.
      const isBrokenLeg = (c: StepHookContext) =>
        c.job === 'copy' && c.matrix?.leg === broken && c.step.name === 'Copy'
      const run = await call(
        { images: images.join('\n'), 'images-file': '' },
        {
          // One leg after the other, so the outage hits exactly one.
          parallelLegs: 1,
          beforeStep: async c => {
            if (isBrokenLeg(c)) await target.stop()
          },
          afterStep: async c => {
            if (isBrokenLeg(c)) await target.restart()
          }
        }
      )
      const planned = planOf(run)
      const lost = (planned.legs[broken - 1] ?? []).map(i => planned.results[i]?.source as string)
      expect(lost.length).toBeGreaterThan(0)

      expect(run.jobs.copy?.runs.map(c => [c.matrix?.leg, c.result])).toEqual(
        Array.from({ length: MAX_LEGS }, (_, i) => [
          i + 1,
          i + 1 === broken ? 'failure' : 'success'
        ])
      )
      expect(run.jobs.copy?.result).toBe('failure')
      // fail-fast: false kept the later legs going; if: always() uploaded the broken leg's results.
      const brokenLeg = run.jobs.copy?.runs[broken - 1]
      expect(brokenLeg?.steps.map(s => [s.name, s.outcome])).toEqual([
        ['Check out the action', 'success'],
        ['Download the plan', 'success'],
        ['Copy', 'failure'],
        ["Upload the leg's results", 'success']
      ])
      expect(run.artifacts.names()).toContain(`image-mirror-leg-${broken}`)

      // The report ran (always() && plan succeeded) and failed, naming each failed image.
      expect(run.jobs.report?.result).toBe('failure')
      expect(run.result).toBe('failure')
      expect(run.outputs).toMatchObject({
        copied: String(images.length - lost.length),
        failed: String(lost.length),
        rejected: '0'
      })
      const report = run.jobs.report?.runs[0]?.steps.find(s => s.id === 'report')
      expect(report?.stdout).toContain(`::error::${lost.length} image(s) failed`)
      for (const image of lost) expect(report?.stdout).toContain(image)
      const all = results(run)
      expect(all).toHaveLength(images.length)
      for (const image of images) {
        expect([image, all.filter(r => r.source === image).map(r => r.status)]).toEqual([
          image,
          [lost.includes(image) ? 'failed' : 'copied']
        ])
      }
      await expectMirrored(images.filter(i => !lost.includes(i)))
      expectNoPassword(run)
    }, 90_000)

    it('a plan that fails: no legs, no report, no outputs', async () => {
      const run = await call({ target: 'https://not a registry' })
      expect(run.jobs.plan?.result).toBe('failure')
      expect(run.jobs.plan?.runs[0]?.steps.find(s => s.id === 'plan')?.stdout).toContain(
        '::error::'
      )
      expect(run.jobs.copy?.result).toBe('skipped')
      expect(run.jobs.report?.result).toBe('skipped')
      expect(run.outputs).toEqual({
        results: '',
        mirrored: '',
        copied: '',
        unchanged: '',
        failed: '',
        rejected: '',
        deferred: ''
      })
    }, 60_000)

    it('one run calling it twice with different artifact-prefix values: each report reads only its own artifacts', async () => {
      // One caller run: its artifacts are shared by both calls. The default prefix's
      // report must not pick up the other call's artifacts (`image-mirror-*` matches
      // `image-mirror-nightly-plan`: two plans, and the report refuses them).
      const artifacts = new ArtifactStore()
      const nightly = await call({ 'artifact-prefix': 'image-mirror-nightly' }, { artifacts })
      expect(nightly.result).toBe('success')
      const main = await call({}, { artifacts })
      expect(artifacts.names()).toEqual(['image-mirror-nightly-plan', 'image-mirror-plan'])
      const report = main.jobs.report?.runs[0]?.steps.find(s => s.id === 'report')
      expect([report?.outcome, report?.stdout.match(/::error::.*/)?.[0]]).toEqual([
        'success',
        undefined
      ])
      expect(main.outputs.unchanged).toBe(String(IMAGES))
    }, 60_000)

    it('from-issue: the plan accepts the issue, one leg copies, the report answers it', async () => {
      const image = `${source.host}/library/from-issue:1`
      const event = issueEvent({ number: 12, title: image })
      const before = api.calls.length
      // crane from an internal mirror of the releases (crane-url), not github.com.
      const release = engine.release()
      const run = await call(
        { 'from-issue': true, 'images-file': '', ...(release ? { 'crane-url': release.url } : {}) },
        {
          eventPath: event,
          github: {
            event_name: 'issues',
            api_url: api.url,
            token: 'ghs_reusableWorkflowStandIn00000'
          }
        }
      )
      expect(run.result).toBe('success')
      expect(run.jobs.copy?.runs.map(c => c.name)).toEqual(['Copy leg 1 of 1'])
      expect(run.outputs).toMatchObject({ copied: '1', failed: '0' })
      if (release) {
        const copy = run.jobs.copy?.runs[0]?.steps.find(s => s.name === 'Copy')
        expect(copy?.stdout).toContain(
          `Downloading crane ${release.label} from ${release.url}/${release.label}/${release.archive}`
        )
        expect(copy?.stdout).not.toContain('https://github.com/google/go-containerregistry')
      }
      const calls = api.calls.slice(before)
      expect(calls.every(c => c.authorization === 'token ghs_reusableWorkflowStandIn00000')).toBe(
        true
      )
      const comments = calls
        .filter(c => c.path.endsWith('/comments'))
        .map(c => (c.body as { body: string }).body)
      expect(comments).toHaveLength(2)
      expect(comments[0]).toContain('Request accepted: mirroring 1 image(s)')
      expect(comments[1]).toContain('✅ **Mirrored 1 of 1 image(s).**')
      await expectMirrored([image])
    }, 60_000)
  })
})

// No action runs here, so no engine: once.
describe('the runner double behaves as GitHub does where mirror.yml relies on it', () => {
  afterAll(() => {
    for (const run of runs.splice(0)) removeRun(run)
  })
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'workflow-double-'))
  afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }))
  let written = 0
  const write = (text: string) => {
    const file = path.join(scratch, `workflow-${++written}.yml`)
    fs.writeFileSync(file, text)
    return file
  }
  const STATUS = write(`
on:
  workflow_call:
    inputs:
      fail: { type: boolean, default: false }
    outputs:
      after: { value: '\${{ jobs.after.result }}' }
jobs:
  first:
    runs-on: x
    steps:
      - uses: actions/download-artifact@v8
        if: inputs.fail
        with: { name: not-uploaded }
  implicit:
    needs: first
    if: inputs.fail || !inputs.fail
    runs-on: x
    steps: [{ uses: actions/checkout@v5 }]
  after:
    needs: implicit
    if: always()
    runs-on: x
    steps: [{ uses: actions/checkout@v5 }]
  legs:
    needs: first
    if: always()
    runs-on: x
    strategy: { matrix: { n: [1, 2, 3] } }
    steps:
      - uses: actions/download-artifact@v8
        if: matrix.n == 1 && inputs.fail
        with: { name: not-uploaded }
      - uses: actions/checkout@v5
      - uses: actions/checkout@v5
        id: last
        if: always()
`)

  it('a job-level if: without a status function means success() && (...); always() runs; fail-fast cancels', async () => {
    const ok = await track(STATUS, { inputs: {} })
    expect(Object.values(ok.jobs).map(j => j.result)).toEqual([
      'success',
      'success',
      'success',
      'success'
    ])
    const failed = await track(STATUS, { inputs: { fail: true } })
    expect(failed.jobs.first?.runs[0]?.steps[0]?.error).toBe("Artifact 'not-uploaded' not found")
    expect(failed.jobs.implicit?.result).toBe('skipped')
    expect(failed.outputs.after).toBe('success')
    expect(failed.jobs.legs?.runs.map(r => r.result)).toEqual(['failure', 'cancelled', 'cancelled'])
    // After a failed step only if: always() steps run.
    expect(failed.jobs.legs?.runs[0]?.steps.map(s => s.outcome)).toEqual([
      'failure',
      'skipped',
      'success'
    ])
    expect(failed.result).toBe('failure')
  })

  it('artifacts: by name into path, by pattern into path/<name>/, names unique; jobs share nothing else', async () => {
    const run = await track(
      write(`
on: workflow_dispatch
jobs:
  make:
    runs-on: x
    steps:
      - uses: actions/checkout@v5
      - uses: actions/upload-artifact@v7
        with: { name: x-a, path: a/one.txt }
      - uses: actions/upload-artifact@v7
        with: { name: x-b, path: '\${{ github.workspace }}/b', if-no-files-found: error }
      - uses: actions/upload-artifact@v7
        if: always()
        with: { name: x-a, path: a/one.txt }
  take:
    needs: make
    if: always()
    runs-on: x
    steps:
      - uses: actions/download-artifact@v8
        with: { name: x-a, path: '\${{ runner.temp }}/by-name' }
      - uses: actions/download-artifact@v8
        with: { pattern: x-*, path: '\${{ runner.temp }}/by-pattern' }
`),
      { files: { 'a/one.txt': '1', 'b/two.txt': '2' } }
    )
    expect(run.jobs.make?.runs[0]?.steps.map(s => s.outcome)).toEqual([
      'success',
      'success',
      'success',
      'failure'
    ])
    expect(run.jobs.make?.runs[0]?.steps[3]?.error).toContain('(409) Conflict')
    const take = run.jobs.take?.runs[0]
    const list = (dir: string) =>
      (fs.readdirSync(dir, { recursive: true, encoding: 'utf8' }) as string[]).sort()
    expect(list(take?.temp as string)).toEqual([
      'by-name',
      'by-name/one.txt',
      'by-pattern',
      'by-pattern/x-a',
      'by-pattern/x-a/one.txt',
      'by-pattern/x-b',
      'by-pattern/x-b/two.txt'
    ])
    expect(fs.existsSync(path.join(take?.workspace as string, 'a'))).toBe(false)
  })

  it('refuses what it does not model instead of skipping it', async () => {
    const file = write(
      'on: workflow_dispatch\njobs:\n  a:\n    runs-on: x\n    steps:\n      - run: echo hi\n'
    )
    await expect(runWorkflow(file)).rejects.toThrow(UnsupportedError)
  })
})
