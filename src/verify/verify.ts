/**
 * Verify before mirroring (issue 19): an image a policy rule names is copied
 * only when one of the rule's keys or keyless identities signed its manifest
 * digest upstream, in either of cosign's formats: a Sigstore bundle among the
 * digest's referrers (the API, or the `sha256-<hex>` fallback index), or the
 * older `.sig` tag. What signed it is said in the result; when nothing did,
 * the image is `rejected` with what was found, and nothing of it is copied.
 *
 * Signatures are read from the source, each manifest a GET (a pull on Docker
 * Hub, taken from its budget), each payload a small blob. Like `cosign verify
 * --insecure-ignore-tlog`, a key signature is checked on its own: no
 * transparency log is asked (a key's holder is who the policy trusts). A
 * keyless one is checked against the trusted root (keyless.ts), offline: its
 * proofs travel with it.
 */
import { debug } from '../action/log.js'
import { repositoryName, type ImageReference } from '../image/references.js'
import type { MirrorResult } from '../image/results.js'
import { DIGEST } from '../registry/blobs.js'
import { RegistryError, type RegistryClient } from '../registry/client.js'
import { isPermanent } from '../common/errors.js'
import { descriptorsOf, fallbackTag, type Referrers } from '../registry/referrers.js'
import {
  hasCertificate,
  hasMessageSignature,
  legacyBundle,
  matcherText,
  ruleMet,
  signerWords,
  type Signer
} from './keyless.js'
import type { TrustRoot } from './keyless.js'
import type { PolicyRule } from './policy.js'
import {
  BUNDLE,
  BUNDLE_PREDICATE,
  checkBundle,
  checkSimpleSigning,
  COSIGN_SIGN_PREDICATE,
  simpleSigningAbout,
  statementAbout
} from './signatures.js'

const SIMPLE_SIGNING = 'application/vnd.dev.cosign.simplesigning.v1+json'
const SIGNATURE_ANNOTATION = 'dev.cosignproject.cosign/signature'
/** Signatures looked at per digest, of each format: enough for key rotations, bounded. */
const MAX_SIGNATURES = 8
const MAX_PAYLOAD_BYTES = 256 * 1024

/** Who signed a verified image, as the result and the summary say it. */
export type Verified = NonNullable<MirrorResult['verified']>

export interface VerifyContext {
  client: RegistryClient
  referrers: Referrers
  /** Whether the source repository has a tag (listed once); undefined: not known. */
  hasTag: (source: ImageReference, tag: string) => Promise<boolean | undefined>
  /** The trusted root for keyless signatures, asked for only when one is found. */
  trustRoot: () => Promise<TrustRoot>
  /** Its file's name when the user gave one. */
  trustRootName?: string
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
  let unrooted: unknown
  for (const digest of digests) {
    const keyless = new KeylessCheck(rule, context)
    const bundles = await bundlesOf(source, digest, context)
    for (const bundle of bundles) {
      if (hasCertificate(bundle)) {
        // Checked as cosign 3 signs: a DSSE envelope whose statement names the digest, and
        // nothing else to verify instead (a message signature beside it).
        if (!statementAbout(bundle, digest) || hasMessageSignature(bundle)) continue
        const signer = await keyless.check(bundle)
        if (signer) return { digest, ...signer, format: 'bundle' }
        continue
      }
      const key = checkBundle(bundle, digest, rule.keys)
      if (key) return verified(digest, key, 'bundle')
    }
    const simple = await simpleSigningsOf(source, digest, context)
    for (const { payload, signature, annotations } of simple) {
      const key = checkSimpleSigning(payload, signature, digest, rule.keys)
      if (key) return verified(digest, key, 'simple signing')
      const bundle = typeof signature === 'string' && legacyBundle(annotations, payload, signature)
      if (!bundle || !simpleSigningAbout(payload, digest)) continue
      const signer = await keyless.check(bundle, payload)
      if (signer) return { digest, ...signer, format: 'simple signing' }
    }
    unrooted ??= keyless.unrooted
    const seen = bundles.length + simple.length
    found.push(
      seen === 0
        ? `no signature of ${digest}`
        : `${seen} signature(s) of ${digest}, none by ${whom(rule)}${keyless.words() || ' (or not valid)'}`
    )
  }
  // Keyless signatures were found but could not be checked: no verdict on the image.
  if (unrooted !== undefined) throw unrooted
  throw new NotVerified(
    `the signature policy (${rule.pattern.text}) asks for a signature by ${requirementWords(rule)}: ${repositoryName(source)} has ${found.join('; ')}. Nothing was copied; ask the publisher to sign it, or correct the policy`
  )
}

function verified(digest: string, key: PolicyRule['keys'][number], format: string): Verified {
  return { digest, by: `key ${key.name} (SHA256:${key.fingerprint})`, key: key.name, format }
}

/** `that key`, `those identities`, `those signers`: what the rule names, for the words. */
function whom(rule: PolicyRule): string {
  const { keys, identities } = rule
  if (identities.length === 0) return keys.length === 1 ? 'that key' : 'those keys'
  if (keys.length === 0) return identities.length === 1 ? 'that identity' : 'those identities'
  return 'those signers'
}

/** What a rule asks for, in words. */
function requirementWords(rule: PolicyRule): string {
  return [
    ...rule.keys.map(k => `key ${k.name} (SHA256:${k.fingerprint})`),
    ...rule.identities.map(
      i => `identity ${matcherText(i.identity)} (issuer ${matcherText(i.issuer)})`
    )
  ].join(', ')
}

/**
 * The keyless signatures of one digest, checked against the trusted root and then the rule's
 * identities; what was found that did not count is kept for the rejection's words.
 */
class KeylessCheck {
  private readonly others: Signer[] = []
  private readonly failures: string[] = []
  /** Why the trusted root could not be had, when a keyless signature needed it. */
  unrooted: unknown

  constructor(
    private readonly rule: PolicyRule,
    private readonly context: VerifyContext
  ) {}

  /** The signer in the result's words when it verifies and the rule names it. */
  async check(
    bundle: unknown,
    artifact?: Buffer
  ): Promise<Pick<Verified, 'by' | 'identity' | 'issuer' | 'trustedRoot'> | undefined> {
    if (this.rule.identities.length === 0) return undefined
    let root: TrustRoot
    try {
      root = await this.context.trustRoot()
    } catch (error) {
      // A key signature further on may still verify: the failure counts only if none does.
      this.unrooted ??= error
      return undefined
    }
    let signer: Signer
    try {
      signer = root.verify(bundle, artifact)
    } catch (error) {
      this.failures.push(error instanceof Error ? error.message : String(error))
      return undefined
    }
    if (!ruleMet(signer, this.rule.identities)) {
      this.others.push(signer)
      return undefined
    }
    const { trustRootName } = this.context
    return {
      by: signerWords(signer),
      identity: signer.identity,
      issuer: signer.issuer,
      ...(trustRootName ? { trustedRoot: trustRootName } : {})
    }
  }

  /** `; signed by …, which the policy does not name` and the like; empty when nothing. */
  words(): string {
    const parts: string[] = []
    if (this.others.length > 0) {
      parts.push(
        `signed by ${this.others.slice(0, 2).map(signerWords).join(', ')}, which the policy does not name`
      )
    }
    if (this.failures.length > 0) {
      const first = this.failures[0]!.slice(0, 200)
      parts.push(
        `${this.failures.length} keyless signature(s) not valid against the trusted root (${first})`
      )
    }
    return parts.length > 0 ? ` (${parts.join('; ')})` : ''
  }
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
): Promise<{ payload: Buffer; signature: unknown; annotations?: Record<string, unknown> }[]> {
  const { client } = context
  const tag = `${fallbackTag(digest)}.sig`
  if ((await context.hasTag(source, tag)) === false) return []
  const manifest = await client.getManifest(source.registry, source.repository, tag)
  const layers = (manifest?.body.layers ?? []) as {
    digest?: unknown
    mediaType?: unknown
    annotations?: Record<string, unknown>
  }[]
  const out: { payload: Buffer; signature: unknown; annotations?: Record<string, unknown> }[] = []
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
      if (payload) {
        const { annotations } = layer
        out.push({ payload, signature: annotations?.[SIGNATURE_ANNOTATION], annotations })
      }
    } catch (error) {
      if (!(error instanceof RegistryError) || !isPermanent(error)) throw error
      debug(() => `${repositoryName(source)}:${tag}: a payload not read: ${String(error)}`)
    }
  }
  debug(() => `${repositoryName(source)}@${digest}: ${out.length} older-format signature(s) read`)
  return out
}
