/**
 * The mirror layout: where the rewrite template puts each source registry's
 * repositories, worked out once and shared by every client's renderer, and
 * the notes that hold for all clients alike.
 */
import type { ConfigNote, ConfigRequest } from './model.js'
import { renderTarget } from '../image/rewrite.js'

/** Where a mirrored repository lives: its registry host and its path there. */
export interface Location {
  host: string
  path: string
}

/**
 * How one source registry's repositories land in the mirror: under one path
 * prefix (`prefix/<repository>`, which every client can express), or one by
 * one (only what lists repositories or rewrites by regex can express that).
 */
export type Layout =
  | { kind: 'prefix'; registry: string; mirror: Location }
  | {
      kind: 'repositories'
      registry: string
      repositories: { repository: string; mirror: Location }[]
    }

// Probe repositories of one, two and three segments (an empty {namespace} folds away).
const PROBES = ['imprb', 'imprc/imprd', 'impre/imprf/imprg']

/**
 * The path prefix a template puts every repository of `registry` under, found
 * by rendering probe repositories with the real renderer; undefined when the
 * result is not `prefix/<repository>` for all of them.
 */
export function mirrorPrefix(
  template: string,
  target: string,
  registry: string
): Location | undefined {
  let found: Location | undefined
  for (const probe of PROBES) {
    const rendered = renderTarget(template, target, { registry, repository: probe })
    if (!rendered.ok) return undefined
    const { registry: host, repository } = rendered.repository
    if (repository !== probe && !repository.endsWith(`/${probe}`)) return undefined
    const path = repository.slice(0, repository.length - probe.length).replace(/\/$/, '')
    if (found && (found.host !== host || found.path !== path)) return undefined
    found = { host, path }
  }
  return found
}

export function joinName(location: Location, repository = ''): string {
  return [location.host, location.path, repository].filter(Boolean).join('/')
}

/**
 * Why no config can be written when the template does not give what the run
 * did: the files describe the template, so they must also describe the run.
 */
export function templateMismatch(request: ConfigRequest): ConfigNote | undefined {
  const { target, template } = request
  const mismatch = request.mappings.find(m => {
    const rendered = renderTarget(template, target, m.source)
    return !rendered.ok || rendered.name !== m.target
  })
  if (!mismatch) return undefined
  const rendered = renderTarget(template, target, mismatch.source)
  const gives = rendered.ok ? rendered.name : 'no valid name'
  return {
    client: 'all',
    text: `No client config was written: ${mismatch.source.registry}/${mismatch.source.repository} was mirrored to ${mismatch.target}, but the rewrite template "${template}" with target "${target}" gives ${gives}. Give this job the same target and rewrite as the job that planned the run.`
  }
}

/** Each registry's layout; only for a request templateMismatch has passed. */
export function layoutsOf(request: ConfigRequest, registries: readonly string[]): Layout[] {
  const { target, template } = request
  return registries.map(registry => {
    const mirror = mirrorPrefix(template, target, registry)
    if (mirror) return { kind: 'prefix', registry, mirror }
    const repositories = [
      ...new Set(
        request.mappings.filter(m => m.source.registry === registry).map(m => m.source.repository)
      )
    ]
      .sort()
      .map(repository => {
        const rendered = renderTarget(template, target, { registry, repository })
        // templateMismatch checked that every repository of the run renders to what it was mirrored to.
        if (!rendered.ok) throw new Error(rendered.reason)
        return {
          repository,
          mirror: { host: rendered.repository.registry, path: rendered.repository.repository }
        }
      })
    return { kind: 'repositories', registry, repositories }
  })
}

/** Said once for every client: registries whose repositories are listed one by one. */
export function byRepositoryNote(
  layouts: readonly Layout[],
  template: string
): ConfigNote | undefined {
  const byRepository = layouts.filter(l => l.kind === 'repositories')
  if (byRepository.length === 0) return undefined
  const listed = byRepository.map(l => l.repositories.length).reduce((a, b) => a + b, 0)
  const empty = byRepository.filter(l => l.repositories.length === 0).map(l => l.registry)
  return {
    client: 'all',
    text:
      `The rewrite template "${template}" does not keep each registry's repositories under one path prefix, so registries.conf and registries.yaml list the ${listed} repositories of this run one by one (${byRepository.map(l => l.registry).join(', ')}); repositories mirrored later need the files written again.` +
      (empty.length > 0
        ? ` Nothing is listed for ${empty.join(', ')}: this run mirrored no repository from it.`
        : '')
  }
}
