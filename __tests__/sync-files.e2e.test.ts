/**
 * Sync files people already have (issue 20), against the tools themselves: skopeo sync's and
 * regsync's documentation examples (__fixtures__/sync-files/), with their hosts pointed at
 * local registries, run by the tool and given to the bundled action as images-file (every
 * engine). Each source repository must end up with the same tags at the same digests in
 * both mirrors; the names differ on purpose (the action names mirrors by its template).
 *
 * skopeo is Debian's 1.9.3, which predates images-by-semver (it ignores the key), and newer
 * skopeo cannot be built here (its module is not on the Go module proxy): the example's
 * semver line is checked against Masterminds/semver's reading, the library skopeo calls;
 * masterminds-semver.test runs that library itself (v3.5.0, skopeo's pin) over real tag lists.
 *
 * regclient documents no semverRange example: regsync-semver.yml, modelled on regsync's own
 * test cases, is run by regsync and the action over two repositories holding every tag
 * library/alpine and library/consul have published (__fixtures__/tags/), so regsync's own
 * reading of versions (dates are versions, 3.15.0-rc.4 is below 3.15, `~1.9` below 1.10)
 * meets real tags.
 *
 * Adaptations of the examples, all of hosts and local facts: registry.example.com and
 * quay.io become two local registries, docker.io and ghcr.io the first; TLS is off (plain
 * HTTP registries); the example's made-up redis digest becomes a real one; cert-dir an
 * empty directory; regsync's `registry:5000` the local target.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { execFile } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { resultsOf, runActionAsync } from '../__fixtures__/action-runner.js'
import { describeEngines, engine } from '../__fixtures__/engines.js'
import { builtRegsync } from '../scripts/lib/go-tools.mjs'
import { ensureTools, startRegistry, type LocalRegistry } from '../scripts/lib/local-registry.mjs'
import { headDigest, pushImage, tagImage } from '../scripts/lib/seed-images.mjs'

const execFileAsync = promisify(execFile)
const here = path.dirname(fileURLToPath(import.meta.url))
const fixture = (name: string) =>
  fs.readFileSync(path.join(here, '..', '__fixtures__', 'sync-files', name), 'utf8')
const regsync = builtRegsync()
const skopeo = ['/usr/bin/skopeo', '/usr/local/bin/skopeo'].find(p => fs.existsSync(p))

let first: LocalRegistry // registry.example.com, docker.io, ghcr.io
let second: LocalRegistry // quay.io
let target: LocalRegistry
let work: string
let skopeoFile: string
let regsyncFile: string
let semverFile: string

/** Each repository's tags, pushed as a few images (one per line here). */
const SEED: Record<string, string[][]> = {
  busybox: [
    ['latest', '1.36', '1.36.1'],
    ['1.35', 'musl']
  ],
  redis: [['1.0'], ['2.0'], ['7.4']],
  nginx: [
    ['1.13.1-alpine-perl', '1.13.2-alpine-perl'],
    ['1.13.3-alpine-perl', '1.13.1-alpine']
  ],
  alpine: [
    ['3.11.0', '3.11', '20190228'],
    ['3.12.0', '3.12', '3.12.1'],
    ['3.15.0-rc.4', '3.20', '3.20.1', '3', 'latest', 'edge']
  ],
  'library/alpine': [
    ['3.11', 'edge'],
    ['3.20', '3', '3.20.1', 'latest']
  ],
  'library/busybox': [['latest', '1.36']],
  'library/debian': [
    ['12', 'bookworm', '12.5'],
    ['11', '11.9', 'bullseye']
  ],
  'regclient/regctl': [['latest', 'v0.11.7']]
}
const QUAY: Record<string, string[][]> = { 'coreos/etcd': [['latest', 'v3.5.0'], ['v3.4.0']] }

/** A real tag list (__fixtures__/tags/), dealt over three images so digests tell them apart. */
function dealt(name: string): string[][] {
  const tags = fs
    .readFileSync(path.join(here, '..', '__fixtures__', 'tags', `${name}.txt`), 'utf8')
    .split('\n')
    .filter(line => line && !line.startsWith('#'))
  return [0, 1, 2].map(i => tags.filter((_, j) => j % 3 === i))
}
const SEMVER: Record<string, string[][]> = {
  'semver/alpine': dealt('alpine'),
  'semver/consul': dealt('consul')
}

async function seed(host: string, repositories: Record<string, string[][]>) {
  const digests: Record<string, string> = {}
  for (const [repository, groups] of Object.entries(repositories)) {
    for (const [i, tags] of groups.entries()) {
      const image = await pushImage(host, repository, tags[0]!, { seed: `${repository}-${i}` })
      if (tags.length > 1) await tagImage(host, repository, tags[0]!, tags.slice(1))
      digests[`${repository}:${tags[0]}`] = image.digest
    }
  }
  return digests
}

/** A repository's tags and their digests in a registry (none when it does not exist). */
async function tagsOf(host: string, repository: string): Promise<Record<string, string>> {
  const res = await fetch(`http://${host}/v2/${repository}/tags/list`)
  if (!res.ok) return {}
  const tags = ((await res.json()) as { tags?: string[] | null }).tags ?? []
  const out: Record<string, string> = {}
  for (const tag of tags.sort()) out[tag] = (await headDigest(host, repository, tag)) ?? ''
  return out
}

/** Where skopeo sync (unscoped) put a source repository: found in the target's catalog. */
async function skopeoName(repository: string): Promise<string> {
  const catalog = (await (await fetch(`http://${target.host}/v2/_catalog?n=1000`)).json()) as {
    repositories: string[]
  }
  const last = repository.split('/').pop()!
  const found = catalog.repositories.filter(
    r => r.startsWith('skopeo/') && (r.endsWith(`/${repository}`) || r.endsWith(`/${last}`))
  )
  if (found.length !== 1)
    throw new Error(`skopeo's copy of ${repository}: ${found.join(', ') || 'none'}`)
  return found[0]!
}

const mirrored = (prefix: string, host: string, repository: string) =>
  `${prefix}/${host.replace(':', '_')}/${repository}`

/** The bundled action run on a sync file (as images-file), under the current engine. */
async function mirrorWithAction(file: string, prefix: string) {
  const name = path.basename(file)
  const result = await runActionAsync(
    {
      'images-file': name,
      target: `${target.host}/${prefix}`,
      ...engine.inputs(),
      'insecure-registries': `${first.host},${second.host},${target.host}`
    },
    { files: { [name]: fs.readFileSync(file, 'utf8') }, timeoutMs: 300_000 }
  )
  return resultsOf(result)
}

/** Run a tool to its end (asynchronously: the test's own servers keep being served). */
async function run(binary: string, args: string[]): Promise<string> {
  try {
    const done = await execFileAsync(binary, args, {
      encoding: 'utf8',
      timeout: 300_000,
      // regsync logs every layer it copies.
      maxBuffer: 64 * 1024 * 1024,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: work }
    })
    return `${done.stdout}${done.stderr}`
  } catch (error) {
    const e = error as { message: string; stdout?: string; stderr?: string }
    throw new Error(
      `${binary} ${args.join(' ')}: ${e.message}\n${e.stdout ?? ''}${e.stderr ?? ''}`,
      { cause: error }
    )
  }
}

// regsync is built by the jest global set-up with Go; without it (or skopeo) these are left out.
const block = regsync && skopeo ? describe : describe.skip
let redisDigest: string

block('sync files, read by the action as their tools read them (needs Go)', () => {
  beforeAll(async () => {
    await ensureTools()
    first = await startRegistry()
    second = await startRegistry()
    target = await startRegistry()
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'sync-files-'))
    fs.mkdirSync(path.join(work, 'certs'))
    const digests = await seed(first.host, { ...SEED, ...SEMVER })
    await seed(second.host, QUAY)
    redisDigest = digests['redis:7.4']!

    skopeoFile = path.join(work, 'sync.yml')
    fs.writeFileSync(
      skopeoFile,
      fixture('skopeo-sync.yml')
        .replace('registry.example.com:', `${first.host}:`)
        .replace('quay.io:', `${second.host}:`)
        .replace('tls-verify: true', 'tls-verify: false')
        .replace(/sha256:0{32}1{32}/, redisDigest)
        .replace('/home/john/certs', path.join(work, 'certs'))
    )
    regsyncFile = path.join(work, 'regsync.yml')
    fs.writeFileSync(
      regsyncFile,
      fixture('regsync.yml')
        .replace(/registry:5000\//g, `${target.host}/regsync/`)
        .replace('registry: registry:5000', `registry: ${target.host}`)
        .replace(
          'registry: docker.io',
          `registry: ${first.host}\n    tls: disabled\n  - registry: docker.io`
        )
        .replace(/source: (busybox|alpine|debian)/g, `source: ${first.host}/library/$1`)
        .replace('source: ghcr.io/', `source: ${first.host}/`)
    )
    await run(skopeo!, [
      'sync',
      '--src',
      'yaml',
      '--dest',
      'docker',
      '--dest-tls-verify=false',
      '--all',
      '--preserve-digests',
      skopeoFile,
      `${target.host}/skopeo`
    ])
    semverFile = path.join(work, 'regsync-semver.yml')
    fs.writeFileSync(
      semverFile,
      fixture('regsync-semver.yml')
        .replace(/source\.example/g, first.host)
        .replace(/target\.example/g, target.host)
    )
    await run(regsync!, ['-c', regsyncFile, 'once'])
    await run(regsync!, ['-c', semverFile, 'once'])
  }, 600_000)

  afterAll(async () => {
    await first?.stop()
    await second?.stop()
    await target?.stop()
    if (work) fs.rmSync(work, { recursive: true, force: true })
  })

  describeEngines('each example file', () => {
    it("skopeo sync's example: the same tags at the same digests, and what it cannot honour named", async () => {
      const prefix = `action-skopeo-${engine.name}`
      const results = await mirrorWithAction(skopeoFile, prefix)
      // Refused lines: the credentials and the TLS and certificate settings, each by its line.
      const refused = results.filter(r => r.status === 'rejected').map(r => r.origin)
      expect(refused).toEqual([
        'sync.yml line 15',
        'sync.yml line 18',
        'sync.yml line 19',
        'sync.yml line 21'
      ])
      expect(results.filter(r => r.status === 'failed')).toEqual([])

      for (const [host, repository] of [
        [first.host, 'busybox'],
        [first.host, 'redis'],
        [first.host, 'nginx'],
        [second.host, 'coreos/etcd']
      ] as const) {
        const theirs = await tagsOf(target.host, await skopeoName(repository))
        const ours = await tagsOf(target.host, mirrored(prefix, host, repository))
        expect({ repository, ours }).toEqual({ repository, ours: theirs })
        expect(Object.keys(ours).length).toBeGreaterThan(0)
      }
      // The digest line: in both mirrors, by digest.
      expect(await headDigest(target.host, await skopeoName('redis'), redisDigest)).toBe(
        redisDigest
      )
      expect(
        await headDigest(target.host, mirrored(prefix, first.host, 'redis'), redisDigest)
      ).toBe(redisDigest)
      // The semver line, which skopeo 1.9.3 ignores: Masterminds/semver's reading of
      // ">= 3.12.0": x.y and x.y.z tags and dates from 3.12 on, no pre-release.
      const expected = SEED.alpine!.flat().filter(t => {
        const m = /^(\d+)(?:\.(\d+))?(?:\.(\d+))?$/.exec(t)
        return !!m && (Number(m[1]) > 3 || (Number(m[1]) === 3 && Number(m[2] ?? 0) >= 12))
      })
      const alpine = await tagsOf(target.host, mirrored(prefix, first.host, 'alpine'))
      expect(Object.keys(alpine).sort()).toEqual(expected.sort())
    })

    it("regsync's example: the same tags at the same digests, and what it cannot honour named", async () => {
      const prefix = `action-regsync-${engine.name}`
      const results = await mirrorWithAction(regsyncFile, prefix)
      expect(results.filter(r => r.status === 'failed')).toEqual([])
      const refused = results.filter(r => r.status === 'rejected').map(r => r.reason ?? '')
      expect(refused.some(r => r.startsWith('creds are refused'))).toBe(true)
      expect(refused.filter(r => r.startsWith('target is not read'))).toHaveLength(4)
      for (const [repository, target_] of [
        ['library/busybox', 'regsync/library/busybox'],
        ['library/alpine', 'regsync/library/alpine'],
        ['library/debian', 'regsync/library/debian'],
        ['regclient/regctl', 'regsync/regclient/regctl']
      ] as const) {
        const theirs = await tagsOf(target.host, target_)
        const ours = await tagsOf(target.host, mirrored(prefix, first.host, repository))
        expect({ repository, ours }).toEqual({ repository, ours: theirs })
        expect(Object.keys(ours).length).toBeGreaterThan(0)
      }
    })

    it("regsync's semverRange: the same tags at the same digests over real tag lists", async () => {
      const prefix = `action-semver-${engine.name}`
      const results = await mirrorWithAction(semverFile, prefix)
      expect(results.filter(r => r.status === 'failed')).toEqual([])
      const refused = results.filter(r => r.status === 'rejected').map(r => r.reason ?? '')
      expect(refused.filter(r => r.startsWith('target is not read'))).toHaveLength(2)
      // The creds block (TLS off for the local hosts) is named too; insecure-registries says it.
      expect(refused.filter(r => r.startsWith('creds are refused'))).toHaveLength(1)
      expect(refused).toHaveLength(3)
      for (const repository of ['semver/alpine', 'semver/consul']) {
        const theirs = await tagsOf(target.host, `regsync-semver/${repository.split('/')[1]}`)
        const ours = await tagsOf(target.host, mirrored(prefix, first.host, repository))
        expect({ repository, ours }).toEqual({ repository, ours: theirs })
      }
      // What regsync's reading means on real tags, beyond "the same as regsync": dates are
      // versions above 3.19, 3.15.0-rc.4 is not in >=3.12.0 <3.13, 3.17.0_rc1 is no version.
      const alpine = Object.keys(await tagsOf(target.host, `regsync-semver/alpine`))
      expect(alpine).toEqual(
        expect.arrayContaining(['20190228', '3.12', '3.12.12', '3.19', '3.20.1'])
      )
      expect(alpine).not.toEqual(expect.arrayContaining(['3.15.0-rc.4']))
      expect(
        alpine.filter(t => ['3.13', '3.17.0_rc1', '3.11.13', 'edge', 'latest', '3'].includes(t))
      ).toEqual([])
      const consul = Object.keys(await tagsOf(target.host, `regsync-semver/consul`))
      expect(consul.sort()).toEqual(
        [
          ...['1.9', '1.9.0', ...Array.from({ length: 17 }, (_, i) => `1.9.${i + 1}`)],
          ...['1.15.2', '1.15.3', '1.15.4'],
          // ~1.9 is below 1.10.0, and to regsync 1.10.0's pre-releases are below it too.
          ...['1.10.0-rc', '1.10.0-rc2']
        ].sort()
      )
    }, 400_000)
  })
})
