/**
 * Fault tolerance, end to end: the bundled action (`node dist/index.js`), once
 * with each engine (crane, installed by the action from a loopback release of
 * crane built from its Go module, and skopeo), copying between real
 * docker-registry servers while things go wrong for real: the target is
 * killed and comes back mid-run; a fault-injecting proxy
 * (__fixtures__/fault-proxy.ts) in front of the source and the target answers
 * 429 with Retry-After and 5xx, now and then or every time, cuts connections
 * in the middle of a blob, corrupts and truncates blobs; the target's storage
 * is a small filesystem that fills up.
 *
 * Every case checks the same promises with both engines: every image is
 * accounted for (copied, unchanged or failed; none missing), everything
 * reported copied is intact on the target (read back directly, not through
 * the proxy: HEAD digest, and the sha256 of every manifest and blob), every
 * failure has a reason saying what happened, the injected faults really
 * happened and each was met by the same request again, and a re-run without
 * faults converges.
 *
 * Where the engines differ, each is held to what it does: crane retries a
 * request itself (3 tries, 1 s then 3 s apart, Retry-After not read; an
 * upload 3 times over that), so a passing fault is over before the action
 * sees it; skopeo runs with --retry-times 0 and only waits out a 429 on a
 * request without a body (5 tries, as long as Retry-After says), so the
 * action's own attempts retry the rest.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { resultsOf, runActionAsync, type ActionRun } from '../__fixtures__/action-runner.js'
import { describeEngines, engine } from '../__fixtures__/engines.js'
import { ENGINE_RETRIED_ATTEMPTS } from '../src/copy/copy.js'
import { CRANE_TRIES } from '../src/copy/engines/crane.js'
import type { MirrorResult as Result } from '../src/image/results.js'
import {
  startFaultProxy,
  type FaultProxy,
  type Injection,
  type LoggedRequest
} from '../__fixtures__/fault-proxy.js'
import { ensureTools, startRegistry, type LocalRegistry } from '../scripts/lib/local-registry.mjs'
import { ACCEPT, pushImage, type PushedImage } from '../scripts/lib/seed-images.mjs'

const AUTH = { username: 'mirror-bot', password: 'Fault-T0lerant-pass-5150' }

let source: LocalRegistry
let target: LocalRegistry
/** In front of the source and of the target; transparent until a case sets rules. */
let sourceProxy: FaultProxy
let targetProxy: FaultProxy

const results = resultsOf

/**
 * What each case showed, printed as a table when an engine's block ends: the
 * faults that fired, how the images were accounted for, how many blobs were
 * read back from the target and hashed, and whether the re-run converged.
 */
interface Figure {
  case: string
  faults: number
  accounted: string
  blobs: number
  converged: boolean
}
let figures: Figure[] = []
let figure: Figure | undefined
let faultsAtStart = 0

/** Every fault the proxies recorded so far (the disk case adds its own proxy's). */
const faultCount = (): number => sourceProxy.injected().length + targetProxy.injected().length

function beginFigure(name: string): void {
  faultsAtStart = faultCount()
  figure = { case: name, faults: 0, accounted: '', blobs: 0, converged: false }
  figures.push(figure)
}

function printFigures(): void {
  const rows = figures.map(
    f => `| ${f.case} | ${f.faults} | ${f.accounted} | ${f.blobs} | ${f.converged ? 'yes' : 'no'} |`
  )
  console.log(
    [
      `faults.e2e figures (engine ${engine.name}):`,
      '| case | faults fired | images (first run) | blobs read back and hashed (both runs) | re-run converged |',
      '|---|---|---|---|---|',
      ...rows
    ].join('\n')
  )
}

function authHeader(): Record<string, string> {
  return {
    authorization: `Basic ${Buffer.from(`${AUTH.username}:${AUTH.password}`).toString('base64')}`
  }
}

const sha256 = (bytes: Buffer) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`

async function fetchBytes(
  url: string,
  accept?: string
): Promise<{ status: number; bytes: Buffer }> {
  const res = await fetch(url, { headers: { ...authHeader(), ...(accept ? { accept } : {}) } })
  return { status: res.status, bytes: Buffer.from(await res.arrayBuffer()) }
}

/**
 * Read an image back from a registry directly: the tag's digest must be the
 * expected one, and every manifest and blob it references must hash to its
 * digest (and blobs have their stated size). Returns how many blobs were read.
 */
async function verifyIntact(
  host: string,
  repository: string,
  tag: string,
  digest: string
): Promise<number> {
  const head = await fetch(`http://${host}/v2/${repository}/manifests/${tag}`, {
    method: 'HEAD',
    headers: { ...authHeader(), accept: ACCEPT }
  })
  expect(`${repository}:${tag} ${head.status} ${head.headers.get('docker-content-digest')}`).toBe(
    `${repository}:${tag} 200 ${digest}`
  )
  let blobs = 0
  const walk = async (manifestDigest: string): Promise<void> => {
    const got = await fetchBytes(
      `http://${host}/v2/${repository}/manifests/${manifestDigest}`,
      ACCEPT
    )
    expect(`${got.status} ${sha256(got.bytes)}`).toBe(`200 ${manifestDigest}`)
    const manifest = JSON.parse(got.bytes.toString('utf8')) as {
      manifests?: { digest: string }[]
      config?: { digest: string; size: number }
      layers?: { digest: string; size: number }[]
    }
    for (const child of manifest.manifests ?? []) await walk(child.digest)
    for (const blob of [manifest.config, ...(manifest.layers ?? [])]) {
      if (!blob) continue
      const data = await fetchBytes(`http://${host}/v2/${repository}/blobs/${blob.digest}`)
      expect(`${data.status} ${sha256(data.bytes)} ${data.bytes.length}`).toBe(
        `200 ${blob.digest} ${blob.size}`
      )
      blobs++
    }
  }
  await walk(digest)
  return blobs
}

/** A case's images: pushed to the source directly, requested through `via` (a proxy or the source). */
interface Case {
  name: string
  images: { repository: string; pushed: PushedImage }[]
  via: string
  /** The `target` input: the proxy or the registry, with the case's prefix. */
  targetInput: string
}

async function prepareCase(
  name: string,
  count: number,
  options: { viaProxy: boolean; targetHost?: string }
): Promise<Case> {
  const images: Case['images'] = []
  for (let i = 1; i <= count; i++) {
    const repository = `${name}/img-${i}`
    // Alternate an index of two platforms and a single image, as real lists hold both.
    const pushed = await pushImage(source.host, repository, '1', {
      seed: `${name}-${i}`,
      ...(i % 2 === 1 ? { platforms: ['linux/amd64', 'linux/arm64'] } : {})
    })
    images.push({ repository, pushed })
  }
  const via = options.viaProxy ? sourceProxy.host : source.host
  const targetHost = options.targetHost ?? (options.viaProxy ? targetProxy.host : target.host)
  return { name, images, via, targetInput: `${targetHost}/${name}` }
}

function imagesInput(c: Case): string {
  return c.images.map(i => `${c.via}/${i.repository}:1`).join('\n')
}

/** Where an image of a case lands, as a repository path on the target registry itself. */
function mirroredRepository(c: Case, repository: string): string {
  return `${c.name}/${c.via.replace(':', '_')}/${repository}`
}

function run(c: Case, extra: Record<string, string> = {}): Promise<ActionRun> {
  const targetHost = c.targetInput.split('/')[0] as string
  return runActionAsync(
    {
      images: imagesInput(c),
      target: c.targetInput,
      ...engine.inputs(),
      username: AUTH.username,
      password: AUTH.password,
      'insecure-registries': [source.host, sourceProxy.host, targetHost].join(','),
      concurrency: '2',
      retries: '3',
      ...extra
    },
    { timeoutMs: 150_000 }
  )
}

/**
 * The promises every case keeps: each image accounted for exactly once;
 * copied/unchanged ones intact on the target read directly; failed ones with
 * a reason (matching `reasons`) that never holds the password; outputs and
 * exit code agree. Returns the results by repository.
 */
async function checkRun(
  c: Case,
  result: ActionRun,
  reasons: RegExp = /./,
  targetRegistry: LocalRegistry = target
): Promise<Map<string, Result>> {
  expect(result.stderr).toBe('')
  const all = results(result)
  const byRepository = new Map<string, Result>()
  for (const image of c.images) {
    const mine = all.filter(r => r.source === `${c.via}/${image.repository}:1`)
    expect(mine).toHaveLength(1)
    byRepository.set(image.repository, mine[0] as Result)
  }
  expect(all).toHaveLength(c.images.length)
  let failed = 0
  for (const image of c.images) {
    const r = byRepository.get(image.repository) as Result
    expect(['copied', 'unchanged', 'failed']).toContain(r.status)
    if (r.status === 'failed') {
      failed++
      expect(r.reason).toMatch(reasons)
      expect(r.reason).not.toContain(AUTH.password)
      continue
    }
    expect(r.digest).toBe(image.pushed.digest)
    const blobs = await verifyIntact(
      targetRegistry.host,
      mirroredRepository(c, image.repository),
      '1',
      image.pushed.digest
    )
    expect(blobs).toBeGreaterThan(0)
    if (figure) figure.blobs += blobs
  }
  expect(result.outputs.failed).toBe(String(failed))
  expect(result.code).toBe(failed > 0 ? 1 : 0)
  if (figure && !figure.accounted) {
    const statuses = [...byRepository.values()].map(r => r.status)
    const count = (status: string) => statuses.filter(s => s === status).length
    figure.accounted = `${c.images.length} of ${c.images.length}: ${count('copied')} copied, ${count('unchanged')} unchanged, ${failed} failed`
    figure.faults = faultCount() - faultsAtStart
  }
  for (const text of [result.stdout, result.summary, JSON.stringify(result.outputs)]) {
    const withoutMask = text
      .split('\n')
      .filter(l => l !== `::add-mask::${AUTH.password}`)
      .join('\n')
    expect(withoutMask).not.toContain(AUTH.password)
  }
  return byRepository
}

/** A re-run with no fault: everything copied or unchanged, and intact. */
async function expectConverges(c: Case, targetRegistry: LocalRegistry = target): Promise<void> {
  sourceProxy.setRules([])
  targetProxy.setRules([])
  const again = await run(c)
  const got = await checkRun(c, again, /^$/, targetRegistry)
  expect([...got.values()].map(r => r.status).filter(s => s === 'failed')).toEqual([])
  expect(again.code).toBe(0)
  if (figure) figure.converged = true
}

/** The progress lines the action logs before each retry. */
function retryLines(result: ActionRun): string[] {
  return result.stdout.split('\n').filter(l => l.startsWith('retrying '))
}

/** The lines the native engine logs before it tries a request or a blob again itself. */
function nativeRetryLines(result: ActionRun): string[] {
  return result.stdout.split('\n').filter(l => l.startsWith('native: retrying '))
}

/**
 * Where an engine's blob upload sends the bytes: crane and skopeo PATCH them
 * (then PUT the digest); native PUTs a small blob in one request.
 */
function uploadRequest(repository: string): { method: string; path: RegExp } {
  return engine.name === 'native'
    ? { method: 'PUT', path: new RegExp(`/${repository}/blobs/uploads/`) }
    : { method: 'PATCH', path: new RegExp(`/${repository}/`) }
}

/**
 * Each 429 a bodyless request met was followed, from the same client, by the
 * same request no sooner than Retry-After said. Returns how many were checked.
 */
function expectRetryAfterHonoured(proxy: FaultProxy, injections: Injection[]): number {
  let checked = 0
  for (const hit of injections.filter(i => i.detail.startsWith('429 Retry-After: 1'))) {
    if (hit.method !== 'GET' && hit.method !== 'HEAD') continue
    const next = proxy
      .requests()
      .find(
        r =>
          r.at > hit.at &&
          r.method === hit.method &&
          r.path === hit.path &&
          r.userAgent === hit.userAgent
      )
    expect(next).toBeDefined()
    expect((next?.at ?? 0) - hit.at).toBeGreaterThanOrEqual(950)
    checked++
  }
  return checked
}

/** A request as the same request again: an upload's session (its path after uploads/) and every query left out. */
function requestKey(r: { method: string; path: string }): string {
  return `${r.method} ${r.path.replace(/\?.*$/, '').replace(/\/blobs\/uploads\/.*$/, '/blobs/uploads/')}`
}

/**
 * Each injected fault was met again: the same client sent the same request
 * (an upload: to the same repository) later, whether the engine retried it
 * itself or the action ran the engine again. Returns how many were checked.
 */
function expectEachMetAgain(proxy: FaultProxy, injections: Injection[]): number {
  const log = proxy.requests()
  for (const hit of injections) {
    const at = log.findIndex(
      r => r.fault === hit.rule && r.at === hit.at && r.method === hit.method && r.path === hit.path
    )
    expect(at).toBeGreaterThanOrEqual(0)
    const again = log
      .slice(at + 1)
      .find(r => r.userAgent === hit.userAgent && requestKey(r) === requestKey(hit))
    expect(`${hit.rule}: ${requestKey(hit)} ${again ? 'met again' : 'never sent again'}`).toBe(
      `${hit.rule}: ${requestKey(hit)} met again`
    )
  }
  return injections.length
}

/** The faults the named rules injected (the proxies' records span every case of an engine). */
function faultsOf(proxy: FaultProxy, ...rules: string[]): Injection[] {
  return proxy.injected().filter(i => rules.includes(i.rule))
}

/** The requests one client sent for one request (see requestKey), in order. */
function sameRequests(proxy: FaultProxy, like: Injection): LoggedRequest[] {
  return proxy
    .requests()
    .filter(r => r.userAgent === like.userAgent && requestKey(r) === requestKey(like))
}

describeEngines('fault tolerance with real registries', () => {
  beforeAll(async () => {
    await ensureTools()
    source = await startRegistry()
    target = await startRegistry({ auth: AUTH })
    sourceProxy = await startFaultProxy({ host: source.host })
    targetProxy = await startFaultProxy({ host: target.host })
  }, 60_000)

  beforeAll(() => {
    figures = []
  })

  afterAll(async () => {
    printFigures()
    await sourceProxy?.close()
    await targetProxy?.close()
    await source?.stop()
    await target?.stop()
  })

  it('the target killed mid-copy and back a moment later: the retries finish the run, nothing lost', async () => {
    beginFigure('target killed mid-copy, back 1.5 s later')
    const c = await prepareCase('restart', 4, { viaProxy: false })
    target.clearLog()
    const running = run(c, { concurrency: '1' })
    // Kill the target for real once the second image's first blob has landed,
    // i.e. in the middle of that image; bring it back 1.5 s later, mid-run.
    await target.waitForRequest(
      r =>
        r.method === 'PUT' && r.status === 201 && r.path.includes('restart/img-2/blobs/uploads/'),
      60_000
    )
    target.kill()
    await new Promise(resolve => setTimeout(resolve, 1500))
    await target.restart()
    target.clearLog()
    const result = await running

    const got = await checkRun(c, result)
    if (figure) figure.faults = 1 // the kill: no proxy in between
    expect([...got.values()].map(r => r.status)).toEqual(['copied', 'copied', 'copied', 'copied'])
    // The outage was met, said in the log, and retried after the registry came back.
    if (engine.name === 'native') {
      // native tries a request or a blob transfer the outage broke again itself (the client:
      // 3 more times, 0.5 to 2 s apart; a blob: alone, 3 tries), and says so in the log.
      const own = nativeRetryLines(result)
      expect(own.length).toBeGreaterThan(0)
      expect(own.join('\n')).toMatch(
        /restart\/img-2.*(connection refused|closed in the middle|cannot be reached)/
      )
    } else {
      const retried = retryLines(result)
      expect(retried.length).toBeGreaterThan(0)
      expect(retried.join('\n')).toMatch(
        /restart\/img-2.*(connection refused|closed in the middle|cannot be reached)/
      )
      expect(got.get('restart/img-2')?.note).toMatch(
        /copied on attempt \d of 4; attempt \d failed: /
      )
    }
    // Images were written after the restart: the run went on rather than giving up.
    const afterRestart = target
      .requests()
      .filter(r => r.method === 'PUT' && r.status === 201 && r.path.includes('/manifests/'))
    expect(afterRestart.length).toBeGreaterThan(0)

    await expectConverges(c)
  })

  it('429 with Retry-After and intermittent 5xx on both sides: retried no sooner than Retry-After, everything copied', async () => {
    beginFigure('429 with Retry-After and 5xx, both sides')
    const c = await prepareCase('throttle', 3, { viaProxy: true })
    sourceProxy.setRules([
      // Docker Hub's way: the manifest and blob reads are rate limited for a moment.
      {
        name: 'source-429-manifest',
        path: /\/manifests\//,
        times: 2,
        fault: { kind: 'status', status: 429, retryAfter: 1 }
      },
      {
        name: 'source-429-blob',
        method: 'GET',
        path: /\/blobs\/sha256:/,
        times: 1,
        fault: { kind: 'status', status: 429, retryAfter: 1 }
      },
      {
        name: 'source-502-ours',
        userAgent: /^image-mirror/,
        method: 'HEAD',
        path: /\/manifests\//,
        skip: 2,
        times: 1,
        fault: { kind: 'status', status: 502 }
      }
    ])
    targetProxy.setRules([
      // An upload refused with 429: skopeo cannot resend a body, so the image is retried; crane
      // starts that blob's upload again itself.
      {
        name: 'target-429-upload',
        ...uploadRequest('throttle/img-1'),
        // One fault kind per image, so each failed attempt has one cause to name.
        times: 1,
        fault: { kind: 'status', status: 429, retryAfter: 1 }
      },
      {
        name: 'target-5xx',
        path: /\/throttle\/img-[23]\//,
        skip: 3,
        every: 5,
        times: 2,
        fault: { kind: 'status', status: [500, 503] }
      }
    ])
    const result = await run(c)
    const got = await checkRun(c, result)
    expect([...got.values()].map(r => r.status)).toEqual(['copied', 'copied', 'copied'])

    const atSource = faultsOf(
      sourceProxy,
      'source-429-manifest',
      'source-429-blob',
      'source-502-ours'
    )
    const atTarget = faultsOf(targetProxy, 'target-429-upload', 'target-5xx')
    expect(atSource.filter(i => i.rule === 'source-429-manifest')).toHaveLength(2)
    expect(atSource.filter(i => i.rule === 'source-429-blob')).toHaveLength(1)
    expect(atSource.filter(i => i.rule === 'source-502-ours')).toHaveLength(1)
    expect(atTarget.filter(i => i.rule === 'target-429-upload')).toHaveLength(1)
    expect(atTarget.filter(i => i.rule === 'target-5xx').map(i => i.detail)).toEqual(['500', '503'])
    // Every fault was met by the same request again, from the client it hit.
    expect(expectEachMetAgain(sourceProxy, atSource)).toBe(4)
    expect(expectEachMetAgain(targetProxy, atTarget)).toBe(3)
    // Ours and skopeo waited as long as Retry-After asked; crane does not read it, its own
    // backoff (1 s, then 3 s) is what keeps it from coming back sooner than Retry-After: 1.
    expect(expectRetryAfterHonoured(sourceProxy, atSource)).toBe(3)
    if (engine.name === 'skopeo') {
      // The refused upload and the server errors skopeo met were retried by the action, and said so.
      expect(retryLines(result).join('\n')).toMatch(/429 Too Many Requests/)
      expect(got.get('throttle/img-1')?.note).toMatch(
        /^copied on attempt 2 of 4; attempt 1 failed: a registry refused with 429 Too Many Requests/
      )
    } else {
      // crane and native met every one of these faults again themselves: no image needed
      // another attempt (native says each in the log: the refused upload as its blob).
      expect(retryLines(result)).toEqual([])
      expect([...got.values()].map(r => r.note ?? '')).toEqual(['', '', ''])
      if (engine.name === 'native') {
        expect(nativeRetryLines(result).join('\n')).toMatch(
          /^native: retrying blob sha256:[0-9a-f]{64} of \S+\/throttle\/img-1 in [\d.]+ s \(try 2 of 3\): a registry refused with 429 Too Many Requests \(rate limited\) \(native: uploading blob .*HTTP 429/m
        )
      }
    }

    await expectConverges(c)
  })

  it('connections closed in the middle of a blob, downloading and uploading: retried, everything copied', async () => {
    beginFigure('connections cut mid-blob, down and up')
    const c = await prepareCase('cut', 3, { viaProxy: true })
    sourceProxy.setRules([
      {
        name: 'source-cut-blob',
        method: 'GET',
        path: /\/cut\/img-[12]\/blobs\/sha256:/,
        times: 2,
        fault: { kind: 'cut-response', afterBytes: 16 }
      }
    ])
    targetProxy.setRules([
      {
        name: 'target-cut-upload',
        ...uploadRequest('cut/img-3'),
        times: 1,
        fault: { kind: 'cut-request', afterBytes: 16 }
      }
    ])
    const result = await run(c)
    const got = await checkRun(c, result)
    expect([...got.values()].map(r => r.status)).toEqual(['copied', 'copied', 'copied'])
    expect(
      sourceProxy
        .injected()
        .filter(i => i.rule === 'source-cut-blob')
        .map(i => i.detail)
    ).toEqual([
      expect.stringMatching(/^cut the connection after 16 of \d+ bytes$/),
      expect.stringMatching(/^cut the connection after 16 of \d+ bytes$/)
    ])
    expect(targetProxy.injected().filter(i => i.rule === 'target-cut-upload')).toHaveLength(1)
    // Each cut blob was asked for again, each cut upload started again.
    expect(expectEachMetAgain(sourceProxy, faultsOf(sourceProxy, 'source-cut-blob'))).toBe(2)
    expect(expectEachMetAgain(targetProxy, faultsOf(targetProxy, 'target-cut-upload'))).toBe(1)
    const retried = retryLines(result)
    // Each retry of the action says which side hung up.
    const source = /the connection to the source was closed in the middle of a blob/
    const target = /the connection to the target was closed in the middle of an upload/
    for (const line of retried)
      expect(line).toMatch(new RegExp(`${source.source}|${target.source}`))
    if (engine.name === 'skopeo') {
      expect(retried.filter(l => source.test(l)).length).toBeGreaterThanOrEqual(1)
      expect(retried.filter(l => target.test(l))).toHaveLength(1)
    } else {
      // crane and native retry a connection that ended themselves: no image needed another
      // attempt. native tries the cut blob again alone, and its line says which side hung up.
      expect(retried).toEqual([])
      if (engine.name === 'native') {
        const own = nativeRetryLines(result).filter(l => l.startsWith('native: retrying blob'))
        expect(own.filter(l => source.test(l)).length).toBeGreaterThanOrEqual(1)
        expect(own.filter(l => target.test(l))).toHaveLength(1)
      }
    }

    await expectConverges(c)
  })

  it('corrupted and truncated blobs are caught by the digest check: never reported copied', async () => {
    beginFigure('corrupted and truncated blobs')
    const c = await prepareCase('corrupt', 3, { viaProxy: true })
    sourceProxy.setRules([
      // Once, in transit: a retry cures it.
      {
        name: 'source-flip',
        method: 'GET',
        path: /\/corrupt\/img-1\/blobs\/sha256:/,
        times: 1,
        fault: { kind: 'corrupt-response', at: 10 }
      },
      // Every time: this image cannot be copied until the source serves it whole.
      {
        name: 'source-truncate',
        method: 'GET',
        path: /\/corrupt\/img-2\/blobs\/sha256:/,
        fault: { kind: 'truncate-response', keepBytes: 20 }
      }
    ])
    targetProxy.setRules([
      {
        name: 'target-flip-upload',
        ...uploadRequest('corrupt/img-3'),
        times: 1,
        fault: { kind: 'corrupt-request', at: 3 }
      }
    ])
    const result = await run(c, { retries: '1' })
    const got = await checkRun(c, result, /did not match its digest/)
    expect(got.get('corrupt/img-1')?.status).toBe('copied')
    expect(got.get('corrupt/img-3')?.status).toBe('copied')
    if (engine.name === 'native') {
      // native tried the blob again alone: the image needed no second attempt, and the log
      // says why the blob went again.
      expect(got.get('corrupt/img-1')?.note).toBeUndefined()
      expect(got.get('corrupt/img-3')?.note).toBeUndefined()
      const own = nativeRetryLines(result).join('\n')
      expect(own).toMatch(
        /retrying blob \S+ of \S+\/corrupt\/img-1 .*: a blob read from the source did not match its digest/
      )
      expect(own).toMatch(
        /retrying blob \S+ of \S+\/corrupt\/img-3 .*: the target refused a blob whose content did not match its digest/
      )
    } else {
      expect(got.get('corrupt/img-1')?.note).toMatch(
        /attempt 1 failed: a blob read from the source did not match its digest/
      )
      expect(got.get('corrupt/img-3')?.note).toMatch(
        /attempt 1 failed: the target refused a blob whose content did not match its digest/
      )
    }
    const truncated = got.get('corrupt/img-2')
    expect(truncated?.status).toBe('failed')
    // What each tool said: skopeo hashes the blob as it streams; crane checks the length first.
    const said = {
      skopeo:
        'skopeo exited with 1: .*Digest did not match, expected sha256:[0-9a-f]{64}, got sha256:[0-9a-f]{64}',
      crane:
        'crane exited with 1: GET http://[^ ]+/corrupt/img-2/blobs/sha256:[0-9a-f]{64}: Content-Length header 20 does not match expected size \\d+',
      native:
        'native: [^ ]+/corrupt/img-2/blobs/sha256:[0-9a-f]{64}: unexpected blob size, the source answered Content-Length 20 for \\d+ bytes'
    }[engine.name]
    expect(truncated?.reason).toMatch(
      new RegExp(
        `^a blob read from the source did not match its digest \\(corrupted or truncated on the way\\); it was not stored \\(${said}\\) \\(after 2 attempts\\)$`
      )
    )
    // Nothing of it is under the tag on the target.
    const head = await fetch(
      `http://${target.host}/v2/${mirroredRepository(c, 'corrupt/img-2')}/manifests/1`,
      { method: 'HEAD', headers: { ...authHeader(), accept: ACCEPT } }
    )
    expect(head.status).toBe(404)
    expect(sourceProxy.injected().filter(i => i.rule === 'source-flip')).toHaveLength(1)
    // Neither tool retries a blob that came short within one copy: each attempt met the
    // truncation and gave up. skopeo reads img-2's blobs one after the other and stops at the
    // first, once an attempt; crane reads its config and layer at once, so one or both.
    // native tries a blob 3 times before the attempt fails (both blobs at once, the other
    // stopping at its next try once one has failed).
    const cuts = faultsOf(sourceProxy, 'source-truncate')
    if (engine.name === 'skopeo') expect(cuts).toHaveLength(2)
    else if (engine.name === 'crane') expect([2, 3, 4]).toContain(cuts.length)
    else {
      expect(cuts.length).toBeGreaterThanOrEqual(2 * 3)
      expect(cuts.length).toBeLessThanOrEqual(2 * 2 * 3)
    }
    // Both attempts met it: the action's backoff (2 s, give or take a quarter) lies between.
    const spread = (cuts.at(-1)?.at ?? 0) - (cuts[0]?.at ?? 0)
    expect(spread).toBeGreaterThanOrEqual(1400)
    // The blob flipped in transit was asked for again, and the upload flipped on the way
    // was sent again.
    expect(expectEachMetAgain(sourceProxy, faultsOf(sourceProxy, 'source-flip'))).toBe(1)
    expect(expectEachMetAgain(targetProxy, faultsOf(targetProxy, 'target-flip-upload'))).toBe(1)
    expect(targetProxy.injected().filter(i => i.rule === 'target-flip-upload')).toHaveLength(1)

    await expectConverges(c)
  })

  it('a registry that keeps refusing: each request asked a bounded number of times, then the image fails with the cause', async () => {
    beginFigure('a registry that keeps refusing (429, 503)')
    const c = await prepareCase('storm', 2, { viaProxy: true })
    // Every read of these manifests by the engine (the action's own HEADs pass, so each
    // attempt gets as far as running the engine): rate limited, or a server error.
    const theEngine =
      engine.name === 'native' ? /^image-mirror \(native engine\)/ : /^(?!image-mirror)/
    sourceProxy.setRules([
      {
        name: 'storm-429',
        userAgent: theEngine,
        method: 'GET',
        path: /\/storm\/img-1\/manifests\//,
        fault: { kind: 'status', status: 429, retryAfter: 1 }
      },
      {
        name: 'storm-503',
        userAgent: theEngine,
        method: 'GET',
        path: /\/storm\/img-2\/manifests\//,
        fault: { kind: 'status', status: 503 }
      }
    ])
    const result = await run(c, { retries: '2' })
    const got = await checkRun(c, result)
    expect(got.get('storm/img-1')?.reason).toMatch(
      /^a registry refused with 429 Too Many Requests \(rate limited\) \(/
    )
    expect(got.get('storm/img-2')?.reason).toMatch(/^a registry answered with a server error \(/)
    const asked = (rule: string) => sourceProxy.injected().filter(i => i.rule === rule)
    for (const rule of ['storm-429', 'storm-503']) {
      // One request, asked again and again: nothing else was.
      expect(new Set(asked(rule).map(requestKey)).size).toBe(1)
      // No try came sooner than Retry-After: 1 (crane: its backoff of 1 s, then 3 s).
      expect(expectRetryAfterHonoured(sourceProxy, asked(rule).slice(0, -1))).toBe(
        rule === 'storm-429' ? asked(rule).length - 1 : 0
      )
    }
    if (engine.name === 'crane') {
      // crane tries a request 3 times itself; after two copies that ended so the image is
      // given up (3 attempts of crane would ask 9 times, the default 4 attempts 12).
      expect(asked('storm-429')).toHaveLength(CRANE_TRIES * ENGINE_RETRIED_ATTEMPTS)
      expect(asked('storm-503')).toHaveLength(CRANE_TRIES * ENGINE_RETRIED_ATTEMPTS)
      for (const r of got.values()) {
        expect(r.reason).toMatch(
          /\(after 2 attempts, each retried by crane itself; not tried again in this run\)$/
        )
      }
      expect(retryLines(result)).toHaveLength(2)
      for (const line of retryLines(result)) {
        expect(line).toMatch(/\(attempt 2 of 3, the last if crane has to retry it itself again\)/)
      }
    } else if (engine.name === 'native') {
      // native's client tries a request 4 times (as Retry-After says for the 429); after two
      // copies that ended so the image is given up, as for crane.
      expect(asked('storm-429')).toHaveLength(4 * ENGINE_RETRIED_ATTEMPTS)
      expect(asked('storm-503')).toHaveLength(4 * ENGINE_RETRIED_ATTEMPTS)
      for (const r of got.values()) {
        expect(r.reason).toMatch(
          /\(after 2 attempts, each retried by native itself; not tried again in this run\)$/
        )
      }
      expect(retryLines(result)).toHaveLength(2)
      expect(nativeRetryLines(result).length).toBe(3 * 2 * ENGINE_RETRIED_ATTEMPTS)
    } else {
      // skopeo waits out a 429 itself, 5 tries as long as Retry-After says, on each of the 3
      // attempts; a 503 it leaves to the action, once an attempt.
      expect(asked('storm-429')).toHaveLength(5 * 3)
      expect(asked('storm-503')).toHaveLength(3)
      for (const r of got.values()) expect(r.reason).toMatch(/\(after 3 attempts\)$/)
      expect(retryLines(result)).toHaveLength(4)
    }
    // And none of the engine's reads of it got through.
    expect(sameRequests(sourceProxy, asked('storm-429')[0] as Injection)).toHaveLength(
      asked('storm-429').length
    )

    await expectConverges(c)
  })

  /**
   * The target's disk filling up. Its storage is a real small filesystem: a
   * tmpfs mounted for this test (as root, or through password-less sudo, as on
   * GitHub's runners). Where mounting is not allowed (an unprivileged
   * container), the nearest real thing stands in: the proxy answers uploads
   * with the very error docker-registry gives when its disk is full (HTTP 500,
   * `filesystem: write ...: no space left on device`), and the test says so.
   */
  describe('the target disk filling up', () => {
    let mountpoint: string | undefined
    let small: LocalRegistry | undefined
    let smallProxy: FaultProxy | undefined
    let mounted = false
    const asRoot = process.getuid?.() === 0

    const privileged = (args: string[]) =>
      asRoot
        ? spawnSync(args[0] as string, args.slice(1), { stdio: 'ignore' })
        : spawnSync('sudo', ['-n', ...args], { stdio: 'ignore' })

    beforeAll(async () => {
      mountpoint = fs.mkdtempSync(path.join(os.tmpdir(), 'image-mirror-small-disk-'))
      mounted =
        process.platform === 'linux' &&
        privileged(['mount', '-t', 'tmpfs', '-o', 'size=1m,mode=1777', 'tmpfs', mountpoint])
          .status === 0
      if (!mounted) {
        console.warn(
          "faults.e2e: a tmpfs cannot be mounted here (neither root nor password-less sudo, or no CAP_SYS_ADMIN); the disk-full case uses the proxy answering docker-registry's own disk-full error instead of a real full disk"
        )
      }
      small = await startRegistry({ dir: path.join(mountpoint, 'storage'), auth: AUTH })
      smallProxy = await startFaultProxy({ host: small.host })
    }, 60_000)

    afterAll(async () => {
      await smallProxy?.close()
      await small?.stop()
      if (mountpoint) {
        if (mounted) privileged(['umount', mountpoint])
        fs.rmSync(mountpoint, { recursive: true, force: true })
      }
    })

    function available(): number {
      const stats = fs.statfsSync(mountpoint as string)
      return stats.bavail * stats.bsize
    }

    /** Fill the filesystem so that only `leave` bytes stay free. */
    function fill(leave: number): string {
      const filler = path.join(mountpoint as string, 'filler')
      const size = Math.max(0, available() - leave)
      const fd = fs.openSync(filler, 'w')
      try {
        const chunk = Buffer.alloc(64 * 1024)
        let written = 0
        while (written < size) {
          written += fs.writeSync(fd, chunk, 0, Math.min(chunk.length, size - written))
        }
      } finally {
        fs.closeSync(fd)
      }
      return filler
    }

    /**
     * Remove what docker-registry left empty when a write ran out of space: repository
     * links (their directory goes) and blob contents (the blob's directory goes, so the
     * registry answers 404 and the next push writes it again). Returns how many.
     */
    function removeEmptyFiles(dir: string): number {
      let removed = 0
      const walk = (at: string, name: string): void => {
        for (const entry of fs.readdirSync(at, { withFileTypes: true })) {
          const where = path.join(at, entry.name)
          if (entry.isDirectory()) walk(where, name)
          else if (entry.name === name && fs.statSync(where).size === 0) {
            fs.rmSync(at, { recursive: true })
            removed++
            return
          }
        }
      }
      const v2 = path.join(dir, 'docker', 'registry', 'v2')
      walk(path.join(v2, 'repositories'), 'link')
      if (fs.existsSync(path.join(v2, 'blobs'))) walk(path.join(v2, 'blobs'), 'data')
      return removed
    }

    it('images that do not fit fail with a reason, nothing half-copied is reported, and a re-run after freeing space converges', async () => {
      const registry = small as LocalRegistry
      const proxy = smallProxy as FaultProxy
      const c = await prepareCase('disk', 3, { viaProxy: false, targetHost: proxy.host })
      const first: Case = { ...c, images: c.images.slice(0, 1) }

      // One image fits; what it took tells how much the next one needs.
      const before = mounted ? available() : 0
      const seeded = await run(first)
      await checkRun(first, seeded, /^$/, registry)
      expect(results(seeded)[0]?.status).toBe('copied')

      let filler: string | undefined
      if (mounted) {
        const perImage = before - available()
        expect(perImage).toBeGreaterThan(0)
        // Room for about half an image: the disk fills up in the middle of the next copies.
        filler = fill(Math.floor(perImage / 2))
      } else {
        proxy.setRules([
          {
            name: 'disk-full',
            method: 'POST',
            path: /\/blobs\/uploads\/$/,
            fault: {
              kind: 'status',
              status: 500,
              body: JSON.stringify({
                errors: [
                  {
                    code: 'UNKNOWN',
                    message: 'unknown error',
                    detail: `filesystem: write ${registry.dir}/docker/registry/v2/repositories/disk/_uploads/startedat: no space left on device`
                  }
                ]
              })
            }
          }
        ])
      }

      beginFigure(
        mounted ? 'the target disk full (a real 1 MiB tmpfs)' : 'the target disk full (stand-in)'
      )
      const full = await run(c, { retries: '1', concurrency: '2' })
      const got = await checkRun(c, full, /the target failed to store the image/, registry)
      // The faults: the registry's own failed answers on a real full disk, or the stand-in's.
      if (figure) {
        figure.faults = mounted
          ? registry.requests().filter(r => r.status >= 500).length
          : proxy.injected().length
      }
      expect(got.get('disk/img-1')?.status).toBe('unchanged')
      const failed = [...got.values()].filter(r => r.status === 'failed')
      expect(failed.length).toBeGreaterThanOrEqual(1)
      if (mounted) {
        // The registry itself ran out of space, not a stand-in.
        expect(registry.rawLog()).toMatch(/no space left on device/)
      } else {
        expect(proxy.injected().length).toBeGreaterThanOrEqual(failed.length)
      }

      if (filler) fs.rmSync(filler)
      // docker-registry 2.8 writes links and manifests in place: out of space, it leaves
      // the file empty and from then on answers 500 for it, space or not (the empty links
      // of goharbor/harbor#15970). An empty manifest blob is worse: a retried PUT finds the
      // blob "there" and links the tag to it, so every read of that tag is a 500. No client
      // can mend that (a push skips a blob that exists). Two uploads at once (crane sends a
      // config and a layer together; two images run at once) get that far; the way out is
      // the operator's: removing the empty files.
      if (mounted) removeEmptyFiles(registry.dir)
      proxy.setRules([])
      await expectConverges(c, registry)
    })
  })
})
