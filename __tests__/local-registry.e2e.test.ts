// The registry harness itself, against a real docker-registry and skopeo.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { execFile, spawnSync } from 'node:child_process'
import { promisify } from 'node:util'
import {
  ensureTools,
  parseAccessLine,
  startRegistry,
  type LocalRegistry
} from '../scripts/lib/local-registry.mjs'
import { getManifest, headDigest, pushImage } from '../scripts/lib/seed-images.mjs'

const run = promisify(execFile)
const AUTH = { username: 'harness', password: 'harness-password' }
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json'

describe('local registry harness', () => {
  let registry: LocalRegistry

  beforeAll(async () => {
    await ensureTools()
    registry = await startRegistry({ auth: AUTH })
  })
  afterAll(async () => {
    await registry?.stop()
  })

  it('parses the access log format of distribution 2.8', () => {
    expect(
      parseAccessLine(
        '127.0.0.1 - - [23/Nov/2026:02:44:37 +0000] "HEAD /v2/x/manifests/latest?a=b HTTP/1.1" 404 96 "" "curl/7.88.1"'
      )
    ).toEqual({
      method: 'HEAD',
      path: '/v2/x/manifests/latest?a=b',
      status: 404,
      userAgent: 'curl/7.88.1'
    })
    expect(
      parseAccessLine('time="2026-11-23T02:44:36Z" level=warning msg="No HTTP secret provided"')
    ).toBeUndefined()
  })

  it('pushes images that HEAD, GET and skopeo agree on; logs requests; survives kill and restart', async () => {
    expect(registry.host).toBe(`127.0.0.1:${registry.port}`)
    expect(registry.port).not.toBe(5000)
    // The readiness probe is not part of the log.
    expect(registry.requests()).toEqual([])

    const multi = await pushImage(registry.host, 'library/multi', '1', {
      platforms: ['linux/amd64', 'linux/arm64', 'linux/arm/v7'],
      seed: 'multi-1',
      auth: AUTH
    })
    expect(multi.mediaType).toBe(OCI_INDEX)
    expect(multi.children.map(c => c.platform)).toEqual([
      'linux/amd64',
      'linux/arm64',
      'linux/arm/v7'
    ])
    expect(new Set(multi.children.map(c => c.digest)).size).toBe(3)
    const single = await pushImage(registry.host, 'library/single', 'v1', {
      format: 'docker',
      auth: AUTH
    })
    expect(single.mediaType).toBe('application/vnd.docker.distribution.manifest.v2+json')
    expect(single.children).toEqual([])

    // Same content, same digest; another seed, another digest.
    const again = await pushImage(registry.host, 'library/multi', '1', {
      platforms: ['linux/amd64', 'linux/arm64', 'linux/arm/v7'],
      seed: 'multi-1',
      auth: AUTH
    })
    expect(again.digest).toBe(multi.digest)
    const rebuilt = await pushImage(registry.host, 'library/single', 'v2', {
      format: 'docker',
      seed: 'rebuilt',
      auth: AUTH
    })
    expect(rebuilt.digest).not.toBe(single.digest)

    registry.clearLog()
    expect(await headDigest(registry.host, 'library/multi', '1', AUTH)).toBe(multi.digest)
    expect(await headDigest(registry.host, 'library/single', 'v1', AUTH)).toBe(single.digest)
    expect(await headDigest(registry.host, 'library/single', 'absent', AUTH)).toBeUndefined()
    await registry.waitForRequest(r => r.path === '/v2/library/single/manifests/absent', 5000)
    expect(registry.requests()).toEqual([
      expect.objectContaining({
        method: 'HEAD',
        path: '/v2/library/multi/manifests/1',
        status: 200
      }),
      expect.objectContaining({
        method: 'HEAD',
        path: '/v2/library/single/manifests/v1',
        status: 200
      }),
      expect.objectContaining({
        method: 'HEAD',
        path: '/v2/library/single/manifests/absent',
        status: 404
      })
    ])

    const got = await getManifest(registry.host, 'library/multi', multi.digest, AUTH)
    expect(got.digest).toBe(multi.digest)
    expect(got.mediaType).toBe(OCI_INDEX)
    expect(got.manifest.manifests?.map(m => m.digest)).toEqual(multi.children.map(c => c.digest))
    expect(got.manifest.manifests?.[2]?.platform).toEqual({
      os: 'linux',
      architecture: 'arm',
      variant: 'v7'
    })

    // A wrong password: the push fails with 401, and the log says so.
    registry.clearLog()
    await expect(
      pushImage(registry.host, 'library/denied', '1', {
        auth: { username: AUTH.username, password: 'wrong' }
      })
    ).rejects.toThrow(/HTTP 401/)
    await expect(headDigest(registry.host, 'library/multi', '1')).rejects.toThrow(/HTTP 401/)
    await registry.waitForRequest(r => r.method === 'POST' && r.status === 401, 5000)
    expect(registry.requests().every(r => r.status === 401)).toBe(true)

    // PUTs of blobs and manifests are logged with their status.
    registry.clearLog()
    await pushImage(registry.host, 'library/logged', '1', { seed: 'logged', auth: AUTH })
    await registry.waitForRequest(r => r.method === 'PUT' && r.path.includes('/manifests/'), 5000)
    const puts = registry.requests().filter(r => r.method === 'PUT')
    expect(
      puts.map(p => [p.path.replace(/\/uploads\/.*\?.*digest=.*$/, '/uploads/…'), p.status])
    ).toEqual([
      ['/v2/library/logged/blobs/uploads/…', 201],
      ['/v2/library/logged/blobs/uploads/…', 201],
      ['/v2/library/logged/manifests/1', 201]
    ])

    // skopeo sees the index.
    const { stdout } = await run('skopeo', [
      'inspect',
      '--raw',
      '--tls-verify=false',
      '--creds',
      `${AUTH.username}:${AUTH.password}`,
      `docker://${registry.host}/library/multi:1`
    ])
    const raw = JSON.parse(stdout) as { mediaType: string; manifests: { digest: string }[] }
    expect(raw.mediaType).toBe(OCI_INDEX)
    expect(raw.manifests.map(m => m.digest)).toEqual(multi.children.map(c => c.digest))

    // An outage: killed, it refuses connections; restarted, the images are still there.
    registry.kill()
    await expect(headDigest(registry.host, 'library/multi', '1', AUTH)).rejects.toThrow()
    await registry.restart()
    expect(await headDigest(registry.host, 'library/multi', '1', AUTH)).toBe(multi.digest)
    expect(await headDigest(registry.host, 'library/single', 'v2', AUTH)).toBe(rebuilt.digest)
    expect(registry.rawLog()).toContain('HEAD /v2/library/multi/manifests/1 HTTP/1.1')
  }, 30_000)

  it('rejects waitForRequest after its timeout, listing what it saw', async () => {
    registry.clearLog()
    await expect(registry.waitForRequest(r => r.method === 'DELETE', 100)).rejects.toThrow(
      /no matching request within 100 ms/
    )
  })

  it('keeps answering while this process is blocked in spawnSync (its log is a file, not a pipe)', () => {
    registry.clearLog()
    // 3000 requests log far more than a pipe holds (64 KiB): a registry writing its access log
    // to a pipe this blocked process does not read would stall under the child.
    const script = `for (let i = 0; i < 3000; i++) await fetch('http://${registry.host}/v2/', { headers: { 'user-agent': 'x'.repeat(100) } }).then(r => r.arrayBuffer())`
    const done = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      timeout: 60_000,
      encoding: 'utf8'
    })
    expect({ status: done.status, error: done.error?.message, stderr: done.stderr }).toEqual({
      status: 0,
      error: undefined,
      stderr: ''
    })
    expect(registry.requests().filter(r => r.path === '/v2/')).toHaveLength(3000)
  }, 90_000)

  it('stops for good, and starts again on the same storage', async () => {
    const { port, dir } = registry
    await registry.stop()
    await expect(headDigest(registry.host, 'library/single', 'v1', AUTH)).rejects.toThrow()
    const again = await startRegistry({ dir })
    try {
      expect(again.port).not.toBe(port)
      // Same storage, no auth this time.
      expect(await headDigest(again.host, 'library/single', 'v1')).toBeDefined()
    } finally {
      await again.stop()
    }
  })
})
