/**
 * Plan: requests → allowed references → targets, as results. Nothing here
 * talks to a registry; a collision between targets stops everything before
 * any work is done.
 */
import { NOT_ALLOWED, type Allowlist } from '../allowlist/allowlist.js'
import { mergeDuplicates, type EntryOrigin, type ImageRequest } from '../image/entries.js'
import { formatReference, repositoryName, type ImageReference } from '../image/references.js'
import type { MirrorResult } from '../image/results.js'
import { findCollisions, renderTarget, targetReference } from '../image/rewrite.js'

export interface PlanOptions {
  target: string
  template: string
  allowlist?: Allowlist
  /** How the allowlist is named in messages (its path as the user gave it). */
  allowlistName?: string
  /** Why a repository the allowlist did not vet is refused (an open mirror's rules), or undefined. */
  refuse?: (ref: Pick<ImageReference, 'registry' | 'repository'>) => string | undefined
}

/** Where the repeats of one request are named at most; the rest are counted. */
const MAX_REPEATS_NAMED = 5

export class CollisionError extends Error {}

export function describeOrigin(origin: EntryOrigin): string {
  return `${origin.source} line ${origin.line}`
}

/** Decide, for every request, what would be mirrored where, or why not. */
export function buildPlan(requests: ImageRequest[], options: PlanOptions): MirrorResult[] {
  const { unique, merged } = mergeDuplicates(requests)
  // Linear in the requests, and bounded in what it says: a line of 65,000 repeats is one note.
  const repeats = new Map<ImageRequest, { named: string[]; count: number }>()
  for (const { duplicate, kept } of merged) {
    let seen = repeats.get(kept)
    if (!seen) repeats.set(kept, (seen = { named: [], count: 0 }))
    const where = describeOrigin(duplicate.origin)
    seen.count++
    if (seen.named.length < MAX_REPEATS_NAMED && !seen.named.includes(where)) seen.named.push(where)
  }

  const mappings: { source: string; target: string; where: string }[] = []
  const results = unique.map((request): MirrorResult => {
    const result: MirrorResult = {
      request: request.request,
      origin: describeOrigin(request.origin),
      source: '',
      target: '',
      status: 'planned'
    }
    const notes: string[] = []
    const again = repeats.get(request)
    if (again) {
      const where = again.named.join(', ')
      notes.push(
        again.count === again.named.length
          ? `also requested on ${where}; merged`
          : `also requested ${again.count} more times (on ${where}); merged`
      )
    }
    const reject = (reason: string): MirrorResult => {
      if (notes.length > 0) result.note = notes.join('; ')
      return { ...result, status: 'rejected', reason }
    }

    if (request.kind === 'invalid') {
      if (request.setting) return reject(request.reason)
      const hint = request.suggestion ? `; did you mean ${request.suggestion}?` : ''
      return reject(`invalid image reference: ${request.reason}${hint}`)
    }
    if (request.kind === 'image') {
      result.source = formatReference(request.ref)
      if (request.note) notes.push(request.note)
    } else {
      result.source = repositoryName(request.ref)
      result.tagFilter = request.policy
    }

    if (options.allowlist && !options.allowlist.match(request.ref)) {
      const name = options.allowlistName ?? options.allowlist.source
      return reject(
        `${repositoryName(request.ref)} ${NOT_ALLOWED} ${name}; ask for a line such as "${repositoryName(request.ref)}" to be added to it`
      )
    }

    const refused = options.allowlist ? undefined : options.refuse?.(request.ref)
    if (refused) return reject(refused)

    const rendered = renderTarget(options.template, options.target, request.ref)
    if (!rendered.ok) return reject(rendered.reason)
    mappings.push({
      source: repositoryName(request.ref),
      target: rendered.name,
      where: result.origin
    })
    result.target =
      request.kind === 'image' ? targetReference(rendered.name, request.ref) : rendered.name
    if (notes.length > 0) result.note = notes.join('; ')
    return result
  })

  const collisions = findCollisions(mappings)
  if (collisions.length > 0) {
    const lines = collisions.map(
      c =>
        `${c.sources.map(s => `${s.name} (${s.where})`).join(' and ')} would both land on ${c.target}`
    )
    throw new CollisionError(
      `The rewrite template maps different source repositories to one target, so their tags would overwrite each other. Nothing was done.\n${lines.join('\n')}\nUse a rewrite template that keeps them apart, such as {target}/{registry}/{repository}.`
    )
  }
  return results
}
