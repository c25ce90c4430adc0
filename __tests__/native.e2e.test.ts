/**
 * The native engine, end to end: `NativeEngine.copy` called directly, over
 * the action's registry client, between real docker-registry servers
 * (distribution 2.8) on loopback, with no mock anywhere. What crossed the
 * wire is read from the target's access log (docker-registry's own, which
 * names method, URI and status but no header) and from the fault proxy in
 * front of the source; what landed is read back from the target directly and
 * hashed, blob by blob.
 *
 * Shown here: a blob above monolithicMax goes up in PATCH chunks, and with
 * the default options every blob in one PUT; images in different
 * repositories sharing a base layer upload it once and mount it elsewhere,
 * and a second copy uploads nothing; a platform subset is the child itself,
 * or the source's index with only those children; a blob whose transfer
 * broke is tried again alone; memory stays bounded while a large layer
 * streams through; a source that keeps serving wrong bytes fails the copy
 * with the plain cause and leaves no tag; a large copy says how far it has
 * come.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals'
import { createHash } from 'node:crypto'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import * as v8 from 'node:v8'
import * as vm from 'node:vm'
import { startFaultProxy, type FaultProxy } from '../__fixtures__/fault-proxy.js'
import { EngineError, type CopyRequest } from '../src/copy/engines/engine.js'
import { NativeEngine, type NativeOptions } from '../src/copy/engines/native.js'
import { RegistryClient } from '../src/registry/client.js'
import {
  ensureTools,
  startRegistry,
  type AccessEntry,
  type LocalRegistry
} from '../scripts/lib/local-registry.mjs'
import {
  ACCEPT,
  getManifest,
  headDigest,
  pushImage,
  type ManifestJson
} from '../scripts/lib/seed-images.mjs'

const AUTH = { username: 'native-bot', password: 'Native-Eng1ne-pass-2718' }
const MiB = 1024 * 1024
const KiB = 1024
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json'
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json'

/**
 * Layers from the bench's builder (scripts/lib/bench-images.mjs): a gzip'd
 * tar of pseudo-random, incompressible bytes written to disk and pushed from
 * there as a stream (a 40 MiB layer is never whole in memory), with its
 * keep-alive client that pushes without credentials. It has no declaration
 * file, so it is imported by a name the type checker does not follow, and
 * typed here with what this suite uses of it.
 */
interface Layer {
  digest: string
  diffId: string
  size: number
}
interface PushableBlob {
  digest: string
  size: number
  bytes?: Buffer
}
interface BenchImages {
  writeLayer(file: string, size: number, seed: string): Promise<Layer & PushableBlob>
  registryClient(host: string): {
    pushBlob(repository: string, blob: PushableBlob): Promise<'present' | 'uploaded'>
    pushManifest(repository: string, reference: string, bytes: Buffer): Promise<unknown>
    close(): void
  }
}
const BENCH_IMAGES: string = '../scripts/lib/bench-images.mjs'

/** An image on the source: its manifest's digest, and its config and layers in that order. */
interface SeededImage {
  repository: string
  digest: string
  blobs: SeededBlob[]
}
interface SeededBlob {
  digest: string
  size: number
}

let bench: BenchImages
let source: LocalRegistry
let target: LocalRegistry
/** In front of the source; transparent until a test sets rules. */
let sourceProxy: FaultProxy
let scratch: string
const engines: NativeEngine[] = []

const sha256 = (bytes: Buffer) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`

function authHeader(): Record<string, string> {
  return {
    authorization: `Basic ${Buffer.from(`${AUTH.username}:${AUTH.password}`).toString('base64')}`
  }
}

/** An engine as the action makes one: its own client, the target's credentials, loopback over HTTP. */
function newEngine(
  options: Omit<NativeOptions, 'client'> = {},
  lines: string[] = []
): NativeEngine {
  const client = new RegistryClient({
    insecure: [source.host, sourceProxy.host, target.host],
    credentials: registry => (registry === target.host ? AUTH : undefined),
    userAgent: 'image-mirror (native engine e2e)',
    retryDelayMs: 20
  })
  const engine = new NativeEngine({
    client,
    info: line => lines.push(line),
    retryDelayMs: 20,
    ...options
  })
  engines.push(engine)
  return engine
}

function request(
  from: { host: string; repository: string; digest: string },
  to: { repository: string; tag: string },
  platforms: CopyRequest['platforms'] = 'all'
): CopyRequest {
  return {
    source: `${from.host}/${from.repository}@${from.digest}`,
    target: `${target.host}/${to.repository}:${to.tag}`,
    platforms,
    insecureSource: true,
    insecureTarget: true
  }
}

/** A layer of `size` random bytes (plus the tar's and gzip's few), seeded by its name. */
function layer(name: string, size: number): Promise<Layer & PushableBlob> {
  return bench.writeLayer(path.join(scratch, `${name}.tar.gz`), size, name)
}

/** Push an OCI image of these layers (and a config naming them) to the source. */
async function seedImage(
  repository: string,
  tag: string,
  layers: (Layer & PushableBlob)[]
): Promise<SeededImage> {
  const bytes = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: { Labels: { 'native.e2e': `${repository}:${tag}` } },
      rootfs: { type: 'layers', diff_ids: layers.map(l => l.diffId) }
    })
  )
  const config = { bytes, digest: sha256(bytes), size: bytes.length }
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...pick(config) },
      layers: layers.map(l => ({
        mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
        ...pick(l)
      }))
    })
  )
  const client = bench.registryClient(source.host)
  try {
    for (const blob of [config, ...layers]) await client.pushBlob(repository, blob)
    await client.pushManifest(repository, tag, manifest)
  } finally {
    client.close()
  }
  return { repository, digest: sha256(manifest), blobs: [config, ...layers].map(pick) }
}

const pick = (blob: SeededBlob): SeededBlob => ({ digest: blob.digest, size: blob.size })

async function fetchBytes(
  url: string,
  accept?: string
): Promise<{ status: number; bytes: Buffer }> {
  const res = await fetch(url, { headers: { ...authHeader(), ...(accept ? { accept } : {}) } })
  return { status: res.status, bytes: Buffer.from(await res.arrayBuffer()) }
}

/**
 * Read an image back from the target directly (as the fault suite does): the
 * tag's digest is the expected one, and every manifest and blob under it
 * hashes to its digest, blobs with their stated size. Returns the blobs read.
 */
async function verifyIntact(repository: string, tag: string, digest: string): Promise<string[]> {
  const head = await fetch(`http://${target.host}/v2/${repository}/manifests/${tag}`, {
    method: 'HEAD',
    headers: { ...authHeader(), accept: ACCEPT }
  })
  expect(`${repository}:${tag} ${head.status} ${head.headers.get('docker-content-digest')}`).toBe(
    `${repository}:${tag} 200 ${digest}`
  )
  const blobs: string[] = []
  const walk = async (manifestDigest: string): Promise<void> => {
    const got = await fetchBytes(
      `http://${target.host}/v2/${repository}/manifests/${manifestDigest}`,
      ACCEPT
    )
    expect(`${got.status} ${sha256(got.bytes)}`).toBe(`200 ${manifestDigest}`)
    const manifest = JSON.parse(got.bytes.toString('utf8')) as ManifestJson
    for (const child of manifest.manifests ?? []) await walk(child.digest)
    for (const blob of [manifest.config, ...(manifest.layers ?? [])]) {
      if (!blob) continue
      const data = await fetchBytes(`http://${target.host}/v2/${repository}/blobs/${blob.digest}`)
      expect(`${data.status} ${sha256(data.bytes)} ${data.bytes.length}`).toBe(
        `200 ${blob.digest} ${blob.size}`
      )
      blobs.push(blob.digest)
    }
  }
  await walk(digest)
  return blobs
}

/** Wait until the target has logged the manifest PUT under each tag (the log trails the answer). */
async function loggedTags(...refs: { repository: string; tag: string }[]): Promise<void> {
  for (const { repository, tag } of refs) {
    await target.waitForRequest(
      r => r.method === 'PUT' && r.path === `/v2/${repository}/manifests/${tag}`,
      10_000
    )
  }
}

/**
 * Start the target's log afresh: what was asked before (a read-back's last
 * GETs) may be logged a moment after its answer, so a request of our own is
 * sent and waited for first, then the log is cleared.
 */
async function clearTargetLog(): Promise<void> {
  const marker = `/v2/native-e2e/marker/manifests/m-${Date.now()}-${Math.random().toString(16).slice(2)}`
  const res = await fetch(`http://${target.host}${marker}`, {
    method: 'HEAD',
    headers: authHeader()
  })
  expect(res.status).toBe(404)
  await target.waitForRequest(r => r.path === marker, 10_000)
  target.clearLog()
}

/** The upload session a request belongs to: the id in `/blobs/uploads/<id>`. */
function sessionOf(entry: AccessEntry): string | undefined {
  return /\/blobs\/uploads\/([^/?]+)/.exec(entry.path)?.[1]
}

/** The `digest=` of a PUT that completes an upload. */
function completedDigest(entry: AccessEntry): string | undefined {
  if (entry.method !== 'PUT' || !entry.path.includes('/blobs/uploads/')) return undefined
  return new URL(entry.path, 'http://x').searchParams.get('digest') ?? undefined
}

/** The blob digests whose uploads the target completed (PUT answered 201), each as often as it was. */
function completedUploads(entries: AccessEntry[]): string[] {
  return entries
    .filter(e => e.status === 201)
    .map(completedDigest)
    .filter((d): d is string => d !== undefined)
}

/** Mounts the target granted (POST with `mount=` answered 201): repository, digest, from. */
function grantedMounts(entries: AccessEntry[]): { into: string; digest: string; from: string }[] {
  return entries
    .filter(e => e.method === 'POST' && e.status === 201 && e.path.includes('mount='))
    .map(e => {
      const url = new URL(e.path, 'http://x')
      return {
        into: url.pathname.replace(/^\/v2\/|\/blobs\/uploads\/$/g, ''),
        digest: url.searchParams.get('mount') ?? '',
        from: url.searchParams.get('from') ?? ''
      }
    })
}

const count = <T>(items: T[]) => {
  const counts = new Map<T, number>()
  for (const item of items) counts.set(item, (counts.get(item) ?? 0) + 1)
  return counts
}

/**
 * How much memory `work` took at its peak, over where it started, sampled
 * every 20 ms: RSS, and the live Buffers and ArrayBuffers. RSS alone cannot
 * show a layer held whole here: the jest worker's allocator keeps the pages
 * freed by earlier tests (seeding, other copies), and reading this suite's
 * 40 MiB layer whole into memory grew RSS by as little as 2 MiB. Buffers
 * (process.memoryUsage().arrayBuffers) count the layer's bytes wherever they
 * are, but also pieces already sent that the GC has not collected yet (up to
 * 17 MiB seen), so each sample follows a young-generation GC (about 1 ms; a
 * full GC each time made the copy 20 times slower). What is left is what the
 * copy holds (6 to 10 MiB seen, socket buffers and pieces promoted before
 * they died), and the layer held whole shows as its full size (the control
 * in the test).
 */
async function measureMemory(
  work: () => Promise<void>
): Promise<{ rssMiB: number; buffersMiB: number }> {
  v8.setFlagsFromString('--expose-gc')
  const gc = vm.runInNewContext('gc') as (options?: { type: 'minor' | 'major' }) => void
  // V8 frees the memory of collected ArrayBuffers in the background, a moment after the GC.
  for (let i = 0; i < 3; i++) {
    gc()
    await new Promise(resolve => setTimeout(resolve, 50))
  }
  const before = process.memoryUsage()
  let rss = before.rss
  let buffers = before.arrayBuffers
  const sample = () => {
    rss = Math.max(rss, process.memoryUsage().rss)
    gc({ type: 'minor' })
    buffers = Math.max(buffers, process.memoryUsage().arrayBuffers)
  }
  const sampler = setInterval(sample, 20)
  try {
    await work()
    sample()
  } finally {
    clearInterval(sampler)
  }
  return { rssMiB: (rss - before.rss) / MiB, buffersMiB: (buffers - before.arrayBuffers) / MiB }
}

describe('native engine against real registries', () => {
  beforeAll(async () => {
    await ensureTools()
    bench = (await import(BENCH_IMAGES)) as BenchImages
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'native-e2e-'))
    // The source is anonymous (the bench's builder pushes without credentials); the target asks.
    source = await startRegistry()
    target = await startRegistry({ auth: AUTH })
    sourceProxy = await startFaultProxy({ host: source.host })
  }, 60_000)

  afterEach(() => {
    sourceProxy.setRules([])
  })

  afterAll(async () => {
    for (const engine of engines.splice(0)) engine.dispose()
    await sourceProxy?.close()
    await source?.stop()
    await target?.stop()
    if (scratch) fs.rmSync(scratch, { recursive: true, force: true })
  })

  describe('uploads', () => {
    it('a blob above monolithicMax goes up in PATCH chunks of chunkBytes, then one PUT; docker-registry serves it intact', async () => {
      // A layer of ~3 MiB of random bytes (stored uncompressed: it does not shrink).
      const { digest, blobs } = await seedImage('native/chunked', '1', [
        await layer('chunked-big', 3 * MiB),
        await layer('chunked-small', 16 * KiB)
      ])
      const [config, large, own] = blobs as [SeededBlob, SeededBlob, SeededBlob]
      expect(large.size).toBeGreaterThan(3 * MiB)
      expect(own.size).toBeLessThan(64 * KiB)
      const chunkBytes = 256 * KiB
      const engine = newEngine({ monolithicMax: 64 * KiB, chunkBytes })
      await clearTargetLog()
      await engine.copy(
        request(
          { host: source.host, repository: 'native/chunked', digest },
          { repository: 'mirror/chunked', tag: '1' }
        )
      )
      await loggedTags({ repository: 'mirror/chunked', tag: '1' })

      expect((await verifyIntact('mirror/chunked', '1', digest)).sort()).toEqual(
        blobs.map(b => b.digest).sort()
      )
      // Per upload session: the PATCHes it took (202 each) and the blob its PUT completed.
      const log = target.requests().filter(e => e.status !== 401)
      const sessions = new Map<string, { patches: number; completed?: string }>()
      for (const entry of log) {
        const id = sessionOf(entry)
        if (!id) continue
        const session = sessions.get(id) ?? { patches: 0 }
        if (entry.method === 'PATCH') {
          expect(entry.status).toBe(202)
          session.patches++
        }
        const done = completedDigest(entry)
        if (done && entry.status === 201) session.completed = done
        sessions.set(id, session)
      }
      const byBlob = new Map([...sessions.values()].map(s => [s.completed, s.patches]))
      // The access log records no header: the PATCH count per session stands for the
      // Content-Range pieces (0-262143, 262144-524287, ...), one per chunkBytes.
      expect(byBlob.get(large.digest)).toBe(Math.ceil(large.size / chunkBytes))
      expect(byBlob.get(large.digest)).toBeGreaterThanOrEqual(12)
      // The small ones went whole, in one PUT.
      expect(byBlob.get(config.digest)).toBe(0)
      expect(byBlob.get(own.digest)).toBe(0)
      expect(sessions.size).toBe(3)
      expect(engine.stats).toMatchObject({
        uploaded: 3,
        mounted: 0,
        present: 0,
        retried: 0,
        pushedBytes: config.size + large.size + own.size,
        pulledBytes: config.size + large.size + own.size
      })
    })

    it('with the default options each blob goes in one PUT, no PATCH', async () => {
      const pushed = await pushImage(source.host, 'native/small', '1', { seed: 'native-small' })
      const engine = newEngine()
      await clearTargetLog()
      await engine.copy(
        request(
          { host: source.host, repository: 'native/small', digest: pushed.digest },
          { repository: 'mirror/small', tag: '1' }
        )
      )
      await loggedTags({ repository: 'mirror/small', tag: '1' })
      const blobs = await verifyIntact('mirror/small', '1', pushed.digest)
      expect(blobs).toHaveLength(2)

      const log = target.requests().filter(e => e.status !== 401)
      expect(log.filter(e => e.method === 'PATCH')).toEqual([])
      const uploads = log.filter(e => e.path.includes('/blobs/uploads/'))
      // Per blob: a POST that opened the upload (202), then the PUT with the whole blob (201).
      expect(uploads.map(e => `${e.method} ${e.status}`).sort()).toEqual([
        'POST 202',
        'POST 202',
        'PUT 201',
        'PUT 201'
      ])
      expect(completedUploads(log).sort()).toEqual([...blobs].sort())
      expect(engine.stats).toMatchObject({ uploaded: 2, mounted: 0, present: 0 })
    })
  })

  describe('a target that refuses one request as too large (413)', () => {
    it('gets that blob again in PATCH chunks (from then on that registry gets chunks), said once in the log', async () => {
      const { digest, blobs } = await seedImage('native/too-large', '1', [
        await layer('too-large-a', 1 * MiB),
        await layer('too-large-b', 20 * KiB)
      ])
      const [, large] = blobs as [SeededBlob, SeededBlob, SeededBlob]
      // A proxy's body limit: the first blob PUT with a body is refused, as nginx words it.
      const targetProxy = await startFaultProxy({ host: target.host })
      try {
        targetProxy.setRules([
          {
            name: 'body-limit',
            method: 'PUT',
            path: new RegExp(`/blobs/uploads/.*digest=${encodeURIComponent(large.digest)}`),
            times: 1,
            fault: {
              kind: 'status',
              status: 413,
              body: '<html>413 Request Entity Too Large</html>'
            }
          }
        ])
        const lines: string[] = []
        const client = new RegistryClient({
          insecure: [source.host, targetProxy.host],
          credentials: registry => (registry === targetProxy.host ? AUTH : undefined),
          userAgent: 'image-mirror (native engine e2e)',
          retryDelayMs: 20
        })
        const engine = new NativeEngine({
          client,
          info: line => lines.push(line),
          chunkBytes: 256 * KiB
        })
        engines.push(engine)
        await clearTargetLog()
        await engine.copy({
          source: `${source.host}/native/too-large@${digest}`,
          target: `${targetProxy.host}/mirror/too-large:1`,
          platforms: 'all',
          insecureSource: true,
          insecureTarget: true
        })
        await loggedTags({ repository: 'mirror/too-large', tag: '1' })
        await verifyIntact('mirror/too-large', '1', digest)
        expect(targetProxy.injected().map(i => i.rule)).toEqual(['body-limit'])
        expect(
          lines.filter(l =>
            /refused a blob of [\d.]+ MiB in one request \(413\); sending blobs to it in chunks of 0\.3 MiB/.test(
              l
            )
          )
        ).toHaveLength(1)
        // The refused blob went in chunks (their PATCHes reached the registry).
        const patches = target.requests().filter(e => e.method === 'PATCH' && e.status === 202)
        expect(patches.length).toBeGreaterThanOrEqual(Math.ceil(large.size / (256 * KiB)))
        expect(engine.stats.retried).toBe(0)
      } finally {
        await targetProxy.close()
      }
    })
  })

  describe('dedup and mounts across repositories of one target', () => {
    let images: SeededImage[]
    /** Every distinct blob of the five images (2 bases, 5 configs, 5 own layers): digest → size. */
    let distinct: Map<string, number>
    /** The engine that copied the five, kept across the tests below. */
    let engine: NativeEngine
    const copyOf = (i: number, tag = '1') => {
      const image = images[i] as SeededImage
      return request(
        { host: source.host, repository: image.repository, digest: image.digest },
        { repository: `mirror/dedup-${i}`, tag }
      )
    }

    beforeAll(async () => {
      // Five repositories: 0, 1 and 2 share one base layer, 3 and 4 another.
      const bases = [await layer('dedup-base-a', MiB), await layer('dedup-base-b', MiB)]
      images = []
      for (const i of [0, 1, 2, 3, 4]) {
        const base = bases[i < 3 ? 0 : 1] as Layer & PushableBlob
        const own = await layer(`dedup-own-${i}`, 64 * KiB)
        images.push(await seedImage(`native/dedup-${i}`, '1', [base, own]))
      }
      distinct = new Map(images.flatMap(i => i.blobs).map(b => [b.digest, b.size]))
    }, 60_000)

    it('each distinct blob is uploaded once (PUT 201); the other repositories mount it (POST mount= 201); stats agree', async () => {
      expect(distinct.size).toBe(12)
      const distinctBytes = [...distinct.values()].reduce((a, b) => a + b, 0)
      engine = newEngine()
      await clearTargetLog()
      // Three at once (two of them share a base), then two one after the other.
      await Promise.all([0, 1, 3].map(i => engine.copy(copyOf(i))))
      await engine.copy(copyOf(2))
      await engine.copy(copyOf(4))
      const all = [0, 1, 2, 3, 4].map(i => ({ repository: `mirror/dedup-${i}`, tag: '1' }))
      await loggedTags(...all)
      const log = target.requests()

      for (const [i, image] of images.entries()) {
        expect((await verifyIntact(`mirror/dedup-${i}`, '1', image.digest)).sort()).toEqual(
          image.blobs.map(b => b.digest).sort()
        )
      }
      // Every distinct blob crossed once: its upload completed once, nothing twice.
      const uploads = count(completedUploads(log))
      expect([...uploads.keys()].sort()).toEqual([...distinct.keys()].sort())
      expect([...uploads.values()].every(n => n === 1)).toBe(true)
      // The bases reached the other repositories by mount, from one that had them.
      const mounts = grantedMounts(log)
      const bases = [images[0], images[3]].map(i => (i as SeededImage).blobs[1]?.digest)
      expect(mounts).toHaveLength(3)
      for (const mount of mounts) {
        expect(bases).toContain(mount.digest)
        const holders = images
          .map((image, i) => ({ image, repository: `mirror/dedup-${i}` }))
          .filter(({ image }) => image.blobs[1]?.digest === mount.digest)
          .map(h => h.repository)
        expect(holders).toContain(mount.into)
        expect(holders).toContain(mount.from)
        expect(mount.from).not.toBe(mount.into)
      }
      // Each repository got its base one way or the other, once.
      const placedBase = [
        ...mounts.map(m => m.into),
        ...log
          .filter(e => e.status === 201 && bases.includes(completedDigest(e)))
          .map(e => /^\/v2\/(.+)\/blobs\/uploads\//.exec(e.path)?.[1])
      ].sort()
      expect(placedBase).toEqual(all.map(a => a.repository).sort())
      expect(engine.stats).toEqual({
        uploaded: 12,
        mounted: 3,
        present: 0,
        retried: 0,
        pushedBytes: distinctBytes,
        pulledBytes: distinctBytes
      })
      expect(engine.report()).toBe(
        `native: 12 blob(s) uploaded (${(distinctBytes / MiB).toFixed(1)} MiB sent), 3 mounted from another repository, 0 already there`
      )
    })

    it('a second copy of the same image by a new engine finds every blob present (HEAD 200) and sends none', async () => {
      const again = newEngine()
      await clearTargetLog()
      await again.copy(copyOf(2))
      await loggedTags({ repository: 'mirror/dedup-2', tag: '1' })
      const blobRequests = target
        .requests()
        .filter(e => e.status !== 401 && e.path.includes('/blobs/'))
      expect(blobRequests.map(e => `${e.method} ${e.status}`)).toEqual([
        'HEAD 200',
        'HEAD 200',
        'HEAD 200'
      ])
      expect(blobRequests.map(e => e.path.split('/blobs/')[1]).sort()).toEqual(
        (images[2] as SeededImage).blobs.map(b => b.digest).sort()
      )
      expect(again.stats).toMatchObject({ uploaded: 0, mounted: 0, present: 3, pushedBytes: 0 })
    })

    it('the same engine, the same image under another tag of a repository it mounted the base into: no blob request at all', async () => {
      // mirror/dedup-2 got its base by mount in the first test; this engine put it there.
      await clearTargetLog()
      await engine.copy(copyOf(2, '2'))
      await loggedTags({ repository: 'mirror/dedup-2', tag: '2' })
      expect(await headDigest(target.host, 'mirror/dedup-2', '2', AUTH)).toBe(images[2]?.digest)
      const blobRequests = target
        .requests()
        .filter(e => e.path.includes('/blobs/'))
        .map(e => `${e.method} ${e.path} ${e.status}`)
      expect(blobRequests).toEqual([])
      expect(engine.stats).toMatchObject({ uploaded: 12, mounted: 3, present: 3 })
    })
  })

  describe('platforms', () => {
    let index: { digest: string; body: ManifestJson & { annotations: Record<string, string> } }
    const children = new Map<string, string>()

    beforeAll(async () => {
      const pushed = await pushImage(source.host, 'native/multi', 'plain', {
        platforms: ['linux/amd64', 'linux/arm64', 'linux/arm/v7'],
        seed: 'native-multi'
      })
      for (const child of pushed.children) children.set(child.platform, child.digest)
      // The same children in an index with fields of its own, which a subset must keep.
      const plain = await getManifest(source.host, 'native/multi', 'plain')
      const body = {
        ...plain.manifest,
        annotations: { 'org.opencontainers.image.source': 'https://example.com/native-multi' }
      }
      const bytes = Buffer.from(JSON.stringify(body))
      const put = await fetch(`http://${source.host}/v2/native/multi/manifests/1`, {
        method: 'PUT',
        headers: { 'content-type': OCI_INDEX },
        body: bytes
      })
      expect(put.status).toBe(201)
      index = { digest: sha256(bytes), body }
    })

    const copy = (to: string, platforms: CopyRequest['platforms']) =>
      newEngine().copy(
        request(
          { host: source.host, repository: 'native/multi', digest: index.digest },
          { repository: to, tag: '1' },
          platforms
        )
      )

    it('one platform: the child manifest itself is put under the tag (its digest kept)', async () => {
      await copy('mirror/arm64-only', ['linux/arm64'])
      const arm64 = children.get('linux/arm64') as string
      expect(await headDigest(target.host, 'mirror/arm64-only', '1', AUTH)).toBe(arm64)
      const got = await getManifest(target.host, 'mirror/arm64-only', '1', AUTH)
      expect(got.mediaType).toBe(OCI_MANIFEST)
      expect(await verifyIntact('mirror/arm64-only', '1', arm64)).toHaveLength(2)
      // The other platforms' images were not copied.
      expect(
        await headDigest(
          target.host,
          'mirror/arm64-only',
          children.get('linux/amd64') as string,
          AUTH
        )
      ).toBeUndefined()
    })

    it('two platforms: an index holding exactly those two children, every other field kept', async () => {
      await copy('mirror/two', ['linux/amd64', 'linux/arm64'])
      const got = await getManifest(target.host, 'mirror/two', '1', AUTH)
      expect(got.mediaType).toBe(OCI_INDEX)
      expect(got.manifest).toEqual({
        ...index.body,
        manifests: (index.body.manifests ?? []).filter(m =>
          ['amd64', 'arm64'].includes(m.platform?.architecture ?? '')
        )
      })
      expect(got.manifest.manifests?.map(m => m.digest)).toEqual([
        children.get('linux/amd64'),
        children.get('linux/arm64')
      ])
      expect(got.digest).not.toBe(index.digest)
      expect(await verifyIntact('mirror/two', '1', got.digest)).toHaveLength(4)
      expect(
        await headDigest(target.host, 'mirror/two', children.get('linux/arm/v7') as string, AUTH)
      ).toBeUndefined()
    })

    it("'all': the source index as it is, its digest kept, every child with it", async () => {
      await copy('mirror/all', 'all')
      expect(await headDigest(target.host, 'mirror/all', '1', AUTH)).toBe(index.digest)
      expect(await verifyIntact('mirror/all', '1', index.digest)).toHaveLength(6)
    })
  })

  describe('faults at the source', () => {
    it('a blob whose transfer broke (cut, corrupted) is read again alone, not the whole image', async () => {
      const pushed = await pushImage(source.host, 'native/flaky', '1', {
        platforms: ['linux/amd64', 'linux/arm64'],
        seed: 'native-flaky'
      })
      const [amd64, arm64] = await Promise.all(
        pushed.children.map(c => getManifest(source.host, 'native/flaky', c.digest))
      )
      const cut = amd64?.manifest.layers?.[0]?.digest as string
      const flipped = arm64?.manifest.config?.digest as string
      const blobs = [amd64, arm64].flatMap(m => [
        m?.manifest.config?.digest as string,
        ...(m?.manifest.layers ?? []).map(l => l.digest)
      ])
      expect(new Set(blobs).size).toBe(4)
      sourceProxy.setRules([
        {
          name: 'cut-layer',
          method: 'GET',
          path: new RegExp(`/native/flaky/blobs/${cut}$`),
          times: 1,
          fault: { kind: 'cut-response', afterBytes: 16 }
        },
        {
          name: 'flip-config',
          method: 'GET',
          path: new RegExp(`/native/flaky/blobs/${flipped}$`),
          times: 1,
          fault: { kind: 'corrupt-response', at: 10 }
        }
      ])
      const lines: string[] = []
      const engine = newEngine({ blobAttempts: 3 }, lines)
      await engine.copy(
        request(
          { host: sourceProxy.host, repository: 'native/flaky', digest: pushed.digest },
          { repository: 'mirror/flaky', tag: '1' }
        )
      )
      expect(
        sourceProxy
          .injected()
          .map(i => i.rule)
          .sort()
      ).toEqual(['cut-layer', 'flip-config'])
      expect(await verifyIntact('mirror/flaky', '1', pushed.digest)).toHaveLength(4)

      // The two faulted blobs were asked for again; the other blobs and the manifests once.
      const gets = count(
        sourceProxy
          .requests()
          .filter(r => r.method === 'GET' && r.path.startsWith('/v2/native/flaky/'))
          .map(r => r.path.replace('/v2/native/flaky/', ''))
      )
      for (const blob of blobs) {
        expect(`${blob} ${gets.get(`blobs/${blob}`)}`).toBe(
          `${blob} ${blob === cut || blob === flipped ? 2 : 1}`
        )
      }
      for (const manifest of [pushed.digest, ...pushed.children.map(c => c.digest)]) {
        expect(gets.get(`manifests/${manifest}`)).toBe(1)
      }
      const retries = lines.filter(l => l.startsWith('native: retrying blob'))
      expect(retries).toHaveLength(2)
      expect(retries.find(l => l.includes(cut))).toMatch(
        /^native: retrying blob sha256:[0-9a-f]{64} of .*mirror\/flaky in \d+\.\d s \(try 2 of 3\): /
      )
      expect(retries.find(l => l.includes(flipped))).toMatch(/digest did not match/)
      expect(engine.stats).toMatchObject({ uploaded: 4, retried: 2 })
    })

    it('a source that serves wrong bytes every time: EngineError with the plain cause, no tag on the target', async () => {
      const pushed = await pushImage(source.host, 'native/rotten', '1', { seed: 'native-rotten' })
      const { manifest } = await getManifest(source.host, 'native/rotten', pushed.digest)
      const layer = manifest.layers?.[0]?.digest as string
      sourceProxy.setRules([
        {
          name: 'rotten-layer',
          method: 'GET',
          path: new RegExp(`/native/rotten/blobs/${layer}$`),
          fault: { kind: 'corrupt-response', at: 5 }
        }
      ])
      const lines: string[] = []
      const engine = newEngine({ blobAttempts: 2 }, lines)
      await clearTargetLog()
      const failure = await engine
        .copy(
          request(
            { host: sourceProxy.host, repository: 'native/rotten', digest: pushed.digest },
            { repository: 'mirror/rotten', tag: '1' }
          )
        )
        .then(
          () => undefined,
          (error: unknown) => error
        )
      expect(failure).toBeInstanceOf(EngineError)
      expect((failure as EngineError).message).toMatch(
        /^a blob read from the source did not match its digest \(corrupted or truncated on the way\); it was not stored \(native: .*digest did not match/
      )
      expect((failure as EngineError).permanent).toBe(false)
      // Each of its tries met the fault; then the copy gave up.
      expect(sourceProxy.injected().filter(i => i.rule === 'rotten-layer')).toHaveLength(2)
      expect(lines.filter(l => l.startsWith('native: retrying blob'))).toHaveLength(1)
      // Nothing under the tag, and the bad layer was never completed on the target.
      expect(await headDigest(target.host, 'mirror/rotten', '1', AUTH)).toBeUndefined()
      const log = target.requests()
      expect(log.filter(e => e.path.includes('/manifests/') && e.method === 'PUT')).toEqual([])
      expect(completedUploads(log)).not.toContain(layer)
    })
  })

  describe('a large layer', () => {
    let big: SeededImage

    beforeAll(async () => {
      // ~40 MiB of random bytes, written to disk and pushed from there (never whole in memory).
      big = await seedImage('native/big', '1', [
        await layer('big-40mib', 40 * MiB),
        await layer('big-small', 16 * KiB)
      ])
    }, 60_000)

    it('streams through with bounded memory: live buffers and RSS grow far less than the layer', async () => {
      const layer = big.blobs[1] as SeededBlob
      expect(layer.size).toBeGreaterThan(40 * MiB)
      const engine = newEngine()
      const copied = await measureMemory(() =>
        engine.copy(
          request(
            { host: source.host, repository: 'native/big', digest: big.digest },
            { repository: 'mirror/big', tag: '1' }
          )
        )
      )
      // The whole layer held in memory would be 40 MiB and more of live buffers. RSS is
      // bounded too, though it would not show much more here (see measureMemory).
      expect(copied.buffersMiB).toBeLessThan(24)
      expect(copied.rssMiB).toBeLessThan(24)
      expect(await verifyIntact('mirror/big', '1', big.digest)).toHaveLength(3)
      expect(engine.stats.pushedBytes).toBe(big.blobs.reduce((a, b) => a + b.size, 0))

      // The control: the same layer read whole into memory, by the same client, shows.
      const client = new RegistryClient({ insecure: [source.host] })
      const held: Buffer[] = []
      const holding = await measureMemory(async () => {
        const opened = await client.open(source.host, 'native/big', `blobs/${layer.digest}`)
        for await (const chunk of opened?.response as AsyncIterable<Buffer>) held.push(chunk)
      })
      client.dispose()
      expect(held.reduce((a, c) => a + c.length, 0)).toBe(layer.size)
      expect(holding.buffersMiB).toBeGreaterThan(layer.size / MiB - 1)
      held.length = 0
    })

    it('says how far a large copy has come: X of Y MiB (N %), R MiB/s', async () => {
      const lines: string[] = []
      const engine = newEngine(
        { progressMinBytes: 1, progressEveryMs: 50, monolithicMax: 8 * MiB, chunkBytes: 4 * MiB },
        lines
      )
      const req = request(
        { host: source.host, repository: 'native/big', digest: big.digest },
        { repository: 'mirror/progress', tag: '1' }
      )
      await engine.copy(req)
      const total = (big.blobs.reduce((a, b) => a + b.size, 0) / MiB).toFixed(1)
      const shape = new RegExp(
        `^native: ${req.target.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: (\\d+\\.\\d) of ${total.replace('.', '\\.')} MiB \\((\\d+) %\\), \\d+\\.\\d MiB/s$`
      )
      const progress = lines.filter(l => l.startsWith(`native: ${req.target}: `))
      expect(progress.length).toBeGreaterThan(0)
      let last = -1
      for (const line of progress) {
        const match = shape.exec(line)
        expect(match).not.toBeNull()
        const done = Number(match?.[1])
        const percent = Number(match?.[2])
        expect(done).toBeGreaterThanOrEqual(last)
        expect(done).toBeLessThanOrEqual(Number(total))
        expect(percent).toBeLessThanOrEqual(100)
        last = done
      }
      expect(await verifyIntact('mirror/progress', '1', big.digest)).toHaveLength(3)
    })
  })
})
