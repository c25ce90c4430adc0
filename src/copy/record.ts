/**
 * Mirror records: which source index a platform subset on the target was made
 * from. A subset's digest is not the source's, so a HEAD of the source (free on
 * Docker Hub) cannot tell on its own whether the subset is still current; the
 * record can, where otherwise the source index would be read again with a GET
 * (a pull on Docker Hub) on every run.
 *
 * A record is an OCI artifact (an image manifest of `artifactType`
 * RECORD_TYPE, empty config and layer) whose `subject` is the mirrored
 * manifest, in the mirrored repository, so it sits beside the tag without
 * changing what the tag serves. It is found through the referrers API, or
 * where a registry lacks it, through the tag fallback the OCI distribution
 * spec gives (`sha256-<hex>`, an index of the subject's referrers). What it
 * says is in one annotation, which the referrers list carries, so finding it
 * is one request (two on the fallback).
 *
 * A record only saves a pull: when one is missing, unreadable or says
 * something else, the source index is read as before. It is written only after
 * the target was verified to hold that subset of that source index.
 */
import { createHash } from 'node:crypto'
import { isPermanent } from '../common/errors.js'
import { debug } from '../action/log.js'
import { hasBlob, putManifest, startUpload, uploadBlob } from '../registry/blobs.js'
import {
  RegistryError,
  type ManifestHead,
  type Platform,
  type RegistryClient
} from '../registry/client.js'

export const RECORD_TYPE = 'application/vnd.image-mirror.record.v1+json'
const RECORD_ANNOTATION = 'io.github.image-mirror.record'
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json'
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json'
/** The OCI empty descriptor: a config and layer of `{}`, as the image spec says artifacts use. */
const EMPTY_BYTES = Buffer.from('{}')
const EMPTY = {
  mediaType: 'application/vnd.oci.empty.v1+json',
  digest: `sha256:${createHash('sha256').update(EMPTY_BYTES).digest('hex')}`,
  size: EMPTY_BYTES.length
}
/** Records kept per subject in a fallback index (a tag fed by several sources' runs stays small). */
const MAX_RECORDS = 8
/** Of those, records of one source (tags of one source sharing a subject, say `:latest` and `:1`). */
const MAX_RECORDS_PER_SOURCE = 4
/** Records looked at per subject, pages of the referrers API read, and the longest record read. */
const MAX_REFERRERS = 256
const MAX_REFERRER_PAGES = 4
const MAX_REFERRERS_BYTES = 1024 * 1024
const MAX_RECORD_CHARS = 16 * 1024
const MAX_PLATFORMS = 256

export interface MirrorRecord {
  /** The source repository, normalised (`docker.io/library/nginx`). */
  source: string
  /** The source index the mirrored manifest was made from. */
  sourceDigest: string
  /** Every platform that index offered (attestations left out). */
  offered: Platform[]
  /** The platforms the mirrored manifest holds. */
  held: Platform[]
}

interface Where {
  registry: string
  repository: string
}

interface Descriptor {
  mediaType?: string
  digest?: string
  size?: number
  artifactType?: string
  annotations?: Record<string, unknown>
}

/** The fallback tag of a subject's referrers: `sha256-<hex>`. */
function fallbackTag(digest: string): string {
  return digest.replace(':', '-')
}

/** Reads and writes records in the target; remembers which registries have the referrers API. */
export class MirrorRecords {
  private readonly referrersApi = new Map<string, boolean>()

  constructor(private readonly client: RegistryClient) {}

  /** The record that `subject` was made from `sourceDigest` of `source`; undefined when none says so. */
  async find(
    where: Where,
    subject: string,
    source: string,
    sourceDigest: string
  ): Promise<MirrorRecord | undefined> {
    try {
      const records = ourRecords(await this.referrers(where, subject)).map(d =>
        parseRecord(d.annotations?.[RECORD_ANNOTATION])
      )
      const found = records.find(r => r?.source === source && r.sourceDigest === sourceDigest)
      debug(
        () =>
          `${where.registry}/${where.repository}@${subject}: ${records.length} mirror record(s)${found ? `, one for ${sourceDigest}` : `, none for ${sourceDigest}`}`
      )
      return found
    } catch (error) {
      // Reading a record only saves a pull: without it the source is read as before.
      debug(
        () => `${where.registry}/${where.repository}: mirror records not read: ${String(error)}`
      )
      return undefined
    }
  }

  /** Record that `subject` (verified in the target) was made from `record.sourceDigest`. */
  async write(where: Where, subject: ManifestHead, record: MirrorRecord): Promise<void> {
    const { client } = this
    const { registry, repository } = where
    if (!(await hasBlob(client, registry, repository, EMPTY))) {
      const upload = await startUpload(client, registry, repository)
      await uploadBlob(
        client,
        registry,
        repository,
        upload.location,
        EMPTY,
        { bytes: once(EMPTY_BYTES), where: 'the mirror record' },
        {}
      )
    }
    const annotation = JSON.stringify(record)
    if (annotation.length > MAX_RECORD_CHARS) return
    const manifest = {
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      artifactType: RECORD_TYPE,
      config: EMPTY,
      layers: [EMPTY],
      subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
      // No timestamp: the same record is the same manifest, so writing it again changes nothing.
      annotations: { [RECORD_ANNOTATION]: annotation }
    }
    const bytes = Buffer.from(JSON.stringify(manifest))
    const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`
    await putManifest(client, registry, repository, digest, OCI_MANIFEST, bytes)
    // OCI-Subject is not proof (some registries send it without the API): the probe decides.
    if (await this.hasReferrersApi(where, subject.digest)) return
    await this.addToFallback(where, subject.digest, record.source, {
      mediaType: OCI_MANIFEST,
      digest,
      size: bytes.length,
      artifactType: RECORD_TYPE,
      annotations: { [RECORD_ANNOTATION]: annotation }
    })
    debug(() => `${registry}/${repository}@${subject.digest}: mirror record written (${digest})`)
  }

  /** The subject's referrers: from the API, or from the fallback tag's index. */
  private async referrers(where: Where, subject: string): Promise<Descriptor[]> {
    const api = await this.fromApi(where, subject)
    if (api) return api
    const index = await this.client.getManifest(
      where.registry,
      where.repository,
      fallbackTag(subject)
    )
    return descriptorsOf(index?.body)
  }

  /**
   * The API's answer (our records in its pages, a bounded number of them), or undefined when
   * the registry has no referrers API. A registry may ignore the artifactType filter, so pages
   * are followed and filtered here.
   */
  private async fromApi(where: Where, subject: string): Promise<Descriptor[] | undefined> {
    if (this.referrersApi.get(where.registry) === false) return undefined
    const { registry, repository } = where
    const found: Descriptor[] = []
    let next: string | undefined =
      `referrers/${subject}?artifactType=${encodeURIComponent(RECORD_TYPE)}`
    for (let page = 0; next; page++) {
      if (page === MAX_REFERRER_PAGES || found.length >= MAX_REFERRERS) {
        debug(() => `${registry}/${repository}@${subject}: referrers past page ${page} not read`)
        break
      }
      let res
      try {
        res = await this.client.send('GET', registry, repository, next, {
          maxBytes: MAX_REFERRERS_BYTES
        })
      } catch (error) {
        if (error instanceof RegistryError && error.status === 0) {
          // An answer over the bound: the API is there, its list is not read (a pull spent instead).
          this.referrersApi.set(registry, true)
          debug(() => `${registry}/${repository}@${subject}: referrers list too long, not read`)
          return found
        }
        // A registry without the API may answer 400, 405 or the like; anything temporary is
        // not an answer about the API.
        if (page === 0 && error instanceof RegistryError && isPermanent(error)) {
          this.referrersApi.set(registry, false)
          return undefined
        }
        throw error
      }
      // The spec's registries answer an empty index rather than 404 for a subject without any.
      if (res.status === 404) {
        if (page > 0) break
        this.referrersApi.set(registry, false)
        return undefined
      }
      this.referrersApi.set(registry, true)
      try {
        found.push(...ourRecords(descriptorsOf(JSON.parse(res.body) as unknown)))
      } catch {
        break
      }
      next = this.client.nextPage(res, registry, repository)
    }
    return found
  }

  private async hasReferrersApi(where: Where, subject: string): Promise<boolean> {
    const known = this.referrersApi.get(where.registry)
    if (known !== undefined) return known
    await this.fromApi(where, subject)
    return this.referrersApi.get(where.registry) === true
  }

  /** Add a record to the subject's fallback index, keeping the other referrers there. */
  private async addToFallback(
    where: Where,
    subject: string,
    source: string,
    record: Descriptor
  ): Promise<void> {
    const tag = fallbackTag(subject)
    const index = await this.client.getManifest(where.registry, where.repository, tag)
    const all = descriptorsOf(index?.body)
    // Other tools' referrers (signatures, SBOMs) are kept whole, or the index is left alone.
    if (all.length > MAX_REFERRERS) {
      debug(
        () =>
          `${where.registry}/${where.repository}:${tag}: ${all.length} referrers; no record added`
      )
      return
    }
    const others = all.filter(d => d.digest !== record.digest)
    // The oldest go first: of this source's records beyond a few (several tags of one source
    // can share a subject, each with its own source index), then of all beyond MAX_RECORDS.
    const ours = others.filter(d => d.artifactType === RECORD_TYPE)
    const same = ours.filter(
      d => parseRecord(d.annotations?.[RECORD_ANNOTATION])?.source === source
    )
    const drop = new Set(same.slice(0, Math.max(0, same.length - (MAX_RECORDS_PER_SOURCE - 1))))
    const kept = ours.filter(d => !drop.has(d))
    for (const d of kept.slice(0, Math.max(0, kept.length - (MAX_RECORDS - 1)))) drop.add(d)
    const manifests = [...others.filter(d => !drop.has(d)), record]
    const bytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests }))
    await putManifest(this.client, where.registry, where.repository, tag, OCI_INDEX, bytes)
  }
}

async function* once(bytes: Buffer): AsyncGenerator<Buffer> {
  yield bytes
}

/** The descriptors of an index (a referrers list); anything else is none. */
function descriptorsOf(body: unknown): Descriptor[] {
  const manifests = (body as { manifests?: unknown } | undefined)?.manifests
  if (!Array.isArray(manifests)) return []
  return manifests.filter((d): d is Descriptor => typeof d === 'object' && d !== null)
}

/** Our records among referrers, at most MAX_REFERRERS (filtered first: others may be many). */
function ourRecords(descriptors: Descriptor[]): Descriptor[] {
  return descriptors.filter(d => d.artifactType === RECORD_TYPE).slice(0, MAX_REFERRERS)
}

/** A record read back from the target's answer: every field checked, anything odd is none. */
export function parseRecord(text: unknown): MirrorRecord | undefined {
  if (typeof text !== 'string' || text.length > MAX_RECORD_CHARS) return undefined
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return undefined
  }
  const r = value as Record<string, unknown>
  if (typeof r !== 'object' || r === null) return undefined
  if (typeof r.source !== 'string' || typeof r.sourceDigest !== 'string') return undefined
  if (!/^sha256:[0-9a-f]{64}$|^sha512:[0-9a-f]{128}$/.test(r.sourceDigest)) return undefined
  const offered = platformsOf(r.offered)
  const held = platformsOf(r.held)
  if (!offered || !held || held.length === 0) return undefined
  return { source: r.source, sourceDigest: r.sourceDigest, offered, held }
}

function platformsOf(value: unknown): Platform[] | undefined {
  if (!Array.isArray(value) || value.length > MAX_PLATFORMS) return undefined
  const out: Platform[] = []
  for (const p of value as unknown[]) {
    const o = p as Record<string, unknown>
    if (typeof o !== 'object' || o === null) return undefined
    if (typeof o.os !== 'string' || typeof o.architecture !== 'string') return undefined
    if (o.variant !== undefined && typeof o.variant !== 'string') return undefined
    out.push({
      os: o.os,
      architecture: o.architecture,
      ...(typeof o.variant === 'string' ? { variant: o.variant } : {})
    })
  }
  return out
}
