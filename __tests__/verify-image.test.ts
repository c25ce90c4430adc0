/**
 * verifyImage as the copy calls it, over a stand-in source (manifests and blobs in maps) and
 * a test Sigstore (__fixtures__/sigstore.ts): a signature counts only when it is by the
 * policy's signer AND about the digest being copied. A valid keyless signature of another
 * image, hung on this one, is refused in both of cosign's formats, and so is a bundle that
 * carries something else to verify beside its statement. A trusted root that cannot be had
 * does not hide a key signature that verifies, and is no verdict when nothing else does.
 */
import { beforeAll, describe, expect, it } from '@jest/globals'
import { createHash, generateKeyPairSync, sign } from 'node:crypto'
import { startTestSigstore, type TestSigstore } from '../__fixtures__/sigstore.js'
import type { ImageReference } from '../src/image/references.js'
import type { RegistryClient } from '../src/registry/client.js'
import type { Referrers } from '../src/registry/referrers.js'
import { TrustRoot } from '../src/verify/keyless.js'
import { parsePolicy, type PolicyRule } from '../src/verify/policy.js'
import { NotVerified, verifyImage, type VerifyContext } from '../src/verify/verify.js'
import { simpleSigningPayload } from '../__fixtures__/simple-signing.js'

const BUNDLE = 'application/vnd.dev.sigstore.bundle.v0.3+json'
const SIMPLE = 'application/vnd.dev.cosign.simplesigning.v1+json'
const D = `sha256:${'1'.repeat(64)}`
const OTHER = `sha256:${'2'.repeat(64)}`
const WORKFLOW = 'https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main'
const GITHUB = 'https://token.actions.githubusercontent.com'
const signer = { identity: WORKFLOW, issuer: GITHUB }
const source: ImageReference = { registry: 'src.io', repository: 'acme/app', tag: '1' }
const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`
const key = generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
const pem = key.publicKey.export({ type: 'spki', format: 'pem' }).toString()

let sigstore: TestSigstore
let root: TrustRoot

beforeAll(async () => {
  sigstore = await startTestSigstore()
  root = TrustRoot.fromJSON(sigstore.trustedRoot)
})

/** What the source holds for D: bundles as referrers, `.sig` layers under its tag. */
function sourceWith(found: {
  bundles?: unknown[]
  sigLayers?: { payload: Buffer; annotations: Record<string, string> }[]
}) {
  const manifests = new Map<string, unknown>()
  const blobs = new Map<string, Buffer>()
  const put = (bytes: Buffer) => {
    blobs.set(sha(bytes), bytes)
    return sha(bytes)
  }
  const listed = (found.bundles ?? []).map(bundle => {
    const layer = put(Buffer.from(JSON.stringify(bundle)))
    const manifest = { schemaVersion: 2, layers: [{ mediaType: BUNDLE, digest: layer }] }
    const digest = put(Buffer.from(JSON.stringify(manifest)))
    manifests.set(digest, manifest)
    return { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest, artifactType: BUNDLE }
  })
  const sigTag = `${D.replace(':', '-')}.sig`
  if (found.sigLayers) {
    manifests.set(sigTag, {
      schemaVersion: 2,
      layers: found.sigLayers.map(l => ({
        mediaType: SIMPLE,
        digest: put(l.payload),
        annotations: l.annotations
      }))
    })
  }
  const client = {
    async getManifest(_r: string, _repo: string, reference: string) {
      const body = manifests.get(reference)
      return body ? { body } : undefined
    },
    async getBlobJson(_r: string, _repo: string, digest: string) {
      const bytes = blobs.get(digest)
      return bytes ? JSON.parse(bytes.toString('utf8')) : undefined
    },
    async getSmallBlob(_r: string, _repo: string, digest: string) {
      return blobs.get(digest)
    }
  }
  const referrers = {
    async fromApi(_s: unknown, digest: string, options: { keep: (d: unknown) => boolean }) {
      return digest === D ? listed.filter(options.keep) : []
    }
  }
  return (trustRoot: () => Promise<TrustRoot> = async () => root): VerifyContext => ({
    client: client as unknown as RegistryClient,
    referrers: referrers as unknown as Referrers,
    hasTag: async (_s, tag) => manifests.has(tag),
    trustRoot
  })
}

function ruleOf(line: string): PolicyRule {
  const policy = parsePolicy(line, 'policy.txt', () => pem)
  return policy.ruleFor(source)!
}
const keyless = () => ruleOf(`src.io/acme/app identity=${WORKFLOW} issuer=${GITHUB}`)
const legacyLayer = async (digest: string) => {
  const sig = await sigstore.legacy('src.io/acme/app', digest, signer)
  return {
    payload: sig.payload,
    annotations: {
      'dev.cosignproject.cosign/signature': sig.signature,
      'dev.sigstore.cosign/certificate': sig.certificate,
      'dev.sigstore.cosign/bundle': sig.rekorBundle
    }
  }
}
const rejected = (promise: Promise<unknown>) => expect(promise).rejects.toBeInstanceOf(NotVerified)

describe('verifyImage, keyless', () => {
  it('a bundle about the digest by the policy’s identity verifies', async () => {
    const context = sourceWith({ bundles: [await sigstore.bundle('src.io/acme/app', D, signer)] })()
    await expect(verifyImage(source, [D], keyless(), context)).resolves.toMatchObject({
      digest: D,
      identity: WORKFLOW,
      issuer: GITHUB,
      format: 'bundle'
    })
  })

  it('an older-format .sig about the digest by the policy’s identity verifies', async () => {
    const context = sourceWith({ sigLayers: [await legacyLayer(D)] })()
    await expect(verifyImage(source, [D], keyless(), context)).resolves.toMatchObject({
      digest: D,
      identity: WORKFLOW,
      format: 'simple signing'
    })
  })

  it('a valid signature by that identity of another image, hung on this one, is refused (both formats)', async () => {
    const elsewhere = sourceWith({
      bundles: [await sigstore.bundle('src.io/acme/app', OTHER, signer)],
      sigLayers: [await legacyLayer(OTHER)]
    })()
    await rejected(verifyImage(source, [D], keyless(), elsewhere))
  })

  it('a bundle with a message signature beside its statement is refused', async () => {
    const bundle = await sigstore.bundle('src.io/acme/app', D, signer)
    const other = await sigstore.legacy('src.io/acme/app', OTHER, signer)
    const mixed = {
      ...bundle,
      messageSignature: {
        messageDigest: {
          algorithm: 'SHA2_256',
          digest: createHash('sha256').update(other.payload).digest('base64')
        },
        signature: other.signature
      }
    }
    const context = sourceWith({ bundles: [mixed] })()
    await rejected(verifyImage(source, [D], keyless(), context))
  })
})

describe('verifyImage when the trusted root cannot be had', () => {
  const unreachable = async (): Promise<TrustRoot> => {
    throw new Error('TUF repository unreachable')
  }

  it('a key signature further on still verifies', async () => {
    const payload = simpleSigningPayload('src.io/acme/app', D)
    const keySigned = {
      payload,
      annotations: {
        'dev.cosignproject.cosign/signature': sign('sha256', payload, key.privateKey).toString(
          'base64'
        )
      }
    }
    const context = sourceWith({
      bundles: [await sigstore.bundle('src.io/acme/app', D, signer)],
      sigLayers: [keySigned]
    })(unreachable)
    const rule = ruleOf(`src.io/acme/app key=cosign.pub identity=${WORKFLOW} issuer=${GITHUB}`)
    await expect(verifyImage(source, [D], rule, context)).resolves.toMatchObject({
      key: 'cosign.pub',
      format: 'simple signing'
    })
  })

  it('with only keyless signatures, it is the root’s failure that is thrown, not a verdict', async () => {
    const context = sourceWith({ bundles: [await sigstore.bundle('src.io/acme/app', D, signer)] })(
      unreachable
    )
    await expect(verifyImage(source, [D], keyless(), context)).rejects.toThrow(
      'TUF repository unreachable'
    )
    await expect(verifyImage(source, [D], keyless(), context)).rejects.not.toBeInstanceOf(
      NotVerified
    )
  })
})
