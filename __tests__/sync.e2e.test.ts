/**
 * End to end, with real parts only: two Debian docker-registry servers on
 * loopback (the target behind htpasswd Basic auth), images built and pushed
 * by the test, the bundled `node dist/index.js` run as the runner runs it,
 * once per engine: crane (installed by the action from a loopback release of
 * crane built from its Go module) and skopeo.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {
  runAction,
  runActionAsync,
  type ActionRun,
  resultsOf
} from '../__fixtures__/action-runner.js'
import { describeEngines, mirrorInputs } from '../__fixtures__/engines.js'
import type { MirrorResult as Result } from '../src/image/results.js'
import { ensureTools, startRegistry, type LocalRegistry } from '../scripts/lib/local-registry.mjs'
import { getManifest, headDigest, pushImage } from '../scripts/lib/seed-images.mjs'

const AUTH = { username: 'mirror-bot', password: 'Tr0ub4dor-and-3-horses' }

let source: LocalRegistry
let target: LocalRegistry
const pushed: Record<string, { digest: string; children: { platform: string; digest: string }[] }> =
  {}

const results = resultsOf

function byRequest(run: ActionRun, request: string): Result[] {
  return results(run).filter(r => r.request === request)
}

/** The mirror's repository for a source repository, under the default template. */
function mirrored(repository: string, tag: string, prefix = 'mirror'): string {
  return `${prefix}/${source.host.replace(':', '_')}/${repository}:${tag}`
}

function inputs(extra: Record<string, string> = {}): Record<string, string> {
  return mirrorInputs(
    { source, target, auth: AUTH },
    { allowlist: 'allowlist.txt', retries: '1', ...extra }
  )
}

const files = () => ({
  'allowlist.txt': [
    '# test allowlist, DaoCloud format',
    `${source.host}/library/*`,
    `${source.host}/team/app`
  ].join('\n')
})

const LIST = () =>
  [
    `${source.host}/library/alpine:3.20`,
    `${source.host}/library/nginx:1.27`,
    `${source.host}/team/app:v1`
  ].join('\n')

describeEngines('sync between two real registries', current => {
  beforeAll(async () => {
    await ensureTools()
    source = await startRegistry()
    target = await startRegistry({ auth: AUTH })
    pushed.alpine = await pushImage(source.host, 'library/alpine', '3.20', { seed: 'alpine-3.20' })
    pushed.nginx = await pushImage(source.host, 'library/nginx', '1.27', {
      platforms: ['linux/amd64', 'linux/arm64', 'linux/arm/v7'],
      seed: 'nginx'
    })
    pushed.app = await pushImage(source.host, 'team/app', 'v1', { seed: 'app-1', format: 'docker' })
  }, 120_000)

  afterAll(async () => {
    await source?.stop()
    await target?.stop()
  })

  describe('sync', () => {
    let first: ActionRun

    it('copies everything, keeps every digest (the index too), and rejects a bad and a non-allowed entry', async () => {
      const images = [
        LIST(),
        `${source.host}/Library/Nginx:1.27`,
        `${source.host}/other/thing:1`
      ].join('\n')
      first = await runActionAsync(inputs({ images }), { files: files() })
      expect(first.stderr).toBe('')
      expect(first.code).toBe(0)
      expect(first.outputs.copied).toBe('3')
      expect(first.outputs.rejected).toBe('2')
      expect(first.outputs.failed).toBe('0')

      for (const [repo, tag, key] of [
        ['library/alpine', '3.20', 'alpine'],
        ['library/nginx', '1.27', 'nginx'],
        ['team/app', 'v1', 'app']
      ] as const) {
        const onTarget = await headDigest(
          target.host,
          mirrored(repo, tag).split(':')[0] as string,
          tag,
          AUTH
        )
        expect(onTarget).toBe(pushed[key]?.digest)
        const result = results(first).find(r => r.source === `${source.host}/${repo}:${tag}`)
        expect(result?.status).toBe('copied')
        expect(result?.digest).toBe(pushed[key]?.digest)
        expect(result?.target).toBe(`${target.host}/${mirrored(repo, tag)}`)
      }
      // The index arrived whole: same children, same platforms.
      const index = await getManifest(
        target.host,
        mirrored('library/nginx', '1.27').split(':')[0] as string,
        '1.27',
        AUTH
      )
      expect(index.digest).toBe(pushed.nginx?.digest)
      expect(
        (index.manifest as { manifests: { digest: string }[] }).manifests.map(m => m.digest)
      ).toEqual(pushed.nginx?.children.map(c => c.digest))
      const nginx = results(first).find(r => r.source.endsWith('library/nginx:1.27'))
      expect(nginx?.platforms).toEqual(['linux/amd64', 'linux/arm64', 'linux/arm/v7'])

      const bad = byRequest(first, `${source.host}/Library/Nginx:1.27`)[0]
      expect(bad?.status).toBe('rejected')
      expect(bad?.reason).toMatch(/upper-case letters.*did you mean/)
      const outside = byRequest(first, `${source.host}/other/thing:1`)[0]
      expect(outside?.status).toBe('rejected')
      expect(outside?.reason).toMatch(/not in the allowlist allowlist\.txt/)

      expect(first.summary).toContain('✅ copied')
      expect(first.summary).toContain('ctr -n k8s.io images pull')
      expect(first.outputs.mirrored?.split('\n')).toHaveLength(3)
    })

    it('reports everything unchanged on a second run, with zero manifest GETs on the source', async () => {
      source.clearLog()
      const again = await runActionAsync(inputs({ images: LIST() }), { files: files() })
      expect(again.code).toBe(0)
      expect(again.outputs.unchanged).toBe('3')
      expect(again.outputs.copied).toBe('0')
      const requests = source.requests()
      const manifestGets = requests.filter(
        r => r.method === 'GET' && r.path.includes('/manifests/')
      )
      expect(manifestGets).toEqual([])
      // It did look: one HEAD per image.
      expect(
        requests.filter(r => r.method === 'HEAD' && r.path.includes('/manifests/'))
      ).toHaveLength(3)
    })

    it('copies a retagged source again, and only that one', async () => {
      const moved = await pushImage(source.host, 'team/app', 'v1', {
        seed: 'app-2',
        format: 'docker'
      })
      expect(moved.digest).not.toBe(pushed.app?.digest)
      const run = await runActionAsync(inputs({ images: LIST() }), { files: files() })
      expect(run.code).toBe(0)
      expect(run.outputs.copied).toBe('1')
      expect(run.outputs.unchanged).toBe('2')
      expect(
        await headDigest(
          target.host,
          mirrored('team/app', 'v1').split(':')[0] as string,
          'v1',
          AUTH
        )
      ).toBe(moved.digest)
      pushed.app = moved
    })

    it('with step debug logging on, the log tells the requests and why each image was copied or left alone', async () => {
      const image = `${source.host}/team/app:v1`
      const options = { files: files(), env: { RUNNER_DEBUG: '1' } }
      const first = await runActionAsync(
        inputs({ images: image, target: `${target.host}/debug` }),
        options
      )
      const again = await runActionAsync(
        inputs({ images: image, target: `${target.host}/debug` }),
        options
      )
      expect([first.code, again.code]).toEqual([0, 0])
      expect([first.outputs.copied, again.outputs.unchanged]).toEqual(['1', '1'])
      const debugOf = (run: { stdout: string }) =>
        run.stdout.split('\n').filter(line => line.startsWith('::debug::'))
      const mirroredTo = `${target.host}/debug/${source.host.replace(':', '_')}/team/app:v1`
      const firstLines = debugOf(first).join('\n')
      expect(firstLines).toContain(`::debug::${image}: source ${pushed.app?.digest}, all platforms`)
      expect(firstLines).toContain(
        `::debug::${mirroredTo}: holds nothing, not what the source has; to copy`
      )
      expect(firstLines).toContain(
        `::debug::${mirroredTo}: verified, it holds ${pushed.app?.digest}`
      )
      // Each request: method, URL, status and time; the target's with the auth scheme used.
      expect(firstLines).toMatch(
        new RegExp(`::debug::HEAD http://${source.host}/v2/team/app/manifests/v1 → 200 in \\d+ ms`)
      )
      expect(firstLines).toMatch(
        new RegExp(`::debug::${target.host}: 401 with a (basic|bearer) challenge`)
      )
      expect(debugOf(again).join('\n')).toContain(
        `::debug::${mirroredTo}: up to date, it holds ${pushed.app?.digest}, what the source has`
      )
      for (const run of [first, again]) {
        const withoutMask = run.stdout
          .split('\n')
          .filter(l => l !== `::add-mask::${AUTH.password}`)
          .join('\n')
        expect(withoutMask).not.toContain(AUTH.password)
      }
    })

    it('platforms: linux/arm64 gives a target holding only that platform, and says the digest changed', async () => {
      const run = await runActionAsync(
        inputs({
          images: `${source.host}/library/nginx:1.27`,
          target: `${target.host}/arm`,
          platforms: 'linux/arm64'
        }),
        { files: files() }
      )
      expect(run.code).toBe(0)
      const [result] = results(run)
      const arm64 = pushed.nginx?.children.find(c => c.platform === 'linux/arm64')?.digest
      expect(result?.status).toBe('copied')
      expect(result?.digest).toBe(arm64)
      expect(result?.sourceDigest).toBe(pushed.nginx?.digest)
      expect(result?.note).toMatch(/digest changed/)
      const onTarget = await getManifest(
        target.host,
        mirrored('library/nginx', '1.27', 'arm').split(':')[0] as string,
        '1.27',
        AUTH
      )
      expect(onTarget.digest).toBe(arm64)
      expect(onTarget.manifest.manifests).toBeUndefined()
      expect(onTarget.manifest.layers?.length).toBeGreaterThan(0)

      // The copy left a mirror record beside the tag (docker-registry has no referrers API:
      // the spec's fallback tag), so a re-run knows the subset is current from a HEAD alone.
      const fallback = await getManifest(
        target.host,
        mirrored('library/nginx', '1.27', 'arm').split(':')[0] as string,
        (arm64 as string).replace(':', '-'),
        AUTH
      )
      expect(
        fallback.manifest.manifests?.map(m => (m as { artifactType?: string }).artifactType)
      ).toEqual(['application/vnd.image-mirror.record.v1+json'])
      source.clearLog()
      const again = await runActionAsync(
        inputs({
          images: `${source.host}/library/nginx:1.27`,
          target: `${target.host}/arm`,
          platforms: 'linux/arm64'
        }),
        { files: files() }
      )
      expect(again.code).toBe(0)
      expect(results(again)[0]?.status).toBe('unchanged')
      expect(results(again)[0]?.note).toMatch(/mirror record/)
      expect(
        source.requests().filter(r => r.method === 'GET' && r.path.includes('/manifests/'))
      ).toEqual([])
    })

    it('several platforms: crane writes an index of just those children; skopeo refuses the input', async () => {
      const run = await runActionAsync(
        inputs({
          images: `${source.host}/library/nginx:1.27`,
          target: `${target.host}/pair`,
          platforms: 'linux/arm/v7,linux/amd64'
        }),
        { files: files() }
      )
      if (current.name === 'skopeo') {
        expect(run.code).toBe(1)
        expect(run.stdout).toMatch(
          /Input "platforms": engine skopeo copies all platforms or exactly one, not linux\/arm\/v7, linux\/amd64; use engine: crane or native for several/
        )
        return
      }
      expect(run.code).toBe(0)
      const [result] = results(run)
      expect(result?.status).toBe('copied')
      expect(result?.sourceDigest).toBe(pushed.nginx?.digest)
      expect(result?.digest).not.toBe(pushed.nginx?.digest)
      expect(result?.note).toMatch(/digest changed/)
      const onTarget = await getManifest(
        target.host,
        mirrored('library/nginx', '1.27', 'pair').split(':')[0] as string,
        '1.27',
        AUTH
      )
      expect(onTarget.digest).toBe(result?.digest)
      // The children are the source's own, byte for byte; the other platform is gone.
      const want = (pushed.nginx?.children ?? []).filter(c => c.platform !== 'linux/arm64')
      expect((onTarget.manifest.manifests ?? []).map(m => m.digest).sort()).toEqual(
        want.map(c => c.digest).sort()
      )
      // A second run finds it up to date: no copy, the same index.
      const again = await runActionAsync(
        inputs({
          images: `${source.host}/library/nginx:1.27`,
          target: `${target.host}/pair`,
          platforms: 'linux/arm/v7,linux/amd64'
        }),
        { files: files() }
      )
      expect(again.code).toBe(0)
      expect(results(again)[0]?.status).toBe('unchanged')
      expect(results(again)[0]?.digest).toBe(result?.digest)
    })

    it('expands a /regex/ tag filter against the source tag list', async () => {
      await pushImage(source.host, 'library/alpine', '3.21', { seed: 'alpine-3.21' })
      await pushImage(source.host, 'library/alpine', '3.19', { seed: 'alpine-3.19' })
      const run = await runActionAsync(
        inputs({ images: `${source.host}/library/alpine:/^3\\.2\\d$/` }),
        { files: files() }
      )
      expect(run.code).toBe(0)
      const got = results(run).map(r => `${r.source.split(':').pop()} ${r.status}`)
      expect(got).toEqual(['3.20 unchanged', '3.21 copied'])
    })

    it('a wrong target password fails with a clear message and the password is nowhere', async () => {
      const wrong = 'not-the-Right-pass-7731'
      const run = await runActionAsync(
        inputs({ images: LIST(), password: wrong, target: `${target.host}/elsewhere` }),
        { files: files() }
      )
      expect(run.code).toBe(1)
      expect(run.outputs.failed).toBe('3')
      for (const r of results(run)) {
        expect(r.status).toBe('failed')
        expect(r.reason).toMatch(/refused the credentials|unauthorized|authentication required/i)
      }
      // The only place it may appear is the runner's own ::add-mask:: command, which the runner consumes.
      const stdout = run.stdout
        .split('\n')
        .filter(l => l !== `::add-mask::${wrong}`)
        .join('\n')
      for (const text of [stdout, run.stderr, JSON.stringify(run.outputs), run.summary]) {
        expect(text).not.toContain(wrong)
      }
      expect(run.stdout).toMatch(/::error::.*3 image\(s\) failed/)
    })

    it('the target stopping mid-run fails the rest with a reason; a re-run after it is back converges', async () => {
      const many = ['a', 'b', 'c', 'd']
      for (const name of many)
        await pushImage(source.host, `library/${name}`, '1', { seed: `outage-${name}` })
      const images = many.map(n => `${source.host}/library/${n}:1`).join('\n')
      target.clearLog()
      const running = runActionAsync(
        inputs({ images, target: `${target.host}/outage`, concurrency: '1' }),
        { files: files() }
      )
      // Stop the target for real once the second image's manifest has landed.
      let puts = 0
      await target.waitForRequest(
        r => r.method === 'PUT' && r.path.includes('/manifests/') && ++puts === 2,
        60_000
      )
      target.kill()
      const run = await running
      expect(run.code).toBe(1)
      const all = results(run)
      expect(all).toHaveLength(4)
      expect(all[0]?.status).toBe('copied')
      const failed = all.filter(r => r.status === 'failed')
      expect(failed.length).toBeGreaterThanOrEqual(2)
      for (const f of failed)
        expect(f.reason).toMatch(/cannot be reached|exited with|connection refused/i)
      expect(run.summary).toContain('❌ failed')

      await target.restart()
      const rerun = await runActionAsync(
        inputs({ images, target: `${target.host}/outage`, concurrency: '1' }),
        { files: files() }
      )
      expect(rerun.code).toBe(0)
      expect(Number(rerun.outputs.copied) + Number(rerun.outputs.unchanged)).toBe(4)
      expect(rerun.outputs.failed).toBe('0')
    })

    it("reads a private source with the user's docker config, and writes nothing there", async () => {
      const sourceAuth = { username: 'reader', password: 'source-Secret-991' }
      const privateSource = await startRegistry({ auth: sourceAuth })
      try {
        const image = await pushImage(privateSource.host, 'team/private', '2', {
          seed: 'private',
          auth: sourceAuth,
          platforms: ['linux/amd64', 'linux/arm64']
        })
        const dockerConfig = fs.mkdtempSync(path.join(os.tmpdir(), 'user-docker-config-'))
        const configFile = path.join(dockerConfig, 'config.json')
        const auth = Buffer.from(`${sourceAuth.username}:${sourceAuth.password}`).toString('base64')
        fs.writeFileSync(configFile, JSON.stringify({ auths: { [privateSource.host]: { auth } } }))
        const before = fs.readFileSync(configFile)

        const run = await runActionAsync(
          inputs({
            images: `${privateSource.host}/team/private:2`,
            allowlist: '',
            'insecure-registries': `${privateSource.host},${target.host}`
          }),
          { env: { DOCKER_CONFIG: dockerConfig } }
        )
        expect(run.code).toBe(0)
        expect(results(run)[0]?.status).toBe('copied')
        expect(results(run)[0]?.digest).toBe(image.digest)
        // The user's config is untouched, and the action's private copy is gone.
        expect(fs.readFileSync(configFile)).toEqual(before)
        expect(fs.readdirSync(dockerConfig)).toEqual(['config.json'])
        expect(
          fs
            .readdirSync(path.join(run.workdir, 'temp'))
            .filter(f => f.startsWith('image-mirror-auth-'))
        ).toEqual([])
        // The runner consumes ::add-mask:: commands; nothing else may carry a password.
        const stdout = run.stdout
          .split('\n')
          .filter(l => !l.startsWith('::add-mask::'))
          .join('\n')
        for (const text of [stdout, run.stderr, run.summary, JSON.stringify(run.outputs)]) {
          expect(text).not.toContain(sourceAuth.password)
          expect(text).not.toContain(AUTH.password)
        }
      } finally {
        await privateSource.stop()
      }
    })

    it("a credsStore in the user's config neither hides the target login nor loses the source's", async () => {
      const sourceAuth = { username: 'store-reader', password: 'store-Secret-5521' }
      const privateSource = await startRegistry({ auth: sourceAuth })
      try {
        const image = await pushImage(privateSource.host, 'team/stored', '1', {
          seed: 'stored',
          auth: sourceAuth
        })
        // A credential store that knows the source only, as Docker Desktop's would.
        const bin = fs.mkdtempSync(path.join(os.tmpdir(), 'cred-store-'))
        const asked = path.join(bin, 'asked.log')
        fs.writeFileSync(
          path.join(bin, 'docker-credential-teststore'),
          [
            '#!/bin/sh',
            'read -r server',
            `echo "$1 $server" >> '${asked}'`,
            `if [ "$1" = get ] && [ "$server" = '${privateSource.host}' ]; then`,
            `  printf '{"ServerURL":"%s","Username":"${sourceAuth.username}","Secret":"${sourceAuth.password}"}' "$server"`,
            '  exit 0',
            'fi',
            'echo "credentials not found in native keychain"',
            'exit 1'
          ].join('\n'),
          { mode: 0o755 }
        )
        const dockerConfig = fs.mkdtempSync(path.join(os.tmpdir(), 'user-docker-config-'))
        const configFile = path.join(dockerConfig, 'config.json')
        fs.writeFileSync(configFile, JSON.stringify({ credsStore: 'teststore' }))
        const before = fs.readFileSync(configFile)

        const run = await runActionAsync(
          inputs({
            images: `${privateSource.host}/team/stored:1`,
            allowlist: '',
            target: `${target.host}/stored`,
            'insecure-registries': `${privateSource.host},${target.host}`
          }),
          { env: { DOCKER_CONFIG: dockerConfig, PATH: `${bin}:${process.env.PATH ?? ''}` } }
        )
        expect(run.code).toBe(0)
        expect(results(run)[0]?.status).toBe('copied')
        expect(
          await headDigest(
            target.host,
            `stored/${privateSource.host.replace(':', '_')}/team/stored`,
            '1',
            AUTH
          )
        ).toBe(image.digest)
        // The store was asked for the source; the target's login came from the inputs.
        expect(fs.readFileSync(asked, 'utf8')).toContain(`get ${privateSource.host}`)
        expect(fs.readFileSync(configFile)).toEqual(before)
        const stdout = run.stdout
          .split('\n')
          .filter(l => !l.startsWith('::add-mask::'))
          .join('\n')
        for (const text of [stdout, run.stderr, run.summary, JSON.stringify(run.outputs)]) {
          expect(text).not.toContain(sourceAuth.password)
        }
      } finally {
        await privateSource.stop()
      }
    })

    if (current.name === 'skopeo') {
      it('engine skopeo missing from PATH fails every image with a clear message', async () => {
        const run = await runActionAsync(
          inputs({ images: LIST(), target: `${target.host}/nowhere` }),
          { files: files(), env: { PATH: '/nonexistent' } }
        )
        expect(run.code).toBe(1)
        for (const r of results(run)) {
          expect(r.status).toBe('failed')
          expect(r.reason).toMatch(/engine skopeo is not available: .*skopeo is not on PATH/)
        }
      })
    } else if (current.name === 'native') {
      it('engine native needs no tool: it copies with nothing on PATH', async () => {
        const run = await runActionAsync(
          inputs({ images: LIST(), target: `${target.host}/no-tools` }),
          { files: files(), env: { PATH: '/nonexistent' } }
        )
        expect(run.code).toBe(0)
        expect(results(run).map(r => r.status)).toEqual(['copied', 'copied', 'copied'])
        expect(run.stdout).toMatch(
          /^native: \d+ blob\(s\) uploaded \([\d.]+ MiB sent\), \d+ mounted from another repository, \d+ already there$/m
        )
      })
    } else {
      it('crane from a tampered release is refused: every image fails saying so, nothing is written', async () => {
        const release = current.release()!
        release.tamper()
        target.clearLog()
        try {
          const run = await runActionAsync(
            inputs({ images: LIST(), target: `${target.host}/tampered` }),
            { files: files() }
          )
          expect(run.code).toBe(1)
          for (const r of results(run)) {
            expect(r.status).toBe('failed')
            expect(r.reason).toMatch(
              /engine crane is not available: the crane archive from http:\/\/127\.0\.0\.1:\d+\/releases\/download\/v0\.21\.9-local\/go-containerregistry_Linux_x86_64\.tar\.gz has sha256 [0-9a-f]{64}, expected [0-9a-f]{64}; it was not installed/
            )
          }
          expect(target.requests().filter(r => r.method !== 'GET' && r.method !== 'HEAD')).toEqual(
            []
          )
          // Nothing of the tampered archive was kept for the next run.
          expect(fs.readdirSync(path.join(run.workdir, 'tool-cache'))).toEqual([])
        } finally {
          release.tamper(false)
        }
      })

      it('the tool cache is reused on the next run, and a run with nothing to copy installs no crane', async () => {
        const release = current.release()!
        // Every image copied again (skip-unchanged: false), so crane is needed.
        const copyAll = inputs({ images: LIST(), 'skip-unchanged': 'false' })
        const first = await runActionAsync(copyAll, { files: files() })
        expect(first.code).toBe(0)
        const downloads = release.downloads()
        const again = await runActionAsync(copyAll, { files: files(), workdir: first.workdir })
        expect(again.code).toBe(0)
        expect(release.downloads()).toBe(downloads)
        expect(again.stdout).toMatch(
          /crane v0\.21\.9-local found in the tool cache, archive verified/
        )
        // checksums.txt is still read each run: nothing trusted is kept in the cache.
        expect(release.requests().at(-1)?.path).toMatch(/checksums\.txt$/)
        // A fresh runner where every image is up to date: crane is neither fetched nor run.
        const asked = release.requests().length
        const upToDate = await runActionAsync(inputs({ images: LIST() }), { files: files() })
        expect(upToDate.code).toBe(0)
        expect(upToDate.outputs.unchanged).toBe('3')
        expect(release.requests()).toHaveLength(asked)
        expect(upToDate.stdout).not.toMatch(/crane v0\.21\.9-local/)
      })
    }

    it('a dry run with skip-unchanged compares without writing', async () => {
      await pushImage(source.host, 'library/alpine', '3.20', { seed: 'alpine-3.20-rebuilt' })
      target.clearLog()
      const run = runAction(inputs({ images: LIST(), 'dry-run': 'true' }), { files: files() })
      expect(run.code).toBe(0)
      expect(run.outputs.planned).toBe('1')
      expect(run.outputs.unchanged).toBe('2')
      expect(target.requests().filter(r => r.method !== 'GET' && r.method !== 'HEAD')).toEqual([])
    })
  })
})
