/**
 * End to end: the bundled action run as the runner runs it, in a dry run
 * (no registry is contacted), checked through its outputs, summary and log.
 */
import { describe, expect, test } from '@jest/globals'
import * as fs from 'node:fs'
import * as path from 'node:path'
import * as http from 'node:http'
import type { AddressInfo } from 'node:net'
import { ROOT, runAction, runActionAsync } from '../__fixtures__/action-runner.js'
import { ensureTools, startRegistry } from '../scripts/lib/local-registry.mjs'
import { pushImage } from '../scripts/lib/seed-images.mjs'

const ALLOWLIST = fs.readFileSync(path.join(ROOT, '__fixtures__', 'allowlist-daocloud.txt'), 'utf8')
const DRY = { 'dry-run': 'true', 'skip-unchanged': 'false', target: 'registry.example.com/mirror' }
const DIGEST = 'sha256:' + 'ab'.repeat(32)

interface Result {
  request: string
  origin: string
  source: string
  target: string
  status: string
  reason?: string
  note?: string
  tagFilter?: string
}

function results(outputs: Record<string, string>): Result[] {
  return JSON.parse(outputs.results ?? '[]') as Result[]
}

/** Workflow commands the action itself may issue; anything else on a `::` line is injected. */
const OWN_COMMANDS = /^::(group|endgroup|warning|error|notice|debug|add-mask|set-output)::/

function injectedCommands(stdout: string): string[] {
  return stdout.split('\n').filter(line => /^\s*::/.test(line) && !OWN_COMMANDS.test(line))
}

describe('dry run of an images file with the DaoCloud allowlist', () => {
  const images = [
    '# base images',
    'nginx',
    'docker.io/library/nginx:1.27,1.26,latest   # three tags',
    'https://hub.docker.com/r/bitnami/redis',
    'registry.k8s.io/pause:3.10',
    `gcr.io/distroless/static@${DIGEST}`,
    'docker.io/library/alpine:/^3\\.2\\d$/',
    '',
    'Nginx:1.27',
    'docker.io.evil.com/library/nginx',
    'ghcr.io/not-listed-anywhere/app',
    '::error::pwned',
    '<img src=x onerror=alert(1)>|`x`',
    'nginx:latest'
  ].join('\n')
  const run = runAction(
    { ...DRY, 'images-file': 'images.txt', allowlist: 'allows.txt' },
    { files: { 'images.txt': images, 'allows.txt': ALLOWLIST } }
  )
  const all = results(run.outputs)
  const byRequest = (request: string): Result[] => all.filter(r => r.request === request)

  test('succeeds: some images were planned', () => {
    expect(run.stderr).toBe('')
    expect(run.code).toBe(0)
  })

  test('every entry has a result, duplicates merged', () => {
    // 1 + 3 tags (latest merged into line 2's nginx) + 1 + 1 + 1 + 1 + 5 rejected = 12
    expect(all.map(r => [r.status, r.source])).toEqual([
      ['planned', 'docker.io/library/nginx:latest'],
      ['planned', 'docker.io/library/nginx:1.27'],
      ['planned', 'docker.io/library/nginx:1.26'],
      ['planned', 'docker.io/bitnami/redis:latest'],
      ['planned', 'registry.k8s.io/pause:3.10'],
      ['planned', `gcr.io/distroless/static@${DIGEST}`],
      ['planned', 'docker.io/library/alpine'],
      ['rejected', ''],
      ['rejected', 'docker.io.evil.com/library/nginx:latest'],
      ['rejected', 'ghcr.io/not-listed-anywhere/app:latest'],
      ['rejected', ''],
      ['rejected', '']
    ])
    expect(byRequest('nginx')[0]?.note).toMatch(
      /also requested on images\.txt line 3, images\.txt line 14; merged/
    )
  })

  test('targets follow the default template and keep digests', () => {
    expect(byRequest('registry.k8s.io/pause:3.10')[0]?.target).toBe(
      'registry.example.com/mirror/registry.k8s.io/pause:3.10'
    )
    expect(byRequest(`gcr.io/distroless/static@${DIGEST}`)[0]?.target).toBe(
      `registry.example.com/mirror/gcr.io/distroless/static@${DIGEST}`
    )
    const filter = byRequest('docker.io/library/alpine:/^3\\.2\\d$/')[0]
    expect(filter?.tagFilter).toBe('/^3\\.2\\d$/')
    expect(filter?.target).toBe('registry.example.com/mirror/docker.io/library/alpine')
  })

  test('rejections say what was wrong and how to fix it', () => {
    expect(byRequest('Nginx:1.27')[0]?.reason).toMatch(
      /upper-case.*did you mean docker\.io\/library\/nginx:1\.27\?/
    )
    expect(byRequest('docker.io.evil.com/library/nginx')[0]?.reason).toMatch(
      /docker\.io\.evil\.com\/library\/nginx is not in the allowlist allows\.txt/
    )
    expect(byRequest('::error::pwned')[0]?.reason).toMatch(/invalid image reference/)
    expect(byRequest('https://hub.docker.com/r/bitnami/redis')[0]?.note).toMatch(
      /read the Docker Hub page/
    )
  })

  test('outputs: mirrored addresses and counts', () => {
    expect(run.outputs.mirrored?.split('\n')).toEqual([
      'registry.example.com/mirror/docker.io/library/nginx:latest',
      'registry.example.com/mirror/docker.io/library/nginx:1.27',
      'registry.example.com/mirror/docker.io/library/nginx:1.26',
      'registry.example.com/mirror/docker.io/bitnami/redis:latest',
      'registry.example.com/mirror/registry.k8s.io/pause:3.10',
      `registry.example.com/mirror/gcr.io/distroless/static@${DIGEST}`
    ])
    expect(run.outputs).toMatchObject({
      planned: '7',
      rejected: '5',
      copied: '0',
      unchanged: '0',
      failed: '0'
    })
  })

  test('the summary has the table and the totals, no pull lines in a dry run, user text escaped', () => {
    expect(run.summary).toContain('<h2>Image Mirror</h2>')
    expect(run.summary).toContain('Dry run')
    expect(run.summary).toContain('12 image(s): 7 planned, 5 rejected')
    // The address it would have, in the table; no pull line for an image never written.
    expect(run.summary.replaceAll('<wbr>', '')).toContain(
      '<code>registry.example.com/mirror/docker.io/library/nginx:latest</code>'
    )
    expect(run.summary).not.toContain('docker pull registry.example.com')
    expect(run.summary).not.toContain('<img')
    expect(run.summary.replaceAll('<wbr>', '')).toContain(
      '&lt;img src=x onerror=alert(1)&gt;&#124;&#96;x&#96;'
    )
    // One row per result plus the header, and every row closed.
    expect(run.summary.match(/<tr>/g)).toHaveLength(13)
    expect(run.summary.match(/<\/tr>/g)).toHaveLength(13)
  })

  test('no entry injects a workflow command into the log', () => {
    expect(injectedCommands(run.stdout)).toEqual([])
    expect(run.stdout).toContain(':\\u003aerror:\\u003apwned')
    expect(run.stdout).toMatch(/^::group::Plan: 12 image\(s\)/m)
  })
})

describe('failing runs', () => {
  test('nothing but rejected images fails the job, with outputs still set', () => {
    const run = runAction({ ...DRY, images: 'Nginx\nfoo bar' })
    expect(run.code).toBe(1)
    expect(run.stdout).toMatch(/^::error::Every requested image \(2\) was rejected/m)
    expect(run.outputs.rejected).toBe('2')
    expect(run.summary).toContain('⛔ rejected')
  })

  test('two sources landing on one target stop the run before anything, naming both', () => {
    const run = runAction({
      ...DRY,
      images: 'nginx\nbitnami/nginx\nalpine',
      rewrite: '{target}/{name}'
    })
    expect(run.code).toBe(1)
    expect(run.stdout).toMatch(
      /docker\.io\/library\/nginx \(images line 1\) and docker\.io\/bitnami\/nginx \(images line 2\) would both land on registry\.example\.com\/mirror\/nginx/
    )
    expect(run.outputs).toEqual({})
    expect(run.summary).toBe('')
  })

  test('when crane cannot be installed, every allowed image fails with the reason, and the job fails', async () => {
    // A release server that has no such release: the installer must say so, not hang or guess.
    const server = http.createServer((_req, res) => {
      res.statusCode = 404
      res.end('Not Found')
    })
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/releases/download`
    // crane is installed when the first image needs a copy: a real registry holds the source,
    // and the target (the same registry, another path) lacks it.
    await ensureTools()
    const registry = await startRegistry()
    try {
      await pushImage(registry.host, 'library/nginx', 'latest', { seed: 'no-crane' })
      const run = await runActionAsync({
        target: `${registry.host}/mirror`,
        images: `${registry.host}/library/nginx\n${registry.host}/Library/Nginx`,
        'insecure-registries': registry.host,
        'crane-url': base
      })
      expect(run.code).toBe(1)
      const [nginx, bad] = results(run.outputs)
      expect(nginx?.status).toBe('failed')
      expect(nginx?.reason).toMatch(
        /engine crane is not available: downloading crane v0\.21\.9 from http:\/\/127\.0\.0\.1:\d+\/releases\/download\/v0\.21\.9\/go-containerregistry_Linux_x86_64\.tar\.gz failed .*404/
      )
      expect(bad?.status).toBe('rejected')
      expect(run.stdout).toMatch(/::error::1 image\(s\) failed/)
    } finally {
      server.close()
      await registry.stop()
    }
  })

  test.each([
    [{ mode: 'mirror' }, /Input "mode": "mirror" is not one of sync, plan, copy, report/],
    [{ platforms: 'linux' }, /Input "platforms": "linux" is not os\/arch\[\/variant\]/],
    [{ target: 'https://registry.example.com' }, /Input "target": .*URL scheme/],
    [{ target: 'mirror' }, /Input "target": "mirror" does not start with a registry host/],
    [{ concurrency: '-1' }, /Input "concurrency": "-1" is not a whole number from 1 to 64/],
    [{ 'images-file': 'missing.txt' }, /Input "images-file": file "missing.txt" does not exist/],
    [{ 'dry-run': 'yes' }, /Input "dry-run": "yes" is not a boolean/],
    [{ rewrite: '{target}/{repo}' }, /Input "rewrite": .*unknown placeholder \{repo\}/],
    [{ images: '' }, /Input "images": no images to mirror/]
  ])('input %j is refused with a message naming it', (override, message) => {
    const run = runAction({ ...DRY, images: 'nginx', ...override })
    expect(run.code).toBe(1)
    expect(run.stdout).toMatch(message)
    expect(run.outputs).toEqual({})
  })

  test('an invalid allowlist line stops the run, naming the file and line', () => {
    const run = runAction(
      { ...DRY, images: 'nginx', allowlist: 'allows.txt' },
      { files: { 'allows.txt': 'docker.io/library/nginx\ndocker.io/**/x\n' } }
    )
    expect(run.code).toBe(1)
    expect(run.stdout).toMatch(/allows\.txt line 2/)
  })
})

describe('environment', () => {
  test('without GITHUB_STEP_SUMMARY the job still succeeds', () => {
    const run = runAction({ ...DRY, images: 'nginx' }, { summary: false })
    expect(run.code).toBe(0)
    expect(run.stdout).toContain('GITHUB_STEP_SUMMARY is not set')
    expect(run.outputs.planned).toBe('1')
  })

  test('the password is masked before anything else is logged', () => {
    const run = runAction({ ...DRY, images: 'nginx', username: 'u', password: 's3cr3t-pw' })
    expect(run.code).toBe(0)
    const lines = run.stdout.split('\n').filter(l => l.includes('s3cr3t-pw'))
    expect(lines).toEqual(['::add-mask::s3cr3t-pw'])
    expect(run.stdout.indexOf('::add-mask::')).toBeLessThan(run.stdout.indexOf('::group::'))
    expect(JSON.stringify(run.outputs)).not.toContain('s3cr3t-pw')
    expect(run.summary).not.toContain('s3cr3t-pw')
  })
})
