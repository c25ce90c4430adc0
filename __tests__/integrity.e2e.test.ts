/**
 * Mirror integrity, tried as an attacker would: each finding of issue 13
 * replayed through the bundled action (`node dist/index.js`) against real
 * registries and the recorded GitHub API stand-in: the attack, then the
 * target unchanged and an answer that says why. Once per engine: crane
 * (installed by the action from a loopback release of crane built from its Go
 * module) and skopeo, each with fresh registries.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { spawn, spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as http from 'node:http'
import type { AddressInfo } from 'node:net'
import * as os from 'node:os'
import * as path from 'node:path'
import { resultsOf, runActionAsync, type ActionRun } from '../__fixtures__/action-runner.js'
import type { MirrorResult as Result } from '../src/image/results.js'
import { CACHE_TOOL_NAME } from '../src/copy/engines/installer.js'
import { describeEngines, engine } from '../__fixtures__/engines.js'
import {
  answersIn,
  githubLinks,
  issueEnv,
  issueEvent,
  proseOf,
  startGitHubApi,
  type GitHubApi
} from '../__fixtures__/github-api.js'
import {
  builtCrane,
  startReleaseServer,
  type ReleaseServer
} from '../scripts/lib/crane-release.mjs'
import { DIST, prepareRun, readRunFiles } from '../scripts/lib/runner-env.mjs'
import { ensureTools, startRegistry, type LocalRegistry } from '../scripts/lib/local-registry.mjs'
import {
  getManifest,
  headDigest,
  pushImage,
  tagImage,
  type PushedImage
} from '../scripts/lib/seed-images.mjs'

const AUTH = { username: 'mirror-bot', password: 'integrity-Pa55-word' }
const PRIVATE = { username: 'private-reader', password: 'private-Pa55-word' }
const TOKEN = 'ghs_integrityStandIn0123456789abc'

let api: GitHubApi
let source: LocalRegistry
let target: LocalRegistry
let privateSource: LocalRegistry
const images: Record<string, PushedImage> = {}

const results = resultsOf
const segment = (host: string) => host.replace(':', '_')
const mirrorRepo = (repo: string, host = source.host) => `mirror/${segment(host)}/${repo}`

interface Asked {
  run: ActionRun
  comments: string[]
  calls: GitHubApi['calls']
}

/** An issue request through the bundle, answered on the stand-in. */
async function ask(
  issue: Parameters<typeof issueEvent>[0],
  extra: Record<string, string> = {},
  options: { files?: Record<string, string>; env?: Record<string, string> } = {}
): Promise<Asked> {
  const before = api.calls.length
  const run = await runActionAsync(
    {
      'from-issue': 'true',
      target: `${target.host}/mirror`,
      ...engine.inputs(),
      username: AUTH.username,
      password: AUTH.password,
      'insecure-registries': `${source.host},${target.host},${privateSource.host}`,
      allowlist: 'allows.txt',
      'github-token': TOKEN,
      retries: '0',
      ...extra
    },
    {
      files: { 'allows.txt': `${source.host}/library/*\n`, ...options.files },
      env: { ...issueEnv(api, issueEvent({ number: 13, ...issue })), ...options.env }
    }
  )
  const calls = api.calls.slice(before)
  return { run, comments: answersIn(calls), calls }
}

const targetDigest = (repo: string, tag: string) =>
  headDigest(target.host, mirrorRepo(repo), tag, AUTH)

describeEngines('mirror integrity', () => {
  beforeAll(async () => {
    await ensureTools()
    api = await startGitHubApi()
    source = await startRegistry()
    target = await startRegistry({ auth: AUTH })
    privateSource = await startRegistry({ auth: PRIVATE })
    images['app:1.0'] = await pushImage(source.host, 'library/app', '1.0', { seed: 'app-1.0' })
    images['app:2.0'] = await pushImage(source.host, 'library/app', '2.0', { seed: 'app-2.0' })
    images['app:3.0'] = await pushImage(source.host, 'library/app', '3.0', {
      seed: 'app-3.0',
      platforms: ['linux/amd64', 'linux/arm64', 'linux/s390x']
    })
    images['app:4.0'] = await pushImage(source.host, 'library/app', '4.0', {
      seed: 'app-4.0',
      platforms: ['linux/amd64', 'linux/arm64', 'linux/s390x']
    })
    images['secret:1'] = await pushImage(privateSource.host, 'team/secret', '1', {
      seed: 'secret',
      auth: PRIVATE
    })
    images['mine:1'] = await pushImage(target.host, 'internal/tool', '1', {
      seed: 'internal',
      auth: AUTH
    })
  }, 180_000)

  afterAll(async () => {
    await api?.close()
    await source?.stop()
    await target?.stop()
    await privateSource?.stop()
  })

  describe('high', () => {
    it('1. tag@digest of an older image is refused; the mirrored tag keeps its content', async () => {
      const first = await ask({ title: `${source.host}/library/app:2.0` })
      expect(results(first.run)[0]?.status).toBe('copied')
      const good = images['app:2.0']?.digest as string
      const old = images['app:1.0']?.digest as string
      expect(await targetDigest('library/app', '2.0')).toBe(good)

      const attack = await ask({ title: `${source.host}/library/app:2.0@${old}` })
      const [result] = results(attack.run)
      expect(result?.status).toBe('rejected')
      expect(result?.reason).toContain(`points at ${good} upstream now, not ${old}`)
      expect(await targetDigest('library/app', '2.0')).toBe(good)
      const answer = attack.comments.at(-1) as string
      expect(answer).toContain('Nothing was mirrored')
      expect(answer).toContain(good)
      expect(answer).toContain(old)

      // The honest form still works: the tag and its own digest.
      const honest = await ask({ title: `${source.host}/library/app:2.0@${good}` })
      expect(results(honest.run)[0]?.status).toBe('unchanged')
    })

    it('2. one platform asked of a tag mirrored whole keeps it whole; a missing one grows it', async () => {
      const whole = images['app:3.0'] as PushedImage
      const first = await ask({ title: `${source.host}/library/app:3.0` })
      expect(results(first.run)[0]?.status).toBe('copied')
      expect(await targetDigest('library/app', '3.0')).toBe(whole.digest)

      const shrink = await ask({ title: `${source.host}/library/app:3.0`, body: 'linux/s390x' })
      expect(results(shrink.run)[0]?.status).toBe('unchanged')
      expect(await targetDigest('library/app', '3.0')).toBe(whole.digest)
      expect(shrink.comments.at(-1)).toContain('Mirrored 1 of 1')

      // A tag that holds one platform, asked for another: it grows, never shrinks.
      const four = images['app:4.0'] as PushedImage
      const child = (platform: string) =>
        four.children.find(c => c.platform === platform)?.digest as string
      const one = await ask({ title: `${source.host}/library/app:4.0`, body: 's390x' })
      expect(results(one.run)[0]?.status).toBe('copied')
      expect(await targetDigest('library/app', '4.0')).toBe(child('linux/s390x'))
      const grow = await ask({ title: `${source.host}/library/app:4.0`, body: 'arm64' })
      const grown = results(grow.run)[0]
      expect(grown?.status).toBe('copied')
      expect(grown?.note).toMatch(/held linux\/s390x; platforms are never taken away/)
      const held = await getManifest(target.host, mirrorRepo('library/app'), '4.0', AUTH)
      expect(grown?.digest).toBe(held.digest)
      expect(grown?.sourceDigest ?? four.digest).toBe(four.digest)
      if (engine.name === 'skopeo') {
        // skopeo copies all platforms or one: the tag grows to the whole index.
        expect(grown?.note).toMatch(/so the whole image was copied/)
        expect(held.digest).toBe(four.digest)
      } else {
        // crane and native filter the index: a new index of exactly what was held and asked.
        expect(grown?.note).toMatch(/so it now holds linux\/s390x, linux\/arm64/)
        expect(held.digest).not.toBe(four.digest)
        expect(held.manifest.manifests?.map(m => m.digest)).toEqual([
          child('linux/arm64'),
          child('linux/s390x')
        ])
      }
    })

    it('2b. maintainers hold what issues may choose (issue-platforms)', async () => {
      const before = await targetDigest('library/app', '1.0')
      const refused = await ask(
        { title: `${source.host}/library/app:1.0`, body: 'linux/s390x' },
        { 'issue-platforms': 'linux/amd64,linux/arm64' }
      )
      expect(refused.run.code).toBe(1)
      expect(refused.comments.at(-1)).toContain('does not offer linux/s390x to issue requests')
      expect(await targetDigest('library/app', '1.0')).toBe(before)
      const aside = await ask(
        { title: `${source.host}/library/app:1.0`, body: 'linux/s390x' },
        { 'issue-platforms': 'none' }
      )
      expect(results(aside.run)[0]?.status).toBe('copied')
      expect(await targetDigest('library/app', '1.0')).toBe(images['app:1.0']?.digest)
      expect(aside.comments.at(-1)).toMatch(/platform choice \(linux\/s390x\) was set aside/)
    })

    it('3. issue-max-images counts the tags of a list, before anything is copied', async () => {
      target.clearLog()
      const tags = Array.from({ length: 25 }, (_, i) => `t${i + 1}`).join(',')
      const { run, comments } = await ask({ title: `${source.host}/library/app:${tags}` })
      expect(run.code).toBe(1)
      expect(comments).toHaveLength(1)
      expect(comments[0]).toContain('asks for 25 images (each tag of a list counts)')
      expect(comments[0]).toContain('at most 10 are served per issue')
      expect(target.requests().filter(r => r.method !== 'GET' && r.method !== 'HEAD')).toEqual([])
    })
  })

  describe('medium', () => {
    it('4. the worst 64 KiB issues are answered in seconds, under GitHub limits, outputs set', async () => {
      const started = Date.now()
      const commas = await ask({ title: `nginx:${','.repeat(64 * 1024 - 100)}` })
      const distinct = Array.from({ length: 16_000 }, (_, i) => `t${i}`)
        .join(',')
        .slice(0, 64_000)
      const tags = await ask({
        title: `${source.host}/library/app:${distinct.replace(/,[^,]*$/, '')}`
      })
      for (const { run, comments } of [commas, tags]) {
        expect(run.code).toBe(1)
        expect(comments).toHaveLength(1)
        expect((comments[0] as string).length).toBeLessThan(65_536)
        expect(comments[0]).toMatch(/asks for \d{4,5} images \(each tag of a list counts\)/)
        expect(run.outputs.results).toBe('[]')
      }
      // Before: 23.6 s and 11.2 s (scripts/worst-issue.mjs); now both refused at once.
      expect(Date.now() - started).toBeLessThan(10_000)

      // An answer that would be too long for GitHub is cut, and says where the rest is.
      const long = Array.from(
        { length: 100 },
        (_, i) => `${source.host}/library/${'x'.repeat(180)}${i}/${'y'.repeat(180)}:Bad-Tag-${i}!`
      ).join('\n')
      const big = await ask({ title: 'Many', body: long }, { 'issue-max-images': '100' })
      const answer = big.comments.at(-1) as string
      expect(answer.length).toBeLessThan(65_536)
      expect(answer).toMatch(/\d+ more [a-z ]+\(s\) are listed in the results output/)
      expect(results(big.run)).toHaveLength(100)

      // The same flood in a list (no issue limit applies): duplicates merge in linear time,
      // and the merged entry says so in one bounded note.
      const listed = Date.now()
      const list = await runActionAsync({
        images: `nginx:1.27${',1.27'.repeat(16_000)}`,
        target: `${target.host}/mirror`,
        ...engine.inputs(),
        'dry-run': 'true',
        'skip-unchanged': 'false'
      })
      expect(Date.now() - listed).toBeLessThan(10_000)
      expect(list.code).toBe(0)
      const [merged] = results(list)
      expect(results(list)).toHaveLength(1)
      expect(merged?.note).toBe('also requested 16000 more times (on images line 1); merged')
    }, 120_000)

    it('5. names are one-to-one: a port and a host name that spells it land apart', async () => {
      const run = await runActionAsync(
        {
          images: 'reg.example:5000/team/app:1\nreg.example-5000/team/app:1',
          target: `${target.host}/mirror`,
          ...engine.inputs(),
          'dry-run': 'true',
          'skip-unchanged': 'false'
        },
        {}
      )
      expect(run.code).toBe(0)
      expect(results(run).map(r => r.target)).toEqual([
        `${target.host}/mirror/reg.example_5000/team/app:1`,
        `${target.host}/mirror/reg.example-5000/team/app:1`
      ])
      // A template that can merge two sources is refused for issue requests, before anything.
      const lossy = await ask(
        { title: `${source.host}/library/app:2.0` },
        { rewrite: '{target}/{namespace}-{name}' }
      )
      expect(lossy.run.code).toBe(1)
      expect(lossy.run.stdout).toContain('::error::Input "rewrite": "{target}/{namespace}-{name}"')
      expect(lossy.calls).toEqual([])
    })

    it('6. from-issue needs an allowlist; an open mirror reads sources anonymously and never its own registry', async () => {
      const none = await ask({ title: `${source.host}/library/app:2.0` }, { allowlist: '' })
      expect(none.run.code).toBe(1)
      expect(none.run.stdout).toContain('::error::Input "allowlist": from-issue: true needs')
      expect(none.calls).toEqual([])

      // The runner holds credentials for a private registry; the target's are given as inputs.
      const dockerConfig = fs.mkdtempSync(path.join(os.tmpdir(), 'docker-config-'))
      const auth = Buffer.from(`${PRIVATE.username}:${PRIVATE.password}`).toString('base64')
      fs.writeFileSync(
        path.join(dockerConfig, 'config.json'),
        JSON.stringify({ auths: { [privateSource.host]: { auth } } })
      )
      target.clearLog()
      const open = await ask(
        {
          title: 'Two',
          body: `${privateSource.host}/team/secret:1\n${target.host}/internal/tool:1`
        },
        { allowlist: '', 'open-mirror': 'true' },
        { env: { DOCKER_CONFIG: dockerConfig } }
      )
      const [secret, own] = results(open.run)
      expect(secret?.status).toBe('failed')
      expect(secret?.reason).toMatch(/requires credentials|401/)
      expect(own?.status).toBe('rejected')
      expect(own?.reason).toContain("is the mirror's own registry")
      expect(target.requests().filter(r => r.method === 'PUT')).toEqual([])
      expect(open.comments.at(-1)).toContain('Nothing was mirrored')
    })

    it('7. a tag filter meets an upstream tag built to backtrack: seconds, and the right tags', async () => {
      // Backtracking doubles with each "1": the old RegExp took 5 s for 30 and about 20 s for 32.
      await tagImage(source.host, 'library/app', '2.0', ['1.2.3', `${'1'.repeat(32)}x`])
      const started = Date.now()
      const run = await runActionAsync(
        {
          images: `${source.host}/library/app:/^(\\d+\\.?)+$/`,
          target: `${target.host}/mirror`,
          ...engine.inputs(),
          username: AUTH.username,
          password: AUTH.password,
          'insecure-registries': `${source.host},${target.host}`,
          'dry-run': 'true'
        },
        { timeoutMs: 60_000 }
      )
      expect(Date.now() - started).toBeLessThan(10_000)
      expect(run.code).toBe(0)
      expect(results(run).map(r => r.source.split(':').pop())).toEqual([
        '1.0',
        '1.2.3',
        '2.0',
        '3.0',
        '4.0'
      ])
    })

    it('8. the matrix report answers with the plan settings, not its own defaults', async () => {
      const resultsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'integrity-matrix-'))
      await tagImage(
        source.host,
        'library/app',
        '2.0',
        Array.from({ length: 12 }, (_, i) => `d${i + 1}`)
      )
      const body = Array.from(
        { length: 12 },
        (_, i) => `${source.host}/library/app:d${i + 1}`
      ).join('\n')
      const plan = await ask(
        { title: 'Twelve', body },
        { mode: 'plan', 'issue-max-images': '20', 'dry-run': 'true', 'results-dir': resultsDir }
      )
      expect(plan.run.code).toBe(0)
      const leg = await runActionAsync({
        mode: 'copy',
        leg: '1',
        target: `${target.host}/mirror`,
        ...engine.inputs(),
        'insecure-registries': `${source.host},${target.host}`,
        username: AUTH.username,
        password: AUTH.password,
        'results-dir': resultsDir
      })
      expect(leg.code).toBe(0)
      const report = await ask(
        { title: 'Twelve', body },
        { mode: 'report', 'results-dir': resultsDir, target: '', allowlist: '' }
      )
      expect([report.run.code, report.run.stdout.match(/::error::.*/g)]).toEqual([0, null])
      const answer = report.comments.at(-1) as string
      expect(answer).not.toContain('at most 10')
      expect(answer).toContain('of 12 image(s)')
      expect(answer).toContain('Dry run')
      expect(answer).not.toContain('docker pull')
    })
  })

  describe('low', () => {
    it('mentions, references and links from the issue do not survive in the answer', async () => {
      const { comments } = await ask({
        title: 'x',
        body: `${source.host}/library/@octocat\n${source.host}/library/x:#12\nhttps://evil.example/GH-1`
      })
      const answer = comments.at(-1) as string
      // GitHub's mention, reference and autolink patterns, on the text as GitHub decodes it.
      expect(githubLinks(answer)).toEqual([])
      const prose = proseOf(answer)
      expect(prose).toContain('octocat')
      expect(prose.replace(/\u2060/g, '')).toContain('https://')
    })

    it('a Bearer realm elsewhere over plain HTTP is never followed (no credentials, no token)', async () => {
      const metadata: string[] = []
      const meta = http.createServer((req, res) => {
        metadata.push(`${req.method} ${req.url} ${req.headers.authorization ?? ''}`)
        res.end(JSON.stringify({ token: 'AKIA-stolen-credentials' }))
      })
      await new Promise<void>(r => meta.listen(0, '127.0.0.1', r))
      const realm = `http://127.0.0.1:${(meta.address() as AddressInfo).port}/latest/meta-data`
      const evil = http.createServer((req, res) => {
        res.statusCode = 401
        res.setHeader('www-authenticate', `Bearer realm="${realm}",service="x"`)
        res.end('{}')
      })
      await new Promise<void>(r => evil.listen(0, '127.0.0.1', r))
      const evilHost = `127.0.0.1:${(evil.address() as AddressInfo).port}`
      try {
        const run = await runActionAsync({
          images: `${evilHost}/library/app:1`,
          target: `${target.host}/mirror`,
          ...engine.inputs(),
          'insecure-registries': `${evilHost},${target.host}`,
          username: AUTH.username,
          password: AUTH.password,
          retries: '0'
        })
        expect(run.code).toBe(1)
        expect(results(run)[0]?.reason).toMatch(/realm/)
        expect(metadata).toEqual([])
      } finally {
        meta.close()
        evil.close()
      }
    })

    it('the private docker config is removed when the job is cancelled (SIGTERM)', async () => {
      // A source that accepts connections and never answers: the run waits inside mirror().
      const silent = http.createServer(() => undefined)
      await new Promise<void>(r => silent.listen(0, '127.0.0.1', r))
      const host = `127.0.0.1:${(silent.address() as AddressInfo).port}`
      const prepared = prepareRun({
        images: `${host}/library/app:1`,
        target: `${target.host}/mirror`,
        ...engine.inputs(),
        'insecure-registries': `${host},${target.host}`,
        username: AUTH.username,
        password: AUTH.password
      })
      const temp = prepared.env.RUNNER_TEMP as string
      const child = spawn(process.execPath, [DIST], { cwd: prepared.workdir, env: prepared.env })
      const authDirs = () => fs.readdirSync(temp).filter(f => f.startsWith('image-mirror-auth-'))
      try {
        for (let i = 0; i < 200 && authDirs().length === 0; i++) {
          await new Promise(r => setTimeout(r, 50))
        }
        expect(authDirs()).toHaveLength(1)
        const config = fs.readFileSync(
          path.join(temp, authDirs()[0] as string, 'config.json'),
          'utf8'
        )
        expect(config).toContain(
          Buffer.from(`${AUTH.username}:${AUTH.password}`).toString('base64')
        )
        const exited = new Promise<number | null>(r => child.on('close', code => r(code)))
        child.kill('SIGTERM')
        expect(await exited).toBe(143)
        expect(authDirs()).toEqual([])
        void readRunFiles(prepared)
      } finally {
        child.kill('SIGKILL')
        silent.closeAllConnections()
        silent.close()
      }
    })

    it('a crane in the tool cache that fails its check is never run', async () => {
      // A self-hosted runner's cache outlives jobs: someone put another archive where crane's was.
      const workdir = fs.mkdtempSync(path.join(os.tmpdir(), 'integrity-cache-'))
      const canary = path.join(workdir, 'ran')
      const build = fs.mkdtempSync(path.join(os.tmpdir(), 'integrity-crane-'))
      fs.writeFileSync(path.join(build, 'crane'), `#!/bin/sh\ntouch '${canary}'\n`, { mode: 0o755 })
      const cached = path.join(workdir, 'tool-cache', CACHE_TOOL_NAME, '0.21.9', 'x64')
      fs.mkdirSync(cached, { recursive: true })
      const archive = path.join(cached, 'go-containerregistry_Linux_x86_64.tar.gz')
      expect(spawnSync('tar', ['-czf', archive, '-C', build, 'crane']).status).toBe(0)
      fs.writeFileSync(`${cached}.complete`, '')
      const asked: string[] = []
      const nothing = http.createServer((req, res) => {
        asked.push(req.url ?? '')
        res.statusCode = 404
        res.end()
      })
      await new Promise<void>(r => nothing.listen(0, '127.0.0.1', r))
      try {
        const run = await runActionAsync(
          {
            images: `${source.host}/library/app:1.0`,
            target: `${target.host}/mirror`,
            // crane: the action's default engine and pinned version (its checksum built in).
            ...(engine.name === 'crane' ? {} : engine.inputs()),
            'crane-url': `http://127.0.0.1:${(nothing.address() as AddressInfo).port}/releases`,
            'insecure-registries': `${source.host},${target.host}`,
            username: AUTH.username,
            password: AUTH.password,
            'skip-unchanged': 'false',
            retries: '0'
          },
          { workdir }
        )
        if (engine.name === 'crane') {
          expect(run.code).toBe(1)
          expect(run.stdout).toMatch(/::warning::.*crane/)
          expect(results(run)[0]?.reason).toMatch(/engine crane is not available/)
        } else {
          // skopeo and native neither read crane's cache nor ask for its release, and copy.
          expect(run.code).toBe(0)
          expect(results(run)[0]?.status).toBe('copied')
          expect(asked).toEqual([])
        }
        expect(fs.existsSync(canary)).toBe(false)
      } finally {
        nothing.close()
      }
    })

    it('the engine gets a minimal environment: no password input, no runner tokens', async () => {
      const bin = fs.mkdtempSync(path.join(os.tmpdir(), 'env-recorder-'))
      const record = path.join(bin, 'environment')
      const argv = path.join(bin, 'arguments')
      // Records what the engine was given (environment and arguments), then runs the real one.
      const recorder = (real: string) =>
        `#!/bin/sh\nenv > '${record}'\nprintf '%s\\n' "$@" > '${argv}'\nexec '${real}' "$@"\n`
      const env: Record<string, string> = { ACTIONS_RUNTIME_TOKEN: 'runtime-token-xyz' }
      let release: ReleaseServer | undefined
      if (engine.name === 'native') {
        // native copies in the action's own process: recorders of both tools come first on
        // PATH, and neither may run.
        for (const tool of ['skopeo', 'crane']) {
          fs.writeFileSync(path.join(bin, tool), recorder('/bin/false'), { mode: 0o755 })
        }
        env.PATH = `${bin}:${process.env.PATH}`
      } else if (engine.name === 'skopeo') {
        // skopeo is found on PATH: the recorder comes first there.
        const real = (process.env.PATH ?? '')
          .split(':')
          .map(dir => path.join(dir, 'skopeo'))
          .find(file => fs.existsSync(file)) as string
        fs.writeFileSync(path.join(bin, 'skopeo'), recorder(real), { mode: 0o755 })
        env.PATH = `${bin}:${process.env.PATH}`
      } else {
        // crane is installed by the action from its release: a release whose crane is the recorder.
        fs.writeFileSync(path.join(bin, 'crane'), recorder(builtCrane() as string), {
          mode: 0o755
        })
        release = await startReleaseServer({ binary: path.join(bin, 'crane') })
      }
      try {
        const run = await runActionAsync(
          {
            images: `${source.host}/library/app:1.0`,
            target: `${target.host}/mirror`,
            ...(release ? release.inputs : engine.inputs()),
            'insecure-registries': `${source.host},${target.host}`,
            username: AUTH.username,
            password: AUTH.password,
            'skip-unchanged': 'false'
          },
          { env }
        )
        expect(run.code).toBe(0)
        expect(results(run)[0]?.status).toBe('copied')
        if (release) expect(release.downloads()).toBe(1)
        if (engine.name === 'native') {
          expect(fs.existsSync(record)).toBe(false)
          expect(fs.existsSync(argv)).toBe(false)
          return
        }
        const seen = fs.readFileSync(record, 'utf8')
        expect(seen).not.toContain(AUTH.password)
        expect(seen).not.toContain(
          Buffer.from(`${AUTH.username}:${AUTH.password}`).toString('base64')
        )
        expect(seen).not.toContain('runtime-token-xyz')
        expect(seen).not.toMatch(/^INPUT_/m)
        expect(seen).not.toMatch(/^(GITHUB_TOKEN|ACTIONS_[A-Z_]+)=/m)
        // Nor are the credentials on its command line (crane reads DOCKER_CONFIG, skopeo --authfile).
        const args = fs.readFileSync(argv, 'utf8').split('\n')
        expect(args[0]).toBe('copy')
        expect(args.join(' ')).not.toContain(AUTH.password)
        if (engine.name === 'crane') expect(seen).toMatch(/^DOCKER_CONFIG=/m)
        else expect(args).toContain('--authfile')
      } finally {
        await release?.close()
        fs.rmSync(bin, { recursive: true, force: true })
      }
    })

    it('a forged leg result is not trusted: unknown status, other target, broken fence', async () => {
      const resultsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'integrity-forged-'))
      const plan = await ask(
        { title: 'Two', body: `${source.host}/library/app:1.0\n${source.host}/library/app:2.0` },
        { mode: 'plan', 'results-dir': resultsDir, 'skip-unchanged': 'false' }
      )
      expect(plan.run.code).toBe(0)
      const planFile = JSON.parse(fs.readFileSync(path.join(resultsDir, 'plan.json'), 'utf8')) as {
        id: string
        legs: number[][]
        work: Record<string, Result>
      }
      const [first, second] = (planFile.legs[0] ?? []).map(i => ({
        i,
        r: planFile.work[i] as Result
      }))
      fs.writeFileSync(
        path.join(resultsDir, 'results-leg-1.json'),
        JSON.stringify({
          format: 'image-mirror-leg/1',
          plan: planFile.id,
          leg: 1,
          legs: planFile.legs.length,
          finished: new Date().toISOString(),
          results: [
            { index: first?.i, result: { ...first?.r, status: 'constructor' } },
            {
              index: second?.i,
              result: { ...second?.r, status: 'copied', target: 'evil.example/x:1\n```\n@octocat' }
            }
          ]
        })
      )
      const report = await ask(
        { title: 'Two', body: '' },
        { mode: 'report', 'results-dir': resultsDir, target: '', allowlist: '' }
      )
      expect(report.run.code).toBe(1)
      expect(results(report.run).map(r => r.status)).toEqual(['failed', 'failed'])
      const answer = report.comments.at(-1) as string
      expect(answer).not.toContain('function Object')
      expect(answer).not.toContain('evil.example')
      expect(answer.split('```').length % 2).toBe(1)
    })

    it('an edit of a closed issue is left alone; an edit of an open one updates the answer in place', async () => {
      const closed = await ask({
        action: 'edited',
        state: 'closed',
        title: `${source.host}/library/app:2.0`
      })
      expect(closed.run.code).toBe(0)
      expect(closed.calls).toEqual([])

      const opened = await ask({ number: 77, title: `${source.host}/library/app:2.0` })
      expect(opened.comments).toHaveLength(2)
      const edited = await ask({
        number: 77,
        action: 'edited',
        title: `${source.host}/library/app:1.0`
      })
      const writes = edited.calls.filter(c => c.method === 'POST' || c.method === 'PATCH')
      expect(writes.filter(c => c.method === 'POST' && c.path.endsWith('/comments'))).toEqual([])
      expect(
        writes.some(c => c.method === 'PATCH' && /\/issues\/comments\/\d+$/.test(c.path))
      ).toBe(true)
      expect(
        edited.calls.some(c => c.body && (c.body as { state?: string }).state === 'open')
      ).toBe(false)
    })
  })

  describe('the reference grammar', () => {
    it('an image ID, an IPv6 literal with an IPv4 part and a bare digest are refused with a hint', async () => {
      const hex = 'a'.repeat(64)
      const { run, comments } = await ask({
        title: 'Three',
        body: [hex, '[::ffff:192.0.2.1]:5000/x/y:1', `sha256:${'b'.repeat(64)}`].join('\n')
      })
      const [id, v6, digest] = results(run)
      expect([id?.status, v6?.status, digest?.status]).toEqual(['rejected', 'rejected', 'rejected'])
      expect(id?.reason).toMatch(/image ID/)
      expect(id?.reason).toMatch(/@sha256:/)
      expect(v6?.reason).toMatch(/IPv6|IPv4/)
      expect(digest?.reason).toMatch(/digest/)
      expect(comments.at(-1)).toContain('Nothing was mirrored')
    })
  })
})
