/**
 * Docker Hub's pull budget, end to end: the bundled action, once per engine,
 * copying from a Docker Hub double (__fixtures__/docker-hub.ts: token auth,
 * a GET of a manifest counted as a pull per identity and window, HEAD free,
 * the rate-limit headers on every manifest answer, Docker Hub's 429 body) in
 * front of a real docker-registry, into a real docker-registry.
 *
 * What it shows (issue 18): an unchanged list costs no pull in any platform
 * mode; a list that costs three times the budget gets no 429, copies what
 * fits, defers exactly what does not, keeps the job green, and later runs
 * (the double's window reset between them) finish the rest; and what each
 * engine really spends per copied image, read from the double's count.
 */
import { afterAll, beforeAll, expect, it } from '@jest/globals'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { resultsOf, runActionAsync } from '../__fixtures__/action-runner.js'
import { startDockerHub, type DockerHub } from '../__fixtures__/docker-hub.js'
import { describeEngines, engine } from '../__fixtures__/engines.js'
import { ensureTools, startRegistry, type LocalRegistry } from '../scripts/lib/local-registry.mjs'
import { pushImage, type PushedImage } from '../scripts/lib/seed-images.mjs'

const AUTH = { username: 'mirror-bot', password: 'Pull-Budget-pass-1806' }
/** The anonymous budget of the double's window in the budget case. */
const LIMIT = 8

let upstream: LocalRegistry
let target: LocalRegistry
let hub: DockerHub

interface Seeded {
  repository: string
  pushed: PushedImage
}

async function seed(prefix: string, count: number): Promise<Seeded[]> {
  const images: Seeded[] = []
  for (let i = 1; i <= count; i++) {
    const repository = `${prefix}/img-${i}`
    // Alternate a single image and an index of two platforms, as real lists hold both.
    const pushed = await pushImage(upstream.host, repository, '1', {
      seed: `${prefix}-${i}`,
      ...(i % 2 === 0 ? { platforms: ['linux/amd64', 'linux/arm64'] } : {})
    })
    images.push({ repository, pushed })
  }
  return images
}

/** The action's inputs: `list` from the Docker Hub double at `from`, into `target/into`. */
function inputsFor(
  from: string,
  list: Seeded[],
  into: string,
  extra: Record<string, string> = {}
): Record<string, string> {
  return {
    images: list.map(i => `${from}/${i.repository}:1`).join('\n'),
    target: `${target.host}/${into}`,
    ...engine.inputs(),
    username: AUTH.username,
    password: AUTH.password,
    'insecure-registries': `${from},${target.host}`,
    ...extra
  }
}

function run(images: Seeded[], prefix: string, extra: Record<string, string> = {}) {
  return runActionAsync(inputsFor(hub.host, images, `${prefix}-${engine.name}`, extra), {
    timeoutMs: 180_000
  })
}

/** What a copy of an image spends: its manifest, or the index and each child. */
const cost = (image: Seeded) => 1 + image.pushed.children.length

/** A docker config dir as `docker login` (or docker/login-action) leaves it for `host`. */
function loggedIn(host: string, username: string, password: string): string {
  const dir = tmp('docker-config')
  const auth = Buffer.from(`${username}:${password}`).toString('base64')
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ auths: { [host]: { auth } } }))
  return dir
}

const tmp = (what: string) => fs.mkdtempSync(path.join(os.tmpdir(), `pull-budget-${what}-`))

/**
 * A matrix run as the reusable workflow makes it: the plan job, each leg in its own job (the
 * plan file downloaded into a fresh results-dir), then the report over their artifacts.
 * `legEnv` is the legs' environment (another runner: another login, another budget).
 */
async function matrixRun(
  inputs: Record<string, string>,
  legEnv: Record<string, string> = {},
  onPlanned: () => void = () => {}
) {
  const planDir = tmp('plan')
  const plan = await runActionAsync(
    { ...inputs, mode: 'plan', 'results-dir': planDir },
    { timeoutMs: 180_000 }
  )
  expect(plan.code).toBe(0)
  onPlanned()
  const legs = Number(plan.outputs.legs)
  const reportDir = tmp('report')
  fs.mkdirSync(path.join(reportDir, 'image-mirror-plan'))
  fs.copyFileSync(
    path.join(planDir, 'plan.json'),
    path.join(reportDir, 'image-mirror-plan', 'plan.json')
  )
  const legRuns = []
  for (let leg = 1; leg <= legs; leg++) {
    const dir = tmp(`leg${leg}`)
    fs.copyFileSync(path.join(planDir, 'plan.json'), path.join(dir, 'plan.json'))
    const run = await runActionAsync(
      { ...inputs, mode: 'copy', leg: String(leg), 'results-dir': dir },
      { timeoutMs: 180_000, env: legEnv }
    )
    expect(run.code).toBe(0)
    legRuns.push(run)
    const sub = path.join(reportDir, `image-mirror-results-${leg}`)
    fs.mkdirSync(sub)
    const file = `results-leg-${leg}.json`
    fs.copyFileSync(path.join(dir, file), path.join(sub, file))
  }
  const report = await runActionAsync({ mode: 'report', 'results-dir': reportDir })
  return { plan, legs: legRuns, report }
}

describeEngines('Docker Hub pull budget', () => {
  beforeAll(async () => {
    await ensureTools()
    upstream = await startRegistry()
    target = await startRegistry({ auth: AUTH })
    hub = await startDockerHub({ upstream: { host: upstream.host }, limits: { anonymous: 1000 } })
  }, 60_000)

  afterAll(async () => {
    await hub?.close()
    await upstream?.stop()
    await target?.stop()
  })

  const modes = () =>
    engine.name === 'skopeo'
      ? ['all', 'linux/arm64'] // skopeo copies all platforms or one (several is refused up front)
      : ['all', 'linux/arm64', 'linux/amd64,linux/arm64']

  it('an unchanged list costs no pull in any platform mode: 0 source manifest GETs on the re-run', async () => {
    const images = await seed(`unchanged-${engine.name}`, 4)
    const spent: string[] = []
    for (const platforms of modes()) {
      const prefix = `modes-${platforms.replace(/[/,]/g, '-')}`
      const first = await run(images, prefix, { platforms })
      expect(first.code).toBe(0)
      expect(resultsOf(first).map(r => r.status)).toEqual(['copied', 'copied', 'copied', 'copied'])
      const before = hub.manifestGets().length
      const again = await run(images, prefix, { platforms })
      expect(again.code).toBe(0)
      expect(resultsOf(again).map(r => r.status)).toEqual([
        'unchanged',
        'unchanged',
        'unchanged',
        'unchanged'
      ])
      const gets = hub.manifestGets().length - before
      spent.push(`${platforms}: ${gets} manifest GETs on the re-run`)
      expect(gets).toBe(0)
    }
    console.log(`pull-budget.e2e (engine ${engine.name}): ${spent.join('; ')}`)
  })

  it('a list costing three times the budget: no 429, what fits copied, the rest deferred, the job green; later runs finish it', async () => {
    const prefix = `budget-${engine.name}`
    const images = await seed(prefix, 12)
    const total = images.reduce((sum, i) => sum + cost(i), 0)
    expect(total).toBe(3 * LIMIT)
    const small = await startDockerHub({
      upstream: { host: upstream.host },
      limits: { anonymous: LIMIT }
    })
    const via = (list: Seeded[], extra: Record<string, string> = {}) =>
      runActionAsync(inputsFor(small.host, list, prefix, extra), { timeoutMs: 180_000 })
    try {
      const done = new Set<string>()
      const rounds: string[] = []
      for (let round = 1; round <= 4 && done.size < images.length; round++) {
        if (round > 1) small.resetWindow() // six hours later
        const result = await via(images)
        const results = new Map(
          resultsOf(result).map(r => [r.source.replace(`${small.host}/`, '').replace(/:1$/, ''), r])
        )
        // Green: deferred is not failed.
        expect(resultsOf(result).filter(r => r.status === 'failed')).toEqual([])
        expect(result.code).toBe(0)
        expect(small.tooManyRequests()).toEqual([])
        const pulls = small.pulls()
        expect(pulls).toBeLessThanOrEqual(LIMIT)
        const left = LIMIT - pulls
        let copied = 0
        let deferred = 0
        for (const image of images) {
          const r = results.get(image.repository)
          if (done.has(image.repository)) {
            expect(r?.status).toBe('unchanged')
            continue
          }
          if (r?.status === 'copied') {
            done.add(image.repository)
            copied++
            continue
          }
          expect(r?.status).toBe('deferred')
          // Deferred exactly because it did not fit in what was left.
          expect(cost(image)).toBeGreaterThan(left)
          expect(r?.reason).toMatch(
            /needs \d+ pull\(s\) from 127\.0\.0\.1:\d+ .*pulls left per 6 h.*not attempted, pulls come back within 6 h .*the next run takes it/
          )
          deferred++
        }
        expect(copied).toBeGreaterThan(0)
        expect(result.outputs.deferred).toBe(String(deferred))
        expect(result.outputs.failed).toBe('0')
        if (deferred > 0) expect(result.summary).toMatch(/⏳ deferred/)
        rounds.push(
          `run ${round}: ${copied} copied, ${deferred} deferred, ${pulls} of ${LIMIT} pulls`
        )
      }
      expect(done.size).toBe(images.length)
      console.log(`pull-budget.e2e (engine ${engine.name}): ${rounds.join('; ')}`)
    } finally {
      await small.close()
    }
  })

  it('what each copy spends, read from the double: the index and each child, or the one image', async () => {
    const images = await seed(`cost-${engine.name}`, 2)
    const figures: string[] = []
    for (const image of images) {
      const before = hub.pulls()
      const result = await run([image], `cost-${engine.name}`)
      expect(resultsOf(result)[0]?.status).toBe('copied')
      const spent = hub.pulls() - before
      figures.push(
        `${image.pushed.children.length === 0 ? 'one image' : `an index of ${image.pushed.children.length}`}: ${spent} pull(s)`
      )
      expect(spent).toBe(cost(image))
    }
    console.log(`pull-budget.e2e (engine ${engine.name}) pulls per copy: ${figures.join('; ')}`)
  })

  it("authenticated pulls: a docker login in the runner's config (a login step before the action) reads sources with the account's larger budget", async () => {
    const images = await seed(`account-${engine.name}`, 4)
    const needed = images.reduce((sum, i) => sum + cost(i), 0)
    const accountHub = await startDockerHub({
      upstream: { host: upstream.host },
      limits: { anonymous: 2, accounts: { hubuser: { password: 'Hub-acc0unt-pass', limit: 20 } } }
    })
    const dockerConfig = loggedIn(accountHub.host, 'hubuser', 'Hub-acc0unt-pass')
    try {
      const result = await runActionAsync(
        inputsFor(accountHub.host, images, `account-${engine.name}`),
        { timeoutMs: 120_000, env: { DOCKER_CONFIG: dockerConfig } }
      )
      expect(result.code).toBe(0)
      // Anonymously 2 pulls would copy one image; the account's 20 take all of them.
      expect(needed).toBeGreaterThan(2)
      expect(resultsOf(result).map(r => r.status)).toEqual(['copied', 'copied', 'copied', 'copied'])
      expect(accountHub.pulls('account:hubuser')).toBe(needed)
      // Every manifest answered was answered for the account (a 401 is the token dance's start).
      const answered = accountHub.manifestGets().filter(r => r.status !== 401)
      expect(answered.filter(r => r.identity !== 'account:hubuser')).toEqual([])
      expect(accountHub.tooManyRequests()).toEqual([])
      // Masked as it was read (the runner hides it from then on), and nowhere else.
      const withoutMask = result.stdout.replace('::add-mask::Hub-acc0unt-pass', '')
      expect(withoutMask + result.summary + JSON.stringify(result.outputs)).not.toContain(
        'Hub-acc0unt-pass'
      )
    } finally {
      fs.rmSync(dockerConfig, { recursive: true, force: true })
      await accountHub.close()
    }
  })

  it('a matrix run: a subset the plan finds current without a record goes to a leg, which records it; the next plan reads no index', async () => {
    const images = (await seed(`matrix-${engine.name}`, 4)).filter(i => i.pushed.children.length)
    const platforms = 'linux/arm64'
    const inputs = inputsFor(hub.host, images, `matrix-${engine.name}`, { platforms })
    // Mirrored by an earlier run, then the records taken away: a mirror made before records.
    const first = await runActionAsync(inputs, { timeoutMs: 180_000 })
    expect(resultsOf(first).map(r => r.status)).toEqual(['copied', 'copied'])
    const basic = `Basic ${Buffer.from(`${AUTH.username}:${AUTH.password}`).toString('base64')}`
    for (const result of resultsOf(first)) {
      const [repository, tag] = result.target.slice(target.host.length + 1).split(':')
      const url = `http://${target.host}/v2/${repository}/manifests`
      const head = await fetch(`${url}/${tag}`, {
        method: 'HEAD',
        headers: {
          authorization: basic,
          accept:
            'application/vnd.oci.image.index.v1+json,application/vnd.oci.image.manifest.v1+json,application/vnd.docker.distribution.manifest.v2+json,application/vnd.docker.distribution.manifest.list.v2+json'
        }
      })
      const subject = String(head.headers.get('docker-content-digest'))
      const empty = JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.index.v1+json',
        manifests: []
      })
      const put = await fetch(`${url}/${subject.replace(':', '-')}`, {
        method: 'PUT',
        headers: {
          authorization: basic,
          'content-type': 'application/vnd.oci.image.index.v1+json'
        },
        body: empty
      })
      expect(put.status).toBe(201)
    }

    const before = hub.pulls()
    let planPulls = 0
    const unrecorded = await matrixRun(inputs, {}, () => (planPulls = hub.pulls() - before))
    const planned = resultsOf(unrecorded.plan)
    // Found current by reading each index (a pull each), and handed on to be recorded.
    expect(planned.map(r => r.status)).toEqual(['unchanged', 'unchanged'])
    expect(planned.map(r => r.note)).toEqual([
      expect.stringMatching(/a leg writes its mirror record/),
      expect.stringMatching(/a leg writes its mirror record/)
    ])
    expect(unrecorded.plan.stdout).toMatch(
      /0 image\(s\) to copy \(and 2 up to date, for their mirror records\)/
    )
    // One repository per image: a leg each.
    expect(unrecorded.legs).toHaveLength(2)
    expect(resultsOf(unrecorded.report).map(r => r.status)).toEqual(['unchanged', 'unchanged'])
    expect(unrecorded.report.code).toBe(0)
    // A pull for each index the plan read; the legs read them again only where no record
    // could tell them (the target's index is theirs to read, free).
    expect(planPulls).toBe(2)
    const legPulls = hub.pulls() - before - planPulls
    expect(legPulls).toBe(2)

    const again = hub.manifestGets().length
    const recorded = await matrixRun(inputs)
    expect(resultsOf(recorded.plan).map(r => r.status)).toEqual(['unchanged', 'unchanged'])
    expect(recorded.plan.outputs.legs).toBe('0')
    expect(hub.manifestGets().length - again).toBe(0)
    console.log(
      `pull-budget.e2e (engine ${engine.name}) matrix, 2 subsets without records: the plan ${planPulls} pull(s), the legs ${legPulls}; the next run 0 manifest GETs`
    )
  })

  it('a matrix run: what the plan job cannot afford, legs with their own budget (a login) copy', async () => {
    const images = (await seed(`legs-${engine.name}`, 4)).filter(i => i.pushed.children.length)
    const hubWithAccount = await startDockerHub({
      upstream: { host: upstream.host },
      limits: { anonymous: 0, accounts: { legs: { password: 'Legs-acc0unt-pass', limit: 20 } } }
    })
    const dockerConfig = loggedIn(hubWithAccount.host, 'legs', 'Legs-acc0unt-pass')
    try {
      const inputs = inputsFor(hubWithAccount.host, images, `legs-${engine.name}`, {
        platforms: 'linux/arm64'
      })
      const run = await matrixRun(inputs, { DOCKER_CONFIG: dockerConfig })
      const planStatuses = resultsOf(run.plan).map(r => r.status)
      // The plan's own budget (anonymous, spent) could not read the indexes: deferred there.
      expect(planStatuses).toEqual(['deferred', 'deferred'])
      expect(run.plan.stdout).toMatch(/2 this job's pull budget deferred, for the legs to try/)
      expect(run.plan.outputs.legs).toBe('2')
      expect(resultsOf(run.report).map(r => r.status)).toEqual(['copied', 'copied'])
      expect(run.report.code).toBe(0)
      expect(
        hubWithAccount.manifestGets().filter(r => r.identity?.startsWith('ip:') && r.status !== 401)
      ).toEqual([])
      expect(hubWithAccount.tooManyRequests()).toEqual([])
    } finally {
      fs.rmSync(dockerConfig, { recursive: true, force: true })
      await hubWithAccount.close()
    }
  })

  it('the budget already spent by others: everything deferred from the HEADs alone, no GET and no 429', async () => {
    const images = await seed(`spent-${engine.name}`, 2)
    const spentHub = await startDockerHub({
      upstream: { host: upstream.host },
      limits: { anonymous: 0 }
    })
    try {
      const result = await runActionAsync(
        inputsFor(spentHub.host, images, `spent-${engine.name}`),
        { timeoutMs: 120_000 }
      )
      expect(result.code).toBe(0)
      expect(resultsOf(result).map(r => r.status)).toEqual(['deferred', 'deferred'])
      expect(spentHub.manifestGets()).toEqual([])
      expect(spentHub.tooManyRequests()).toEqual([])
      const failing = await runActionAsync(
        inputsFor(spentHub.host, images, `spent-${engine.name}`, { 'fail-on-deferred': 'true' }),
        { timeoutMs: 120_000 }
      )
      expect(failing.code).toBe(1)
      expect(failing.stdout).toMatch(/2 image\(s\) deferred/)
    } finally {
      await spentHub.close()
    }
  })
})
