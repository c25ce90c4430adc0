/**
 * The crane installer against a local HTTP server serving release-shaped
 * archives and checksums.txt (GitHub cannot be reached here), with the real
 * tool cache in temporary directories, and a tool cache someone tampers with.
 */
import {
  afterAll,
  afterEach,
  beforeAll,
  beforeEach,
  describe,
  expect,
  it,
  jest
} from '@jest/globals'
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import * as fs from 'node:fs'
import * as http from 'node:http'
import type { AddressInfo } from 'node:net'
import * as os from 'node:os'
import * as path from 'node:path'
import { craneAvailable } from '../__fixtures__/engines.js'

const ARCHIVE = 'go-containerregistry_Linux_x86_64.tar.gz'
let server: http.Server
let base: string
let requests: string[] = []
/** path → body served; anything else is a 404. */
const served = new Map<string, Buffer>()
let installer: typeof import('../src/copy/engines/installer.js')
let tc: typeof import('@actions/tool-cache')
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'installer-test-'))

/** A tar.gz shaped like a go-containerregistry release, whose crane prints `output`. */
function releaseArchive(output: string): Buffer {
  const dir = fs.mkdtempSync(path.join(work, 'release-'))
  fs.writeFileSync(path.join(dir, 'crane'), `#!/bin/sh\necho "${output}"\n`, { mode: 0o755 })
  fs.writeFileSync(path.join(dir, 'gcrane'), '#!/bin/sh\n', { mode: 0o755 })
  fs.writeFileSync(path.join(dir, 'krane'), '#!/bin/sh\n', { mode: 0o755 })
  fs.writeFileSync(path.join(dir, 'LICENSE'), 'Apache-2.0\n')
  const file = path.join(dir, ARCHIVE)
  execFileSync('tar', ['-czf', file, '-C', dir, 'crane', 'gcrane', 'krane', 'LICENSE'])
  return fs.readFileSync(file)
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex')

function publish(version: string, archive: Buffer, checksums?: string): void {
  served.set(`/releases/download/${version}/${ARCHIVE}`, archive)
  const text =
    checksums ??
    [
      `${'0'.repeat(64)}  go-containerregistry_Darwin_arm64.tar.gz`,
      '',
      `${sha256(archive)}  ${ARCHIVE}`,
      `${'1'.repeat(64)}  go-containerregistry_Windows_x86_64.tar.gz`
    ].join('\n')
  served.set(`/releases/download/${version}/checksums.txt`, Buffer.from(text))
}

function freshRunnerDirs(): void {
  const root = fs.mkdtempSync(path.join(work, 'runner-'))
  fs.mkdirSync(path.join(root, 'cache'))
  fs.mkdirSync(path.join(root, 'temp'))
  process.env.RUNNER_TOOL_CACHE = path.join(root, 'cache')
  process.env.RUNNER_TEMP = path.join(root, 'temp')
}

beforeAll(async () => {
  server = http.createServer((req, res) => {
    requests.push(req.url ?? '')
    const body = served.get(req.url ?? '')
    if (!body) {
      res.statusCode = 404
      res.end('Not Found')
      return
    }
    res.end(body)
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/releases/download`
  freshRunnerDirs()
  installer = await import('../src/copy/engines/installer.js')
  tc = await import('@actions/tool-cache')
})
afterAll(() => new Promise<void>(resolve => server.close(() => resolve())))
let written: string[] = []
beforeEach(() => {
  requests = []
  freshRunnerDirs()
  written = []
  // @actions/core writes ::warning:: commands to stdout.
  jest.spyOn(process.stdout, 'write').mockImplementation(chunk => {
    written.push(String(chunk))
    return true
  })
})
afterEach(() => {
  jest.restoreAllMocks()
})

const install = (version: string) =>
  installer.installCrane({ version, baseUrl: base, platform: 'linux', arch: 'x64' })

const warnings = () => written.filter(w => w.startsWith('::warning::'))
const cachedArchive = (version: string) =>
  path.join(tc.find(installer.CACHE_TOOL_NAME, version, 'x64'), ARCHIVE)
const run = (binary: string) => execFileSync(binary, { encoding: 'utf8' }).trim()

describe('installCrane', () => {
  it('installs a version verified against its checksums.txt, caching the archive and running a private copy', async () => {
    const archive = releaseArchive('fake-crane v0.20.1')
    publish('v0.20.1', archive)
    const binary = await install('v0.20.1')
    expect(requests).toEqual([
      '/releases/download/v0.20.1/checksums.txt',
      `/releases/download/v0.20.1/${ARCHIVE}`
    ])
    // Run from a private directory under RUNNER_TEMP, never from the tool cache.
    expect(binary.startsWith(path.join(process.env.RUNNER_TEMP as string, 'crane-'))).toBe(true)
    expect(fs.statSync(path.dirname(path.dirname(binary))).mode & 0o777).toBe(0o700)
    expect(fs.statSync(binary).mode & 0o111).not.toBe(0)
    expect(run(binary)).toBe('fake-crane v0.20.1')
    // The tool cache holds the verified archive, byte for byte.
    expect(fs.readFileSync(cachedArchive('0.20.1'))).toEqual(archive)
    expect(warnings()).toEqual([])
  })

  it('reuses an intact cached archive: no download, only the checksums.txt the trust comes from', async () => {
    publish('v0.20.1', releaseArchive('fake-crane v0.20.1'))
    const first = await install('v0.20.1')
    requests = []
    const second = await install('v0.20.1')
    expect(requests).toEqual(['/releases/download/v0.20.1/checksums.txt'])
    expect(second).not.toBe(first)
    expect(run(second)).toBe('fake-crane v0.20.1')
    expect(written.join('')).toMatch(/found in the tool cache, archive verified/)
    expect(warnings()).toEqual([])
  })

  it('reuses an intact cached archive of a version with a built-in sum without any request', async () => {
    const archive = releaseArchive('fake-crane v0.19.0')
    publish('v0.19.0', archive)
    const sums = installer.BUILT_IN_CHECKSUMS as Record<string, Record<string, string>>
    sums['v0.19.0'] = { [ARCHIVE]: sha256(archive) }
    try {
      await install('v0.19.0')
      requests = []
      expect(run(await install('v0.19.0'))).toBe('fake-crane v0.19.0')
      expect(requests).toEqual([])
    } finally {
      delete sums['v0.19.0']
    }
  })

  it('detects a tampered cached archive, warns, and replaces it with a fresh verified download', async () => {
    const genuine = releaseArchive('fake-crane v0.20.5')
    publish('v0.20.5', genuine)
    await install('v0.20.5')
    const tampered = releaseArchive('evil crane')
    fs.writeFileSync(cachedArchive('0.20.5'), tampered)
    requests = []
    const binary = await install('v0.20.5')
    expect(run(binary)).toBe('fake-crane v0.20.5')
    expect(requests).toContain(`/releases/download/v0.20.5/${ARCHIVE}`)
    expect(warnings()).toHaveLength(1)
    expect(warnings()[0]).toContain(
      `archive (${cachedArchive('0.20.5')}) has sha256 ${sha256(tampered)}, expected ${sha256(genuine)}: it was changed after it was cached`
    )
    expect(fs.readFileSync(cachedArchive('0.20.5'))).toEqual(genuine)
  })

  it('is not fooled by a binary changed after an earlier run extracted it', async () => {
    publish('v0.20.6', releaseArchive('fake-crane v0.20.6'))
    const first = await install('v0.20.6')
    fs.writeFileSync(first, '#!/bin/sh\necho evil\n', { mode: 0o755 })
    expect(run(await install('v0.20.6'))).toBe('fake-crane v0.20.6')
  })

  it('refuses a cached archive replaced by a link or a FIFO, without reading it', async () => {
    publish('v0.20.7', releaseArchive('fake-crane v0.20.7'))
    await install('v0.20.7')
    const cached = cachedArchive('0.20.7')
    fs.rmSync(cached)
    fs.symlinkSync('/dev/zero', cached)
    expect(run(await install('v0.20.7'))).toBe('fake-crane v0.20.7')
    expect(warnings()[0]).toMatch(/The tool cache entry for crane v0\.20\.7 .* cannot be read/)
    fs.rmSync(cached)
    execFileSync('mkfifo', [cached])
    written = []
    expect(run(await install('v0.20.7'))).toBe('fake-crane v0.20.7')
    expect(warnings()[0]).toMatch(/cannot be read \(not a regular file\)/)
  })

  it('fails, naming the download, when a tampered entry cannot be replaced', async () => {
    publish('v0.20.8', releaseArchive('fake-crane v0.20.8'))
    await install('v0.20.8')
    fs.writeFileSync(cachedArchive('0.20.8'), 'garbage')
    served.delete(`/releases/download/v0.20.8/${ARCHIVE}`)
    await expect(install('v0.20.8')).rejects.toThrow(/downloading crane v0\.20\.8 from .* failed/)
    expect(warnings()).toHaveLength(1)
  })

  it('refuses an archive whose sha256 does not match, caching nothing', async () => {
    const archive = releaseArchive('tampered')
    publish('v0.20.2', archive, `${'e'.repeat(64)}  ${ARCHIVE}\n`)
    const error = (await install('v0.20.2').catch((e: unknown) => e)) as Error
    expect(error.message).toContain(`sha256 ${sha256(archive)}`)
    expect(error.message).toContain(`expected ${'e'.repeat(64)}`)
    expect(error.message).toContain('it was not installed')
    expect(tc.find(installer.CACHE_TOOL_NAME, '0.20.2', 'x64')).toBe('')
    // Nor is anything left in RUNNER_TEMP.
    expect(
      fs.readdirSync(process.env.RUNNER_TEMP as string).filter(n => n.startsWith('crane-'))
    ).toEqual([])
  })

  it('refuses when checksums.txt has no line for the archive', async () => {
    publish('v0.20.3', releaseArchive('x'), `${'a'.repeat(64)}  something-else.tar.gz\n`)
    await expect(install('v0.20.3')).rejects.toThrow(
      /lists no checksum for go-containerregistry_Linux_x86_64\.tar\.gz; refusing/
    )
    expect(requests).not.toContain(`/releases/download/v0.20.3/${ARCHIVE}`)
  })

  it('checks the pinned default version against its built-in checksum, not checksums.txt', async () => {
    // A fake archive with a checksums.txt that vouches for it: only the built-in sum can refuse it.
    const fake = releaseArchive('not the real crane')
    publish('v0.21.9', fake)
    const error = (await install('v0.21.9').catch((e: unknown) => e)) as Error
    expect(error.message).toContain(
      'expected 5c16d8ddb971cb1d5e6ed8b1e743da8224414eeba2c2762d8f1a61b2f095699e'
    )
    expect(requests).not.toContain('/releases/download/v0.21.9/checksums.txt')
    expect(tc.find(installer.CACHE_TOOL_NAME, '0.21.9', 'x64')).toBe('')
  })

  it('downloads and verifies even when a crane is already on PATH', async () => {
    const bin = fs.mkdtempSync(path.join(work, 'bin-'))
    fs.writeFileSync(path.join(bin, 'crane'), '#!/bin/sh\necho path-crane\n', { mode: 0o755 })
    const saved = process.env.PATH
    process.env.PATH = `${bin}:${saved}`
    try {
      publish('v0.20.4', releaseArchive('fake-crane v0.20.4'))
      const binary = await install('v0.20.4')
      expect(binary).not.toBe(path.join(bin, 'crane'))
      expect(requests).toContain(`/releases/download/v0.20.4/${ARCHIVE}`)
    } finally {
      process.env.PATH = saved
    }
  })

  it('names the URL when a version does not exist', async () => {
    await expect(install('v9.9.9')).rejects.toThrow(
      new RegExp(
        `${base.replace(/[.]/g, '\\.')}/v9\\.9\\.9/checksums\\.txt.*crane-version and crane-url`
      )
    )
  })
})

describe('archive names and checksums', () => {
  it.each([
    ['linux', 'x64', 'go-containerregistry_Linux_x86_64.tar.gz'],
    ['linux', 'arm64', 'go-containerregistry_Linux_arm64.tar.gz'],
    ['linux', 'arm', 'go-containerregistry_Linux_armv6.tar.gz'],
    ['darwin', 'arm64', 'go-containerregistry_Darwin_arm64.tar.gz'],
    ['win32', 'x64', 'go-containerregistry_Windows_x86_64.tar.gz']
  ] as const)('%s/%s → %s', (platform, arch, name) => {
    expect(installer.craneArchiveName(platform, arch)).toBe(name)
  })

  it('says which platforms exist for an unsupported one', () => {
    expect(() => installer.craneArchiveName('linux', 'mips')).toThrow(
      /no release for linux\/mips.*engine: skopeo/
    )
    expect(() => installer.craneArchiveName('aix', 'x64')).toThrow(/no release for aix\/x64/)
  })

  it('parses checksums.txt in both sha256sum forms, skipping blank lines', () => {
    const sums = installer.parseChecksums(
      `${'A'.repeat(64)}  one.tar.gz\n\n${'b'.repeat(64)} *two.tar.gz\r\nnot a line\n`
    )
    expect([...sums]).toEqual([
      ['one.tar.gz', 'a'.repeat(64)],
      ['two.tar.gz', 'b'.repeat(64)]
    ])
  })

  it('has a built-in sum for every Linux and macOS archive of the default version', async () => {
    const { DEFAULT_CRANE_VERSION } = await import('../src/action/inputs.js')
    const sums = installer.BUILT_IN_CHECKSUMS[DEFAULT_CRANE_VERSION] ?? {}
    for (const [platform, arch] of [
      ['linux', 'x64'],
      ['linux', 'arm64'],
      ['darwin', 'x64'],
      ['darwin', 'arm64']
    ] as const) {
      expect(sums[installer.craneArchiveName(platform, arch)]).toMatch(/^[0-9a-f]{64}$/)
    }
  })

  it('the tests build and serve the very crane version the action pins', async () => {
    const { DEFAULT_CRANE_VERSION } = await import('../src/action/inputs.js')
    const { CRANE_VERSION } = await import('../scripts/lib/crane-release.mjs')
    expect(CRANE_VERSION).toBe(DEFAULT_CRANE_VERSION)
    const { ROOT } = await import('../scripts/lib/runner-env.mjs')
    const action = fs.readFileSync(path.join(ROOT, 'action.yml'), 'utf8')
    expect(action).toMatch(
      new RegExp(`crane-version:[\\s\\S]*?default: ['"]?${DEFAULT_CRANE_VERSION}`)
    )
  })
})

// Skipped, and reported as left out, on a machine without Go (see __fixtures__/engines.ts).
;(craneAvailable ? describe : describe.skip)('a real crane release (engine crane)', () => {
  it('installs crane built from its module, and the installed binary is that version', async () => {
    const { buildCrane, packRelease, CRANE_VERSION } =
      await import('../scripts/lib/crane-release.mjs')
    const release = packRelease(buildCrane())
    const archive = fs.readFileSync(release.archive)
    publish('v0.21.9-local', archive)
    const binary = await install('v0.21.9-local')
    expect(execFileSync(binary, ['version'], { encoding: 'utf8' }).trim()).toBe(CRANE_VERSION)
    expect(fs.readFileSync(cachedArchive('0.21.9-local'))).toEqual(archive)
  })
})
