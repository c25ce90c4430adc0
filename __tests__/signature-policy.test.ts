/**
 * The signature policy (verify-policy) and cosign's two key-based formats, checked with
 * node:crypto: signatures made here the way cosign makes them (a simple-signing payload, a
 * DSSE envelope of an in-toto statement), then tampered with. The end-to-end proof with
 * cosign itself is in signatures.e2e.
 */
import { describe, expect, it } from '@jest/globals'
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { parseReference } from '../src/image/references.js'
import { parsePolicy, policyFromRecord, readPolicyFile, PolicyError } from '../src/verify/policy.js'
import {
  checkBundle,
  checkSimpleSigning,
  COSIGN_SIGN_PREDICATE,
  pae,
  readPublicKey
} from '../src/verify/signatures.js'
import { simpleSigningPayload } from '../__fixtures__/simple-signing.js'

const D = `sha256:${'1'.repeat(64)}`
const OTHER = `sha256:${'2'.repeat(64)}`

function keyPair(curve = 'prime256v1') {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: curve })
  const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString()
  return { privateKey, pem, policy: readPublicKey(pem, 'cosign.pub') }
}

function simpleSigning(digest: string, privateKey: KeyObject, hash = 'sha256') {
  const payload = simpleSigningPayload('r.example.com/app', digest)
  return { payload, signature: sign(hash, payload, privateKey).toString('base64') }
}

function bundle(digest: string, privateKey: KeyObject, predicateType = COSIGN_SIGN_PREDICATE) {
  const statement = {
    _type: 'https://in-toto.io/Statement/v0.1',
    subject: [{ name: 'r.example.com/app', digest: { sha256: digest.split(':')[1] } }],
    predicateType,
    predicate: {}
  }
  const payload = Buffer.from(JSON.stringify(statement))
  const sig = sign('sha256', pae('application/vnd.in-toto+json', payload), privateKey)
  return {
    mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
    verificationMaterial: { publicKey: { hint: 'x' } },
    dsseEnvelope: {
      payload: payload.toString('base64'),
      payloadType: 'application/vnd.in-toto+json',
      signatures: [{ sig: sig.toString('base64') }]
    }
  }
}

describe('key signatures', () => {
  const signer = keyPair()
  const stranger = keyPair()

  it('a simple-signing payload verifies by its key, for the digest it names only', () => {
    const { payload, signature } = simpleSigning(D, signer.privateKey)
    expect(checkSimpleSigning(payload, signature, D, [signer.policy])).toBe(signer.policy)
    expect(checkSimpleSigning(payload, signature, OTHER, [signer.policy])).toBeUndefined()
    expect(checkSimpleSigning(payload, signature, D, [stranger.policy])).toBeUndefined()
    // Any of the keys will do.
    expect(checkSimpleSigning(payload, signature, D, [stranger.policy, signer.policy])).toBe(
      signer.policy
    )
  })

  it('a tampered payload or signature does not verify', () => {
    const { payload, signature } = simpleSigning(D, signer.privateKey)
    const edited = Buffer.from(payload.toString().replace('r.example.com', 'evil.example.com'))
    expect(checkSimpleSigning(edited, signature, D, [signer.policy])).toBeUndefined()
    const flipped = Buffer.from(signature, 'base64')
    flipped.writeUInt8((flipped.readUInt8(flipped.length - 1) ^ 1) & 0xff, flipped.length - 1)
    expect(
      checkSimpleSigning(payload, flipped.toString('base64'), D, [signer.policy])
    ).toBeUndefined()
    expect(checkSimpleSigning(payload, 'not base64 !', D, [signer.policy])).toBeUndefined()
    expect(checkSimpleSigning(Buffer.from('{'), signature, D, [signer.policy])).toBeUndefined()
  })

  it('a P-384 key signs with SHA-384', () => {
    const p384 = keyPair('secp384r1')
    const { payload, signature } = simpleSigning(D, p384.privateKey, 'sha384')
    expect(checkSimpleSigning(payload, signature, D, [p384.policy])).toBe(p384.policy)
  })

  it('a bundle verifies by its key, for the digest and predicate it states', () => {
    const good = bundle(D, signer.privateKey)
    expect(checkBundle(good, D, [signer.policy])).toBe(signer.policy)
    expect(checkBundle(good, OTHER, [signer.policy])).toBeUndefined()
    expect(checkBundle(good, D, [stranger.policy])).toBeUndefined()
    // An attestation is not a signature of the image.
    const attestation = bundle(D, signer.privateKey, 'https://slsa.dev/provenance/v1')
    expect(checkBundle(attestation, D, [signer.policy])).toBeUndefined()
  })

  it('a bundle whose statement was edited after signing does not verify', () => {
    const good = bundle(D, signer.privateKey)
    const statement = JSON.parse(Buffer.from(good.dsseEnvelope.payload, 'base64').toString())
    statement.subject[0].name = 'evil.example.com/app'
    const tampered = {
      ...good,
      dsseEnvelope: {
        ...good.dsseEnvelope,
        payload: Buffer.from(JSON.stringify(statement)).toString('base64')
      }
    }
    expect(checkBundle(tampered, D, [signer.policy])).toBeUndefined()
    expect(checkBundle({}, D, [signer.policy])).toBeUndefined()
    expect(checkBundle(null, D, [signer.policy])).toBeUndefined()
  })

  it('a key’s fingerprint is the SHA-256 of its DER, as bundles hint it', () => {
    expect(signer.policy.fingerprint).toMatch(/^[A-Za-z0-9+/]{43}=$/)
    expect(signer.policy.fingerprint).not.toBe(stranger.policy.fingerprint)
  })
})

describe('the policy file', () => {
  const a = keyPair()
  const b = keyPair()
  const keys: Record<string, string> = { 'keys/a.pub': a.pem, 'keys/b.pub': b.pem }
  const read = (name: string) => {
    const pem = keys[name]
    if (pem === undefined) throw new Error('no such file')
    return pem
  }
  const ref = (text: string) => {
    const parsed = parseReference(text)
    if (!parsed.ok) throw new Error(parsed.reason)
    return parsed.ref
  }

  it('the most specific matching rule applies; no rule, no check', () => {
    const policy = parsePolicy(
      [
        '# every image of acme must be signed',
        'ghcr.io/acme/**   key=keys/a.pub',
        'ghcr.io/acme/app  key=keys/b.pub key=keys/a.pub   # rotated',
        'nginx key=keys/b.pub'
      ].join('\n'),
      'policy.txt',
      read
    )
    expect(policy.ruleFor(ref('ghcr.io/acme/tool:1'))?.pattern.text).toBe('ghcr.io/acme/**')
    expect(policy.ruleFor(ref('ghcr.io/acme/app:1'))?.keys.map(k => k.name)).toEqual([
      'keys/b.pub',
      'keys/a.pub'
    ])
    expect(policy.ruleFor(ref('docker.io/library/nginx:1'))?.pattern.text).toBe('nginx')
    expect(policy.ruleFor(ref('ghcr.io/other/app:1'))).toBeUndefined()
  })

  it('every bad line is named with what to write instead', () => {
    const bad = () =>
      parsePolicy(
        [
          'ghcr.io/acme/**',
          'ghcr.io/x/** key=keys/missing.pub',
          'ghcr.io/y/** identity=https://github.com/y',
          'ghcr.io/z/** cert=x',
          'ghcr.io/*/a key=keys/a.pub'
        ].join('\n'),
        'policy.txt',
        read
      )
    expect(bad).toThrow(PolicyError)
    expect(bad).toThrow(/5 invalid line\(s\)/)
    expect(bad).toThrow(/policy.txt line 1: "ghcr.io\/acme\/\*\*" names no requirement/)
    expect(bad).toThrow(/line 2: no such file/)
    expect(bad).toThrow(
      /line 3: "https:\/\/github.com\/y": an identity needs the issuer that vouches for it after it/
    )
    expect(bad).toThrow(/line 4: "cert=x" is not a requirement; write key=PATH .* or identity=/)
    expect(bad).toThrow(/line 5: /)
  })

  it('a private key is refused, and only public keys travel in the plan', () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
    const secret = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()
    expect(() => parsePolicy('ghcr.io/acme/** key=k', 'p', () => secret)).toThrow(
      /key "k" is not a PEM public key \(k holds a private key; give the public key/
    )
    // A file holding more than the key (a comment, say): the plan carries the key alone.
    const policy = parsePolicy('ghcr.io/acme/** key=k', 'p', () => `# acme\n${a.pem}`)
    expect(policy.record.keys.k).toBe(a.pem)
  })

  it('two lines for one pattern are refused: requirements go on one line', () => {
    expect(() =>
      parsePolicy('ghcr.io/acme/** key=keys/a.pub\nghcr.io/acme/** key=keys/b.pub', 'p', read)
    ).toThrow(
      /line 2: "ghcr.io\/acme\/\*\*" is also on line 1: give all its requirements on one line/
    )
  })

  it('a key that is not a public key is refused', () => {
    expect(() => parsePolicy('ghcr.io/acme/** key=k', 'p', () => 'not a pem')).toThrow(
      /key "k" is not a PEM public key/
    )
  })

  it('travels in the plan, keys and all, and reads back the same', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'policy-'))
    try {
      fs.mkdirSync(path.join(dir, 'keys'))
      fs.writeFileSync(path.join(dir, 'keys', 'a.pub'), a.pem)
      fs.writeFileSync(path.join(dir, 'policy.txt'), 'ghcr.io/acme/** key=keys/a.pub\n')
      const policy = readPolicyFile(path.join(dir, 'policy.txt'), 'policy.txt', dir)
      const record = JSON.parse(JSON.stringify(policy.record))
      const again = policyFromRecord(record)
      expect(again.ruleFor(ref('ghcr.io/acme/x:1'))?.keys[0]?.fingerprint).toBe(
        a.policy.fingerprint
      )
      // A plan that lost a key is not used with fewer keys than it named.
      expect(() => policyFromRecord({ ...record, keys: {} })).toThrow(/is not in the plan/)
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })
})
