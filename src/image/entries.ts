/**
 * Image entries (`images`, `images-file`): one a line, `#` comments, blank
 * lines ignored. An entry names one image, several tags of one repository
 * (`repo:a,b,c`) or a tag policy (`repo:/regex/`, `repo:semver(>=1.26) newest(3)`:
 * tag-policy.ts). Every line becomes requests; a bad line becomes a rejected
 * request, never an exception.
 */
import {
  formatReference,
  parseReference,
  parseRepositoryName,
  repositoryName,
  type ImageReference
} from './references.js'
import { MAX_PATTERN_LENGTH } from './tag-filter.js'
import { looksLikePolicy, parseTagPolicy } from './tag-policy.js'

/** Where an entry came from, for messages: `images` or the file's path, and the line. */
export interface EntryOrigin {
  source: string
  line: number
}

export type ImageRequest =
  | { kind: 'image'; request: string; origin: EntryOrigin; ref: ImageReference; note?: string }
  | {
      /** A tag policy (tag-policy.ts), resolved against the source's tag list when copying. */
      kind: 'tag-filter'
      request: string
      origin: EntryOrigin
      ref: Pick<ImageReference, 'registry' | 'repository'>
      /** The policy in its normal form: `/regex/`, `semver(>=1.26) newest(3)`, ... */
      policy: string
    }
  | {
      kind: 'invalid'
      request: string
      origin: EntryOrigin
      reason: string
      suggestion?: string
      /** A sync file's setting the action does not take (not an image reference). */
      setting?: true
    }

export { MAX_PATTERN_LENGTH }

/** Strip a comment: `#` at the start of a line or after white space. */
function stripComment(line: string): string {
  const m = /(^|\s)#/.exec(line)
  return (m ? line.slice(0, m.index) : line).trim()
}

/** Parse the text of an entries list into requests, in order, one or more per entry. */
export function parseEntries(text: string, source: string): ImageRequest[] {
  const requests: ImageRequest[] = []
  const lines = text.split(/\r?\n/)
  lines.forEach((raw, i) => {
    const entry = stripComment(raw)
    if (entry.length === 0) return
    requests.push(...parseEntry(entry, { source, line: i + 1 }))
  })
  return requests
}

/** One entry (already trimmed, comment removed) into its requests. */
export function parseEntry(entry: string, origin: EntryOrigin): ImageRequest[] {
  const invalid = (reason: string, suggestion?: string): ImageRequest[] => [
    suggestion === undefined
      ? { kind: 'invalid', request: entry, origin, reason }
      : { kind: 'invalid', request: entry, origin, reason, suggestion }
  ]

  const policyAt = policyStart(entry)
  if (policyAt > 0) {
    const name = parseRepositoryName(entry.slice(0, policyAt))
    if (!name.ok) return invalid(name.reason)
    const parsed = parseTagPolicy(entry.slice(policyAt + 1))
    if (!parsed.ok) {
      // A regex's own problem reads as it always has: "tag filter /…/ uses a backreference".
      return invalid(
        `${parsed.reason.startsWith('/') ? 'tag filter' : 'tag policy'} ${parsed.reason}`
      )
    }
    return [
      { kind: 'tag-filter', request: entry, origin, ref: name.ref, policy: parsed.policy.text }
    ]
  }

  if (entry.includes(',')) return parseTagList(entry, origin)

  const parsed = parseReference(entry)
  if (!parsed.ok) return invalid(parsed.reason, parsed.suggestion)
  const request: ImageRequest = { kind: 'image', request: entry, origin, ref: parsed.ref }
  if (parsed.note) request.note = parsed.note
  return [request]
}

/**
 * Where the colon opening an entry's tag policy is, or -1 (before the policy is read: issues
 * refuse policies unread). A name never holds ":/", ":semver(", ":newest(" (a port is digits),
 * so the first such colon opens one, unless the entry is a URL ("://"), which parseReference
 * explains.
 */
export function policyStart(entry: string): number {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(entry) ? -1 : policyColon(entry)
}

/** Where the colon opening a tag policy is, or -1. */
function policyColon(entry: string): number {
  for (let at = entry.indexOf(':'); at > 0; at = entry.indexOf(':', at + 1)) {
    if (looksLikePolicy(entry.slice(at + 1))) return at
  }
  return -1
}

function parseTagList(entry: string, origin: EntryOrigin): ImageRequest[] {
  const colon = entry.lastIndexOf(':', entry.indexOf(','))
  if (entry.includes('@') || colon < 0 || colon < entry.lastIndexOf('/', entry.indexOf(','))) {
    const reason = entry.includes('@')
      ? 'a tag list ("repo:a,b") cannot carry a digest; list digests one a line'
      : 'a comma separates tags, as in "docker.io/library/nginx:1.27,1.26"; write one image a line'
    return [{ kind: 'invalid', request: entry, origin, reason }]
  }
  const name = parseRepositoryName(entry.slice(0, colon))
  if (!name.ok) return [{ kind: 'invalid', request: entry, origin, reason: name.reason }]
  return entry
    .slice(colon + 1)
    .split(',')
    .map((tag, i): ImageRequest => {
      const text = `${repositoryName(name.ref)}:${tag.trim()}`
      const parsed = tag.trim() === '' ? undefined : parseReference(text)
      if (parsed?.ok) return { kind: 'image', request: entry, origin, ref: parsed.ref }
      const reason = parsed ? parsed.reason : `tag ${i + 1} of the list is empty`
      return { kind: 'invalid', request: entry, origin, reason: `in the tag list: ${reason}` }
    })
}

/** The key two requests share when they ask for the same thing. */
export function requestKey(request: ImageRequest): string {
  switch (request.kind) {
    case 'image':
      return formatReference(request.ref)
    case 'tag-filter':
      return `${repositoryName(request.ref)}:${request.policy}`
    case 'invalid':
      return `invalid:${request.origin.source}:${request.origin.line}:${request.request}`
  }
}

/**
 * Merge requests that ask for the same image; the first keeps its place and
 * the later ones are reported as merged into it.
 */
export function mergeDuplicates(requests: ImageRequest[]): {
  unique: ImageRequest[]
  merged: { duplicate: ImageRequest; kept: ImageRequest }[]
} {
  const seen = new Map<string, ImageRequest>()
  const unique: ImageRequest[] = []
  const merged: { duplicate: ImageRequest; kept: ImageRequest }[] = []
  for (const request of requests) {
    const key = requestKey(request)
    const kept = seen.get(key)
    if (kept) merged.push({ duplicate: request, kept })
    else {
      seen.set(key, request)
      unique.push(request)
    }
  }
  return { unique, merged }
}
