/**
 * The signature policy (`verify-policy`): which images must be signed, and by
 * what, before they are mirrored. One rule a line, the allowlist's pattern
 * grammar, then what must verify:
 *
 *     # pattern                requirements (any one of them)
 *     ghcr.io/acme/**          key=keys/acme.pub
 *     docker.io/library/nginx  key=keys/nginx.pub key=keys/nginx-2024.pub
 *     registry.k8s.io/**       identity=krel-trust@k8s-releng-prod.iam.gserviceaccount.com
 *                              issuer=https://accounts.google.com
 *
 * (one line, wrapped here). A keyless requirement is an identity (`identity=`, or
 * `identity-regexp=` matching the whole of it) and the issuer that follows it on the line
 * (`issuer=` or `issuer-regexp=`), which applies to every identity since the previous one.
 *
 * The most specific line that matches an image applies (an exact name before
 * `prefix/*`, before the longest `prefix/**`); an image no line matches is
 * mirrored without a check. A malformed line, or a key that cannot be read,
 * is an error naming the file and line: a policy that says less than its
 * author meant must not be used.
 */
import * as fs from 'node:fs'
import * as path from 'node:path'
import {
  Allowlist,
  parsePattern,
  patternText,
  splitLine,
  type AllowPattern
} from '../allowlist/allowlist.js'
import { MirrorError } from '../common/errors.js'
import type { ImageReference } from '../image/references.js'
import { matcher, matcherText, TrustRoot, type IdentityRule, type Matcher } from './keyless.js'
import { publicPem, readPublicKey, type PolicyKey } from './signatures.js'

export interface PolicyRule {
  pattern: AllowPattern
  /** Any one of these keys, or of these identities, must have signed the image. */
  keys: PolicyKey[]
  identities: IdentityRule[]
}

export class PolicyError extends Error {}

const SPECIFICITY = { exact: 2, one: 1, any: 0 } as const
/** Keys a line may name, and the longest key file read. */
const MAX_KEYS = 16
const MAX_KEY_BYTES = 64 * 1024
const MAX_ROOT_BYTES = 1024 * 1024

/**
 * A policy as the plan carries it to the legs, which check out only the action: its text and
 * the keys it names, each as PEM.
 */
export interface PolicyRecord {
  source: string
  text: string
  keys: Record<string, string>
  /** verify-trusted-root's content; absent: Sigstore's public root, fetched when needed. */
  trustedRoot?: string
  /** Its path as the input gives it, for the `cosign verify --trusted-root` line. */
  trustedRootName?: string
}

export class SignaturePolicy {
  private readonly matchers: { rule: PolicyRule; list: Allowlist }[]

  private root?: Promise<TrustRoot>

  constructor(
    readonly record: PolicyRecord,
    readonly rules: PolicyRule[],
    private readonly givenRoot?: TrustRoot
  ) {
    this.matchers = rules.map(rule => ({
      rule,
      list: new Allowlist(record.source, [rule.pattern])
    }))
  }

  /**
   * The trusted root keyless signatures are checked against: the one given, else Sigstore's
   * public one, fetched once a run when an image first needs it. A failed fetch (the TUF
   * client has retried it) fails every image that needs it, at once and permanently: a
   * thousand images must not each wait out the same unreachable repository.
   */
  trustRoot(): Promise<TrustRoot> {
    if (this.givenRoot) return Promise.resolve(this.givenRoot)
    this.root ??= TrustRoot.fetch().catch((error: unknown) => {
      throw new MirrorError(
        `Sigstore's public trusted root could not be fetched from tuf-repo-cdn.sigstore.dev (${error instanceof Error ? error.message : String(error)}); the runner must reach it, or give verify-trusted-root`,
        true
      )
    })
    return this.root
  }

  /** The rule an image must meet, or undefined when none applies to it. */
  ruleFor(ref: Pick<ImageReference, 'registry' | 'repository'>): PolicyRule | undefined {
    let best: PolicyRule | undefined
    for (const { rule, list } of this.matchers) {
      if (!list.match(ref)) continue
      if (!best || moreSpecific(rule.pattern, best.pattern)) best = rule
    }
    return best
  }
}

function moreSpecific(a: AllowPattern, b: AllowPattern): boolean {
  const kind = SPECIFICITY[a.kind] - SPECIFICITY[b.kind]
  return kind > 0 || (kind === 0 && a.prefix.length > b.prefix.length)
}

/**
 * Read a policy file; key paths are relative to `baseDir` (the workspace). `trustedRoot`: a
 * trusted_root.json for keyless signatures (verify-trusted-root), instead of Sigstore's.
 */
export function readPolicyFile(
  file: string,
  source: string,
  baseDir: string,
  trustedRoot?: string,
  trustedRootName?: string
): SignaturePolicy {
  let root: string | undefined
  try {
    root = trustedRoot === undefined ? undefined : readBounded(trustedRoot, MAX_ROOT_BYTES)
  } catch (e) {
    throw new PolicyError(`the trusted root cannot be read (${(e as Error).message})`, { cause: e })
  }
  const policy = parsePolicy(
    fs.readFileSync(file, 'utf8'),
    source,
    name => readKeyFile(name, baseDir),
    root
  )
  if (trustedRootName !== undefined) policy.record.trustedRootName = trustedRootName
  return policy
}

/** A policy the plan carried (see PolicyRecord). */
export function policyFromRecord(record: PolicyRecord): SignaturePolicy {
  const keys = new Map(Object.entries(record.keys ?? {}))
  const root = typeof record.trustedRoot === 'string' ? record.trustedRoot : undefined
  const policy = parsePolicy(
    String(record.text),
    String(record.source),
    name => {
      const pem = keys.get(name)
      if (pem === undefined) throw new Error(`key "${name}" is not in the plan`)
      return pem
    },
    root
  )
  if (typeof record.trustedRootName === 'string') {
    policy.record.trustedRootName = record.trustedRootName
  }
  return policy
}

/** A trusted_root.json's text as a root; throws PolicyError saying what is wrong. */
function trustRootOf(text: string): TrustRoot {
  try {
    return TrustRoot.fromJSON(JSON.parse(text))
  } catch (e) {
    throw new PolicyError(
      `the trusted root is not a Sigstore trusted_root.json (${(e as Error).message})`,
      { cause: e }
    )
  }
}

/**
 * Read a policy whose keys `readKey` gives as PEM by the name the policy writes. Throws
 * PolicyError naming each bad line.
 */
export function parsePolicy(
  text: string,
  source: string,
  readKey: (name: string) => string,
  trustedRoot?: string
): SignaturePolicy {
  const root = trustedRoot === undefined ? undefined : trustRootOf(trustedRoot)
  const rules: PolicyRule[] = []
  const errors: string[] = []
  const pems: Record<string, string> = {}
  const keyOf = (name: string): PolicyKey => {
    const pem = readKey(name)
    let key: PolicyKey
    try {
      key = readPublicKey(pem, name)
    } catch (e) {
      throw new Error(`key "${name}" is not a PEM public key (${(e as Error).message})`, {
        cause: e
      })
    }
    // Only the public part travels on (in the plan), whatever else the file held.
    pems[name] = publicPem(key)
    return key
  }
  const seen = new Map<string, number>()
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = splitLine(raw).pattern
    if (line.length === 0) return
    try {
      const rule = parseRule(line, i + 1, keyOf)
      const again = seen.get(patternText(rule.pattern))
      // Two lines for one pattern: which keys count would depend on line order.
      if (again !== undefined) {
        throw new Error(
          `"${rule.pattern.text}" is also on line ${again}: give all its requirements on one line`
        )
      }
      seen.set(patternText(rule.pattern), i + 1)
      rules.push(rule)
    } catch (e) {
      errors.push(`${source} line ${i + 1}: ${(e as Error).message}`)
    }
  })
  if (errors.length > 0) {
    const more = errors.length > 10 ? `\n(and ${errors.length - 10} more)` : ''
    throw new PolicyError(
      `the signature policy has ${errors.length} invalid line(s):\n${errors.slice(0, 10).join('\n')}${more}`
    )
  }
  const record: PolicyRecord = { source, text, keys: pems }
  if (trustedRoot !== undefined) record.trustedRoot = trustedRoot
  return new SignaturePolicy(record, rules, root)
}

const KEYLESS = ['identity', 'identity-regexp', 'issuer', 'issuer-regexp']
const HOW = 'write key=PATH (a cosign public key), or identity=… then issuer=… (a keyless signer)'

function parseRule(line: string, number: number, keyOf: (name: string) => PolicyKey): PolicyRule {
  const [patternText, ...requirements] = line.split(/\s+/)
  const pattern = parsePattern(patternText as string, number)
  if (requirements.length === 0) throw new Error(`"${patternText}" names no requirement: ${HOW}`)
  const keys: PolicyKey[] = []
  const identities: IdentityRule[] = []
  let waiting: Matcher[] = []
  for (const requirement of requirements) {
    const at = requirement.indexOf('=')
    const name = at > 0 ? requirement.slice(0, at) : requirement
    const value = at > 0 ? requirement.slice(at + 1) : ''
    if ((name !== 'key' && !KEYLESS.includes(name)) || !value) {
      throw new Error(`"${requirement}" is not a requirement; ${HOW}`)
    }
    if (keys.length + identities.length + waiting.length === MAX_KEYS) {
      throw new Error(`more than ${MAX_KEYS} keys and identities on one line`)
    }
    if (name === 'key') {
      keys.push(keyOf(value))
      continue
    }
    let m: Matcher
    try {
      m = matcher(value, name.endsWith('-regexp'))
    } catch (e) {
      throw new Error(
        `"${requirement}" is not an RE2 regular expression (${(e as Error).message})`,
        {
          cause: e
        }
      )
    }
    if (name.startsWith('identity')) {
      waiting.push(m)
      continue
    }
    if (waiting.length === 0) {
      throw new Error(`"${requirement}" follows no identity: write identity=… before it`)
    }
    identities.push(...waiting.map(identity => ({ identity, issuer: m })))
    waiting = []
  }
  if (waiting.length > 0) {
    throw new Error(
      `${waiting.map(m => `"${matcherText(m)}"`).join(', ')}: an identity needs the issuer that vouches for it after it, e.g. issuer=https://token.actions.githubusercontent.com`
    )
  }
  return { pattern, keys, identities }
}

/** A file's text, bounded; throws saying why it cannot be read. */
function readBounded(file: string, max: number): string {
  const stat = fs.statSync(file)
  if (!stat.isFile()) throw new Error(`${file} is not a file`)
  if (stat.size > max) throw new Error(`${file} is larger than ${max} bytes`)
  return fs.readFileSync(file, 'utf8')
}

/** A key file's PEM, relative to `baseDir`, bounded. */
function readKeyFile(file: string, baseDir: string): string {
  try {
    return readBounded(path.resolve(baseDir, file), MAX_KEY_BYTES)
  } catch (e) {
    throw new Error(`key "${file}" cannot be read (${(e as Error).message})`, { cause: e })
  }
}
