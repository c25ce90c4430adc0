/**
 * Signatures, attestations and SBOMs travel with the image (issue 19). After an
 * image is verified in the target (or found up to date), the referrers of what
 * the target holds are copied from the source: those the source lists through
 * the referrers API or keeps in its `sha256-<hex>` fallback index, and cosign's
 * older `sha256-<hex>.sig`/`.att`/`.sbom` tags. They are written the way the
 * target supports: a manifest with `subject` where it has the referrers API,
 * else added to its fallback index, never dropping referrers already there.
 *
 * Whatever engine copied the image, these are copied with the action's own
 * transfer (the native engine's code), so every engine gets them. Nothing is
 * copied that the target holds already (a HEAD by digest), and what tells
 * whether anything changed upstream is free on Docker Hub: the API's list and
 * HEADs of the tags; a manifest is read (a pull) only to copy it.
 *
 * A platform subset is a new index: signatures of the source's index do not
 * hold for it and are left out (said in the result); its children's travel.
 */
import { createHash } from 'node:crypto'
import { debug } from '../action/log.js'
import { repositoryName, type ImageReference } from '../image/references.js'
import { DIGEST, putManifest } from '../registry/blobs.js'
import {
  isIndex,
  type Manifest,
  type ManifestBody,
  type ManifestHead,
  type RegistryClient
} from '../registry/client.js'
import { errorMessage, isPermanent, MirrorError } from '../common/errors.js'
import { isDeferred } from '../registry/pull-budget.js'
import {
  fallbackTag,
  MAX_REFERRERS,
  type Descriptor,
  type Referrers
} from '../registry/referrers.js'
import type { CopyEngine } from './engines/engine.js'
import { isRecord, RECORD_TYPE } from './record.js'
import type { Attached, ReferrerKind } from '../image/results.js'
import { BUNDLE, BUNDLE_PREDICATE, COSIGN_SIGN_PREDICATE } from '../verify/signatures.js'

/** What travels: a kind word (`signature`, `attestation`, `sbom`, `other`) or an artifactType. */
export type ReferrerFilter = readonly string[]

/** Children of an index whose referrers are looked for (a real image has a few dozen at most). */
const MAX_CHILDREN = 64
/** cosign's older scheme: tags beside the image, and what each holds. */
const COSIGN_TAGS: readonly { suffix: string; kind: ReferrerKind }[] = [
  { suffix: 'sig', kind: 'signature' },
  { suffix: 'att', kind: 'attestation' },
  { suffix: 'sbom', kind: 'sbom' }
]
/** On a merged cosign tag or fallback index: the source's digest it was made from. */
const FROM_ANNOTATION = 'io.github.image-mirror.copied-from'
/** On a merged cosign tag: the layers that came from the source (replaced by the next merge). */
const FROM_LAYERS_ANNOTATION = 'io.github.image-mirror.copied-layers'
const SBOM_TYPES = [
  'application/spdx+json',
  'text/spdx',
  'text/spdx+json',
  'application/vnd.cyclonedx+json',
  'application/vnd.cyclonedx+xml',
  'application/vnd.syft+json',
  'application/vnd.dev.cosign.artifact.sbom.v1+json'
]
const ATTESTATION_TYPES = [
  'application/vnd.in-toto+json',
  'application/vnd.dsse.envelope.v1+json',
  'application/vnd.dev.cosign.attestation.v1+json'
]
const SIGNATURE_TYPES = [
  'application/vnd.dev.cosign.artifact.sig.v1+json',
  'application/vnd.cncf.notary.signature'
]

/** What kind of thing a referrer is, from its artifactType (and a bundle's annotation). */
export function kindOf(d: Descriptor): ReferrerKind {
  const type = d.artifactType ?? ''
  if (type === BUNDLE) {
    const predicate = d.annotations?.[BUNDLE_PREDICATE]
    return typeof predicate === 'string' && predicate !== COSIGN_SIGN_PREDICATE
      ? 'attestation'
      : 'signature'
  }
  if (SIGNATURE_TYPES.includes(type)) return 'signature'
  if (ATTESTATION_TYPES.includes(type) || type.startsWith('application/vnd.in-toto.'))
    return 'attestation'
  if (SBOM_TYPES.includes(type)) return 'sbom'
  return 'other'
}

/** Whether the filter lets a referrer of this kind and type travel (no filter: all do). */
export function allowed(filter: ReferrerFilter, kind: ReferrerKind, type?: string): boolean {
  return (
    filter.length === 0 || filter.includes(kind) || (type !== undefined && filter.includes(type))
  )
}

/** Pages of a source repository's tag list read to learn which cosign and fallback tags it has. */
const MAX_TAG_PAGES = 10

/**
 * The source repositories' tags, listed once per run (pages of a thousand): which of cosign's
 * and the fallback tags exist is then known without a HEAD per image and tag, so a run of
 * thousands of unsigned images costs one listing per repository, not four HEADs per manifest.
 */
export class SourceTags {
  private readonly listed = new Map<string, Promise<Set<string> | undefined>>()

  constructor(private readonly client: RegistryClient) {}

  /** Whether the repository has the tag; undefined when that is not known (ask with a HEAD). */
  async has(source: ImageReference, tag: string): Promise<boolean | undefined> {
    return (await this.tags(source))?.has(tag)
  }

  /** Whether any tag starts with `prefix`; undefined when that is not known. */
  async hasAny(source: ImageReference, prefix: string): Promise<boolean | undefined> {
    const tags = await this.tags(source)
    return tags && [...tags].some(tag => tag.startsWith(prefix))
  }

  private tags(source: ImageReference): Promise<Set<string> | undefined> {
    const key = `${source.registry}/${source.repository}`
    let tags = this.listed.get(key)
    if (!tags) {
      tags = this.client.listTagPages(source.registry, source.repository, MAX_TAG_PAGES).then(
        ({ tags, complete }) => (complete ? new Set(tags) : undefined),
        (error: unknown) => {
          debug(() => `${key}: tags not listed (${String(error)}); cosign tags asked one by one`)
          return undefined
        }
      )
      this.listed.set(key, tags)
    }
    return tags
  }
}

export interface ReferrerCopyOptions {
  client: RegistryClient
  referrers: Referrers
  sourceTags: SourceTags
  /**
   * Copies one manifest (by digest) and its blobs: the native engine, whatever copied the
   * image. Absent (a plan job): nothing is written, and `copied` counts what is missing.
   */
  transfer?: CopyEngine
  filter: ReferrerFilter
  insecure: ReadonlySet<string>
}

interface Count {
  kinds: Record<ReferrerKind, number>
  copied: number
  leftOut: number
  /** Referrers left out for good (gone upstream, refused by the target), with why; bounded. */
  notCopied: string[]
}

/** Reasons kept of referrers left out (the rest are counted). */
const MAX_NOT_COPIED = 3

/**
 * Run one referrer's copy. One that cannot be copied for good (listed but gone upstream, an
 * artifact the target refuses, one posing as a mirror record) is left out and said, rather
 * than failing the image on every run; anything temporary, or a pull budget spent, is thrown.
 */
async function leaveOutIfPermanent(count: Count, what: string, copy: () => Promise<void>) {
  try {
    await copy()
  } catch (error) {
    if (isDeferred(error) || !isPermanent(error)) throw error
    count.leftOut++
    if (count.notCopied.length < MAX_NOT_COPIED)
      count.notCopied.push(`${what}: ${errorMessage(error)}`)
  }
}

/**
 * Copy the referrers of what `target` holds (`held`, verified) from `source`. Throws what
 * the registries threw: a pull budget spent, a refused write.
 */
export async function copyReferrers(
  source: ImageReference,
  target: ImageReference,
  held: Pick<ManifestHead, 'digest' | 'mediaType'>,
  sourceDigest: string,
  options: ReferrerCopyOptions
): Promise<Attached> {
  return copyReferrersOf(
    source,
    target,
    held.digest,
    held.mediaType || undefined,
    sourceDigest,
    options
  )
}

async function copyReferrersOf(
  source: ImageReference,
  target: ImageReference,
  held: string,
  heldType: string | undefined,
  sourceDigest: string,
  options: ReferrerCopyOptions
): Promise<Attached> {
  const { client } = options
  const count: Count = {
    kinds: { signature: 0, attestation: 0, sbom: 0, other: 0 },
    copied: 0,
    leftOut: 0,
    notCopied: []
  }
  const subset = held !== sourceDigest ? { indexLeftOut: sourceDigest } : {}
  // A source without the referrers API and without a `sha256-` tag has nothing to copy: said
  // without reading what the target holds (a GET, a pull where the target is Docker Hub).
  const api = await options.referrers.hasApi(source, sourceDigest)
  if (!api && (await options.sourceTags.hasAny(source, 'sha256-')) === false) {
    return { signatures: 0, attestations: 0, sboms: 0, other: 0, copied: 0, ...subset }
  }
  const subjects: string[] = []
  // A whole image keeps the source's digest: its own referrers hold. A subset's index is new.
  if (held === sourceDigest) subjects.push(held)
  // What the target holds is read only when it is an index (for its platform images).
  const top =
    heldType === undefined || isIndex(heldType)
      ? await client.getManifest(target.registry, target.repository, held)
      : undefined
  if (top && isIndex(top.mediaType)) {
    // Platform images; attestation manifests of BuildKit (`unknown/unknown`) are not signed.
    const images = (top.body.manifests ?? []).filter(c => c.platform?.os !== 'unknown')
    for (const child of images.slice(0, MAX_CHILDREN)) {
      if (typeof child.digest === 'string' && DIGEST.test(child.digest)) subjects.push(child.digest)
    }
  } else if (held !== sourceDigest) {
    // One platform of an index: the child's digest, held as it is in the source.
    subjects.push(held)
  }
  for (const subject of subjects) {
    await copyApiOrFallback(source, target, subject, options, count)
    for (const tag of COSIGN_TAGS) {
      if (!allowed(options.filter, tag.kind)) continue
      await leaveOutIfPermanent(count, `${fallbackTag(subject)}.${tag.suffix}`, () =>
        copyCosignTag(source, target, subject, tag, options, count)
      )
    }
  }
  debug(
    () =>
      `${repositoryName(target)}@${held}: referrers of ${subjects.length} manifest(s): ${JSON.stringify(count.kinds)}, ${count.copied} copied`
  )
  return {
    signatures: count.kinds.signature,
    attestations: count.kinds.attestation,
    sboms: count.kinds.sbom,
    other: count.kinds.other,
    copied: count.copied,
    ...(count.leftOut ? { leftOut: count.leftOut, notCopied: count.notCopied } : {}),
    ...subset
  }
}

/** The source's referrers (API, else fallback index) into the target (API, else fallback). */
async function copyApiOrFallback(
  source: ImageReference,
  target: ImageReference,
  subject: string,
  options: ReferrerCopyOptions,
  count: Count
): Promise<void> {
  const { client, referrers, filter } = options
  const keep = (d: Descriptor) =>
    typeof d.digest === 'string' &&
    DIGEST.test(d.digest) &&
    !isRecord(d) &&
    allowed(filter, kindOf(d), d.artifactType)
  let listed = await referrers.fromApi(source, subject, { keep })
  let fromIndex: string | undefined
  if (!listed) {
    // No API: the fallback index, whose digest a HEAD tells for free.
    if ((await options.sourceTags.has(source, fallbackTag(subject))) === false) return
    const head = await client.headManifest(source.registry, source.repository, fallbackTag(subject))
    if (!head) return
    fromIndex = head.digest
    const mine = await referrers.list(target, subject)
    if (mine.via === 'tag' && fromIndex && mine.annotations?.[FROM_ANNOTATION] === fromIndex) {
      // Unchanged since the last copy: what it listed is in the target; count it from there.
      for (const d of mine.descriptors.filter(keep)) count.kinds[kindOf(d)]++
      return
    }
    listed = (await referrers.list(source, subject, { keep })).descriptors
  }
  if (listed.length === 0) return
  const { transfer } = options
  const held: Descriptor[] = []
  for (const d of listed) {
    const digest = d.digest as string
    if (await client.headManifest(target.registry, target.repository, digest)) {
      held.push(await annotated(target, d, client))
      continue
    }
    count.copied++
    // Only counted: what it is shows once it is in the target.
    if (!transfer) continue
    await leaveOutIfPermanent(count, digest, async () => {
      await transfer.copy(request(source, target, digest, `@${digest}`, options))
      // Described by the manifest now in the target, not by what the listing claimed.
      const written = await describeWritten(target, digest, client)
      if (written) held.push(written)
    })
  }
  for (const d of held) count.kinds[kindOf(d)]++
  listed = held
  // A target with the API indexed them as they were put (their `subject`); else its index.
  if (await referrers.hasApi(target, subject)) return
  const mine = await referrers.list(target, subject)
  const have = new Set(mine.descriptors.map(d => d.digest))
  const missing = listed.filter(d => !have.has(d.digest)).map(describe)
  const noted = fromIndex && mine.annotations?.[FROM_ANNOTATION] !== fromIndex
  if (missing.length === 0 && !noted) return
  if (!transfer) {
    // Those not in the target at all were counted above; these are in it but not listed.
    if (missing.length > 0 || count.copied === 0) count.copied += Math.max(1, missing.length)
    return
  }
  await referrers.addToFallback(target, subject, missing, {
    ...(fromIndex ? { annotations: { [FROM_ANNOTATION]: fromIndex } } : {})
  })
}

/**
 * A bundle listed without the annotation that tells a signature from an attestation (cosign
 * leaves it out of fallback indexes) gets it from its manifest, read from the target, so it
 * is counted right and the target's list says it.
 */
async function annotated(
  target: ImageReference,
  d: Descriptor,
  client: RegistryClient
): Promise<Descriptor> {
  if (d.artifactType !== BUNDLE || typeof d.annotations?.[BUNDLE_PREDICATE] === 'string') return d
  const manifest = await client.getManifest(target.registry, target.repository, d.digest as string)
  const said = manifest?.body.annotations ?? {}
  const strings = Object.entries(said).filter(([, v]) => typeof v === 'string')
  if (strings.length === 0) return d
  return { ...d, annotations: { ...Object.fromEntries(strings.slice(0, 32)), ...d.annotations } }
}

/** Only what a referrers list says of an artifact, each field as the spec has it. */
function describe(d: Descriptor): Descriptor {
  return {
    mediaType:
      typeof d.mediaType === 'string' ? d.mediaType : 'application/vnd.oci.image.manifest.v1+json',
    digest: d.digest as string,
    size: typeof d.size === 'number' ? d.size : 0,
    ...(typeof d.artifactType === 'string' ? { artifactType: d.artifactType } : {}),
    ...(d.annotations ? { annotations: stringsOf(d.annotations) } : {})
  }
}

/** String annotations only, a bounded number of them, as an index the target keeps holds them. */
function stringsOf(annotations: Record<string, unknown>): Record<string, string> {
  const entries = Object.entries(annotations).filter(
    (e): e is [string, string] => typeof e[1] === 'string' && e[1].length <= 4096
  )
  return Object.fromEntries(entries.slice(0, 32))
}

/**
 * A referrer as the manifest just written to the target says it is (type, artifactType,
 * annotations), for the count and the target's fallback index; undefined when not readable.
 */
async function describeWritten(
  target: ImageReference,
  digest: string,
  client: RegistryClient
): Promise<Descriptor | undefined> {
  const manifest = await client.getManifest(target.registry, target.repository, digest)
  if (!manifest) return undefined
  const body = manifest.body as ManifestBody & { artifactType?: unknown }
  const artifactType =
    typeof body.artifactType === 'string' ? body.artifactType : body.config?.mediaType
  return {
    mediaType: manifest.mediaType || 'application/vnd.oci.image.manifest.v1+json',
    digest,
    size: manifest.size || (manifest.raw?.length ?? 0),
    ...(artifactType ? { artifactType } : {}),
    ...(body.annotations ? { annotations: stringsOf(body.annotations) } : {})
  }
}

/**
 * One of cosign's tags. The target's may hold more than the source's (the mirror's owner
 * signed it too): then the source's layers are added to it, never replacing the others, and
 * the merge notes the source digest it was made from, so the next run knows it is current by
 * reading the target's tag (its own registry), not the source's.
 */
async function copyCosignTag(
  source: ImageReference,
  target: ImageReference,
  subject: string,
  tag: { suffix: string; kind: ReferrerKind },
  options: ReferrerCopyOptions,
  count: Count
): Promise<void> {
  const { client } = options
  const name = `${fallbackTag(subject)}.${tag.suffix}`
  if ((await options.sourceTags.has(source, name)) === false) return
  const upstream = await client.headManifest(source.registry, source.repository, name)
  if (!upstream?.digest || !DIGEST.test(upstream.digest)) return
  const there = await client.headManifest(target.registry, target.repository, name)
  let mine: Manifest | undefined
  if (there && there.digest !== upstream.digest) {
    mine = await client.getManifest(target.registry, target.repository, name)
  }
  const current =
    there?.digest === upstream.digest ||
    mine?.body.annotations?.[FROM_ANNOTATION] === upstream.digest
  if (current) {
    const held = mine ?? (await client.getManifest(target.registry, target.repository, name))
    count.kinds[tag.kind] += layersOf(held).length
    return
  }
  const { transfer } = options
  if (!transfer) {
    count.copied++
    return
  }
  const theirs = mine ? layersOf(mine) : []
  if (theirs.length === 0) {
    await transfer.copy(request(source, target, upstream.digest, `:${name}`, options))
    const copied = await client.getManifest(target.registry, target.repository, name)
    count.kinds[tag.kind] += layersOf(copied).length
    count.copied++
    return
  }
  // Merge: the source's manifest (and blobs) by digest first, then one with both under the tag.
  // Layers an earlier merge took from upstream (noted) are the source's to replace, so a
  // signature the publisher withdrew goes; every other layer there is kept, first.
  const before = mine?.body.annotations?.[FROM_LAYERS_ANNOTATION]
  const upstreamBefore = new Set(typeof before === 'string' ? before.split(',') : [])
  await transfer.copy(request(source, target, upstream.digest, `@${upstream.digest}`, options))
  const ours = await client.getManifest(target.registry, target.repository, upstream.digest)
  if (!ours?.raw) return
  const body = JSON.parse(ours.raw.toString('utf8')) as Record<string, unknown>
  const layers = layersOf(ours)
  const known = new Set(layers.map(l => l.digest))
  const foreign = theirs.filter(l => !known.has(l.digest) && !upstreamBefore.has(l.digest))
  if (foreign.length + layers.length > MAX_REFERRERS) {
    throw new MirrorError(
      `${layers.length} upstream and ${foreign.length} other layer(s) are more than ${MAX_REFERRERS}; the tag is left as it is`,
      true
    )
  }
  const merged = {
    ...body,
    layers: [...foreign, ...layers],
    annotations: {
      ...((body.annotations as Record<string, string> | undefined) ?? {}),
      [FROM_ANNOTATION]: upstream.digest,
      [FROM_LAYERS_ANNOTATION]: layers.map(l => l.digest).join(',')
    }
  }
  const bytes = Buffer.from(JSON.stringify(merged))
  await putManifest(client, target.registry, target.repository, name, ours.mediaType, bytes)
  count.kinds[tag.kind] += merged.layers.length
  count.copied++
  debug(
    () =>
      `${repositoryName(target)}:${name}: the source's ${layers.length} layer(s) (${upstream.digest}) with ${foreign.length} other(s) there (${createHash('sha256').update(bytes).digest('hex').slice(0, 12)})`
  )
}

function layersOf(manifest: Manifest | undefined): { digest: string }[] {
  const layers: unknown = manifest?.body.layers
  return Array.isArray(layers)
    ? (layers as { digest?: unknown }[]).filter(
        (l): l is { digest: string } => typeof l?.digest === 'string'
      )
    : []
}

function request(
  source: ImageReference,
  target: ImageReference,
  digest: string,
  at: string,
  options: ReferrerCopyOptions
) {
  return {
    source: `${repositoryName(source)}@${digest}`,
    target: `${repositoryName(target)}${at}`,
    platforms: 'all' as const,
    insecureSource: options.insecure.has(source.registry),
    insecureTarget: options.insecure.has(target.registry),
    // A mirror record is the mirror's own word about what it holds: none may come from upstream.
    vet: (manifest: Manifest) => {
      const body = manifest.body as ManifestBody & { artifactType?: unknown }
      return body.artifactType === RECORD_TYPE || body.config?.mediaType === RECORD_TYPE
        ? 'an upstream artifact typed as a mirror record; not copied'
        : undefined
    }
  }
}
