/**
 * Rewrite: where a source repository lands in the user's registry, from the
 * `rewrite` template, and the checks that keep the mapping usable (valid,
 * within registries' length limits, and one-to-one).
 */
import {
  MAX_NAME_LENGTH,
  parseRepositoryName,
  repositoryName,
  type ImageReference
} from './references.js'

export const DEFAULT_TEMPLATE = '{target}/{registry}/{repository}'
export const PLACEHOLDERS = ['target', 'registry', 'repository', 'namespace', 'name'] as const

type Repo = Pick<ImageReference, 'registry' | 'repository'>

/** Why a template is unusable, or undefined. Checked when inputs are read. */
export function checkTemplate(template: string): string | undefined {
  const unknown = [...template.matchAll(/\{([^{}]*)\}/g)]
    .map(m => m[1] as string)
    .filter(name => !(PLACEHOLDERS as readonly string[]).includes(name))
  if (unknown.length > 0) {
    return `unknown placeholder {${unknown[0]}}; use ${PLACEHOLDERS.map(p => `{${p}}`).join(', ')}`
  }
  if (/[{}]/.test(template.replace(/\{[a-z]+\}/g, ''))) return 'has an unmatched "{" or "}"'
  if (!/\{(repository|name)\}/.test(template)) {
    return 'must contain {repository} or {name}, or every image would land in one repository'
  }
  return undefined
}

/**
 * A registry as one path segment, one-to-one: ":" is not allowed in a path,
 * so a port is joined with "_", which no host name can contain
 * (`localhost:5000` → `localhost_5000`, never the same as a host
 * `localhost-5000`), and an IPv6 address is spelled out in full after
 * `ipv6__` (`[::1]:5000` → `ipv6__0-0-0-0-0-0-0-1_5000`).
 */
export function registrySegment(registry: string): string {
  const v6 = /^\[([0-9a-f:]+)\](?::(\d+))?$/.exec(registry)
  const port = (p: string | undefined) => (p ? `_${p}` : '')
  if (v6) return `ipv6__${expandIpv6(v6[1] as string).join('-')}${port(v6[2])}`
  const colon = registry.lastIndexOf(':')
  return colon < 0 ? registry : `${registry.slice(0, colon)}${port(registry.slice(colon + 1))}`
}

/** `::1` → eight groups without leading zeros, so two spellings of one address agree. */
function expandIpv6(address: string): string[] {
  const [head = '', tail] = address.split('::') as [string, string | undefined]
  const groups = (text: string) => (text ? text.split(':') : [])
  const before = groups(head)
  const after = tail === undefined ? [] : groups(tail)
  const zeros =
    tail === undefined ? [] : Array<string>(Math.max(0, 8 - before.length - after.length)).fill('0')
  return [...before, ...zeros, ...after].map(g => g.replace(/^0+(?=.)/, ''))
}

/**
 * A template maps two sources to one name for no pair of sources when it
 * keeps `{registry}` and the whole repository as path segments of their own,
 * with only fixed text around them. Any other template can merge sources
 * (`{target}/{name}` merges `docker.io/library/app` and `ghcr.io/acme/app`),
 * which a list's author may accept but a stranger's issue must not exploit.
 */
export function isOneToOne(template: string): boolean {
  return /^(?:(?:\{target\}|[^{}])*\/)?\{registry\}\/(?:[^{}/]+\/)*(?:\{repository\}|\{namespace\}\/\{name\})$/.test(
    template
  )
}

export type Rendered = { ok: true; repository: Repo; name: string } | { ok: false; reason: string }

/** Render the target repository for a source repository. */
export function renderTarget(template: string, target: string, source: Repo): Rendered {
  const segments = source.repository.split('/')
  const values: Record<string, string> = {
    target,
    registry: registrySegment(source.registry),
    repository: source.repository,
    namespace: segments.slice(0, -1).join('/'),
    name: segments[segments.length - 1] as string
  }
  // Empty values (no namespace) leave "//" behind; fold them.
  const name = template
    .replace(/\{([a-z]+)\}/g, (_, key: string) => values[key] ?? '')
    .replace(/\/{2,}/g, '/')
    .replace(/\/$/, '')
  if (name.length > MAX_NAME_LENGTH) {
    return {
      ok: false,
      reason: `the mirrored name ${name} is ${name.length} characters long; registries accept at most ${MAX_NAME_LENGTH}. Use a shorter target or a rewrite template such as {target}/{name}`
    }
  }
  const parsed = parseRepositoryName(name)
  if (!parsed.ok)
    return {
      ok: false,
      reason: `the rewrite template gives "${name}", which is not a valid repository: ${parsed.reason}`
    }
  return { ok: true, repository: parsed.ref, name: repositoryName(parsed.ref) }
}

/** The mirrored reference: the target repository with the source's tag and digest. */
export function targetReference(targetRepo: string, source: ImageReference): string {
  return (
    targetRepo + (source.tag ? `:${source.tag}` : '') + (source.digest ? `@${source.digest}` : '')
  )
}

export interface Collision {
  target: string
  sources: { name: string; where: string }[]
}

/**
 * Find target repositories that more than one source repository maps to.
 * Mixing two repositories in one would let their tags overwrite each other.
 */
export function findCollisions(
  mappings: { source: string; target: string; where: string }[]
): Collision[] {
  const byTarget = new Map<string, Map<string, string>>()
  for (const m of mappings) {
    let sources = byTarget.get(m.target)
    if (!sources) byTarget.set(m.target, (sources = new Map()))
    if (!sources.has(m.source)) sources.set(m.source, m.where)
  }
  return [...byTarget]
    .filter(([, sources]) => sources.size > 1)
    .map(([target, sources]) => ({
      target,
      sources: [...sources].map(([name, where]) => ({ name, where }))
    }))
}
