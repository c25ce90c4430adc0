/**
 * What a copy must leave in the target: the source's current content, a
 * `tag@digest` only when the tag points there upstream, and platforms that
 * never shrink. A stand-in client over in-memory manifests; the end-to-end
 * suites (integrity.e2e, integrity.model.e2e) run the same rules for real.
 */
import { describe, expect, it } from '@jest/globals'
import { copyImages } from '../src/copy/copy.js'
import type { CopyEngine, CopyRequest } from '../src/copy/engines/engine.js'
import { expectation, ImageError, type ExpectationOptions } from '../src/copy/expectation.js'
import { parseReference, type ImageReference } from '../src/image/references.js'
import type { Manifest, ManifestBody, RegistryClient } from '../src/registry/client.js'

const INDEX = 'application/vnd.oci.image.index.v1+json'
const IMAGE = 'application/vnd.oci.image.manifest.v1+json'
const d = (c: string) => `sha256:${c.repeat(64)}`

const ref = (text: string): ImageReference => {
  const parsed = parseReference(text)
  if (!parsed.ok) throw new Error(parsed.reason)
  return parsed.ref
}

type Store = Map<string, Manifest>
const platform = (p: string) => {
  const [os, architecture, variant] = p.split('/') as [string, string, string?]
  return { os, architecture, ...(variant ? { variant } : {}) }
}
const index = (digest: string, children: Record<string, string>): Manifest => ({
  digest,
  mediaType: INDEX,
  size: 1,
  body: {
    manifests: Object.entries(children).map(([p, c]) => ({ digest: c, platform: platform(p) }))
  } as ManifestBody
})
const image = (digest: string, config?: string): Manifest => ({
  digest,
  mediaType: IMAGE,
  size: 1,
  body: config ? { config: { digest: config, size: 1 } } : {}
})

function client(
  store: Store,
  blobs: Record<string, unknown> = {},
  options: { noDigest?: boolean; contentType?: string } = {}
) {
  const calls: string[] = []
  const find = (name: string, reference: string) => {
    if (!reference.includes(':')) return store.get(`${name}:${reference}`)
    // By digest: a manifest with that digest under any tag of the repository.
    for (const [key, m] of store) {
      if (key.startsWith(`${name}:`) && m.digest === reference) return m
    }
    return undefined
  }
  const fake = {
    calls,
    async headManifest(registry: string, repository: string, reference: string) {
      calls.push(`HEAD ${registry}/${repository}:${reference}`)
      const m = find(`${registry}/${repository}`, reference)
      if (!m) return undefined
      // Some registries send no digest on HEAD, or a Content-Type that is only JSON.
      const digest = options.noDigest ? '' : m.digest
      return { digest, mediaType: options.contentType ?? m.mediaType, size: m.size }
    },
    async getManifest(registry: string, repository: string, reference: string) {
      calls.push(`GET ${registry}/${repository}:${reference}`)
      return find(`${registry}/${repository}`, reference)
    },
    async getBlobJson(_registry: string, _repository: string, digest: string) {
      calls.push(`BLOB ${digest}`)
      return blobs[digest]
    }
  }
  return fake as typeof fake & RegistryClient
}

const SOURCE = 'src.io/a/app:3.0'
const TARGET = 'dst.io/m/a/app:3.0'
const whole = index(d('1'), { 'linux/amd64': d('a'), 'linux/arm64': d('b'), 'linux/s390x': d('c') })

async function expect_(
  store: Store,
  platforms: ExpectationOptions['platforms'],
  options: {
    severalPlatforms?: boolean
    source?: string
    target?: string
    blobs?: Record<string, unknown>
    noDigest?: boolean
    contentType?: string
  } = {}
) {
  return expectation(ref(options.source ?? SOURCE), ref(options.target ?? TARGET), {
    client: client(store, options.blobs, options),
    platforms,
    severalPlatforms: options.severalPlatforms ?? true
  })
}

describe('tag@digest', () => {
  it('is served only when the tag points at the digest upstream now', async () => {
    const store: Store = new Map([[SOURCE, whole]])
    const ok = await expect_(store, 'all', { source: `${SOURCE}@${d('1')}` })
    expect(ok).toMatchObject({ sourceDigest: d('1'), digest: d('1'), platforms: 'all' })
    const stale = expect_(store, 'all', { source: `${SOURCE}@${d('9')}` })
    await expect(stale).rejects.toThrow(
      `src.io/a/app:3.0 points at ${d('1')} upstream now, not ${d('9')}`
    )
    await expect(stale).rejects.toMatchObject({ rejected: true, permanent: true })
    await expect(stale).rejects.toBeInstanceOf(ImageError)
  })

  it('a tag that does not exist upstream is refused, pointing to the digest form', async () => {
    const store: Store = new Map([['src.io/a/app:1.0', whole]])
    await expect(expect_(store, 'all', { source: `${SOURCE}@${d('1')}` })).rejects.toThrow(
      `ask for src.io/a/app@${d('1')}`
    )
  })
})

describe('platforms never shrink', () => {
  it('a new tag gets the platform asked for, byte for byte', async () => {
    const e = await expect_(new Map([[SOURCE, whole]]), ['linux/arm64'])
    expect(e).toMatchObject({ digest: d('b'), platforms: ['linux/arm64'] })
    expect(e.satisfied).toBeUndefined()
  })

  it('a tag holding the whole image satisfies any platform', async () => {
    const e = await expect_(
      new Map([
        [SOURCE, whole],
        [TARGET, whole]
      ]),
      ['linux/s390x']
    )
    expect(e).toMatchObject({ satisfied: true, digest: d('1'), platforms: 'all' })
  })

  it('a tag holding the platform asked for is satisfied', async () => {
    const e = await expect_(
      new Map([
        [SOURCE, whole],
        [TARGET, image(d('c'))]
      ]),
      ['linux/s390x']
    )
    expect(e).toMatchObject({ satisfied: true, digest: d('c') })
  })

  it('a tag lacking the platform grows to what it held plus what was asked', async () => {
    const store: Store = new Map([
      [SOURCE, whole],
      [TARGET, image(d('c'))]
    ])
    const crane = await expect_(store, ['linux/arm64'])
    expect(crane.platforms).toEqual(['linux/s390x', 'linux/arm64'])
    expect([...(crane.children ?? [])]).toEqual([d('c'), d('b')])
    expect(crane.note).toMatch(/held linux\/s390x; platforms are never taken away/)
    // skopeo copies one platform or all: the tag grows to the whole image.
    const skopeo = await expect_(store, ['linux/arm64'], { severalPlatforms: false })
    expect(skopeo).toMatchObject({ platforms: 'all', digest: d('1') })
    expect(skopeo.note).toMatch(/this engine copies one platform or all of them/)
  })

  it('what it held and what was asked being every platform: the whole index, digest kept', async () => {
    const held = index(d('2'), { 'linux/amd64': d('a'), 'linux/s390x': d('c') })
    const e = await expect_(
      new Map([
        [SOURCE, whole],
        [TARGET, held]
      ]),
      ['linux/arm64']
    )
    expect(e).toMatchObject({ platforms: 'all', digest: d('1') })
  })

  it('after an upstream change, the platforms it held are kept on the new content', async () => {
    const newer = index(d('5'), {
      'linux/amd64': d('6'),
      'linux/arm64': d('7'),
      'linux/s390x': d('8')
    })
    // The target holds s390x of the old content: its config says which platform it is.
    const e = await expect_(
      new Map([
        [SOURCE, newer],
        [TARGET, image(d('c'), d('f'))]
      ]),
      ['linux/amd64'],
      { blobs: { [d('f')]: { os: 'linux', architecture: 's390x' } } }
    )
    expect(e.satisfied).toBeUndefined()
    expect(e.platforms).toEqual(['linux/s390x', 'linux/amd64'])
    expect([...(e.children ?? [])]).toEqual([d('8'), d('6')])
  })

  it('a platform the source lacks is refused, naming what it has', async () => {
    await expect(expect_(new Map([[SOURCE, whole]]), ['linux/riscv64'])).rejects.toMatchObject({
      rejected: true,
      message:
        'the source has no linux/riscv64 image (it has linux/amd64, linux/arm64, linux/s390x)'
    })
  })

  it('a registry that gives no digest on HEAD is answered by the manifest itself', async () => {
    const store: Store = new Map([[SOURCE, whole]])
    const stale = expect_(store, 'all', { source: `${SOURCE}@${d('9')}`, noDigest: true })
    await expect(stale).rejects.toThrow(`points at ${d('1')} upstream now, not ${d('9')}`)
  })

  it('a held index served as plain JSON is still read as an index', async () => {
    const held = index(d('2'), { 'linux/amd64': d('a'), 'linux/s390x': d('c') })
    const e = await expect_(
      new Map([
        [SOURCE, whole],
        [TARGET, held]
      ]),
      ['linux/s390x'],
      { contentType: 'application/json' }
    )
    expect(e).toMatchObject({ satisfied: true, children: new Set([d('a'), d('c')]) })
  })

  it('a held image whose platform cannot be read keeps everything: the whole image', async () => {
    const newer = index(d('5'), {
      'linux/amd64': d('6'),
      'linux/arm64': d('7'),
      'linux/s390x': d('8')
    })
    const e = await expect_(
      new Map([
        [SOURCE, newer],
        [TARGET, image(d('c'), d('f'))]
      ]),
      ['linux/amd64']
    )
    expect(e).toMatchObject({ platforms: 'all', digest: d('5') })
    expect(e.note).toMatch(/held an unknown platform; platforms are never taken away/)
  })

  it('attestations in a held index are not platforms; every child of an asked platform is kept', async () => {
    const source = index(d('1'), {
      'linux/amd64': d('a'),
      'linux/arm64': d('b'),
      'linux/s390x': d('c')
    })
    // Two builds of linux/arm64 (variant v8 and none), as crane's index filter would keep both.
    ;(source.body.manifests ?? []).push({ digest: d('e'), platform: platform('linux/arm64/v8') })
    const held = index(d('2'), { 'linux/amd64': d('a'), 'unknown/unknown': d('0') })
    const e = await expect_(
      new Map([
        [SOURCE, source],
        [TARGET, held]
      ]),
      ['linux/arm64']
    )
    expect([...(e.children ?? [])].sort()).toEqual([d('a'), d('b'), d('e')].sort())
    expect(e.platforms).toEqual(['linux/amd64', 'linux/arm64', 'linux/arm64/v8'])
  })

  it('a digest alone with a platform choice is refused (a subset has another digest)', async () => {
    await expect(
      expect_(new Map([[SOURCE, whole]]), ['linux/amd64'], {
        source: `src.io/a/app@${d('1')}`,
        target: `dst.io/m/a/app@${d('1')}`
      })
    ).rejects.toMatchObject({ rejected: true, message: expect.stringMatching(/digest alone/) })
  })

  it('records what the tag held, so a copy can tell when another run changed it', async () => {
    const absent = await expect_(new Map([[SOURCE, whole]]), ['linux/arm64'])
    expect(absent.held).toBe('')
    const grown = await expect_(
      new Map([
        [SOURCE, whole],
        [TARGET, image(d('c'))]
      ]),
      ['linux/arm64']
    )
    expect(grown.held).toBe(d('c'))
    expect((await expect_(new Map([[SOURCE, whole]]), 'all')).held).toBeUndefined()
  })
})

describe('two runs writing one tag', () => {
  it('a tag changed by another run after it was read is decided again, so nothing is taken away', async () => {
    const store: Store = new Map([
      [SOURCE, whole],
      [TARGET, image(d('a'))]
    ])
    const fake = client(store)
    // Another run (an issue asking for s390x) grows the tag right after this run has read it.
    let reads = 0
    const head = fake.headManifest.bind(fake)
    fake.headManifest = async (registry, repository, reference) => {
      if (`${registry}/${repository}:${reference}` === TARGET && ++reads === 2) {
        store.set(TARGET, index(d('3'), { 'linux/amd64': d('a'), 'linux/s390x': d('c') }))
      }
      return head(registry, repository, reference)
    }
    const copies: CopyRequest[] = []
    const engine: CopyEngine = {
      name: 'fake',
      async copy(request) {
        copies.push(request)
        store.set(TARGET, whole)
      }
    }
    const [result] = await copyImages(
      [{ request: 'x', origin: 'issue', source: SOURCE, target: TARGET, status: 'planned' }],
      {
        client: fake,
        engine,
        platforms: ['linux/arm64'],
        skipUnchanged: true,
        retries: 0,
        concurrency: 1,
        insecure: new Set()
      }
    )
    // Decided again from {amd64, s390x} + arm64 = every platform: the whole image.
    expect(copies.map(c => c.platforms)).toEqual(['all'])
    expect(result?.status).toBe('copied')
  })
})
