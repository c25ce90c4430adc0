/**
 * cosign's key-based signatures, checked with node:crypto: the older "simple
 * signing" payload (a `.sig` tag's layer, its signature in an annotation) and
 * cosign 3's Sigstore bundle (a DSSE envelope of an in-toto statement). Each is
 * a signature over bytes by a public key, then a claim naming the manifest
 * digest: both must hold, so a valid signature of another image never passes.
 * What is read here came from a registry: every field is checked before use.
 */
import { createHash, createPublicKey, verify, type KeyObject } from 'node:crypto'

/** A public key of a policy, with the fingerprint people compare (`SHA256:<base64>`). */
export interface PolicyKey {
  key: KeyObject
  /** Where it was read from, as the policy names it. */
  name: string
  /** SHA-256 of the DER public key, base64, as Sigstore's bundles hint it. */
  fingerprint: string
}

/** Read a PEM public key (cosign.pub); throws with the reason when it is not one. */
export function readPublicKey(pem: string, name: string): PolicyKey {
  // node derives a public key from a private one: a secret must never be taken for a key
  // (the plan, an uploaded artifact, carries the policy's keys).
  if (/PRIVATE KEY/.test(pem)) {
    throw new Error(`${name} holds a private key; give the public key (cosign.pub)`)
  }
  const key = createPublicKey(pem)
  if (key.type !== 'public') throw new Error(`${name} is not a public key`)
  const der = key.export({ type: 'spki', format: 'der' })
  return { key, name, fingerprint: createHash('sha256').update(der).digest('base64') }
}

/** The key as the plan carries it: its public part only, in PEM. */
export function publicPem(key: PolicyKey): string {
  return key.key.export({ type: 'spki', format: 'pem' }).toString()
}

/** The hash a key type signs with (cosign: SHA-256 for P-256 and RSA, SHA-384 for P-384). */
function hashFor(key: KeyObject): string | null {
  if (key.asymmetricKeyType === 'ed25519') return null
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'secp384r1')
    return 'sha384'
  return 'sha256'
}

function signedBy(data: Buffer, signature: Buffer, key: PolicyKey): boolean {
  try {
    return verify(hashFor(key.key), data, key.key, signature)
  } catch {
    return false
  }
}

/** Base64 as a registry sent it: anything else is no signature. */
function base64(value: unknown, max = 64 * 1024): Buffer | undefined {
  if (typeof value !== 'string' || value.length > max || !/^[A-Za-z0-9+/=_-]*$/.test(value))
    return undefined
  return Buffer.from(value, 'base64')
}

const SIMPLE_SIGNING_TYPES = ['cosign container image signature', 'atomic container signature']

/** Whether an older-format payload (a `.sig` layer's bytes) claims `digest`. */
export function simpleSigningAbout(payload: Buffer, digest: string): boolean {
  let claim: unknown
  try {
    claim = JSON.parse(payload.toString('utf8'))
  } catch {
    return false
  }
  const critical = (claim as { critical?: Record<string, unknown> } | null)?.critical
  const image = critical?.image as Record<string, unknown> | undefined
  if (!SIMPLE_SIGNING_TYPES.includes(String(critical?.type))) return false
  return image?.['docker-manifest-digest'] === digest
}

/**
 * An older-format signature: `payload` is the layer's bytes, `signature` the base64 of the
 * `dev.cosignproject.cosign/signature` annotation. The key that signed it, or undefined.
 */
export function checkSimpleSigning(
  payload: Buffer,
  signature: unknown,
  digest: string,
  keys: readonly PolicyKey[]
): PolicyKey | undefined {
  const sig = base64(signature)
  if (!sig || !simpleSigningAbout(payload, digest)) return undefined
  return keys.find(key => signedBy(payload, sig, key))
}

/** DSSE's pre-authentication encoding: what a DSSE signature is over. */
export function pae(payloadType: string, payload: Buffer): Buffer {
  const type = Buffer.from(payloadType, 'utf8')
  return Buffer.concat([
    Buffer.from(`DSSEv1 ${type.length} `),
    type,
    Buffer.from(` ${payload.length} `),
    payload
  ])
}

const IN_TOTO = 'application/vnd.in-toto+json'
/** cosign 3's Sigstore bundle, as a referrer's artifactType and its layer's media type. */
export const BUNDLE = 'application/vnd.dev.sigstore.bundle.v0.3+json'
/** The annotation cosign 3 puts on a bundle: cosign's signing predicate, or an attestation's. */
export const BUNDLE_PREDICATE = 'dev.sigstore.bundle.predicateType'
export const COSIGN_SIGN_PREDICATE = 'https://sigstore.dev/cosign/sign/v1'

/**
 * The in-toto statement a bundle's DSSE envelope holds, when it is about `digest` and of
 * `predicateType` (cosign's signing predicate by default): the payload its signatures are
 * over. Undefined for anything else, whoever signed it.
 */
export function statementAbout(
  bundle: unknown,
  digest: string,
  predicateType = COSIGN_SIGN_PREDICATE
): { envelope: Record<string, unknown>; payload: Buffer } | undefined {
  const envelope = (bundle as { dsseEnvelope?: Record<string, unknown> } | null)?.dsseEnvelope
  if (!envelope || envelope.payloadType !== IN_TOTO) return undefined
  const payload = base64(envelope.payload, 1024 * 1024)
  if (!payload) return undefined
  let statement: Record<string, unknown>
  try {
    statement = JSON.parse(payload.toString('utf8')) as Record<string, unknown>
  } catch {
    return undefined
  }
  if (statement?.predicateType !== predicateType) return undefined
  const [algorithm, hex] = digest.split(':')
  const subjects = Array.isArray(statement.subject) ? (statement.subject as unknown[]) : []
  const about = subjects.some(
    s => ((s as { digest?: Record<string, unknown> } | null)?.digest ?? {})[algorithm ?? ''] === hex
  )
  return about ? { envelope, payload } : undefined
}

/**
 * A Sigstore bundle (v0.3, as cosign 3 writes it for a key) whose statement is about
 * `digest` (see statementAbout). The key that signed it, or undefined.
 */
export function checkBundle(
  bundle: unknown,
  digest: string,
  keys: readonly PolicyKey[],
  predicateType = COSIGN_SIGN_PREDICATE
): PolicyKey | undefined {
  const statement = statementAbout(bundle, digest, predicateType)
  if (!statement) return undefined
  const signed = pae(IN_TOTO, statement.payload)
  const { signatures } = statement.envelope
  for (const entry of (Array.isArray(signatures) ? signatures.slice(0, 16) : []) as {
    sig?: unknown
  }[]) {
    const sig = base64(entry?.sig)
    if (!sig) continue
    const key = keys.find(k => signedBy(signed, sig, k))
    if (key) return key
  }
  return undefined
}
