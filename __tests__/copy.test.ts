/**
 * The copy orchestration with a stand-in registry client and engine: retries,
 * permanence, the pool bound, and one image's failure not stopping others.
 * (The end-to-end suite runs it with real registries and skopeo.)
 */
import { describe, expect, it } from '@jest/globals'
import {
  copyImages,
  ENGINE_RETRIED_ATTEMPTS,
  COMPARE_CONCURRENCY,
  expandTagFilters,
  scrub,
  startOrder
} from '../src/copy/copy.js'
import { platformMatches } from '../src/registry/client.js'
import { EngineError, type CopyEngine, type CopyRequest } from '../src/copy/engines/engine.js'
import type { ManifestHead, RegistryClient } from '../src/registry/client.js'
import type { MirrorResult } from '../src/image/results.js'
import { PullBudgetError, PullBudgets } from '../src/registry/pull-budget.js'

const d = (c: string) => `sha256:${c.repeat(64)}`
const INDEX = 'application/vnd.oci.image.index.v1+json'
const IMAGE = 'application/vnd.oci.image.manifest.v1+json'

/** A client over an in-memory map of `registry/repo:ref` → head. */
function fakeClient(
  store: Map<string, ManifestHead>,
  tags: string[] = [],
  headers: Record<string, string> = {},
  bodies: Map<string, object> = new Map()
) {
  const calls: string[] = []
  const client = {
    calls,
    /** Only the HEAD after a copy comes this way; `headers` are its answer's. */
    async send(method: string, registry: string, repository: string, path: string) {
      calls.push(`${method} ${registry}/${repository}/${path}`)
      return { status: 200, headers, body: '', bytes: Buffer.alloc(0) }
    },
    async headManifest(registry: string, repository: string, reference: string) {
      calls.push(`HEAD ${registry}/${repository}:${reference}`)
      return store.get(`${registry}/${repository}:${reference}`)
    },
    async getManifest(registry: string, repository: string, reference: string) {
      calls.push(`GET ${registry}/${repository}:${reference}`)
      const head = store.get(`${registry}/${repository}:${reference}`)
      return head ? { ...head, body: bodies.get(reference) ?? {} } : undefined
    },
    async listTags() {
      return tags
    },
    async listTagPages() {
      return { tags, complete: true }
    }
  }
  return client as typeof client & RegistryClient
}

function planned(source: string, target: string): MirrorResult {
  return { request: source, origin: 'images line 1', source, target, status: 'planned' }
}

/** An engine that "copies" by writing the source's head under the target, failing as told. */
function fakeEngine(store: Map<string, ManifestHead>, failures: Record<string, Error[]> = {}) {
  const requests: CopyRequest[] = []
  let running = 0
  let peak = 0
  const engine: CopyEngine & { requests: CopyRequest[]; peak: () => number } = {
    name: 'fake',
    requests,
    peak: () => peak,
    async copy(request) {
      requests.push(request)
      running++
      peak = Math.max(peak, running)
      await new Promise(r => setTimeout(r, 5))
      running--
      const planned = failures[request.target]
      const failure = planned?.shift()
      if (failure) throw failure
      const [repo, digest] = request.source.split('@') as [string, string]
      void repo
      store.set(request.target, { digest, mediaType: INDEX, size: 1 })
    }
  }
  return engine
}

const base = {
  platforms: 'all' as const,
  skipUnchanged: true,
  retries: 2,
  retryDelayMs: 1,
  concurrency: 2,
  insecure: new Set<string>()
}

describe('copyImages', () => {
  it('copies what differs, skips what matches, pins the source by digest', async () => {
    const store = new Map<string, ManifestHead>([
      ['src.io/a/x:1', { digest: d('1'), mediaType: INDEX, size: 1 }],
      ['src.io/a/y:1', { digest: d('2'), mediaType: INDEX, size: 1 }],
      ['dst.io/m/a/y:1', { digest: d('2'), mediaType: INDEX, size: 1 }]
    ])
    const client = fakeClient(store)
    const engine = fakeEngine(store)
    const out = await copyImages(
      [planned('src.io/a/x:1', 'dst.io/m/a/x:1'), planned('src.io/a/y:1', 'dst.io/m/a/y:1')],
      { ...base, client, engine }
    )
    expect(out.map(r => [r.status, r.digest])).toEqual([
      ['copied', d('1')],
      ['unchanged', d('2')]
    ])
    expect(engine.requests).toHaveLength(1)
    expect(engine.requests[0]?.source).toBe(`src.io/a/x@${d('1')}`)
    expect(client.calls.filter(c => c.startsWith('GET src.io'))).toEqual([])
  })

  it('retries a transient failure, and stops at once on a permanent one', async () => {
    const store = new Map<string, ManifestHead>([
      ['src.io/a/x:1', { digest: d('1'), mediaType: INDEX, size: 1 }],
      ['src.io/a/y:1', { digest: d('2'), mediaType: INDEX, size: 1 }]
    ])
    const engine = fakeEngine(store, {
      'dst.io/a/x:1': [new EngineError('connection reset', false)],
      'dst.io/a/y:1': [new EngineError('unauthorized: pw=hunter22', true)]
    })
    const out = await copyImages(
      [planned('src.io/a/x:1', 'dst.io/a/x:1'), planned('src.io/a/y:1', 'dst.io/a/y:1')],
      { ...base, client: fakeClient(store), engine, secrets: ['hunter22'] }
    )
    expect(out[0]?.status).toBe('copied')
    expect(out[1]?.status).toBe('failed')
    expect(out[1]?.reason).toBe('unauthorized: pw=***')
    expect(engine.requests.filter(r => r.target === 'dst.io/a/y:1')).toHaveLength(1)
    expect(engine.requests.filter(r => r.target === 'dst.io/a/x:1')).toHaveLength(2)
  })

  it('gives a failure the engine had retried itself two attempts, not all of them', async () => {
    const store = new Map<string, ManifestHead>([
      ['src.io/a/x:1', { digest: d('1'), mediaType: INDEX, size: 1 }],
      ['src.io/a/y:1', { digest: d('2'), mediaType: INDEX, size: 1 }]
    ])
    const limited = () => new EngineError('429 Too Many Requests', false, true)
    const engine = fakeEngine(store, {
      'dst.io/a/x:1': [limited(), limited(), limited(), limited()],
      // Retried by the engine once, then a failure it did not retry, then success.
      'dst.io/a/y:1': [limited(), new EngineError('connection refused', false)]
    })
    const out = await copyImages(
      [planned('src.io/a/x:1', 'dst.io/a/x:1'), planned('src.io/a/y:1', 'dst.io/a/y:1')],
      { ...base, retries: 3, client: fakeClient(store), engine }
    )
    expect(ENGINE_RETRIED_ATTEMPTS).toBe(2)
    expect(out[0]?.status).toBe('failed')
    expect(out[0]?.reason).toBe(
      '429 Too Many Requests (after 2 attempts, each retried by fake itself; not tried again in this run)'
    )
    expect(engine.requests.filter(r => r.target === 'dst.io/a/x:1')).toHaveLength(2)
    expect(out[1]?.status).toBe('copied')
    expect(engine.requests.filter(r => r.target === 'dst.io/a/y:1')).toHaveLength(3)
  })

  it('says each retry before it waits, and notes on the result which attempt worked', async () => {
    const store = new Map<string, ManifestHead>([
      ['src.io/a/x:1', { digest: d('1'), mediaType: INDEX, size: 1 }]
    ])
    const engine = fakeEngine(store, {
      'dst.io/a/x:1': [
        new EngineError('connection reset by pw=hunter22', false),
        new EngineError('503 Service Unavailable', false)
      ]
    })
    const retries: { attempt: number; attempts: number; reason: string }[] = []
    const out = await copyImages([planned('src.io/a/x:1', 'dst.io/a/x:1')], {
      ...base,
      client: fakeClient(store),
      engine,
      secrets: ['hunter22'],
      onRetry: (_result, { attempt, attempts, reason }) =>
        retries.push({ attempt, attempts, reason })
    })
    expect(retries).toEqual([
      { attempt: 2, attempts: 3, reason: 'connection reset by pw=***' },
      { attempt: 3, attempts: 3, reason: '503 Service Unavailable' }
    ])
    expect(out[0]?.status).toBe('copied')
    expect(out[0]?.note).toBe('copied on attempt 3 of 3; attempt 2 failed: 503 Service Unavailable')
  })

  it('fails an image whose target does not verify, naming both digests', async () => {
    const store = new Map<string, ManifestHead>([
      ['src.io/a/x:1', { digest: d('1'), mediaType: INDEX, size: 1 }]
    ])
    const engine: CopyEngine = {
      name: 'liar',
      async copy(request) {
        store.set(request.target, { digest: d('9'), mediaType: INDEX, size: 1 })
      }
    }
    const [r] = await copyImages([planned('src.io/a/x:1', 'dst.io/a/x:1')], {
      ...base,
      client: fakeClient(store),
      engine
    })
    expect(r?.status).toBe('failed')
    expect(r?.reason).toContain(d('9'))
    expect(r?.reason).toContain(d('1'))
  })

  it('says a missing source does not exist, without retrying', async () => {
    const engine = fakeEngine(new Map())
    const [r] = await copyImages([planned('src.io/a/gone:1', 'dst.io/a/gone:1')], {
      ...base,
      client: fakeClient(new Map()),
      engine
    })
    expect(r?.status).toBe('failed')
    expect(r?.reason).toMatch(/does not exist on src\.io/)
    expect(engine.requests).toHaveLength(0)
  })

  it('keeps to the concurrency bound and keeps the order of results', async () => {
    const store = new Map<string, ManifestHead>()
    const items = Array.from({ length: 12 }, (_, i) => {
      store.set(`src.io/a/i${i}:1`, { digest: d((i % 9).toString()), mediaType: INDEX, size: 1 })
      return planned(`src.io/a/i${i}:1`, `dst.io/a/i${i}:1`)
    })
    const engine = fakeEngine(store)
    const out = await copyImages(items, {
      ...base,
      concurrency: 3,
      client: fakeClient(store),
      engine
    })
    expect(engine.peak()).toBeLessThanOrEqual(3)
    expect(engine.peak()).toBeGreaterThan(1)
    expect(out.map(r => r.source)).toEqual(items.map(r => r.source))
  })

  it('compares up to COMPARE_CONCURRENCY images at once, whatever the copy concurrency', async () => {
    const store = new Map<string, ManifestHead>()
    let heads = 0
    let peakHeads = 0
    const items = Array.from({ length: 40 }, (_, i) => {
      store.set(`src.io/a/i${i}:1`, { digest: d(String(i % 9)), mediaType: INDEX, size: 1 })
      store.set(`dst.io/a/i${i}:1`, { digest: d(String(i % 9)), mediaType: INDEX, size: 1 })
      return planned(`src.io/a/i${i}:1`, `dst.io/a/i${i}:1`)
    })
    const client = fakeClient(store)
    const head = client.headManifest.bind(client)
    client.headManifest = async (registry: string, repository: string, reference: string) => {
      heads++
      peakHeads = Math.max(peakHeads, heads)
      await new Promise(r => setTimeout(r, 5))
      heads--
      return head(registry, repository, reference)
    }
    const engine = fakeEngine(store)
    const out = await copyImages(items, { ...base, concurrency: 2, client, engine })
    expect(out.every(r => r.status === 'unchanged')).toBe(true)
    expect(engine.requests).toHaveLength(0)
    expect(peakHeads).toBeGreaterThan(2)
    expect(peakHeads).toBeLessThanOrEqual(COMPARE_CONCURRENCY)
  })

  it('starts images one repository after another, and keeps the order of results', async () => {
    expect(startOrder([[0, 1, 2], [3], [4, 5]])).toEqual([0, 3, 4, 1, 5, 2])
    expect(startOrder([])).toEqual([])
    const store = new Map<string, ManifestHead>()
    const list: MirrorResult[] = []
    for (const [repo, tag, c] of [
      ['a', '1', '1'],
      ['a', '2', '2'],
      ['a', '3', '3'],
      ['b', '1', '4'],
      ['c', '1', '5'],
      ['c', '2', '6']
    ] as const) {
      store.set(`src.io/${repo}:${tag}`, { digest: d(c), mediaType: INDEX, size: 1 })
      list.push(planned(`src.io/${repo}:${tag}`, `dst.io/m/${repo}:${tag}`))
    }
    const engine = fakeEngine(store)
    const out = await copyImages(list, {
      ...base,
      concurrency: 1,
      client: fakeClient(store),
      engine
    })
    expect(engine.requests.map(r => r.target)).toEqual([
      'dst.io/m/a:1',
      'dst.io/m/b:1',
      'dst.io/m/c:1',
      'dst.io/m/a:2',
      'dst.io/m/c:2',
      'dst.io/m/a:3'
    ])
    expect(out.map(r => r.target)).toEqual(list.map(r => r.target))
    expect(out.every(r => r.status === 'copied')).toBe(true)
  })

  it('in a dry run (no engine) compares only: planned or unchanged', async () => {
    const store = new Map<string, ManifestHead>([
      ['src.io/a/x:1', { digest: d('1'), mediaType: INDEX, size: 1 }],
      ['src.io/a/y:1', { digest: d('2'), mediaType: INDEX, size: 1 }],
      ['dst.io/a/y:1', { digest: d('2'), mediaType: INDEX, size: 1 }]
    ])
    const out = await copyImages(
      [planned('src.io/a/x:1', 'dst.io/a/x:1'), planned('src.io/a/y:1', 'dst.io/a/y:1')],
      { ...base, client: fakeClient(store) }
    )
    expect(out.map(r => r.status)).toEqual(['planned', 'unchanged'])
  })
})

describe('copyImages with pull budgets', () => {
  const reading = (remaining: number) => ({ remaining, limit: 100, windowSeconds: 21600 })
  const images = () =>
    new Map<string, ManifestHead>([
      ['src.io/a/x:1', { digest: d('1'), mediaType: IMAGE, size: 1 }],
      ['src.io/a/y:1', { digest: d('2'), mediaType: IMAGE, size: 1 }]
    ])
  const two = [planned('src.io/a/x:1', 'dst.io/a/x:1'), planned('src.io/a/y:1', 'dst.io/a/y:1')]

  it('a pull limit met with no reading (a bare Docker Hub 429) still stops every later copy', async () => {
    const store = images()
    const budgets = new PullBudgets()
    budgets.exhausted('src.io', 'HTTP 429 for GET src.io/a/w/manifests/1')
    const engine = fakeEngine(store)
    const out = await copyImages(two, { ...base, client: fakeClient(store), engine, budgets })
    expect(out.map(r => r.status)).toEqual(['deferred', 'deferred'])
    expect(out[0]?.reason).toMatch(/^src\.io said its pull limit is reached/)
    expect(engine.requests).toEqual([])
  })

  /** Copy `two`, one at a time, the first refused by the engine with `message`. */
  async function refusedOnce(message: string) {
    const store = images()
    const budgets = new PullBudgets()
    budgets.observe('src.io', reading(50))
    const engine = fakeEngine(store, { 'dst.io/a/x:1': [new EngineError(message, false)] })
    const client = fakeClient(store)
    const out = await copyImages(two, { ...base, concurrency: 1, client, engine, budgets })
    return { out, engine, budgets }
  }

  it("the engine's pull-limit error defers that image and the rest from the source, untried", async () => {
    const { out, engine } = await refusedOnce(
      'GET https://src.io/v2/a/x/manifests/sha256:1: TOOMANYREQUESTS: You have reached your pull rate limit.'
    )
    expect(out.map(r => r.status)).toEqual(['deferred', 'deferred'])
    expect(engine.requests.map(r => r.target)).toEqual(['dst.io/a/x:1'])
  })

  it('a pull-limit error naming only the target spends the target, not the source', async () => {
    const { out, budgets } = await refusedOnce(
      'HEAD https://dst.io/v2/a/x/blobs/sha256:1: You have reached your pull rate limit'
    )
    expect(out.map(r => r.status)).toEqual(['deferred', 'copied'])
    expect(out[0]?.reason).toMatch(/^dst\.io said its pull limit is reached/)
    expect(budgets.applies('dst.io')).toBe(true)
  })

  it('a budget met while verifying a copy fails the image: it was attempted, not deferred', async () => {
    const store = images()
    const client = fakeClient(store)
    const head = client.headManifest.bind(client)
    client.headManifest = async (registry, repository, reference) => {
      if (registry === 'dst.io' && store.has(`dst.io/${repository}:${reference}`)) {
        throw new PullBudgetError('dst.io said its pull limit is reached (HTTP 429)')
      }
      return head(registry, repository, reference)
    }
    const out = await copyImages([two[0] as MirrorResult], {
      ...base,
      client,
      engine: fakeEngine(store)
    })
    expect(out[0]?.status).toBe('failed')
    expect(out[0]?.reason).toMatch(
      /^copied, but not verified: dst\.io said its pull limit is reached/
    )
  })

  it('copies learning their cost by reading an index do so one at a time: no read is spent on a copy that cannot fit', async () => {
    // Two indexes too large for their size to bound their cost; 4 pulls left: one read and one
    // copy of an index of two (3) fit, and then nothing more. Read both, and neither fits.
    const big = { digest: d('1'), mediaType: INDEX, size: 100_000 }
    const store = new Map<string, ManifestHead>([
      ['src.io/a/x:1', big],
      ['src.io/a/y:1', { ...big, digest: d('2') }]
    ])
    const child = { mediaType: IMAGE, size: 1, platform: { os: 'linux', architecture: 'amd64' } }
    const index = {
      manifests: [
        { ...child, digest: d('3') },
        { ...child, digest: d('4') }
      ]
    }
    const bodies = new Map<string, object>([
      [d('1'), index],
      [d('2'), index]
    ])
    const client = fakeClient(store, [], {}, bodies)
    const budgets = new PullBudgets()
    let left = 4
    budgets.observe('src.io', reading(left))
    // Each read is a pull, and its answer says what is left (as the real client reads it).
    const read = client.getManifest.bind(client)
    client.getManifest = async (registry, repository, reference) => {
      budgets.observe('src.io', reading(--left))
      return read(registry, repository, reference)
    }
    const out = await copyImages(two, { ...base, client, engine: fakeEngine(store), budgets })
    expect(out.map(r => r.status)).toEqual(['copied', 'deferred'])
    expect(client.calls.filter(c => c.startsWith('GET src.io'))).toEqual([
      `GET src.io/a/x:${d('1')}`
    ])
  })

  it('pulls a copy held go back only when the read after it brought a reading', async () => {
    const store = images()
    const budgets = new PullBudgets()
    budgets.observe('src.io', reading(10))
    const copy = (client: ReturnType<typeof fakeClient>) =>
      copyImages([two[0] as MirrorResult], { ...base, client, engine: fakeEngine(store), budgets })
    // The HEAD after the copy carries a reading (which counted the copy's pull): it goes back.
    const counted = fakeClient(store, [], { 'ratelimit-remaining': '10;w=21600' })
    expect((await copy(counted))[0]?.status).toBe('copied')
    expect(counted.calls).toContain('HEAD src.io/a/x/manifests/1')
    expect(budgets.reading('src.io')?.remaining).toBe(10)
    store.delete('dst.io/a/x:1')
    // Without a reading in that answer, the pull is counted as spent.
    expect((await copy(fakeClient(store)))[0]?.status).toBe('copied')
    expect(budgets.reading('src.io')?.remaining).toBe(9)
  })
})

describe('expandTagFilters', () => {
  const filter: MirrorResult = {
    ...planned('src.io/a/x', 'dst.io/a/x'),
    tagFilter: '/^3\\.2\\d$/'
  }
  it('turns a filter into one result per matching tag, sorted', async () => {
    const out = await expandTagFilters(
      [filter],
      fakeClient(new Map(), ['3.21', '3.19', '3.20', 'latest'])
    )
    expect(out.map(r => [r.source, r.target])).toEqual([
      ['src.io/a/x:3.20', 'dst.io/a/x:3.20'],
      ['src.io/a/x:3.21', 'dst.io/a/x:3.21']
    ])
    expect(out.every(r => r.tagFilter === undefined && r.status === 'planned')).toBe(true)
  })
  it('defers a filter whose tags a spent pull budget kept from being listed', async () => {
    const client = fakeClient(new Map())
    client.listTagPages = () =>
      Promise.reject(new PullBudgetError('src.io said its pull limit is reached'))
    const [r] = await expandTagFilters([filter], client)
    expect(r?.status).toBe('deferred')
    expect(r?.reason).toBe(
      'the tags of src.io/a/x were not listed: src.io said its pull limit is reached'
    )
  })
  it('rejects a filter that matches nothing, saying how many tags were listed', async () => {
    const [r] = await expandTagFilters([filter], fakeClient(new Map(), ['1', '2']))
    expect(r?.status).toBe('rejected')
    expect(r?.reason).toMatch(
      /no tag .* matches .* \(2 tag\(s\) listed: 2 not matching the regex \(1, 2\)\)/
    )
  })
})

describe('expandTagFilters with tag policies', () => {
  const tags = [
    '1.25.5',
    '1.26.0',
    '1.26.1',
    '1.27.0-rc.1',
    '1.27.0',
    '1.27.0-alpine',
    '1.27',
    'latest'
  ]
  const policy = (tagFilter: string): MirrorResult => ({
    ...planned('src.io/a/x', 'dst.io/a/x'),
    tagFilter
  })
  it('selects what the policy says, and the first image says what was chosen and why', async () => {
    const out = await expandTagFilters(
      [policy('semver(>=1.26) newest(2) exclude(1.26.1)')],
      fakeClient(new Map(), tags)
    )
    expect(out.map(r => r.source)).toEqual(['src.io/a/x:1.26.0', 'src.io/a/x:1.27.0'])
    expect(out[0]?.selection).toEqual({
      policy: 'semver(>=1.26) newest(2) exclude(1.26.1)',
      seen: 8,
      selected: 2,
      first: ['1.26.0', '1.27.0'],
      leftOut: [
        { reason: 'outside the range', count: 1, first: ['1.25.5'] },
        { reason: 'excluded', count: 1, first: ['1.26.1'] },
        { reason: 'a pre-release', count: 1, first: ['1.27.0-rc.1'] },
        { reason: 'a variant', count: 1, first: ['1.27.0-alpine'] },
        { reason: 'not a version', count: 2, first: ['1.27', 'latest'] }
      ]
    })
    expect(out[1]?.selection).toBeUndefined()
    expect(out[1]?.note).toBe('matched semver(>=1.26) newest(2) exclude(1.26.1)')
  })
  it('a tag two entries select is copied once, the other entry named in its note', async () => {
    const out = await expandTagFilters(
      [
        planned('src.io/a/x:1.27.0', 'dst.io/a/x:1.27.0'),
        policy('newest(2)'),
        policy('semver(>=1.26.1)')
      ],
      fakeClient(new Map(), tags)
    )
    expect(out.map(r => r.source)).toEqual(['src.io/a/x:1.27.0', 'src.io/a/x:1.26.1'])
    expect(out[0]?.note).toBe('also matched newest(2); also matched semver(>=1.26.1)')
    expect(out[1]?.note).toBe('matched newest(2); also matched semver(>=1.26.1)')
    // Each policy still says what it chose, on an image it chose.
    expect(out[1]?.selection?.policy).toBe('newest(2)')
    expect(out[0]?.selection?.policy).toBe('semver(>=1.26.1)')
  })

  it('a tag an entry pins to a digest is still chosen by a policy: the pin is served only while upstream agrees', async () => {
    const pin = `@sha256:${'a'.repeat(64)}`
    const out = await expandTagFilters(
      [planned(`src.io/a/x:1.27.0${pin}`, `dst.io/a/x:1.27.0${pin}`), policy('newest(1)')],
      fakeClient(new Map(), tags)
    )
    // Both are copied or refused on their own: a stale pin is rejected (expectation.ts) and the
    // policy's 1.27.0 still follows upstream; a current pin and the policy write the same digest.
    expect(out.map(r => r.source)).toEqual([`src.io/a/x:1.27.0${pin}`, 'src.io/a/x:1.27.0'])
  })

  it('a tag list cut short (over 1000 pages) is refused, not chosen from in part', async () => {
    const client = fakeClient(new Map(), tags)
    client.listTagPages = async () => ({ tags, complete: false })
    const [r] = await expandTagFilters([policy('newest(1)')], client)
    expect(r?.status).toBe('rejected')
    expect(r?.reason).toMatch(
      /lists more than 1000 pages of tags; a tag policy would choose from part of them/
    )
  })

  it('a policy that selects nothing is rejected with what it left out', async () => {
    const [r] = await expandTagFilters([policy('semver(>=2)')], fakeClient(new Map(), tags))
    expect(r?.status).toBe('rejected')
    expect(r?.reason).toBe(
      'no tag of src.io/a/x matches semver(>=2) (8 tag(s) listed: 4 outside the range (1.25.5, 1.26.0, 1.26.1, 1.27.0); 1 a pre-release (1.27.0-rc.1); 1 a variant (1.27.0-alpine); 2 not a version (1.27, latest))'
    )
    expect(r?.selection?.selected).toBe(0)
  })
})

describe('helpers', () => {
  it('matches platforms, the variant only when asked for', () => {
    expect(
      platformMatches({ os: 'linux', architecture: 'arm64', variant: 'v8' }, 'linux/arm64')
    ).toBe(true)
    expect(
      platformMatches({ os: 'linux', architecture: 'arm', variant: 'v6' }, 'linux/arm/v7')
    ).toBe(false)
    expect(platformMatches({ os: 'linux', architecture: 'amd64' }, 'linux/arm64')).toBe(false)
  })
  it('scrubs secrets out of reasons', () => {
    expect(scrub('auth failed for me:pa55word@host', ['pa55word'])).toBe(
      'auth failed for me:***@host'
    )
  })
})
