/**
 * Issue requests end to end: event payload files modelled on real `issues`
 * events, the bundled action run as the runner runs it, the real Octokit
 * client talking to a recording stand-in for the GitHub API, and the copy
 * itself against real local registries, once per engine: crane (installed by
 * the action from a loopback release of crane built from its Go module) and
 * skopeo.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { resultsOf, runActionAsync, type ActionRun } from '../__fixtures__/action-runner.js'
import {
  answersIn,
  issueEnv,
  proseOf,
  issueEvent,
  startGitHubApi,
  type ApiCall,
  type GitHubApi
} from '../__fixtures__/github-api.js'
import { describeEngines, engine } from '../__fixtures__/engines.js'
import { hostileIssues } from '../__fixtures__/hostile-issues.js'
import { ensureTools, startRegistry, type LocalRegistry } from '../scripts/lib/local-registry.mjs'
import { headDigest, pushImage, type PushedImage } from '../scripts/lib/seed-images.mjs'

const AUTH = { username: 'mirror-bot', password: 'issue-flow-Pa55' }
const TOKEN = 'ghs_standInTokenForTests0123456789'

let api: GitHubApi
let source: LocalRegistry
let target: LocalRegistry
let nginx: PushedImage

interface Answer {
  run: ActionRun
  calls: ApiCall[]
  comments: string[]
}

async function ask(
  issue: Parameters<typeof issueEvent>[0],
  extra: Record<string, string> = {}
): Promise<Answer> {
  const before = api.calls.length
  const run = await runActionAsync(
    {
      'from-issue': 'true',
      target: `${target.host}/mirror`,
      ...engine.inputs(),
      username: AUTH.username,
      password: AUTH.password,
      'insecure-registries': `${source.host},${target.host}`,
      allowlist: 'allows.txt',
      'github-token': TOKEN,
      retries: '0',
      ...extra
    },
    {
      files: { 'allows.txt': `${source.host}/library/*\n` },
      env: issueEnv(api, issueEvent({ number: 42, ...issue }))
    }
  )
  const calls = api.calls.slice(before)
  return { run, calls, comments: answersIn(calls) }
}

const results = resultsOf

/** The calls that change labels or state, in order, as short strings. */
function effects(calls: ApiCall[]): string[] {
  return calls
    .filter(c => !c.path.includes('/comments'))
    .map(c => `${c.method} ${c.path} ${c.body ? JSON.stringify(c.body) : ''}`.trim())
}

describeEngines('issues end to end', () => {
  beforeAll(async () => {
    await ensureTools()
    api = await startGitHubApi()
    source = await startRegistry()
    target = await startRegistry({ auth: AUTH })
    nginx = await pushImage(source.host, 'library/nginx', '1.27', {
      platforms: ['linux/amd64', 'linux/arm64', 'linux/arm/v7']
    })
    await pushImage(source.host, 'library/alpine', 'latest')
    await pushImage(source.host, 'private/thing', '1')
  }, 120_000)

  afterAll(async () => {
    await api?.close()
    await source?.stop()
    await target?.stop()
  })

  describe('issue requests', () => {
    it("a good request in DaoCloud's form: accepted, copied for the chosen platform, answered, labelled, closed", async () => {
      const { run, calls, comments } = await ask({
        title: `${source.host}/library/nginx:1.27`,
        body: '### 架构 / Platform\n\nlinux/arm64\n\n### 备注 / Notes\n\n_No response_'
      })
      expect(run.code).toBe(0)
      expect(calls.every(c => c.authorization === `token ${TOKEN}`)).toBe(true)
      expect(comments).toHaveLength(2)
      expect(comments[0]).toContain('Request accepted: mirroring 1 image(s) (linux/arm64)')
      expect(comments[0]).toContain('https://github.com/acme/mirror/actions/runs/4242')
      const arm64 = nginx.children.find(c => c.platform === 'linux/arm64')?.digest as string
      const mirrored = `${target.host}/mirror/${source.host.replace(':', '_')}/library/nginx:1.27`
      expect(comments[1]).toContain('✅ **Mirrored 1 of 1 image(s).**')
      expect(comments[1]).toContain(`docker pull ${mirrored}`)
      expect(comments[1]).toContain(`ctr -n k8s.io images pull ${mirrored}`)
      expect(comments[1]).toContain(arm64.slice(0, 19))
      expect(effects(calls)).toEqual([
        'POST /repos/acme/mirror/issues/42/labels {"labels":["sync image succeeded"]}',
        'PATCH /repos/acme/mirror/issues/42 {"state":"closed","state_reason":"completed"}'
      ])
      const repo = mirrored.slice(target.host.length + 1).split(':')[0] as string
      expect(await headDigest(target.host, repo, '1.27', AUTH)).toBe(arm64)
    })

    it('a corrected request says how it was read, and is served', async () => {
      const { run, comments, calls } = await ask({
        title: `docker pull ${source.host}/library/alpine`,
        body: ''
      })
      expect(run.code).toBe(0)
      // As a reader copies it: without the <wbr> where a long reference may wrap.
      const answer = (comments.at(-1) as string).replaceAll('<wbr>', '')
      expect(answer).toContain(
        `read as <code>${source.host}/library/alpine:latest</code>`.replace(/:/g, ':')
      )
      expect(answer).toMatch(/read the command &quot;docker pull .* as the image/)
      expect(results(run)[0]?.status).toBe('copied')
      expect(effects(calls).at(-1)).toContain('"state_reason":"completed"')
    })

    it('a request outside the allowlist is refused with how to ask, labelled failure, closed as not planned', async () => {
      target.clearLog()
      const { run, comments, calls } = await ask({ title: `${source.host}/private/thing:1` })
      expect(run.code).toBe(1)
      expect(comments).toHaveLength(1) // no "accepted" comment for a request nothing of which is allowed
      expect(comments[0]).toContain('❌ **Nothing was mirrored**')
      expect(comments[0]).toMatch(/is not in the allowlist allows\.txt; ask for a line such as/)
      expect(comments[0]).toContain(
        'Only images in the allowlist [allows.txt](https://github.com/acme/mirror/blob/ffac537e6cbbf934b08745a378932722df287a53/allows.txt) are mirrored. To ask for an addition, open a pull request'
      )
      expect(effects(calls)).toEqual([
        'POST /repos/acme/mirror/issues/42/labels {"labels":["sync image failure"]}',
        'PATCH /repos/acme/mirror/issues/42 {"state":"closed","state_reason":"not_planned"}'
      ])
      expect(target.requests().filter(r => r.method === 'PUT')).toEqual([])
    })

    it('a mixed batch is answered image by image, labelled partial, and left open', async () => {
      const { run, comments, calls } = await ask({
        title: 'Please mirror these',
        body: [
          'Hi! We need these for our cluster:',
          '```',
          `${source.host}/library/nginx:1.27`,
          `${source.host}/private/thing:1`,
          'Not_An/Image',
          '```',
          'amd64'
        ].join('\n')
      })
      expect(run.code).toBe(0)
      const answer = comments.at(-1) as string
      expect(answer).toContain('⚠️ **Mirrored 1 of 3 image(s)')
      expect(answer).toContain('✅ copied')
      // Two rejected rows in the table, each with its line under Why (which says its status too).
      expect(answer.match(/^\| ⛔ rejected \|/gm)).toHaveLength(2)
      expect(answer.match(/^- ⛔ rejected /gm)).toHaveLength(2)
      expect(answer).toContain('1 line(s) of text were not read as images')
      expect(effects(calls)).toEqual([
        'POST /repos/acme/mirror/issues/42/labels {"labels":["sync image partial"]}'
      ])
    })

    it('an edited re-run updates its answer in place, swaps the outcome label, never adds one twice, and never reopens', async () => {
      const fixed = await ask({
        action: 'edited',
        title: `${source.host}/library/nginx:1.27`,
        labels: ['sync image failure']
      })
      expect(effects(fixed.calls)).toEqual([
        'DELETE /repos/acme/mirror/issues/42/labels/sync image failure',
        'POST /repos/acme/mirror/issues/42/labels {"labels":["sync image succeeded"]}',
        'PATCH /repos/acme/mirror/issues/42 {"state":"closed","state_reason":"completed"}'
      ])
      const again = await ask({
        action: 'edited',
        title: `${source.host}/library/nginx:1.27`,
        labels: ['sync image succeeded']
      })
      expect(again.comments.at(-1)).toContain('✅ **Mirrored 1 of 1 image(s).**')
      expect(effects(again.calls)).toEqual([
        'PATCH /repos/acme/mirror/issues/42 {"state":"closed","state_reason":"completed"}'
      ])
      // The edit changed the answer in place: no new comment, the earlier one rewritten.
      expect(again.calls.filter(c => c.method === 'POST' && c.path.endsWith('/comments'))).toEqual(
        []
      )
      expect(
        again.calls.filter(c => c.method === 'PATCH' && c.path.includes('/comments/'))
      ).toHaveLength(1)
      // Open, edited into a mixed request: labelled partial, left open (never reopened or closed).
      const mixed = await ask({
        action: 'edited',
        title: 'Two images',
        body: `${source.host}/library/nginx:1.27\n${source.host}/private/thing:1`,
        labels: ['sync image failure']
      })
      expect(mixed.comments.at(-1)).toContain('⚠️ **Mirrored 1 of 2 image(s)')
      expect(effects(mixed.calls)).toEqual([
        'DELETE /repos/acme/mirror/issues/42/labels/sync image failure',
        'POST /repos/acme/mirror/issues/42/labels {"labels":["sync image partial"]}'
      ])
      // Closed (by whoever): an edit is not served at all.
      const closed = await ask({
        action: 'edited',
        state: 'closed',
        title: `${source.host}/library/nginx:1.27`,
        labels: ['sync image failure']
      })
      expect(closed.calls).toEqual([])
    })

    it('events that are not a new or changed request are left alone', async () => {
      const { run, calls } = await ask({
        action: 'labeled',
        title: `${source.host}/library/nginx:1.27`
      })
      expect(run.code).toBe(0)
      expect(calls).toEqual([])
    })

    it('more images than issue-max-images is refused as a whole, not truncated', async () => {
      const body = Array.from({ length: 11 }, (_, i) => `${source.host}/library/img${i}:1`).join(
        '\n'
      )
      const { run, comments, calls } = await ask({ title: 'Mirror request', body })
      expect(run.code).toBe(1)
      expect(comments).toHaveLength(1)
      expect(comments[0]).toContain('asks for 11 images; at most 10 are served per issue')
      expect(effects(calls).at(-1)).toContain('"state_reason":"not_planned"')
      expect(run.stdout).toMatch(/::error::The issue request was refused/)
    })

    it('a token that may not write issues fails the job, but the results are still reported', async () => {
      api.failWith(403)
      try {
        const { run } = await ask({ title: `${source.host}/library/nginx:1.27` })
        expect(run.code).toBe(1)
        expect(results(run)[0]?.status).toMatch(/copied|unchanged/)
        expect(run.stdout).toMatch(/Could not answer issue #42 .*issues: write/)
        expect(proseOf(run.summary).replace(/\u2060/g, '')).toContain('Could not answer issue #42')
      } finally {
        api.failWith(undefined)
      }
    })
  })

  describe('hostile issues', () => {
    const canary = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'canary-')), 'pwned')

    it('none reaches a shell, breaks the markup, injects a workflow command or gets an image outside the allowlist copied', async () => {
      const corpus = hostileIssues(source.host, canary)
      expect(corpus.length).toBeGreaterThanOrEqual(40)
      target.clearLog()
      const commands = new Set([
        'add-mask',
        'warning',
        'error',
        'group',
        'endgroup',
        'debug',
        'notice'
      ])
      for (const [i, issue] of corpus.entries()) {
        const { run, comments } = await ask(issue)
        const where = `hostile #${i}: ${JSON.stringify(issue).slice(0, 120)}`
        expect([where, run.stderr]).toEqual([where, ''])
        // Workflow commands: only the action's own, each a single command.
        for (const line of run.stdout.split('\n')) {
          expect(line.includes('##[')).toBe(false)
          const command = /^::([\w-]+)/.exec(line)?.[1]
          if (line.startsWith('::')) {
            expect([where, commands.has(command ?? '')]).toEqual([where, true])
            expect([where, line.split('::').length]).toEqual([where, 3])
          }
        }
        // Markup: only the tags the action writes; no mention, image, link or expression from the issue.
        for (const text of [...comments, run.summary]) {
          const prose = text.replace(/```sh\n[\s\S]*?```/g, '')
          const tags = prose.match(/<\/?[a-z][^>]*>|<!--[^>]*-->/gi) ?? []
          for (const tag of tags) {
            expect([where, tag]).toEqual([
              where,
              expect.stringMatching(
                /^(<\/?(code|br|sub|b|p|h2|h3|table|tr|th|td|pre|ul|li)>|<wbr>|<code title="sha256:[0-9a-f]+">|<pre lang="sh">|<!-- image-mirror: (accepted|result) -->)$/
              )
            ])
          }
          expect([
            where,
            /@\w|\$\{\{|javascript:|<script|<img|\]\(http:\/\/evil/i.test(prose)
          ]).toEqual([where, false])
        }
        expect(comments.length).toBeGreaterThanOrEqual(1)
      }
      expect(fs.existsSync(canary)).toBe(false)
      // Only allowlisted repositories were ever written to the target.
      const written = target
        .requests()
        .filter(r => r.method === 'PUT' && r.path.includes('/manifests/'))
        .map(r => r.path)
      for (const p of written) expect(p).toMatch(/^\/v2\/mirror\/127\.0\.0\.1-\d+\/library\//)
    }, 300_000)
  })
})
