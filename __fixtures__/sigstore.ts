/**
 * A Sigstore of the tests' own, offline: a Fulcio-like CA (its certificates carry an SCT from
 * a test CT log), a Rekor-like transparency log, and the trusted_root.json naming their
 * keys, all from sigstore-js's own @sigstore/mock. It signs the way cosign does keyless,
 * with a short-lived key and a certificate naming an identity and an issuer:
 *
 * - `bundle`: cosign 3's Sigstore bundle (v0.3): a DSSE envelope of an in-toto statement
 *   (cosign's signing predicate, the manifest digest as subject), logged as a `dsse` entry
 *   with a signed entry timestamp and an inclusion proof with its checkpoint;
 * - `legacy`: cosign 2's `.sig` parts: the simple-signing payload, its signature, the
 *   certificate, and the Rekor bundle (a `hashedrekord` entry and its signed timestamp),
 *   which `cosign attach signature` writes as cosign writes them.
 *
 * What it makes is verified by cosign itself (`--trusted-root`) in the tests, so a mistake
 * here cannot pass for a signature our verifier alone accepts.
 */
import { createHash, generateKeyPairSync, sign, type KeyObject } from 'node:crypto'
// The modules themselves, not the package's index: that loads nock, which would take over
// every HTTP request of the test process.
import { initializeCA, initializeCTLog } from '@sigstore/mock/dist/fulcio/index.js'
import { initializeTLog } from '@sigstore/mock/dist/rekor/index.js'
import { simpleSigningPayload } from './simple-signing.js'

const b64 = (b: Buffer | ArrayBufferView | string) =>
  (typeof b === 'string'
    ? Buffer.from(b)
    : Buffer.from(b.buffer, b.byteOffset, b.byteLength)
  ).toString('base64')
const sha256 = (b: Buffer | ArrayBufferView | string) =>
  createHash('sha256')
    .update(typeof b === 'string' ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength))
    .digest()
const ec = () => generateKeyPairSync('ec', { namedCurve: 'P-256' })
const spki = (k: KeyObject) => k.export({ format: 'der', type: 'spki' })
const pem = (der: Buffer) =>
  `-----BEGIN CERTIFICATE-----\n${b64(der)
    .match(/.{1,64}/g)!
    .join('\n')}\n-----END CERTIFICATE-----\n`

const REKOR_URL = 'https://rekor.test.invalid'
const IN_TOTO = 'application/vnd.in-toto+json'

/** What the test log answers (a Rekor v1 log entry), as far as it is used here. */
interface LogEntry {
  body: string
  integratedTime: number
  logID: string
  logIndex: number
  verification: {
    signedEntryTimestamp: string
    inclusionProof?: {
      logIndex: number
      rootHash: string
      treeSize: number
      hashes: string[]
      checkpoint: string
    }
  }
}

export interface Signer {
  identity: string
  issuer: string
}

export interface LegacySignature {
  /** The simple-signing payload, as `cosign attach signature --payload` takes it. */
  payload: Buffer
  /** Base64 of the signature over the payload. */
  signature: string
  /** The signing certificate, PEM. */
  certificate: string
  /** Rekor's bundle (the `dev.sigstore.cosign/bundle` annotation): the entry, its timestamp. */
  rekorBundle: string
  /**
   * What `cosign attach signature --rekor-response` reads: the file `cosign sign-blob --bundle`
   * writes (the signature, the certificate and Rekor's bundle).
   */
  rekorResponse: string
}

export interface TestSigstore {
  /** The trusted_root.json (Sigstore's format) naming this CA, CT log and transparency log. */
  trustedRoot: Record<string, unknown>
  /** cosign 3's bundle signing `digest` (of image `name`), by `signer`. */
  bundle(name: string, digest: string, signer: Signer): Promise<Record<string, unknown>>
  /** cosign 2's older-format keyless signature of `digest`, by `signer`. */
  legacy(name: string, digest: string, signer: Signer): Promise<LegacySignature>
}

export async function startTestSigstore(): Promise<TestSigstore> {
  const clock = new Date()
  const start = new Date(clock.getTime() - 3_600_000).toISOString()
  const ctKeys = ec()
  const rekorKeys = ec()
  const ctlog = await initializeCTLog(ctKeys, clock)
  const ca = await initializeCA(ec(), ctlog, clock)
  const tlog = await initializeTLog(REKOR_URL, rekorKeys, clock)

  /** A short-lived key and its certificate, as Fulcio issues them for an OIDC token. */
  const certify = async (signer: Signer) => {
    const key = ec()
    const issued = await ca.issueCertificate({
      publicKey: spki(key.publicKey),
      subjectAltName: signer.identity,
      extensions: [
        { oid: '1.3.6.1.4.1.57264.1.8', value: signer.issuer },
        { oid: '1.3.6.1.4.1.57264.1.1', value: signer.issuer, legacy: true }
      ]
    })
    const der = Buffer.from(issued.buffer, issued.byteOffset, issued.byteLength)
    return { key, der }
  }
  const log = async (body: object) => {
    const entry = Object.values(await tlog.log(body))[0] as LogEntry | undefined
    if (!entry) throw new Error('the test transparency log returned no entry')
    return entry
  }

  const rekorSpki = spki(rekorKeys.publicKey)
  const trustedRoot = {
    mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
    tlogs: [
      {
        baseUrl: REKOR_URL,
        hashAlgorithm: 'SHA2_256',
        publicKey: {
          rawBytes: b64(rekorSpki),
          keyDetails: 'PKIX_ECDSA_P256_SHA_256',
          validFor: { start }
        },
        logId: { keyId: b64(sha256(rekorSpki)) }
      }
    ],
    certificateAuthorities: [
      {
        subject: { organization: 'sigstore.mock', commonName: 'sigstore' },
        uri: 'https://fulcio.test.invalid',
        certChain: { certificates: [{ rawBytes: b64(ca.rootCertificate) }] },
        validFor: { start }
      }
    ],
    ctlogs: [
      {
        baseUrl: 'https://ctfe.test.invalid',
        hashAlgorithm: 'SHA2_256',
        publicKey: {
          rawBytes: b64(ctlog.publicKey),
          keyDetails: 'PKIX_ECDSA_P256_SHA_256',
          validFor: { start }
        },
        logId: { keyId: b64(ctlog.logID) }
      }
    ],
    timestampAuthorities: []
  }

  return {
    trustedRoot,
    async bundle(name, digest, signer) {
      const { key, der } = await certify(signer)
      const [algorithm, hex] = digest.split(':') as [string, string]
      const payload = Buffer.from(
        JSON.stringify({
          _type: 'https://in-toto.io/Statement/v1',
          subject: [{ name, digest: { [algorithm]: hex } }],
          predicateType: 'https://sigstore.dev/cosign/sign/v1',
          predicate: {}
        })
      )
      const pae = Buffer.concat([
        Buffer.from(`DSSEv1 ${IN_TOTO.length} ${IN_TOTO} ${payload.length} `),
        payload
      ])
      const sig = sign('sha256', pae, key.privateKey)
      const envelope = {
        payload: b64(payload),
        payloadType: IN_TOTO,
        signatures: [{ sig: b64(sig), keyid: '' }]
      }
      const entry = await log({
        apiVersion: '0.0.1',
        kind: 'dsse',
        spec: {
          envelopeHash: {
            algorithm: 'sha256',
            value: sha256(JSON.stringify(envelope)).toString('hex')
          },
          payloadHash: { algorithm: 'sha256', value: sha256(payload).toString('hex') },
          signatures: [{ signature: b64(sig), verifier: b64(pem(der)) }]
        }
      })
      const proof = entry.verification.inclusionProof!
      return {
        mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
        verificationMaterial: {
          certificate: { rawBytes: b64(der) },
          tlogEntries: [
            {
              logIndex: String(entry.logIndex),
              logId: { keyId: b64(Buffer.from(entry.logID, 'hex')) },
              kindVersion: { kind: 'dsse', version: '0.0.1' },
              integratedTime: String(entry.integratedTime),
              inclusionPromise: { signedEntryTimestamp: entry.verification.signedEntryTimestamp },
              inclusionProof: {
                logIndex: String(proof.logIndex),
                rootHash: b64(Buffer.from(proof.rootHash, 'hex')),
                treeSize: String(proof.treeSize),
                hashes: proof.hashes.map(h => b64(Buffer.from(h, 'hex'))),
                checkpoint: { envelope: proof.checkpoint }
              },
              canonicalizedBody: entry.body
            }
          ],
          timestampVerificationData: {}
        },
        dsseEnvelope: envelope
      }
    },
    async legacy(name, digest, signer) {
      const { key, der } = await certify(signer)
      const payload = simpleSigningPayload(name, digest)
      const signature = b64(sign('sha256', payload, key.privateKey))
      const certificate = pem(der)
      const entry = await log({
        apiVersion: '0.0.1',
        kind: 'hashedrekord',
        spec: {
          data: { hash: { algorithm: 'sha256', value: sha256(payload).toString('hex') } },
          signature: { content: signature, publicKey: { content: b64(certificate) } }
        }
      })
      const bundle = {
        SignedEntryTimestamp: entry.verification.signedEntryTimestamp,
        Payload: {
          body: entry.body,
          integratedTime: entry.integratedTime,
          logIndex: entry.logIndex,
          logID: entry.logID
        }
      }
      const rekorResponse = JSON.stringify({
        base64Signature: signature,
        cert: b64(certificate),
        rekorBundle: bundle
      })
      return { payload, signature, certificate, rekorBundle: JSON.stringify(bundle), rekorResponse }
    }
  }
}
