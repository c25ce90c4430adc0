/**
 * cosign, built from its Go module by the jest global set-up (scripts/lib/go-tools.mjs), as
 * the tests' signer and as the proof users care about: `cosign verify` run against the
 * mirror. Keys only, offline: no transparency log upload, no signing config fetched, and a
 * HOME and TUF root of its own so nothing of the machine's is read or written.
 */
import { spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { builtCosign } from '../scripts/lib/go-tools.mjs'
import type { LegacySignature } from './sigstore.js'

export const cosignBinary = builtCosign()

export interface KeyPair {
  key: string
  pub: string
}

export interface Cosign {
  /** A new key pair (password-protected, as cosign makes them). */
  keys(name: string): KeyPair
  /** Sign by digest: the Sigstore bundle (a referrer), or cosign's older `.sig` tag. */
  sign(reference: string, keys: KeyPair, options?: { legacy?: boolean }): void
  attest(reference: string, keys: KeyPair, type: string, options?: { legacy?: boolean }): void
  /** An SPDX SBOM under the `.sbom` tag (cosign's deprecated `attach sbom`). */
  attachSbom(reference: string): void
  /**
   * cosign 2's keyless `.sig` signature, made elsewhere (__fixtures__/sigstore.ts), written
   * by cosign itself (`attach signature` with the certificate and Rekor's bundle).
   */
  attachSignature(reference: string, signature: LegacySignature): void
  /**
   * `cosign verify` of a keyless signature against a trusted root file, offline (the
   * certificate's identity and issuer as the options name them).
   */
  verifyKeyless(
    reference: string,
    options: { trustedRoot: string; identity: string; issuer: string; legacy?: boolean }
  ): { code: number; output: string }
  /** Exit code and output of `cosign verify` (or `verify-attestation` with a type). */
  verify(
    reference: string,
    keys: KeyPair,
    options?: { legacy?: boolean; attestation?: string }
  ): { code: number; output: string }
  dir: string
  remove(): void
}

const PASSWORD = 'cosign-test'
const OFFLINE_SIGN = ['--tlog-upload=false', '--use-signing-config=false']

export function startCosign(): Cosign {
  if (!cosignBinary)
    throw new Error('cosign is not built (the jest global set-up builds it with Go)')
  const binary = cosignBinary
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cosign-'))
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: dir,
    TUF_ROOT: path.join(dir, 'tuf'),
    COSIGN_PASSWORD: PASSWORD,
    COSIGN_YES: 'true'
  }
  const run = (args: string[], check = true) => {
    const done = spawnSync(binary, args, { cwd: dir, env, encoding: 'utf8', timeout: 60_000 })
    const output = `${done.stdout ?? ''}${done.stderr ?? ''}`
    if (check && done.status !== 0) {
      throw new Error(`cosign ${args.join(' ')} failed (${done.status}): ${output.slice(-2000)}`)
    }
    return { code: done.status ?? -1, output }
  }
  const bundle = (legacy?: boolean) => (legacy ? ['--new-bundle-format=false'] : [])
  return {
    dir,
    keys(name) {
      run(['generate-key-pair', '--output-key-prefix', name])
      return { key: path.join(dir, `${name}.key`), pub: path.join(dir, `${name}.pub`) }
    },
    sign(reference, keys, options = {}) {
      run([
        'sign',
        '--key',
        keys.key,
        ...OFFLINE_SIGN,
        ...bundle(options.legacy),
        '--allow-http-registry',
        reference
      ])
    },
    attest(reference, keys, type, options = {}) {
      const predicate = path.join(dir, 'predicate.json')
      fs.writeFileSync(predicate, JSON.stringify({ builder: 'image-mirror tests', type }))
      run([
        'attest',
        '--key',
        keys.key,
        ...OFFLINE_SIGN,
        ...bundle(options.legacy),
        '--allow-http-registry',
        '--predicate',
        predicate,
        '--type',
        type,
        reference
      ])
    },
    attachSbom(reference) {
      const sbom = path.join(dir, 'sbom.spdx.json')
      fs.writeFileSync(sbom, JSON.stringify({ spdxVersion: 'SPDX-2.3', name: reference }))
      run(['attach', 'sbom', '--sbom', sbom, '--type', 'spdx', '--allow-http-registry', reference])
    },
    attachSignature(reference, signature) {
      const file = (name: string, content: string | Buffer) => {
        fs.writeFileSync(path.join(dir, name), content)
        return path.join(dir, name)
      }
      run([
        'attach',
        'signature',
        '--payload',
        file('payload.json', signature.payload),
        '--signature',
        file('signature.b64', signature.signature),
        '--certificate',
        file('certificate.pem', signature.certificate),
        '--rekor-response',
        file('rekor-response.json', signature.rekorResponse),
        '--allow-http-registry',
        reference
      ])
    },
    verifyKeyless(reference, options) {
      return run(
        [
          'verify',
          '--trusted-root',
          options.trustedRoot,
          '--certificate-identity',
          options.identity,
          '--certificate-oidc-issuer',
          options.issuer,
          ...bundle(options.legacy),
          '--allow-http-registry',
          reference
        ],
        false
      )
    },
    verify(reference, keys, options = {}) {
      const what = options.attestation
        ? ['verify-attestation', '--type', options.attestation]
        : ['verify']
      return run(
        [
          ...what,
          '--key',
          keys.pub,
          '--insecure-ignore-tlog=true',
          ...bundle(options.legacy),
          '--allow-http-registry',
          reference
        ],
        false
      )
    },
    remove: () => fs.rmSync(dir, { recursive: true, force: true })
  }
}
