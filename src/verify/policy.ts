/**
 * The signature policy (`verify-policy`): which images must be signed, and by
 * what, before they are mirrored. One rule a line, the allowlist's pattern
 * grammar, then what must verify:
 *
 *     # pattern                requirement (any of the keys)
 *     ghcr.io/acme/**          key=keys/acme.pub
 *     docker.io/library/nginx  key=keys/nginx.pub key=keys/nginx-2024.pub
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
import type { ImageReference } from '../image/references.js'
import { publicPem, readPublicKey, type PolicyKey } from './signatures.js'

export interface PolicyRule {
  pattern: AllowPattern
  /** Any one of these must have signed the image. */
  keys: PolicyKey[]
}

export class PolicyError extends Error {}

const SPECIFICITY = { exact: 2, one: 1, any: 0 } as const
/** Keys a line may name, and the longest key file read. */
const MAX_KEYS = 16
const MAX_KEY_BYTES = 64 * 1024

/**
 * A policy as the plan carries it to the legs, which check out only the action: its text and
 * the keys it names, each as PEM.
 */
export interface PolicyRecord {
  source: string
  text: string
  keys: Record<string, string>
}

export class SignaturePolicy {
  private readonly matchers: { rule: PolicyRule; list: Allowlist }[]

  constructor(
    readonly record: PolicyRecord,
    readonly rules: PolicyRule[]
  ) {
    this.matchers = rules.map(rule => ({
      rule,
      list: new Allowlist(record.source, [rule.pattern])
    }))
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

/** Read a policy file; key paths are relative to `baseDir` (the workspace). */
export function readPolicyFile(file: string, source: string, baseDir: string): SignaturePolicy {
  return parsePolicy(fs.readFileSync(file, 'utf8'), source, name => readKeyFile(name, baseDir))
}

/** A policy the plan carried (see PolicyRecord). */
export function policyFromRecord(record: PolicyRecord): SignaturePolicy {
  const keys = new Map(Object.entries(record.keys ?? {}))
  return parsePolicy(String(record.text), String(record.source), name => {
    const pem = keys.get(name)
    if (pem === undefined) throw new Error(`key "${name}" is not in the plan`)
    return pem
  })
}

/**
 * Read a policy whose keys `readKey` gives as PEM by the name the policy writes. Throws
 * PolicyError naming each bad line.
 */
export function parsePolicy(
  text: string,
  source: string,
  readKey: (name: string) => string
): SignaturePolicy {
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
          `"${rule.pattern.text}" is also on line ${again}: give all its keys on one line`
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
  return new SignaturePolicy({ source, text, keys: pems }, rules)
}

function parseRule(line: string, number: number, keyOf: (name: string) => PolicyKey): PolicyRule {
  const [patternText, ...requirements] = line.split(/\s+/)
  const pattern = parsePattern(patternText as string, number)
  if (requirements.length === 0) {
    throw new Error(`"${patternText}" names no requirement: add key=PATH (a cosign public key)`)
  }
  const keys: PolicyKey[] = []
  for (const requirement of requirements) {
    const at = requirement.indexOf('=')
    const name = at > 0 ? requirement.slice(0, at) : requirement
    const value = at > 0 ? requirement.slice(at + 1) : ''
    if (name === 'identity' || name === 'identity-regexp' || name === 'issuer') {
      throw new Error(
        `"${requirement}": keyless identities are not verified by this version; name the publisher's key with key=PATH`
      )
    }
    if (name !== 'key' || !value) {
      throw new Error(`"${requirement}" is not a requirement; write key=PATH (a cosign public key)`)
    }
    if (keys.length === MAX_KEYS) throw new Error(`more than ${MAX_KEYS} keys on one line`)
    keys.push(keyOf(value))
  }
  return { pattern, keys }
}

/** A key file's PEM, relative to `baseDir`, bounded. */
function readKeyFile(file: string, baseDir: string): string {
  const resolved = path.resolve(baseDir, file)
  try {
    const stat = fs.statSync(resolved)
    if (!stat.isFile()) throw new Error('not a file')
    if (stat.size > MAX_KEY_BYTES) throw new Error(`larger than ${MAX_KEY_BYTES} bytes`)
    return fs.readFileSync(resolved, 'utf8')
  } catch (e) {
    throw new Error(`key "${file}" cannot be read (${(e as Error).message})`, { cause: e })
  }
}
