/**
 * Verify before mirroring (issue 19): an image a policy rule names is copied
 * only when one of the rule's keys signed its manifest digest upstream, in
 * either of cosign's formats: a Sigstore bundle among the digest's referrers
 * (the API, or the `sha256-<hex>` fallback index), or the older `.sig` tag.
 * What signed it is said in the result; when nothing did, the image is
 * `rejected` with what was found, and nothing of it is copied.
 *
 * Signatures are read from the source, each manifest a GET (a pull on Docker
 * Hub, taken from its budget), each payload a small blob. Like `cosign verify
 * --insecure-ignore-tlog`, a key signature is checked on its own: no
 * transparency log is asked (a key's holder is who the policy trusts).
 */
import { debug } from '../action/log.js'
import { repositoryName, type ImageReference } from '../image/references.js'
import { DIGEST } from '../registry/blobs.js'
import { RegistryError, type RegistryClient } from '../registry/client.js'
import { isPermanent } from '../common/errors.js'
import { descriptorsOf, fallbackTag, type Referrers } from '../registry/referrers.js'
import type { PolicyRule } from './policy.js'
import {
  BUNDLE,
  BUNDLE_PREDICATE,
  checkBundle,
  checkSimpleSigning,
  COSIGN_SIGN_PREDICATE
} from './signatures.js'

const SIMPLE_SIGNING = 'application/vnd.dev.cosign.simplesigning.v1+json'
const SIGNATURE_ANNOTATION = 'dev.cosignproject.cosign/signature'
/** Signatures looked at per digest, of each format: enough for key rotations, bounded. */
const MAX_SIGNATURES = 8
const MAX_PAYLOAD_BYTES = 256 * 1024

/** Who signed a verified image, as the summary says it. */
export interface Verified {
  /** The digest whose signature verified (the index, or the one platform image copied). */
  digest: string
  /** `key cosign.pub (SHA256:...)` */
  by: string
  /** The key's path as the policy names it, for the `cosign verify --key` line. */
  key: string
  /** `bundle` (cosign 3) or `simple signing` (cosign's `.sig` tag). */
  format: string
}

export interface VerifyContext {
  client: RegistryClient
  referrers: Referrers
  /** Whether the source repository has a tag (listed once); undefined: not known. */
  hasTag: (source: ImageReference, tag: string) => Promise<boolean | undefined>
}

/** A failed check: the words that go into the `rejected` reason. */
export class NotVerified extends Error {}

/**
 * Find a signature of one of `digests` (the first that verifies wins) by one of the rule's
 * keys. Throws NotVerified saying what was found; registry errors pass through.
 */
export async function verifyImage(
  source: ImageReference,
  digests: readonly string[],
  rule: PolicyRule,
  context: VerifyContext
): Promise<Verified> {
  const found: string[] = []
  for (const digest of digests) {
    const bundles = await bundlesOf(source, digest, context)
    for (const bundle of bundles) {
      const key = checkBundle(bundle, digest, rule.keys)
      if (key) return verified(digest, key, 'bundle')
    }
    const simple = await simpleSigningsOf(source, digest, context)
    for (const { payload, signature } of simple) {
      const key = checkSimpleSigning(payload, signature, digest, rule.keys)
      if (key) return verified(digest, key, 'simple signing')
    }
    const seen = bundles.length + simple.length
    found.push(
      seen === 0
        ? `no signature of ${digest}`
        : `${seen} signature(s) of ${digest}, none by ${rule.keys.length === 1 ? 'that key' : 'those keys'} (or not valid)`
    )
  }
  const keys = rule.keys.map(k => `${k.name} (SHA256:${k.fingerprint})`).join(', ')
  throw new NotVerified(
    `the signature policy (${rule.pattern.text}) asks for a signature by ${keys}: ${repositoryName(source)} has ${found.join('; ')}. Nothing was copied; ask the publisher to sign it, or correct the policy`
  )
}

function verified(digest: string, key: PolicyRule['keys'][number], format: string): Verified {
  return { digest, by: `key ${key.name} (SHA256:${key.fingerprint})`, key: key.name, format }
}

/** cosign 3's bundles for a digest: signatures (not attestations) among its referrers. */
async function bundlesOf(
  source: ImageReference,
  digest: string,
  context: VerifyContext
): Promise<unknown[]> {
  const { client, referrers } = context
  const signature = (d: { artifactType?: string; annotations?: Record<string, unknown> }) => {
    if (d.artifactType !== BUNDLE) return false
    const predicate = d.annotations?.[BUNDLE_PREDICATE]
    // The fallback index may leave the annotation out: read those, and check the statement.
    return predicate === undefined || predicate === COSIGN_SIGN_PREDICATE
  }
  let listed = await referrers.fromApi(source, digest, { artifactType: BUNDLE, keep: signature })
  if (!listed) {
    if ((await context.hasTag(source, fallbackTag(digest))) === false) return []
    const index = await client.getManifest(source.registry, source.repository, fallbackTag(digest))
    listed = descriptorsOf(index?.body).filter(signature)
  }
  // Those said to be signatures first: unmarked ones (attestations among them) after.
  const marked = (d: (typeof listed)[number]) => d.annotations?.[BUNDLE_PREDICATE] !== undefined
  const ordered = [...listed.filter(marked), ...listed.filter(d => !marked(d))]
  const bundles: unknown[] = []
  for (const d of ordered.slice(0, MAX_SIGNATURES)) {
    if (typeof d.digest !== 'string' || !DIGEST.test(d.digest)) continue
    const manifest = await client.getManifest(source.registry, source.repository, d.digest)
    const layer = manifest?.body.layers?.find(l => l.mediaType === BUNDLE)
    if (!layer || !DIGEST.test(layer.digest)) continue
    try {
      const bundle = await client.getBlobJson(
        source.registry,
        source.repository,
        layer.digest,
        MAX_PAYLOAD_BYTES
      )
      if (bundle !== undefined) bundles.push(bundle)
    } catch (error) {
      // A bundle that is not one (not JSON, not its digest) is no signature; the others count.
      if (!(error instanceof RegistryError) || !isPermanent(error)) throw error
      debug(() => `${repositoryName(source)}@${d.digest}: not a bundle: ${String(error)}`)
    }
  }
  debug(() => `${repositoryName(source)}@${digest}: ${bundles.length} signature bundle(s) read`)
  return bundles
}

/** The older format's signatures: the `.sig` tag's layers, payload and annotation. */
async function simpleSigningsOf(
  source: ImageReference,
  digest: string,
  context: VerifyContext
): Promise<{ payload: Buffer; signature: unknown }[]> {
  const { client } = context
  const tag = `${fallbackTag(digest)}.sig`
  if ((await context.hasTag(source, tag)) === false) return []
  const manifest = await client.getManifest(source.registry, source.repository, tag)
  const layers = (manifest?.body.layers ?? []) as {
    digest?: unknown
    mediaType?: unknown
    annotations?: Record<string, unknown>
  }[]
  const out: { payload: Buffer; signature: unknown }[] = []
  for (const layer of layers.slice(0, MAX_SIGNATURES)) {
    if (layer.mediaType !== SIMPLE_SIGNING || typeof layer.digest !== 'string') continue
    if (!DIGEST.test(layer.digest)) continue
    try {
      const payload = await client.getSmallBlob(
        source.registry,
        source.repository,
        layer.digest,
        MAX_PAYLOAD_BYTES
      )
      if (payload) out.push({ payload, signature: layer.annotations?.[SIGNATURE_ANNOTATION] })
    } catch (error) {
      if (!(error instanceof RegistryError) || !isPermanent(error)) throw error
      debug(() => `${repositoryName(source)}:${tag}: a payload not read: ${String(error)}`)
    }
  }
  debug(() => `${repositoryName(source)}@${digest}: ${out.length} older-format signature(s) read`)
  return out
}
