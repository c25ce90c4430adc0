/**
 * Verify before mirroring, in the copy's own flow, with a stand-in registry client: what is
 * checked is what is copied. A retry that finds the source tag moved to other content checks
 * that content again, so an image signed on the first attempt cannot carry an unsigned one
 * through on the second. (signatures.e2e runs the policy with cosign and real registries.)
 */
import { describe, expect, it } from '@jest/globals'
import { createHash, generateKeyPairSync, sign } from 'node:crypto'
import { copyImages } from '../src/copy/copy.js'
import { EngineError, type CopyEngine, type CopyRequest } from '../src/copy/engines/engine.js'
import type { MirrorResult } from '../src/image/results.js'
import type { ManifestHead, RegistryClient } from '../src/registry/client.js'
import { parsePolicy } from '../src/verify/policy.js'
import { simpleSigningPayload } from '../__fixtures__/simple-signing.js'

const IMAGE = 'application/vnd.oci.image.manifest.v1+json'
const d = (c: string) => `sha256:${c.repeat(64)}`
const sha = (bytes: Buffer) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`

const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString()
const policy = parsePolicy('src.io/a/x key=cosign.pub', 'policy.txt', () => pem)

/** A `.sig` tag's manifest and payload signing `digest`, as cosign's older format has them. */
function signature(digest: string) {
  const payload = simpleSigningPayload('src.io/a/x', digest)
  const layer = {
    mediaType: 'application/vnd.dev.cosign.simplesigning.v1+json',
    digest: sha(payload),
    size: payload.length,
    annotations: {
      'dev.cosignproject.cosign/signature': sign('sha256', payload, privateKey).toString('base64')
    }
  }
  return { payload, manifest: { schemaVersion: 2, mediaType: IMAGE, layers: [layer] } }
}

describe('verify before copying', () => {
  it('a retry that finds the tag moved to unsigned content rejects it, and copies nothing', async () => {
    const heads = new Map<string, ManifestHead>([
      ['src.io/a/x:1', { digest: d('1'), mediaType: IMAGE, size: 10 }]
    ])
    const signed = signature(d('1'))
    const sigTag = `${d('1').replace(':', '-')}.sig`
    const client = {
      async send(method: string, _registry: string, _repository: string, path: string) {
        // No referrers API here: signatures are found through the tags.
        const status = path.startsWith('referrers/') ? 404 : 200
        return { status, headers: {}, body: '', bytes: Buffer.alloc(0) }
      },
      async headManifest(registry: string, repository: string, reference: string) {
        return heads.get(`${registry}/${repository}:${reference}`)
      },
      async getManifest(registry: string, repository: string, reference: string) {
        if (`${registry}/${repository}` === 'src.io/a/x' && reference === sigTag) {
          return { digest: d('9'), mediaType: IMAGE, size: 1, body: signed.manifest }
        }
        const head = heads.get(`${registry}/${repository}:${reference}`)
        return head ? { ...head, body: {} } : undefined
      },
      async getSmallBlob(_registry: string, _repository: string, digest: string) {
        return digest === sha(signed.payload) ? signed.payload : undefined
      },
      async listTagPages() {
        return { tags: ['1', sigTag], complete: true }
      },
      async listTags() {
        return ['1', sigTag]
      }
    } as unknown as RegistryClient
    const requests: CopyRequest[] = []
    const engine: CopyEngine = {
      name: 'fake',
      async copy(request) {
        requests.push(request)
        // The first copy breaks; meanwhile upstream moves the tag to content nobody signed.
        heads.set('src.io/a/x:1', { digest: d('2'), mediaType: IMAGE, size: 10 })
        throw new EngineError('connection reset', false)
      }
    }
    const request: MirrorResult = {
      request: 'src.io/a/x:1',
      origin: 'images line 1',
      source: 'src.io/a/x:1',
      target: 'dst.io/m/a/x:1',
      status: 'planned'
    }
    const [result] = await copyImages([request], {
      client,
      engine,
      policy,
      platforms: 'all',
      skipUnchanged: true,
      retries: 2,
      retryDelayMs: 1,
      concurrency: 1,
      insecure: new Set()
    })
    // The signed content was tried once; the moved, unsigned content never reached the engine.
    expect(requests.map(r => r.source)).toEqual([`src.io/a/x@${d('1')}`])
    expect(result?.status).toBe('rejected')
    expect(result?.reason).toContain(`no signature of ${d('2')}`)
    expect(result?.verified).toBeUndefined()
  })
})
