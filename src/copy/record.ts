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
import { debug } from '../action/log.js'
import { hasBlob, putManifest, startUpload, uploadBlob } from '../registry/blobs.js'
import type { ManifestHead, Platform, RegistryClient } from '../registry/client.js'
import { Referrers, type Descriptor, type Where } from '../registry/referrers.js'

export const RECORD_TYPE = 'application/vnd.image-mirror.record.v1+json'
const RECORD_ANNOTATION = 'io.github.image-mirror.record'
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json'
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
/** The longest record read. */
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

/** Reads and writes records in the target. */
export class MirrorRecords {
  constructor(
    private readonly client: RegistryClient,
    private readonly referrers = new Referrers(client)
  ) {}

  /** The record that `subject` was made from `sourceDigest` of `source`; undefined when none says so. */
  async find(
    where: Where,
    subject: string,
    source: string,
    sourceDigest: string
  ): Promise<MirrorRecord | undefined> {
    try {
      const listed = await this.referrers.list(where, subject, {
        artifactType: RECORD_TYPE,
        keep: isRecord
      })
      const records = listed.descriptors.map(d => parseRecord(d.annotations?.[RECORD_ANNOTATION]))
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
    if (await this.referrers.hasApi(where, subject.digest)) return
    const descriptor = {
      mediaType: OCI_MANIFEST,
      digest,
      size: bytes.length,
      artifactType: RECORD_TYPE,
      annotations: { [RECORD_ANNOTATION]: annotation }
    }
    await this.referrers.addToFallback(where, subject.digest, [descriptor], {
      drop: others => oldRecords(others, record.source)
    })
    debug(() => `${registry}/${repository}@${subject.digest}: mirror record written (${digest})`)
  }
}

/**
 * Our records to drop from a fallback index before one of `source` is added, the oldest
 * first: of this source's beyond a few (several tags of one source can share a subject, each
 * with its own source index), then of all beyond MAX_RECORDS. Other tools' referrers stay.
 */
function oldRecords(others: Descriptor[], source: string): Set<Descriptor> {
  const ours = others.filter(isRecord)
  const same = ours.filter(d => parseRecord(d.annotations?.[RECORD_ANNOTATION])?.source === source)
  const drop = new Set(same.slice(0, Math.max(0, same.length - (MAX_RECORDS_PER_SOURCE - 1))))
  const kept = ours.filter(d => !drop.has(d))
  for (const d of kept.slice(0, Math.max(0, kept.length - (MAX_RECORDS - 1)))) drop.add(d)
  return drop
}

/** Whether a referrer is one of our records (anyone else's artifacts are left to their tools). */
export function isRecord(d: Descriptor): boolean {
  return d.artifactType === RECORD_TYPE
}

async function* once(bytes: Buffer): AsyncGenerator<Buffer> {
  yield bytes
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
