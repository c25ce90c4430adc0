/**
 * Allowlist in DaoCloud's `allows.txt` format: one repository pattern a line,
 * an exact repository, `prefix/*` (exactly one more path segment) or
 * `prefix/**` (one or more segments). Matching works on path segments of the
 * normalised repository, never on raw string prefixes, so a look-alike host
 * or a longer segment never slips under a pattern.
 */
import { parseRepositoryName, repositoryName, type ImageReference } from '../image/references.js'
import { parseEntry } from '../image/entries.js'

export type PatternKind = 'exact' | 'one' | 'any'

export interface AllowPattern {
  /** The line as written in the file. */
  text: string
  line: number
  kind: PatternKind
  /** Normalised `registry/repository` prefix (the whole name for `exact`). */
  prefix: string
}

export class AllowlistError extends Error {}

/** Words every "not allowed" reason carries, so answers can point to the allowlist. */
export const NOT_ALLOWED = 'is not in the allowlist'

export class Allowlist {
  readonly patterns: AllowPattern[]
  private readonly byKind: Record<PatternKind, Map<string, AllowPattern>>

  constructor(
    readonly source: string,
    patterns: AllowPattern[]
  ) {
    this.patterns = patterns
    this.byKind = { exact: new Map(), one: new Map(), any: new Map() }
    for (const p of patterns) {
      if (!this.byKind[p.kind].has(p.prefix)) this.byKind[p.kind].set(p.prefix, p)
    }
  }

  /**
   * The pattern that allows a repository, or undefined. Lookups are by whole
   * segment prefixes: O(depth) map hits whatever the size of the list.
   */
  match(ref: Pick<ImageReference, 'registry' | 'repository'>): AllowPattern | undefined {
    const name = repositoryName(ref)
    const exact = this.byKind.exact.get(name)
    if (exact) return exact
    const segments = name.split('/')
    const parent = segments.slice(0, -1).join('/')
    const one = this.byKind.one.get(parent)
    if (one) return one
    let prefix = segments[0] as string
    for (let i = 1; i < segments.length; i++) {
      const any = this.byKind.any.get(prefix)
      if (any) return any
      prefix += '/' + segments[i]
    }
    return undefined
  }
}

/**
 * Read an allowlist. Patterns are normalised like references (`nginx` is
 * `docker.io/library/nginx`, hosts lower case) except that a wildcard keeps
 * its prefix as written: `docker.io/*` means one segment under docker.io,
 * exactly as DaoCloud's own checker reads it. A malformed line is an error
 * naming the file and line: an allowlist that says less than its author
 * meant must not be used.
 */
export function parseAllowlist(text: string, source: string): Allowlist {
  const patterns: AllowPattern[] = []
  const errors: string[] = []
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = splitLine(raw).pattern
    if (line.length === 0) return
    try {
      patterns.push(parsePattern(line, i + 1))
    } catch (e) {
      errors.push(`${source} line ${i + 1}: ${(e as Error).message}`)
    }
  })
  if (errors.length > 0) {
    const more = errors.length > 10 ? `\n(and ${errors.length - 10} more)` : ''
    throw new AllowlistError(
      `allowlist has ${errors.length} invalid line(s):\n${errors.slice(0, 10).join('\n')}${more}`
    )
  }
  return new Allowlist(source, patterns)
}

/**
 * A line's pattern and its comment: `#` starts a comment at the start of the
 * line or after white space (`a#b` is a malformed pattern, not `a`).
 */
export function splitLine(raw: string): { pattern: string; comment?: string } {
  const at = /(^|\s)#/.exec(raw)
  if (!at) return { pattern: raw.trim() }
  const start = at.index + (at[1] ?? '').length
  return { pattern: raw.slice(0, start).trim(), comment: raw.slice(start).trim() }
}

/** How a pattern reads in full, as the matcher sees it: `nginx` is `docker.io/library/nginx`. */
export function patternText(p: Pick<AllowPattern, 'kind' | 'prefix'>): string {
  return p.prefix + (p.kind === 'one' ? '/*' : p.kind === 'any' ? '/**' : '')
}

/** One pattern (no comment, trimmed); throws an Error saying why it is malformed. */
export function parsePattern(text: string, line: number): AllowPattern {
  const policy = tagPolicyIn(text)
  if (policy) {
    throw new Error(
      `"${text}": an allowlist names repositories, never tags: the tag policy ${policy.policy} belongs in images; here write "${policy.repository}"`
    )
  }
  let kind: PatternKind = 'exact'
  let body = text
  if (text.endsWith('/**')) {
    kind = 'any'
    body = text.slice(0, -3)
  } else if (text.endsWith('/*')) {
    kind = 'one'
    body = text.slice(0, -2)
  }
  if (body.includes('*')) {
    throw new Error(
      `"${text}": "*" and "**" may only stand as the last path segment ("prefix/*" or "prefix/**")`
    )
  }
  if (kind !== 'exact' && !body.includes('/') && /[.:]|^localhost$/.test(body)) {
    return { text, line, kind, prefix: parseHostPrefix(body, text) }
  }
  const parsed = parseRepositoryName(body)
  if (!parsed.ok) throw new Error(`"${text}": ${parsed.reason}`)
  const prefix =
    kind === 'exact' ? repositoryName(parsed.ref) : keepWrittenDepth(body, parsed.ref.registry)
  return { text, line, kind, prefix }
}

/** A line written as an image entry with a tag policy (`nginx:semver(>=1.26)`), read as one. */
export function tagPolicyIn(text: string): { repository: string; policy: string } | undefined {
  const [request] = parseEntry(text, { source: 'allowlist', line: 0 })
  return request?.kind === 'tag-filter'
    ? { repository: repositoryName(request.ref), policy: request.policy }
    : undefined
}

/** A wildcard directly under a registry (`gcr.io/**`): the prefix is the host alone. */
function parseHostPrefix(host: string, text: string): string {
  const parsed = parseRepositoryName(`${host}/x`)
  if (!parsed.ok) throw new Error(`"${text}": ${parsed.reason}`)
  return parsed.ref.registry
}

/**
 * A wildcard's prefix with only the host normalised: `docker.io/bitnami/*`
 * stays two segments deep instead of gaining `library/`.
 */
function keepWrittenDepth(body: string, registry: string): string {
  const slash = body.indexOf('/')
  const first = slash < 0 ? body : body.slice(0, slash)
  const hasHost = slash >= 0 && (/[.:]/.test(first) || first === 'localhost')
  return hasHost ? `${registry}${body.slice(slash)}` : `docker.io/${body}`
}
