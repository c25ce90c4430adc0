/**
 * How what came with an image is said (issue 19): the kinds a referrer is counted as, what
 * `referrer-types` lets through, and the summary's and the issue answer's Signed column and
 * `cosign verify` line, with results as other jobs' files may hold them.
 */
import { beforeEach, describe, expect, it } from '@jest/globals'
import * as core from '@actions/core'
import { allowed, kindOf } from '../src/copy/referrers.js'
import { resultComment } from '../src/issue/answer.js'
import { attachedWords, subsetSigningWords } from '../src/image/status-words.js'
import type { MirrorResult } from '../src/image/results.js'
import { buildSummary, verifyLine } from '../src/report/summary.js'

const BUNDLE = 'application/vnd.dev.sigstore.bundle.v0.3+json'
const D = `sha256:${'a'.repeat(64)}`
const S = `sha256:${'b'.repeat(64)}`
const signed: MirrorResult = {
  request: 'ghcr.io/acme/app:1',
  origin: 'images line 1',
  source: 'ghcr.io/acme/app:1',
  target: 'r.example.com/m/ghcr.io/acme/app:1',
  status: 'copied',
  digest: D,
  attached: { signatures: 2, attestations: 1, sboms: 1, other: 0, copied: 4 }
}
const plain: MirrorResult = {
  ...signed,
  request: 'nginx',
  source: 'docker.io/library/nginx:latest',
  target: 'r.example.com/m/docker.io/library/nginx:latest',
  attached: { signatures: 0, attestations: 0, sboms: 0, other: 0, copied: 0 }
}

describe('kinds of referrer', () => {
  it('tells a bundle signature from a bundle attestation by cosign 3’s annotation', () => {
    const predicate = 'dev.sigstore.bundle.predicateType'
    expect(kindOf({ artifactType: BUNDLE })).toBe('signature')
    expect(
      kindOf({
        artifactType: BUNDLE,
        annotations: { [predicate]: 'https://sigstore.dev/cosign/sign/v1' }
      })
    ).toBe('signature')
    expect(
      kindOf({
        artifactType: BUNDLE,
        annotations: { [predicate]: 'https://slsa.dev/provenance/v1' }
      })
    ).toBe('attestation')
  })

  it('knows SBOMs, in-toto attestations, notary signatures; anything else is other', () => {
    expect(kindOf({ artifactType: 'application/spdx+json' })).toBe('sbom')
    expect(kindOf({ artifactType: 'application/vnd.cyclonedx+json' })).toBe('sbom')
    expect(kindOf({ artifactType: 'application/vnd.in-toto+json' })).toBe('attestation')
    expect(kindOf({ artifactType: 'application/vnd.cncf.notary.signature' })).toBe('signature')
    expect(kindOf({ artifactType: 'application/vnd.example.thing' })).toBe('other')
    expect(kindOf({})).toBe('other')
  })

  it('referrer-types lets through what it names, by kind or media type; empty lets all', () => {
    expect(allowed([], 'other', 'x/y')).toBe(true)
    expect(allowed(['signature'], 'signature', BUNDLE)).toBe(true)
    expect(allowed(['signature'], 'sbom', 'application/spdx+json')).toBe(false)
    expect(allowed(['application/spdx+json'], 'sbom', 'application/spdx+json')).toBe(true)
    expect(allowed(['application/spdx+json'], 'sbom', 'text/spdx')).toBe(false)
  })
})

describe('words', () => {
  it('counts in words, says what this run copied, and nothing for an unsigned image', () => {
    expect(attachedWords(signed)).toBe('2 signatures, 1 attestation, 1 SBOM (4 copied now)')
    expect(attachedWords(plain)).toBe('')
    expect(attachedWords({})).toBe('')
    // A results file of another job: only whole numbers count.
    const odd = { attached: { signatures: '3', sboms: 1.5, other: 1 } } as unknown as MirrorResult
    expect(attachedWords(odd)).toBe('1 other artifact')
  })

  it('says plainly that a subset’s index is not the signed one', () => {
    const subset = { ...signed, attached: { ...signed.attached!, indexLeftOut: S } }
    expect(subsetSigningWords(subset)).toMatch(/not the source's sha256:bbbbbbbbbbbb/)
    expect(subsetSigningWords(signed)).toBe('')
  })
})

describe('where people look', () => {
  beforeEach(() => {
    core.summary.emptyBuffer()
  })

  it('the summary has a Signed column and a cosign verify line by digest, only when signed', () => {
    buildSummary([signed, plain], { dryRun: false })
    const html = core.summary.stringify()
    expect(html).toContain('<th>Signed</th>')
    expect(html).toContain('2 signatures, 1 attestation, 1 SBOM (4 copied now)')
    expect(html).toContain(
      `cosign verify --key publisher.pub r.example.com/m/ghcr.io/acme/app@${D}`
    )
    core.summary.emptyBuffer()
    buildSummary([plain], { dryRun: false })
    const unsigned = core.summary.stringify()
    expect(unsigned).not.toContain('Signed')
    expect(unsigned).not.toContain('cosign verify')
  })

  it('no verify line for what is not in the mirror, or a reference that cannot be pasted', () => {
    expect(verifyLine([{ ...signed, status: 'failed' }])).toBeUndefined()
    expect(verifyLine([{ ...signed, target: 'r.example.com/m/$(id):1' }])).toBeUndefined()
    expect(verifyLine([plain, signed])).toBe(
      `cosign verify --key publisher.pub r.example.com/m/ghcr.io/acme/app@${D}`
    )
  })

  it('a policy-checked image says who signed it, and its verify line names the policy’s key', () => {
    const verified: MirrorResult = {
      ...signed,
      verified: {
        digest: D,
        by: 'key keys/acme.pub (SHA256:abc=)',
        key: 'keys/acme.pub',
        format: 'bundle'
      }
    }
    buildSummary([verified], { dryRun: false })
    const html = core.summary.stringify()
    expect(html).toContain('✔ verified: signed by key keys/acme.pub (SHA256:abc=)')
    expect(verifyLine([verified])).toBe(
      `cosign verify --key keys/acme.pub r.example.com/m/ghcr.io/acme/app@${D}`
    )
    // A key path that is not plain (a results file of another job) is not pasted.
    const odd = { ...verified, verified: { ...verified.verified!, key: '-x; rm -rf /' } }
    expect(verifyLine([odd])).toBe(
      `cosign verify --key publisher.pub r.example.com/m/ghcr.io/acme/app@${D}`
    )
  })

  it('a keyless signer is said and its verify line names identity, issuer and a given root', () => {
    const identity = 'https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v1'
    const issuer = 'https://token.actions.githubusercontent.com'
    const keyless: MirrorResult = {
      ...signed,
      verified: {
        digest: D,
        by: `identity ${identity} (issuer ${issuer})`,
        identity,
        issuer,
        format: 'bundle'
      }
    }
    buildSummary([keyless], { dryRun: false })
    const html = core.summary.stringify()
    // Said, with its link broken up (a URL in the summary never becomes a link).
    expect(html).toContain('✔ verified: signed by identity https:\u2060//github.com/acme/app/')
    expect(html).not.toContain('href')
    expect(verifyLine([keyless])).toBe(
      `cosign verify --certificate-identity ${identity} --certificate-oidc-issuer ${issuer} r.example.com/m/ghcr.io/acme/app@${D}`
    )
    const privateRoot = {
      ...keyless,
      verified: { ...keyless.verified!, trustedRoot: 'sigstore/root.json' }
    }
    expect(verifyLine([privateRoot])).toBe(
      `cosign verify --trusted-root sigstore/root.json --certificate-identity ${identity} --certificate-oidc-issuer ${issuer} r.example.com/m/ghcr.io/acme/app@${D}`
    )
    // An identity a shell would read otherwise gets no line (never one with the wrong signer).
    const odd = { ...keyless, verified: { ...keyless.verified!, identity: 'a@b.c;$(id)' } }
    expect(verifyLine([odd])).toBeUndefined()
    expect(verifyLine([odd, signed])).toBe(
      `cosign verify --key publisher.pub r.example.com/m/ghcr.io/acme/app@${D}`
    )
    const answer = resultComment([keyless], {
      notes: [],
      ignored: 0,
      run: { url: 'https://github.com/acme/mirror/actions/runs/1', dryRun: false }
    })
    expect(answer).toContain(`--certificate-identity ${identity}`)
    expect(answer).toMatch(/✔ verified: signed by identity https:\u2060\/\/github\.com/)
  })

  it('the issue answer has the column and the line too', () => {
    const run = { url: 'https://github.com/acme/mirror/actions/runs/1', dryRun: false }
    const text = resultComment([signed, plain], { notes: [], ignored: 0, run })
    expect(text).toContain('| Status | Image | Mirrored address | Digest | Signed |')
    expect(text).toContain('2 signatures, 1 attestation, 1 SBOM (4 copied now) |')
    expect(text).toContain('**How to verify**')
    expect(text).toContain(
      `cosign verify --key publisher.pub r.example.com/m/ghcr.io/acme/app@${D}`
    )
    const unsigned = resultComment([plain], { notes: [], ignored: 0, run })
    expect(unsigned).toContain('| Status | Image | Mirrored address | Digest |\n')
    expect(unsigned).not.toContain('How to verify')
  })
})
