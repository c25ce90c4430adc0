/**
 * What one copy must leave in the target, decided from the source as it is
 * upstream now and from what the mirrored tag already holds. This is where
 * the promise is kept: a mirrored tag only ever holds its source tag's
 * current content, or platforms of it, and a platform choice never takes
 * away platforms the tag holds.
 */
import { MirrorError } from '../common/errors.js'
import { repositoryName, type ImageReference } from '../image/references.js'
import {
  formatPlatform,
  isIndex,
  MANIFEST_TYPES,
  platformMatches,
  type Manifest,
  type ManifestHead,
  type Platform,
  type RegistryClient
} from '../registry/client.js'
import type { MirrorRecords } from './record.js'

/** A failure of one image: `rejected` when the request itself cannot be served, else `failed`. */
export class ImageError extends MirrorError {
  constructor(
    message: string,
    permanent: boolean,
    readonly rejected = false,
    /** The engine had retried the request that failed itself (EngineError.retried). */
    readonly retriedByEngine = false
  ) {
    super(message, permanent)
  }
}

export interface Expectation {
  /** The source's own digest (the index for a multi-platform image). */
  sourceDigest: string
  /** What the engine copies: the whole image, or these platforms. */
  platforms: 'all' | string[]
  /** The target's digest after the copy: the source's for the whole image, the child's for one platform. */
  digest?: string
  /** For several platforms: the children the new index must hold, exactly. */
  children?: Set<string>
  /** The target already holds this (or more): nothing to copy. */
  satisfied?: boolean
  /**
   * For a platform choice: the digest the mirrored tag had when it was read ('' when absent).
   * What is kept was decided from it; if the tag changes before the copy, decide again.
   */
  held?: string
  note?: string
  /**
   * For a platform subset of an index: what the mirror record of the result says (the
   * source index's platforms, and those the tag holds), written once the target is verified.
   */
  record?: { offered: Platform[]; held: Platform[] }
  /** Decided from a mirror record: the source index was not read, and the record stands. */
  recorded?: boolean
  /**
   * Manifest GETs a copy makes of the source (pulls on Docker Hub): the index and each child
   * it copies, or the one image. Undefined when the index was not read: see pullsAtMost.
   */
  pulls?: number
  /** The most a copy of an unread index can cost, from its size (each child takes bytes). */
  pullsAtMost?: number
}

/**
 * The fewest bytes a child takes in an index: a descriptor with a media type, a sha256 digest
 * and a size, as compact JSON, is longer than this.
 */
const MIN_DESCRIPTOR_BYTES = 140

export interface ExpectationOptions {
  client: RegistryClient
  platforms: 'all' | readonly string[]
  /** The engine can build an index of some platforms (crane); skopeo copies all or one. */
  severalPlatforms: boolean
  /** Mirror records in the target, read so an unchanged subset needs no GET of the source. */
  records?: MirrorRecords
}

type Child = NonNullable<Manifest['body']['manifests']>[number] & { platform: Platform }

/**
 * The source's digest from a HEAD (free on Docker Hub). A `tag@digest`
 * reference is served only when the tag points at that digest upstream now:
 * otherwise pushing the digest under the tag would make the mirrored tag
 * serve content its source tag no longer (or never) had.
 */
async function sourceHead(source: ImageReference, client: RegistryClient): Promise<ManifestHead> {
  const name = repositoryName(source)
  const reference = source.digest ?? source.tag ?? 'latest'
  if (source.tag && source.digest) {
    const tagged = await client.headManifest(source.registry, source.repository, source.tag)
    if (!tagged) {
      throw new ImageError(
        `${name}:${source.tag} does not exist upstream, so it cannot be mirrored as ${source.digest}; ask for ${name}@${source.digest} to mirror that content by digest`,
        true,
        true
      )
    }
    // A registry that sends no digest on HEAD is answered by the manifest itself (a GET).
    const current =
      tagged.digest ||
      (await client.getManifest(source.registry, source.repository, source.tag))?.digest
    if (!current) {
      throw new ImageError(
        `${name}:${source.tag} cannot be compared with ${source.digest}: ${source.registry} gives no digest for it`,
        true,
        true
      )
    }
    if (current !== source.digest) {
      throw new ImageError(
        `${name}:${source.tag} points at ${current} upstream now, not ${source.digest}; a mirrored tag only serves what its source tag serves. Ask for ${name}:${source.tag} (its current content) or ${name}@${source.digest} (that content by digest, without the tag)`,
        true,
        true
      )
    }
    // The tag is that digest: its answer is the source's, no second request needed.
    return { ...tagged, digest: current }
  }
  const head = await client.headManifest(source.registry, source.repository, reference)
  if (!head) {
    throw new ImageError(`${name}:${reference} does not exist on ${source.registry}`, true)
  }
  return head
}

/** What the mirrored tag holds now: its digest, and the platforms of its images. */
interface Held {
  head: ManifestHead
  /** The images it serves (the children of an index, or itself); no platform: unknown. */
  images: { digest: string; platform?: Platform }[]
}

const IMAGE_TYPES = new Set<string>(MANIFEST_TYPES.filter(type => !isIndex(type)))
/** An image manifest by its type; anything else (an index, plain JSON) is read to be sure. */
const isImageManifest = (mediaType: string) => IMAGE_TYPES.has(mediaType)

/** Attestations and other artifacts sit in an index as `unknown/unknown`: not platforms. */
const isArtifact = (platform: Platform | undefined) => platform?.os === 'unknown'

/** Read the mirrored tag (the user's own registry: no pull is counted). */
async function heldByTarget(
  target: ImageReference,
  reference: string,
  source: readonly Child[],
  client: RegistryClient
): Promise<Held | undefined> {
  const head = await client.headManifest(target.registry, target.repository, reference)
  if (!head) return undefined
  const known = source.find(c => c.digest === head.digest)
  if (known) return { head, images: [{ digest: head.digest, platform: known.platform }] }
  // The body, not the Content-Type, tells an index from an image: some registries answer JSON.
  const manifest = await client.getManifest(target.registry, target.repository, head.digest)
  if (Array.isArray(manifest?.body.manifests) || isIndex(head.mediaType)) {
    const images = (manifest?.body.manifests ?? [])
      .filter(m => !isArtifact(m.platform))
      .slice(0, 256)
      .map(m => ({ digest: m.digest, ...(m.platform ? { platform: m.platform } : {}) }))
    return { head, images: images.length > 0 ? images : [{ digest: head.digest }] }
  }
  // An image from an earlier upstream version: its platform is in its config.
  const config = manifest?.body.config?.digest
  const read = config
    ? ((await client.getBlobJson(target.registry, target.repository, config)) as
        { os?: unknown; architecture?: unknown; variant?: unknown } | undefined)
    : undefined
  const platform =
    typeof read?.os === 'string' && typeof read.architecture === 'string'
      ? {
          os: read.os,
          architecture: read.architecture,
          ...(typeof read.variant === 'string' ? { variant: read.variant } : {})
        }
      : undefined
  return { head, images: [{ digest: head.digest, ...(platform ? { platform } : {}) }] }
}

/**
 * Decide what the target must hold. `reference` is where the target is
 * read and written: its tag, or the digest for a digest-only request.
 */
export async function expectation(
  source: ImageReference,
  target: ImageReference,
  options: ExpectationOptions
): Promise<Expectation> {
  const seen: Seen = {}
  const decided = await decideExpectation(source, target, options, seen)
  return { ...decided, ...pullsOf(decided, seen) }
}

/** What the source's answers showed while deciding: its HEAD, and its index when read. */
interface Seen {
  head?: ManifestHead
  index?: Manifest
}

/** What a copy of the expectation costs in pulls, exactly when known, else at most. */
function pullsOf(e: Expectation, seen: Seen): Pick<Expectation, 'pulls' | 'pullsAtMost'> {
  if (e.platforms !== 'all') return { pulls: 1 + (e.digest ? 1 : (e.children?.size ?? 0)) }
  if (seen.index) {
    const children = seen.index.body.manifests
    return { pulls: 1 + (Array.isArray(children) ? children.length : 0) }
  }
  const head = seen.head
  if (head && isImageManifest(head.mediaType)) return { pulls: 1 }
  if (head && head.size > 0)
    return { pullsAtMost: 1 + Math.floor(head.size / MIN_DESCRIPTOR_BYTES) }
  return {}
}

async function decideExpectation(
  source: ImageReference,
  target: ImageReference,
  options: ExpectationOptions,
  seen: Seen
): Promise<Expectation> {
  const { client } = options
  const head = await sourceHead(source, client)
  seen.head = head
  const reference = source.digest ?? source.tag ?? 'latest'
  let sourceDigest = source.digest ?? head.digest
  let index: Manifest | undefined
  if (options.platforms !== 'all' && sourceDigest && !isImageManifest(head.mediaType)) {
    // A subset to pick: a mirror record of what the tag holds may answer without the GET.
    const known = await fromRecord(source, target, sourceDigest, options.platforms, options)
    if (known) return known
  }
  if (!sourceDigest || (options.platforms !== 'all' && !isImageManifest(head.mediaType))) {
    // A registry without Docker-Content-Digest, or a subset to pick: this GET counts as a pull.
    index = await client.getManifest(source.registry, source.repository, reference)
    seen.index = index
    if (!index) {
      throw new ImageError(
        `${repositoryName(source)}:${reference} vanished while being read`,
        false
      )
    }
    sourceDigest = source.digest ?? index.digest
  }
  if (options.platforms === 'all') return { sourceDigest, platforms: 'all', digest: sourceDigest }
  if (!index || !(isIndex(index.mediaType) || Array.isArray(index.body.manifests))) {
    return {
      sourceDigest,
      platforms: 'all',
      digest: sourceDigest,
      note: 'the source is a single-platform image; copied as it is'
    }
  }
  if (!target.tag) {
    throw new ImageError(
      'a reference by digest alone can only be mirrored with platforms: all (a subset changes the digest); add a tag',
      true,
      true
    )
  }
  const available = (index.body.manifests ?? []).filter(
    (m): m is Child => Boolean(m.platform) && m.platform?.os !== 'unknown'
  )
  // Every child that matches, as crane's index filter keeps them (e.g. two os.version builds).
  const pick = (wanted: string): Child[] =>
    available.filter(m => platformMatches(m.platform, wanted))
  const asked = options.platforms.flatMap(wanted => {
    const children = pick(wanted)
    if (children.length === 0) {
      const has = available.map(m => formatPlatform(m.platform)).join(', ')
      throw new ImageError(
        `the source has no ${wanted} image (it has ${has || 'no platforms'})`,
        true,
        true
      )
    }
    return children
  })

  // Platforms never shrink: what the tag holds is kept, mapped onto the source as it is now.
  const held = await heldByTarget(target, target.tag, available, client)
  const read = { held: held?.head.digest ?? '' }
  if (held?.head.digest === sourceDigest) {
    return { sourceDigest, platforms: 'all', digest: sourceDigest, satisfied: true, ...read }
  }
  const current = new Set(available.map(c => c.digest))
  const holds = new Set(held?.images.map(i => i.digest) ?? [])
  const stale = held ? held.images.some(i => !current.has(i.digest)) : false
  const offered = available.map(c => c.platform)
  if (held && !stale && asked.every(c => holds.has(c.digest))) {
    const platforms = held.images.flatMap(i => (i.platform ? [i.platform] : []))
    return {
      sourceDigest,
      platforms: held.images.map(i => formatPlatform(i.platform as Platform)),
      ...(held.images.length === 1 ? { digest: held.head.digest } : { children: holds }),
      satisfied: true,
      note: `the mirrored tag already holds ${describe(held.images)}`,
      ...read,
      ...(platforms.length === held.images.length ? { record: { offered, held: platforms } } : {})
    }
  }
  // What the tag held cannot all be named: keep everything by copying the whole image.
  if (held?.images.some(i => !i.platform)) {
    return {
      sourceDigest,
      platforms: 'all',
      digest: sourceDigest,
      note: `the mirrored tag held ${describe(held.images)}; platforms are never taken away, so the whole image was copied`,
      ...read
    }
  }
  const kept = (held?.images ?? []).flatMap(i => pick(formatPlatform(i.platform as Platform)))
  const wanted = [...new Map([...kept, ...asked].map(c => [c.digest, c])).values()]
  const asks = new Set(asked.map(c => c.digest)).size
  const why =
    wanted.length > asks
      ? `the mirrored tag held ${describe(held?.images ?? [])}; platforms are never taken away, `
      : ''
  if (wanted.length === available.length || (wanted.length > 1 && !options.severalPlatforms)) {
    const engine =
      wanted.length === available.length ? '' : ' (this engine copies one platform or all of them)'
    const note = why || engine ? { note: `${why}so the whole image was copied${engine}` } : {}
    return { sourceDigest, platforms: 'all', digest: sourceDigest, ...note, ...read }
  }
  const platforms = [...new Set(wanted.map(c => formatPlatform(c.platform)))]
  const note = why ? { note: `${why}so it now holds ${platforms.join(', ')}` } : {}
  const record = { record: { offered, held: wanted.map(c => c.platform) } }
  return wanted.length === 1
    ? { sourceDigest, platforms, digest: (wanted[0] as Child).digest, ...note, ...read, ...record }
    : {
        sourceDigest,
        platforms,
        children: new Set(wanted.map(c => c.digest)),
        ...note,
        ...read,
        ...record
      }
}

/**
 * A subset decided from the mirror record of what the tag holds, without reading the source
 * index (a pull on Docker Hub): the tag holds a subset of this very source index, and every
 * platform asked for that the index offers. Undefined when the index must be read.
 */
async function fromRecord(
  source: ImageReference,
  target: ImageReference,
  sourceDigest: string,
  platforms: readonly string[],
  options: ExpectationOptions
): Promise<Expectation | undefined> {
  const { client, records } = options
  if (!records || !target.tag) return undefined
  const head = await client.headManifest(target.registry, target.repository, target.tag)
  if (!head?.digest) return undefined
  if (head.digest === sourceDigest) {
    return {
      sourceDigest,
      platforms: 'all',
      digest: sourceDigest,
      satisfied: true,
      held: head.digest
    }
  }
  const record = await records.find(target, head.digest, repositoryName(source), sourceDigest)
  if (!record) return undefined
  const same = (a: Platform, b: Platform) =>
    a.os === b.os && a.architecture === b.architecture && (a.variant ?? '') === (b.variant ?? '')
  const covered = platforms.every(wanted => {
    const asked = record.offered.filter(p => platformMatches(p, wanted))
    // A platform the index lacks is said by the reading path, which names what it has.
    return asked.length > 0 && asked.every(p => record.held.some(h => same(h, p)))
  })
  if (!covered) return undefined
  const holds = [...new Set(record.held.map(formatPlatform))]
  return {
    sourceDigest,
    platforms: holds,
    digest: head.digest,
    satisfied: true,
    recorded: true,
    note: `the mirrored tag already holds ${holds.join(', ')} (its mirror record names the source's current index, so that was not read)`,
    held: head.digest
  }
}

function describe(images: Held['images']): string {
  const names = images.map(i => (i.platform ? formatPlatform(i.platform) : 'an unknown platform'))
  return names.length > 0 ? names.join(', ') : 'no platform'
}

/** Does what the target holds now meet the expectation? */
export async function matches(
  present: ManifestHead,
  expected: Expectation,
  target: ImageReference,
  client: RegistryClient
): Promise<boolean> {
  if (expected.digest) return present.digest === expected.digest
  if (!expected.children || !isIndex(present.mediaType)) return false
  // Several platforms: the target's own index (our registry, no pull counted) must list exactly them.
  const index = await client.getManifest(target.registry, target.repository, present.digest)
  const children = new Set((index?.body.manifests ?? []).map(m => m.digest))
  return (
    children.size === expected.children.size && [...children].every(d => expected.children?.has(d))
  )
}
