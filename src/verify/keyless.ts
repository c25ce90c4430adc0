/**
 * Keyless signatures, as `cosign verify --certificate-identity … --certificate-oidc-issuer …`
 * checks them: a short-lived Fulcio certificate names who signed (an email, or a workflow's
 * URI) and the OIDC issuer that vouched for it; a Rekor entry proves the signature was made
 * while the certificate was valid. sigstore's own verifier checks the chain to the trusted
 * root's CA, the certificate's SCT, the Rekor entry and the signature; the identity is
 * compared here, whole: @sigstore/verify matches a policy identity as an unanchored regular
 * expression, which would let `…/acme/app-evil` pass for `…/acme/app`.
 *
 * Both of cosign's formats: a bundle (cosign 3) is verified as it is; an older `.sig` layer
 * (cosign 2: the certificate and Rekor's signed entry timestamp in annotations) is rebuilt
 * as the v0.1 bundle it is equivalent to, and verified the same way.
 */
import { createHash } from 'node:crypto'
import { bundleFromJSON } from '@sigstore/bundle'
import { TrustedRoot } from '@sigstore/protobuf-specs'
import { getTrustedRoot, type TUFOptions } from '@sigstore/tuf'
import { Verifier, toSignedEntity, toTrustMaterial, type TrustMaterial } from '@sigstore/verify'
import { RE2JS } from 're2js'

/** An identity or an issuer as a policy line writes it: exactly, or an RE2 whole match. */
export interface Matcher {
  text: string
  regexp: boolean
  test: (value: string) => boolean
}

/** One keyless requirement: this identity, vouched for by this issuer. */
export interface IdentityRule {
  identity: Matcher
  issuer: Matcher
}

/** Who a certificate says signed (both from a certificate that verified). */
export interface Signer {
  identity: string
  issuer: string
}

/** The longest identity or issuer kept in words (certificates come from strangers). */
const MAX_NAME = 200

/** Exact, or (regexp) RE2 matching the whole value, like a Go regexp anchored at both ends. */
export function matcher(text: string, regexp: boolean): Matcher {
  if (!regexp) return { text, regexp, test: value => value === text }
  // RE2: the value comes from a certificate, and a backtracking engine could be made to stall.
  const re = RE2JS.compile(text)
  return { text, regexp, test: value => re.matches(value) }
}

export const matcherText = (m: Matcher) => (m.regexp ? `/${m.text}/` : m.text)

/** The trusted root's JSON: Sigstore's public one (fetched), or the one a user gives. */
export class TrustRoot {
  private readonly verifier: Verifier

  private constructor(material: TrustMaterial) {
    // One transparency-log entry, one SCT, one timestamp (the entry's): what cosign asks.
    this.verifier = new Verifier(material, {
      tlogThreshold: 1,
      ctlogThreshold: 1,
      timestampThreshold: 1
    })
  }

  /** A trusted_root.json's content; throws naming what is wrong with it. */
  static fromJSON(json: unknown): TrustRoot {
    const root = TrustedRoot.fromJSON(json)
    // What every keyless signature is checked against (one SCT, one Rekor entry each).
    if (root.certificateAuthorities.length === 0)
      throw new Error('it names no certificate authority')
    if (root.tlogs.length === 0) throw new Error('it names no transparency log (Rekor)')
    if (root.ctlogs.length === 0) throw new Error('it names no certificate transparency log')
    return new TrustRoot(toTrustMaterial(root))
  }

  /**
   * A root from a TUF repository, as sigstore's clients get it: Sigstore's public-good one
   * by default (tuf-repo-cdn.sigstore.dev, from the initial root @sigstore/tuf ships), its
   * metadata verified and cached in the runner's home (~/.local/share/sigstore-js).
   */
  static async fetch(tuf: TUFOptions = {}): Promise<TrustRoot> {
    try {
      return new TrustRoot(toTrustMaterial(await getTrustedRoot(tuf)))
    } catch (error) {
      // TUF's errors wrap the reason (`error downloading target undefined`: a length mismatch).
      throw new Error(causes(error), { cause: error })
    }
  }

  /**
   * Verify a bundle against this root (for a message-signature bundle, over `artifact`).
   * Returns who signed; throws why not (sigstore's VerificationError or ValidationError).
   */
  verify(bundleJson: unknown, artifact?: Buffer): Signer {
    const bundle = bundleFromJSON(bundleJson)
    const signer = this.verifier.verify(toSignedEntity(bundle, artifact))
    const identity = signer.identity?.subjectAlternativeName
    const issuer = signer.identity?.extensions?.issuer
    if (!identity || !issuer) throw new Error('the certificate names no identity or no issuer')
    return { identity, issuer }
  }
}

/** An error and what caused it, a few levels down, in one line. */
function causes(error: unknown): string {
  const words: string[] = []
  for (let e = error, depth = 0; e !== undefined && depth < 4; depth++) {
    words.push(e instanceof Error ? e.message : String(e))
    e = e instanceof Error ? e.cause : undefined
  }
  return words.join(': ')
}

/** Whether a bundle is keyless (a certificate) rather than signed by a key (a key hint). */
export function hasCertificate(bundle: unknown): boolean {
  const material = (bundle as { verificationMaterial?: Record<string, unknown> } | null)
    ?.verificationMaterial
  return !!material && (!!material.certificate || !!material.x509CertificateChain)
}

/** The rule a signer meets, or undefined. */
export function ruleMet(signer: Signer, rules: readonly IdentityRule[]): IdentityRule | undefined {
  return rules.find(r => r.identity.test(signer.identity) && r.issuer.test(signer.issuer))
}

/** A signer in words, bounded: the summary and the rejection reason show it. */
export function signerWords(signer: Signer): string {
  const cut = (s: string) => (s.length > MAX_NAME ? `${s.slice(0, MAX_NAME)}…` : s)
  return `identity ${cut(signer.identity)} (issuer ${cut(signer.issuer)})`
}

/** Whether a bundle carries a message signature (cosign 3 signs images with DSSE only). */
export function hasMessageSignature(bundle: unknown): boolean {
  return (bundle as { messageSignature?: unknown } | null)?.messageSignature !== undefined
}

/** cosign 2's annotations on a keyless `.sig` layer. */
export const CERTIFICATE_ANNOTATION = 'dev.sigstore.cosign/certificate'
export const REKOR_BUNDLE_ANNOTATION = 'dev.sigstore.cosign/bundle'
const V01 = 'application/vnd.dev.sigstore.bundle+json;version=0.1'

/**
 * An older-format keyless signature as the v0.1 bundle it amounts to: the `.sig` layer's
 * certificate, its signature over the payload, and Rekor's promise of inclusion (the signed
 * entry timestamp cosign keeps in `dev.sigstore.cosign/bundle`). Undefined when the layer is
 * not keyless (no certificate or no Rekor bundle); anything malformed fails verification.
 */
export function legacyBundle(
  annotations: Record<string, unknown> | undefined,
  payload: Buffer,
  signature: string
): unknown {
  const pem = annotations?.[CERTIFICATE_ANNOTATION]
  const rekor = annotations?.[REKOR_BUNDLE_ANNOTATION]
  if (typeof pem !== 'string' || typeof rekor !== 'string') return undefined
  if (pem.length > 64 * 1024 || rekor.length > 256 * 1024) return undefined
  const der = /-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/.exec(pem)?.[1]
  let entry: {
    SignedEntryTimestamp?: unknown
    Payload?: { body?: unknown; integratedTime?: unknown; logIndex?: unknown; logID?: unknown }
  }
  let body: { kind?: unknown; apiVersion?: unknown }
  try {
    entry = JSON.parse(rekor) as typeof entry
    body = JSON.parse(Buffer.from(String(entry.Payload?.body), 'base64').toString('utf8')) as {
      kind?: unknown
      apiVersion?: unknown
    }
  } catch {
    return undefined
  }
  const p = entry.Payload
  if (!der || !p || typeof p.logID !== 'string' || !/^[0-9a-f]{64}$/.test(p.logID)) return undefined
  return {
    mediaType: V01,
    verificationMaterial: {
      x509CertificateChain: { certificates: [{ rawBytes: der.replace(/\s+/g, '') }] },
      tlogEntries: [
        {
          logIndex: String(p.logIndex),
          logId: { keyId: Buffer.from(p.logID, 'hex').toString('base64') },
          kindVersion: { kind: String(body.kind), version: String(body.apiVersion) },
          integratedTime: String(p.integratedTime),
          inclusionPromise: { signedEntryTimestamp: String(entry.SignedEntryTimestamp) },
          canonicalizedBody: String(p.body)
        }
      ]
    },
    messageSignature: {
      messageDigest: {
        algorithm: 'SHA2_256',
        digest: createHash('sha256').update(payload).digest('base64')
      },
      signature
    }
  }
}
