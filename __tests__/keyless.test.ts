/**
 * Keyless signatures (issue 19): certificates from a test Sigstore of our own
 * (__fixtures__/sigstore.ts, sigstore-js's @sigstore/mock), verified with @sigstore/verify
 * against its trusted root, then the identity compared whole. Both of cosign's formats; what
 * must fail does: another identity, a look-alike, another issuer, another Sigstore, a changed
 * statement. signatures.e2e runs the same through the action and `cosign verify`.
 */
import { beforeAll, describe, expect, it, jest } from '@jest/globals'
import { startTestSigstore, type TestSigstore } from '../__fixtures__/sigstore.js'
import { generateKeyPairSync } from 'node:crypto'
import {
  hasCertificate,
  legacyBundle,
  matcher,
  ruleMet,
  TrustRoot,
  type IdentityRule
} from '../src/verify/keyless.js'
import { isPermanent } from '../src/common/errors.js'
import { parsePolicy, policyFromRecord } from '../src/verify/policy.js'
import { simpleSigningAbout, statementAbout } from '../src/verify/signatures.js'

const D = `sha256:${'1'.repeat(64)}`
const OTHER = `sha256:${'2'.repeat(64)}`
const WORKFLOW = 'https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v1.2.0'
const GITHUB = 'https://token.actions.githubusercontent.com'
const signer = { identity: WORKFLOW, issuer: GITHUB }
const PUBLIC_PEM = generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
  .publicKey.export({ type: 'spki', format: 'pem' })
  .toString()
const noKeys = () => {
  throw new Error('no keys here')
}

let sigstore: TestSigstore
let stranger: TestSigstore
let root: TrustRoot

beforeAll(async () => {
  sigstore = await startTestSigstore()
  stranger = await startTestSigstore()
  root = TrustRoot.fromJSON(sigstore.trustedRoot)
})

const exact = (identity: string, issuer = GITHUB): IdentityRule => ({
  identity: matcher(identity, false),
  issuer: matcher(issuer, false)
})

describe('keyless bundles (cosign 3)', () => {
  it('verify against the trusted root, and name who signed', async () => {
    const bundle = await sigstore.bundle('r.example.com/app', D, signer)
    expect(hasCertificate(bundle)).toBe(true)
    expect(statementAbout(bundle, D)).toBeDefined()
    expect(statementAbout(bundle, OTHER)).toBeUndefined()
    expect(root.verify(bundle)).toEqual(signer)
  })

  it('the identity is matched whole: a look-alike or a prefix is another signer', async () => {
    const evil = { identity: `${WORKFLOW}-evil`, issuer: GITHUB }
    const bundle = await sigstore.bundle('r.example.com/app', D, evil)
    const who = root.verify(bundle)
    expect(ruleMet(who, [exact(WORKFLOW)])).toBeUndefined()
    expect(ruleMet(who, [exact('https://github.com/acme/app')])).toBeUndefined()
    const regexp: IdentityRule = {
      identity: matcher('https://github\\.com/acme/app/\\.github/workflows/release\\.yml@.*', true),
      issuer: matcher(GITHUB, false)
    }
    // The regexp matches the look-alike: `.*` allows it, as its author wrote.
    expect(ruleMet(who, [regexp])).toBe(regexp)
    const tags: IdentityRule = {
      identity: matcher(
        'https://github\\.com/acme/app/\\.github/workflows/release\\.yml@refs/tags/v[0-9.]+',
        true
      ),
      issuer: matcher(GITHUB, false)
    }
    expect(ruleMet(who, [tags])).toBeUndefined()
    expect(ruleMet(signer, [tags])).toBe(tags)
  })

  it('another issuer for the same identity does not count', async () => {
    const google = { identity: WORKFLOW, issuer: 'https://accounts.google.com' }
    const who = root.verify(await sigstore.bundle('r.example.com/app', D, google))
    expect(ruleMet(who, [exact(WORKFLOW)])).toBeUndefined()
  })

  it('a bundle from another Sigstore, or a changed statement, does not verify', async () => {
    const foreign = await stranger.bundle('r.example.com/app', D, signer)
    expect(() => root.verify(foreign)).toThrow(/certificate|chain|root/i)
    const bundle = await sigstore.bundle('r.example.com/app', D, signer)
    const envelope = bundle.dsseEnvelope as { payload: string }
    const statement = JSON.parse(Buffer.from(envelope.payload, 'base64').toString('utf8'))
    statement.subject[0].digest.sha256 = OTHER.slice(7)
    envelope.payload = Buffer.from(JSON.stringify(statement)).toString('base64')
    expect(statementAbout(bundle, OTHER)).toBeDefined()
    expect(() => root.verify(bundle)).toThrow(/signature verification failed|TLOG_BODY|mismatch/i)
  })

  it('a bundle without its transparency-log entry, or with its proofs taken out, does not verify', async () => {
    const bundle = await sigstore.bundle('r.example.com/app', D, signer)
    const material = bundle.verificationMaterial as {
      tlogEntries: { inclusionPromise?: unknown; inclusionProof?: unknown }[]
    }
    const [entry] = material.tlogEntries
    material.tlogEntries = []
    // No entry: no time the certificate was valid at, either.
    expect(() => root.verify(bundle)).toThrow(/expected 1 timestamps, got 0/)
    material.tlogEntries = [{ ...entry, inclusionPromise: undefined, inclusionProof: undefined }]
    expect(() => root.verify(bundle)).toThrow(/invalid bundle/)
  })
})

describe("keyless signatures in cosign's older format (.sig)", () => {
  it('verify as the v0.1 bundle they amount to', async () => {
    const sig = await sigstore.legacy('r.example.com/app', D, signer)
    const annotations = {
      'dev.sigstore.cosign/certificate': sig.certificate,
      'dev.sigstore.cosign/bundle': sig.rekorBundle
    }
    const bundle = legacyBundle(annotations, sig.payload, sig.signature)
    expect(simpleSigningAbout(sig.payload, D)).toBe(true)
    expect(simpleSigningAbout(sig.payload, OTHER)).toBe(false)
    expect(root.verify(bundle, sig.payload)).toEqual(signer)
  })

  it('another payload under the same signature, or another Sigstore, does not verify', async () => {
    const sig = await sigstore.legacy('r.example.com/app', D, signer)
    const annotations = {
      'dev.sigstore.cosign/certificate': sig.certificate,
      'dev.sigstore.cosign/bundle': sig.rekorBundle
    }
    const other = Buffer.from(sig.payload.toString('utf8').replace(D, OTHER))
    expect(() => root.verify(legacyBundle(annotations, other, sig.signature), other)).toThrow()
    const foreign = await stranger.legacy('r.example.com/app', D, signer)
    const foreignBundle = legacyBundle(
      {
        'dev.sigstore.cosign/certificate': foreign.certificate,
        'dev.sigstore.cosign/bundle': foreign.rekorBundle
      },
      foreign.payload,
      foreign.signature
    )
    expect(() => root.verify(foreignBundle, foreign.payload)).toThrow()
  })

  it('a key-based .sig layer (no certificate, no Rekor bundle) is not taken for keyless', () => {
    expect(legacyBundle({}, Buffer.from('{}'), 'c2ln')).toBeUndefined()
    expect(
      legacyBundle({ 'dev.sigstore.cosign/certificate': 'x' }, Buffer.from('{}'), 'c2ln')
    ).toBeUndefined()
    expect(
      legacyBundle(
        { 'dev.sigstore.cosign/certificate': 'x', 'dev.sigstore.cosign/bundle': 'not json' },
        Buffer.from('{}'),
        'c2ln'
      )
    ).toBeUndefined()
  })
})

describe('keyless lines of the policy', () => {
  it('pair each identity with the issuer after it; keys and identities are alternatives', () => {
    const policy = parsePolicy(
      [
        `ghcr.io/acme/** identity=${WORKFLOW} identity-regexp=https://github\\.com/acme/.+ issuer=${GITHUB} identity=ops@acme.example issuer-regexp=https://accounts\\.(google|acme)\\.com`,
        `ghcr.io/acme/app key=k identity=${WORKFLOW} issuer=${GITHUB}`
      ].join('\n'),
      'policy.txt',
      () => PUBLIC_PEM
    )
    const rule = policy.ruleFor({ registry: 'ghcr.io', repository: 'acme/tool' })!
    expect(rule.keys).toHaveLength(0)
    const app = policy.ruleFor({ registry: 'ghcr.io', repository: 'acme/app' })!
    expect([app.keys.length, app.identities.length]).toEqual([1, 1])
    expect(rule.identities.map(i => [i.identity.text, i.identity.regexp, i.issuer.text])).toEqual([
      [WORKFLOW, false, GITHUB],
      ['https://github\\.com/acme/.+', true, GITHUB],
      ['ops@acme.example', false, 'https://accounts\\.(google|acme)\\.com']
    ])
    expect(
      ruleMet(
        { identity: 'ops@acme.example', issuer: 'https://accounts.acme.com' },
        rule.identities
      )
    ).toBe(rule.identities[2])
    expect(
      ruleMet({ identity: 'ops@acme.example', issuer: GITHUB }, rule.identities)
    ).toBeUndefined()
  })

  it('an identity without its issuer, an issuer without one, and a bad RE2 are named', () => {
    const bad = () =>
      parsePolicy(
        [
          `ghcr.io/a/** identity=${WORKFLOW}`,
          `ghcr.io/b/** issuer=${GITHUB} identity=${WORKFLOW}`,
          `ghcr.io/c/** identity-regexp=(unclosed issuer=${GITHUB}`,
          `ghcr.io/d/** identity-regexp=(?=lookahead) issuer=${GITHUB}`,
          `ghcr.io/e/** identity= issuer=${GITHUB}`
        ].join('\n'),
        'policy.txt',
        noKeys
      )
    expect(bad).toThrow(/5 invalid line\(s\)/)
    expect(bad).toThrow(/line 1: ".*release.yml@refs\/tags\/v1.2.0": an identity needs the issuer/)
    expect(bad).toThrow(
      /line 2: "issuer=https:\/\/token.actions.githubusercontent.com" follows no identity/
    )
    expect(bad).toThrow(/line 3: "identity-regexp=\(unclosed" is not an RE2 regular expression/)
    expect(bad).toThrow(
      /line 4: "identity-regexp=\(\?=lookahead\)" is not an RE2 regular expression/
    )
    expect(bad).toThrow(/line 5: "identity=" is not a requirement/)
  })

  it('a given trusted root is checked at once, travels in the plan, and is the one used', async () => {
    const text = JSON.stringify(sigstore.trustedRoot)
    const line = `ghcr.io/acme/** identity=${WORKFLOW} issuer=${GITHUB}`
    const policy = parsePolicy(line, 'policy.txt', noKeys, text)
    expect(policy.record.trustedRoot).toBe(text)
    const again = policyFromRecord(JSON.parse(JSON.stringify(policy.record)))
    const bundle = await sigstore.bundle('ghcr.io/acme/app', D, signer)
    expect((await again.trustRoot()).verify(bundle)).toEqual(signer)
    expect(() => parsePolicy(line, 'policy.txt', noKeys, '{"mediaType":"x"}')).toThrow(
      /the trusted root is not a Sigstore trusted_root.json \(it names no certificate authority/
    )
    expect(() => parsePolicy(line, 'policy.txt', noKeys, 'not json')).toThrow(
      /the trusted root is not a Sigstore trusted_root.json/
    )
  })

  it("without a given root, Sigstore's is fetched once a run; a failure fails at once, naming the input", async () => {
    const fetch = jest
      .spyOn(TrustRoot, 'fetch')
      .mockRejectedValue(new Error('getaddrinfo EAI_AGAIN'))
    try {
      const policy = parsePolicy(
        `ghcr.io/acme/** identity=${WORKFLOW} issuer=${GITHUB}`,
        'p',
        noKeys
      )
      const first = await policy.trustRoot().catch((e: unknown) => e)
      const second = await policy.trustRoot().catch((e: unknown) => e)
      expect(fetch).toHaveBeenCalledTimes(1)
      expect(second).toBe(first)
      expect(isPermanent(first)).toBe(true)
      expect(String(first)).toMatch(
        /Sigstore's public trusted root could not be fetched from tuf-repo-cdn.sigstore.dev \(getaddrinfo EAI_AGAIN\); the runner must reach it, or give verify-trusted-root/
      )
    } finally {
      fetch.mockRestore()
    }
  })
})
