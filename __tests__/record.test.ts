/**
 * Mirror records against a stand-in registry client: which record is found (only one naming
 * this source and this source index), the referrers API's pages and bounds, and the fallback
 * index kept small without losing other tools' referrers. (sync.e2e and pull-budget.e2e write
 * and read them in real registries.)
 */
import { describe, expect, it } from '@jest/globals'
import { MirrorRecords, RECORD_TYPE, type MirrorRecord } from '../src/copy/record.js'
import { RegistryError, type RegistryClient } from '../src/registry/client.js'
import type { Answer } from '../src/registry/transport.js'

const d = (c: string) => `sha256:${c.repeat(64)}`
const ANNOTATION = 'io.github.image-mirror.record'
const where = { registry: 'dst.io', repository: 'm/nginx' }
const subject = d('5')
const record = (source: string, sourceDigest: string): MirrorRecord => ({
  source,
  sourceDigest,
  offered: [
    { os: 'linux', architecture: 'amd64' },
    { os: 'linux', architecture: 'arm64' }
  ],
  held: [{ os: 'linux', architecture: 'amd64' }]
})
const descriptor = (r: MirrorRecord, digest: string) => ({
  mediaType: 'application/vnd.oci.image.manifest.v1+json',
  digest,
  size: 500,
  artifactType: RECORD_TYPE,
  annotations: { [ANNOTATION]: JSON.stringify(r) }
})
const signature = (n: number) => ({
  mediaType: 'application/vnd.oci.image.manifest.v1+json',
  digest: `sha256:${n.toString(16).padStart(64, '0')}`,
  size: 700,
  artifactType: 'application/vnd.dev.sigstore.bundle.v0.3+json'
})

function answer(status: number, body: unknown, headers: Answer['headers'] = {}): Answer {
  const text = typeof body === 'string' ? body : JSON.stringify(body)
  return { status, headers, body: text, bytes: Buffer.from(text) }
}

/**
 * A client whose referrers API answers `pages` (or `api` when it has none), whose manifests
 * live in `manifests`, and which takes any blob and manifest put.
 */
function fakeClient(options: {
  pages?: Answer[]
  refuse?: RegistryError
  manifests?: Map<string, unknown>
}) {
  const sent: string[] = []
  const manifests = options.manifests ?? new Map<string, unknown>()
  const client = {
    sent,
    manifests,
    async send(
      method: string,
      _registry: string,
      _repository: string,
      path: string,
      opts?: { body?: Buffer }
    ) {
      sent.push(`${method} ${path}`)
      if (path.startsWith('referrers/')) {
        if (options.refuse) throw options.refuse
        const page = Number(/[?&]page=(\d+)/.exec(path)?.[1] ?? 0)
        return options.pages?.[page] ?? answer(404, '')
      }
      if (method === 'HEAD' && path.startsWith('blobs/')) return answer(200, '')
      if (method === 'PUT' && path.startsWith('manifests/')) {
        manifests.set(path.slice('manifests/'.length), JSON.parse(String(opts?.body)))
        return answer(201, '')
      }
      throw new Error(`unexpected ${method} ${path}`)
    },
    async getManifest(_registry: string, _repository: string, reference: string) {
      sent.push(`GET manifests/${reference}`)
      const body = manifests.get(reference)
      return body === undefined ? undefined : { digest: d('9'), mediaType: 'x', size: 1, body }
    },
    nextPage(res: Pick<Answer, 'headers'>) {
      const link = String(res.headers.link ?? '')
      return /<\/v2\/m\/nginx\/([^>]+)>; rel="next"/.exec(link)?.[1]
    }
  }
  return client as typeof client & RegistryClient
}

const nginx = 'docker.io/library/nginx'

describe('MirrorRecords.find', () => {
  it('finds only the record naming this source and this source index', async () => {
    const records = new MirrorRecords(
      fakeClient({
        pages: [
          answer(200, {
            manifests: [
              descriptor(record(nginx, d('1')), d('a')),
              descriptor(record('docker.io/library/other', d('2')), d('b'))
            ]
          })
        ]
      })
    )
    // The source moved on (a newer index), or another source fed the tag: no record, a pull.
    expect(await records.find(where, subject, nginx, d('2'))).toBeUndefined()
    expect(await records.find(where, subject, 'docker.io/library/other', d('1'))).toBeUndefined()
    expect(await records.find(where, subject, nginx, d('1'))).toEqual(record(nginx, d('1')))
  })

  it('follows the pages of the referrers API, and other artifacts do not crowd records out', async () => {
    const others = Array.from({ length: 300 }, (_, i) => signature(i))
    const client = fakeClient({
      pages: [
        answer(
          200,
          { manifests: others },
          { link: `</v2/m/nginx/referrers/${subject}?page=1>; rel="next"` }
        ),
        answer(200, { manifests: [...others, descriptor(record(nginx, d('1')), d('a'))] })
      ]
    })
    const records = new MirrorRecords(client)
    expect(await records.find(where, subject, nginx, d('1'))).toEqual(record(nginx, d('1')))
    expect(client.sent.filter(s => s.startsWith('GET referrers/'))).toHaveLength(2)
  })

  it('reads a bounded number of pages, however many a registry links', async () => {
    const endless = Array.from({ length: 50 }, () =>
      answer(
        200,
        { manifests: [signature(1)] },
        { link: `</v2/m/nginx/referrers/${subject}?page=1>; rel="next"` }
      )
    )
    const client = fakeClient({ pages: endless })
    expect(await new MirrorRecords(client).find(where, subject, nginx, d('1'))).toBeUndefined()
    expect(client.sent.filter(s => s.startsWith('GET referrers/')).length).toBeLessThanOrEqual(4)
  })

  it('a referrers list over the bound is not read, and the API is not taken for missing', async () => {
    const client = fakeClient({
      refuse: new RegistryError('dst.io answered more than 1048576 bytes', 0, true),
      manifests: new Map([[subject.replace(':', '-'), { manifests: [] }]])
    })
    const records = new MirrorRecords(client)
    expect(await records.find(where, subject, nginx, d('1'))).toBeUndefined()
    // Not the fallback tag: the registry has the API, its answer was only too long.
    expect(client.sent).toEqual([
      `GET referrers/${subject}?artifactType=${encodeURIComponent(RECORD_TYPE)}`
    ])
  })

  it('a registry without the API is read through the fallback tag', async () => {
    const client = fakeClient({
      refuse: new RegistryError('HTTP 405', 405, true),
      manifests: new Map<string, unknown>([
        [subject.replace(':', '-'), { manifests: [descriptor(record(nginx, d('1')), d('a'))] }]
      ])
    })
    expect(await new MirrorRecords(client).find(where, subject, nginx, d('1'))).toEqual(
      record(nginx, d('1'))
    )
  })
})

describe('MirrorRecords.write on the fallback tag', () => {
  const head = {
    digest: subject,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    size: 900
  }
  const fallback = subject.replace(':', '-')

  it("keeps a few records per source (tags of one source share a subject), the newest, and other tools' referrers", async () => {
    const older = ['1', '2', '3', '4'].map(c => descriptor(record(nginx, d(c)), d(c)))
    const manifests = new Map<string, unknown>([
      [
        fallback,
        {
          manifests: [
            signature(1),
            ...older,
            descriptor(record('docker.io/library/other', d('6')), d('b'))
          ]
        }
      ]
    ])
    const client = fakeClient({ refuse: new RegistryError('HTTP 404', 404, true), manifests })
    await new MirrorRecords(client).write(where, head, record(nginx, d('7')))
    const index = manifests.get(fallback) as {
      manifests: { digest: string; annotations?: Record<string, string> }[]
    }
    const sources = index.manifests.map(m =>
      m.annotations
        ? (JSON.parse(m.annotations[ANNOTATION] as string) as MirrorRecord).sourceDigest
        : m.digest
    )
    // Four of nginx at most: the oldest (d('1')) gives way to the new one.
    expect(sources).toEqual([signature(1).digest, d('2'), d('3'), d('4'), d('6'), d('7')])
    // And the tag whose record is d('4') still finds it.
    const records = new MirrorRecords(client)
    expect(await records.find(where, subject, nginx, d('4'))).toEqual(record(nginx, d('4')))
  })

  it('leaves an index of more referrers than it reads alone rather than drop any', async () => {
    const many = { manifests: Array.from({ length: 300 }, (_, i) => signature(i)) }
    const manifests = new Map<string, unknown>([[fallback, many]])
    const client = fakeClient({ refuse: new RegistryError('HTTP 404', 404, true), manifests })
    await new MirrorRecords(client).write(where, head, record(nginx, d('2')))
    expect(manifests.get(fallback)).toBe(many)
  })
})
