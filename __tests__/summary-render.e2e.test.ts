/**
 * The summary and the issue answer as people see them: rendered with GitHub's
 * markdown styles in headless Chromium at 1,000 px (__fixtures__/github-render.ts)
 * from what the bundle wrote against real registries, for the demo's list (a
 * copy with three kinds of rejection), the same list as a dry run, and an
 * issue answer with a rejected and a malformed request. Every problem row's
 * status must be inside the window and the text column (the table not
 * scrolled sideways, long tags included), and the line saying what went wrong
 * with it (status, image, reason) on the first screen of 1,000 × 900 px; a dry
 * run must have no column that is empty for every row and no pull lines.
 * Screenshots are written to .screenshots/ and their paths printed.
 *
 * Without Chromium the suite is skipped with a warning, unless
 * IMAGE_MIRROR_REQUIRE_BROWSER=1 (.ci/run installs Debian's chromium and sets it).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { ROOT, runActionAsync, type ActionRun } from '../__fixtures__/action-runner.js'
import { describeEngines, mirrorInputs, type EngineUnderTest } from '../__fixtures__/engines.js'
import {
  answersIn,
  issueEnv,
  issueEvent,
  startGitHubApi,
  type GitHubApi
} from '../__fixtures__/github-api.js'
import {
  findChromium,
  isVisible,
  renderOnGitHub,
  type Rendering
} from '../__fixtures__/github-render.js'
import { ensureTools, startRegistry, type LocalRegistry } from '../scripts/lib/local-registry.mjs'
import { pushImage } from '../scripts/lib/seed-images.mjs'

const AUTH = { username: 'demo', password: 'render-Pa55' }
const COMMIT = '3f2a9c1e8b7d6f5a4c3b2a190f8e7d6c5b4a3921'
const SIGNATURE = `sha256-${'e'.repeat(64)}.sig`
const TOKEN = 'ghs_standInTokenForTests0123456789'
const browser = findChromium()
if (!browser) {
  if (process.env.IMAGE_MIRROR_REQUIRE_BROWSER === '1') {
    throw new Error(
      'chromium is required (IMAGE_MIRROR_REQUIRE_BROWSER=1): apt-get install chromium'
    )
  }
  console.warn('summary-render.e2e: chromium is not installed; the rendering checks are LEFT OUT')
}
const describeIfBrowser = (title: string, body: (engine: EngineUnderTest) => void): void =>
  browser ? describeEngines(title, body) : describe.skip(title, () => undefined)

let source: LocalRegistry
let target: LocalRegistry
let api: GitHubApi

/** The demo's own list and allowlist (demo/), pointed at this test's source registry. */
function demoFiles(): Record<string, string> {
  const fill = (file: string) =>
    fs.readFileSync(path.join(ROOT, 'demo', file), 'utf8').replaceAll('{source}', source.host)
  return { 'images.txt': fill('images.txt'), 'allowlist.txt': fill('allowlist.txt') }
}

function inputs(extra: Record<string, string> = {}): Record<string, string> {
  return mirrorInputs({ source, target, auth: AUTH }, { retries: '0', ...extra })
}

/**
 * Every problem row's status within the window's width and the text column, the table not
 * scrolled sideways, and the line that says what went wrong with it (named exactly as the
 * row names it, starting with its status) on the first screen.
 */
function expectProblemsOnScreen(rendering: Rendering, problems: number): void {
  console.log(
    `${path.relative(ROOT, rendering.screenshot)}: column ${Math.round(rendering.column.left)}–${Math.round(rendering.column.right)} px, ` +
      `headers ${rendering.headers.join(' | ')}; ${rendering.problems
        .map(
          p =>
            `${p.status} ${p.image}: status at ${Math.round(p.statusBox.left)}–${Math.round(p.statusBox.right)} px, reason at ${p.reason ? `${Math.round(p.reason.box.left)}–${Math.round(p.reason.box.right)} px, y ${Math.round(p.reason.box.top)}` : 'none'}`
        )
        .join('; ')}`
  )
  expect(rendering.tableOverflows).toBe(false)
  expect(rendering.headers[0]).toBe('Status')
  expect(rendering.problems).toHaveLength(problems)
  for (const problem of rendering.problems) {
    expect([problem.image, isVisible(problem.statusBox, rendering)]).toEqual([problem.image, true])
    expect([problem.image, problem.reason !== undefined]).toEqual([problem.image, true])
    const reason = problem.reason as NonNullable<typeof problem.reason>
    expect([problem.image, isVisible(reason.box, rendering, true)]).toEqual([problem.image, true])
    // The line says the status too, so it reads on its own.
    expect(reason.text.startsWith(problem.status)).toBe(true)
  }
}

describeIfBrowser('the summary and the issue answer as rendered at 1,000 px', current => {
  beforeAll(async () => {
    await ensureTools()
    source = await startRegistry()
    target = await startRegistry({ auth: AUTH })
    api = await startGitHubApi()
    for (const [repository, tag, platforms] of [
      ['library/nginx', '1.27', ['linux/amd64', 'linux/arm64', 'linux/arm/v7']],
      ['library/redis', '7.4'],
      ['library/redis', '7.2'],
      ['library/alpine', '3.20'],
      ['library/alpine', '3.21'],
      ['team/app', 'v1'],
      // Tags that are long runs without a / : a commit SHA, and cosign's signature tag.
      ['team/app', COMMIT],
      ['team/app', SIGNATURE]
    ] as [string, string, string[]?][]) {
      await pushImage(source.host, repository, tag, {
        seed: `${repository}:${tag}`,
        ...(platforms ? { platforms } : {})
      })
    }
  }, 120_000)

  afterAll(async () => {
    await api?.close()
    await source?.stop()
    await target?.stop()
  })

  const name = (what: string) => `${what}-${current.name}`

  it("the demo's run and long tags: three rejections, each with its status and reason on screen", async () => {
    const files = demoFiles()
    files['images.txt'] +=
      `${source.host}/team/app:${COMMIT}\n${source.host}/team/app:${SIGNATURE}\n`
    const run: ActionRun = await runActionAsync(
      inputs({ 'images-file': 'images.txt', allowlist: 'allowlist.txt' }),
      { files }
    )
    expect(run.outputs.rejected).toBe('3')
    expect(run.outputs.copied).toBe('8')
    const rendering = renderOnGitHub(
      { html: run.summary },
      { name: name('summary-demo'), kind: 'summary' }
    )
    expectProblemsOnScreen(rendering, 3)
    expect(run.summary).toContain('docker pull ')
  })

  it('a dry run: no column empty for every row, no pull lines, problems on screen', async () => {
    const run = await runActionAsync(
      inputs({
        'images-file': 'images.txt',
        allowlist: 'allowlist.txt',
        'dry-run': 'true',
        'skip-unchanged': 'false'
      }),
      { files: demoFiles() }
    )
    expect(run.outputs.planned).toBe('5')
    const rendering = renderOnGitHub(
      { html: run.summary },
      { name: name('summary-dry-run'), kind: 'summary' }
    )
    expectProblemsOnScreen(rendering, 3)
    expect(rendering.headers).toEqual(['Status', 'Image', 'Mirrored address'])
    // The demo's list asks for "docker pull busybox" (rejected); no pull line of the mirror's.
    expect(run.summary).not.toContain('How to use')
    expect(run.summary).not.toContain('ctr -n k8s.io images pull')
  })

  it('an issue answer: a rejected and a malformed request beside a good one, on screen', async () => {
    const before = api.calls.length
    const run = await runActionAsync(
      inputs({ 'from-issue': 'true', allowlist: 'allowlist.txt', 'github-token': TOKEN }),
      {
        files: demoFiles(),
        env: issueEnv(
          api,
          issueEvent({
            number: 7,
            title: 'Please mirror these',
            body: [
              `${source.host}/library/nginx:1.27`,
              `${source.host}/private/secret:1`,
              `${source.host}/Library/Alpine:3.20`
            ].join('\n')
          })
        )
      }
    )
    expect(run.code).toBe(0)
    const answer = answersIn(api.calls.slice(before)).at(-1) as string
    const rendering = renderOnGitHub(
      { markdown: answer },
      { name: name('issue-answer'), kind: 'comment' }
    )
    expectProblemsOnScreen(rendering, 2)
  })
})
