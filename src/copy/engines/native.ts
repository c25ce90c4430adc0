/**
 * The native engine: copies in-process over the action's registry client,
 * with no tool to install. Blobs stream from the source's GET into the
 * target's upload with bounded memory; a blob the target repository holds is
 * skipped (HEAD), one this run already placed in another repository of the
 * same registry is mounted, so each distinct blob crosses to a target
 * registry at most once; a blob that fails is retried alone; a platform
 * subset is written as the source's index with only those children.
 */
import { createHash } from 'node:crypto'
import pLimit from 'p-limit'
import { errorMessage, isPermanent, MirrorError } from '../../common/errors.js'
import { backoffDelay, sleep } from '../../common/retry.js'
import { parseReference, repositoryName, type ImageReference } from '../../image/references.js'
import {
  chunkSizeFor,
  DIGEST,
  hasBlob,
  mountBlob,
  putManifest,
  startUpload,
  TransferError,
  uploadBlob,
  type Blob
} from '../../registry/blobs.js'
import { isDeferred } from '../../registry/pull-budget.js'
import {
  formatPlatform,
  isIndex,
  platformMatches,
  type Manifest,
  type Platform,
  type RegistryClient
} from '../../registry/client.js'
import { EngineError, explain, type CopyEngine, type CopyRequest } from './engine.js'

export interface NativeOptions {
  /** The engine's own client (its user agent names the engine), with the run's credentials. */
  client: RegistryClient
  /** Progress and blob retries, for the log. */
  info?: (line: string) => void
  /** Blobs of one image copied at once. */
  blobJobs?: number
  /**
   * Blobs larger than this go in chunks from the start; by default every blob
   * goes in one PUT, and chunks only to a registry that refused one as too large.
   */
  monolithicMax?: number
  /** The chunk size; by default what suits the target registry (chunkSizeFor). */
  chunkBytes?: number
  /** Tries of one blob whose transfer broke (its body cannot be sent again by the client). */
  blobAttempts?: number
  retryDelayMs?: number
  /** Images at least this large say how far they are, this often. */
  progressMinBytes?: number
  progressEveryMs?: number
}

/** What the engine moved in a run, for the log's last line and the bench. */
export interface NativeStats {
  /** Bytes read from sources and sent to targets (equal but for broken transfers). */
  pulledBytes: number
  pushedBytes: number
  uploaded: number
  mounted: number
  /** Blobs the target repository already held. */
  present: number
  retried: number
}

const MIB = 1024 * 1024
/** Layers and children a manifest may name before it is refused: far above any real image. */
const MAX_ENTRIES = 1000

type Child = NonNullable<Manifest['body']['manifests']>[number]

/** Set when a blob of the image failed: the image's other blobs stop trying. */
interface Stop {
  stopped: boolean
}

export class NativeEngine implements CopyEngine {
  readonly name = 'native'
  readonly stats: NativeStats = {
    pulledBytes: 0,
    pushedBytes: 0,
    uploaded: 0,
    mounted: 0,
    present: 0,
    retried: 0
  }

  /**
   * Where each blob was placed on each target registry in this run
   * (`registry digest` → repository), as a promise while it is being placed,
   * so two images sharing a base upload it once and the second mounts it.
   */
  private readonly placed = new Map<string, Promise<string>>()
  /** Target registries that answered a mount without mounting: uploads only, from then on. */
  private readonly noMounts = new Set<string>()
  /**
   * Source blobs that came with other content than their digest on every try
   * (`registry digest` → the error): another image needing one fails at once
   * rather than reading it again.
   */
  private readonly badSource = new Map<string, unknown>()
  /** `registry repository digest` of every blob a target repository is known to hold now. */
  private readonly holds = new Set<string>()
  /** Target registries that refused a blob in one PUT as too large (413): chunks from then on. */
  private readonly chunked = new Set<string>()
  private readonly client: RegistryClient
  private readonly options: Required<Omit<NativeOptions, 'client' | 'info'>>
  private readonly info: (line: string) => void

  constructor(options: NativeOptions) {
    this.client = options.client
    this.info = options.info ?? (() => {})
    this.options = {
      blobJobs: options.blobJobs ?? 4,
      monolithicMax: options.monolithicMax ?? Infinity,
      chunkBytes: options.chunkBytes ?? 0,
      blobAttempts: options.blobAttempts ?? 3,
      retryDelayMs: options.retryDelayMs ?? 1000,
      progressMinBytes: options.progressMinBytes ?? 64 * MIB,
      progressEveryMs: options.progressEveryMs ?? 10_000
    }
  }

  dispose(): void {
    this.client.dispose()
  }

  report(): string | undefined {
    const s = this.stats
    if (s.uploaded + s.mounted + s.present === 0) return undefined
    return `native: ${s.uploaded} blob(s) uploaded (${mib(s.pushedBytes)} MiB sent), ${s.mounted} mounted from another repository, ${s.present} already there${s.retried ? `; ${s.retried} blob transfer(s) tried again` : ''}`
  }

  async copy(request: CopyRequest): Promise<void> {
    try {
      await this.copyImage(request)
    } catch (error) {
      // A pull budget spent is not this copy's failure: the image is deferred as it is.
      if (isDeferred(error)) throw error
      const permanent = isPermanent(error)
      // What fails here was retried already: by the client (a request) or here (a blob).
      throw new EngineError(plain(errorMessage(error)), permanent, !permanent)
    }
  }

  private async copyImage(request: CopyRequest): Promise<void> {
    const source = reference(request.source)
    const target = reference(request.target)
    const digest = source.digest as string
    const top = await this.readManifest(source, digest)
    const refused = request.vet?.(top)
    if (refused) throw new MirrorError(`${repositoryName(source)}@${digest}: ${refused}`, true)
    const put: { reference: string; manifest: Manifest; bytes: Buffer }[] = []
    const images: Manifest[] = []
    if (isIndexManifest(top)) {
      const children = entries(top.body.manifests, 'manifests', source)
      const selected =
        request.platforms === 'all'
          ? children
          : children.filter(c => wanted(c.platform, request.platforms as readonly string[]))
      if (selected.length === 0) {
        const has = children.map(c => (c.platform ? formatPlatform(c.platform) : '?')).join(', ')
        throw new MirrorError(
          `${repositoryName(source)}@${digest}: no child with platform ${[request.platforms].flat().join(', ')} in index (it has ${has || 'none'})`,
          true
        )
      }
      for (const child of selected) {
        const manifest = await this.readManifest(source, child.digest)
        if (isIndexManifest(manifest)) {
          throw new MirrorError(
            `${repositoryName(source)}@${child.digest}: an index inside an index is not copied by engine native; use engine crane`,
            true
          )
        }
        images.push(manifest)
        put.push({ reference: child.digest, manifest, bytes: raw(manifest) })
      }
      const tag = target.tag ?? digest
      if (request.platforms === 'all') {
        put.push({ reference: tag, manifest: top, bytes: raw(top) })
      } else if (selected.length === 1) {
        // One image: put as it is, so its digest is the source child's.
        const only = put[put.length - 1] as (typeof put)[number]
        put.push({ ...only, reference: tag })
      } else {
        put.push({ reference: tag, manifest: top, bytes: filteredIndex(top, selected) })
      }
    } else {
      images.push(top)
      put.push({ reference: target.tag ?? digest, manifest: top, bytes: raw(top) })
    }

    const blobs = distinct(images.flatMap(image => blobsOf(image, source)))
    await this.copyBlobs(request, source, target, blobs)
    for (const { reference: ref, manifest, bytes } of put) {
      await putManifest(
        this.client,
        target.registry,
        target.repository,
        ref,
        mediaTypeOf(manifest),
        bytes
      )
    }
  }

  /** Copy an image's blobs a few at once, saying how far a large image has come. */
  private async copyBlobs(
    request: CopyRequest,
    source: ImageReference,
    target: ImageReference,
    blobs: readonly Blob[]
  ): Promise<void> {
    const total = blobs.reduce((sum, b) => sum + b.size, 0)
    const started = Date.now()
    let done = 0
    const timer =
      total >= this.options.progressMinBytes
        ? setInterval(() => {
            const seconds = (Date.now() - started) / 1000
            this.info(
              `native: ${request.target}: ${mib(done)} of ${mib(total)} MiB (${Math.floor((100 * done) / total)} %), ${mib(done / Math.max(seconds, 0.001))} MiB/s`
            )
          }, this.options.progressEveryMs)
        : undefined
    const limit = pLimit(this.options.blobJobs)
    // Once one blob has failed the image has: the others stop rather than go on trying.
    const stop: Stop = { stopped: false }
    try {
      // Every blob settles before the image's failure is reported: nothing of this attempt is
      // still writing to the target when the next one (or the next image) starts.
      const settled = await Promise.allSettled(
        blobs.map(blob =>
          limit(async () => {
            if (stop.stopped) return
            let sent = 0
            try {
              await this.placeBlob(source, target, blob, stop, bytes => {
                sent += bytes
                done += bytes
              })
            } catch (error) {
              stop.stopped = true
              throw error
            }
            // Skipped or mounted: counted as done all the same.
            done += blob.size - sent
          })
        )
      )
      const failed = settled.find(r => r.status === 'rejected')
      if (failed) throw failed.reason
    } finally {
      if (timer) clearInterval(timer)
    }
  }

  /** Make the target repository hold the blob: there already, mounted, or uploaded. */
  private async placeBlob(
    source: ImageReference,
    target: ImageReference,
    blob: Blob,
    stop: Stop,
    onBytes: (bytes: number) => void
  ): Promise<void> {
    const key = `${target.registry} ${blob.digest}`
    const here = `${target.registry} ${target.repository} ${blob.digest}`
    if (this.holds.has(here)) {
      this.stats.present++
      return
    }
    for (let round = 0; round < 3; round++) {
      const placing = this.placed.get(key)
      if (!placing) break
      const holder = await placing.catch(() => undefined)
      if (holder === target.repository) {
        this.stats.present++
        return
      }
      if (holder) {
        // There already (an earlier run put it there): nothing to send.
        if (await hasBlob(this.client, target.registry, target.repository, blob)) {
          this.stats.present++
        } else if (this.noMounts.has(target.registry)) {
          await this.upload(source, target, blob, stop, onBytes)
        } else {
          const mount = await mountBlob(
            this.client,
            target.registry,
            target.repository,
            blob,
            holder
          )
          if (mount.mounted) this.stats.mounted++
          else {
            // A registry that did not mount a blob it holds does not mount (ECR without
            // blob mounting): its later blobs skip the request.
            this.noMounts.add(target.registry)
            await this.upload(source, target, blob, stop, onBytes, mount.location)
          }
        }
        this.holds.add(here)
        return
      }
      // Whoever was placing it failed: this image tries it itself.
      if (this.placed.get(key) === placing) this.placed.delete(key)
    }
    const placing = (async () => {
      if (await hasBlob(this.client, target.registry, target.repository, blob)) {
        this.stats.present++
      } else {
        await this.upload(source, target, blob, stop, onBytes)
      }
      return target.repository
    })()
    this.placed.set(key, placing)
    try {
      await placing
      this.holds.add(here)
    } catch (error) {
      if (this.placed.get(key) === placing) this.placed.delete(key)
      throw error
    }
  }

  /** Stream one blob from the source into a new upload; a broken transfer is tried again alone. */
  private async upload(
    source: ImageReference,
    target: ImageReference,
    blob: Blob,
    stop: Stop,
    onBytes: (bytes: number) => void,
    location?: string
  ): Promise<void> {
    const attempts = this.options.blobAttempts
    const bad = `${source.registry} ${blob.digest}`
    if (this.badSource.has(bad)) throw this.badSource.get(bad)
    for (let attempt = 1; ; attempt++) {
      let sent = 0
      try {
        const upload = location
          ? { location }
          : await startUpload(this.client, target.registry, target.repository)
        location = undefined
        const chunks =
          this.chunked.has(target.registry) || blob.size > this.options.monolithicMax
            ? this.options.chunkBytes || chunkSizeFor(target.registry, upload.minChunk)
            : undefined
        const where = `${source.registry}/${source.repository}/blobs/${blob.digest}`
        const opened = await this.client.open(
          source.registry,
          source.repository,
          `blobs/${blob.digest}`
        )
        if (!opened) throw new MirrorError(`${where}: blob unknown to the source`, true)
        try {
          const length = opened.headers['content-length']
          if (length !== undefined && Number(length) !== blob.size) {
            throw new TransferError(
              `${where}: unexpected blob size, the source answered Content-Length ${String(length)} for ${blob.size} bytes`,
              false
            )
          }
          await uploadBlob(
            this.client,
            target.registry,
            target.repository,
            upload.location,
            blob,
            { bytes: opened.response, where },
            {
              ...(chunks ? { chunkBytes: chunks } : {}),
              onBytes: bytes => {
                sent += bytes
                this.stats.pulledBytes += bytes
                this.stats.pushedBytes += bytes
                onBytes(bytes)
              }
            }
          )
        } finally {
          opened.response.destroy()
        }
        this.stats.uploaded++
        return
      } catch (error) {
        onBytes(-sent)
        if (error instanceof TransferError && error.tooLarge && this.chunked.has(target.registry)) {
          throw new MirrorError(
            `${errorMessage(error)}: the registry refused a chunk of ${mib(this.options.chunkBytes || chunkSizeFor(target.registry))} MiB as too large too`,
            true
          )
        }
        if (error instanceof TransferError && error.tooLarge) {
          // Not a failure of the blob: the registry wants it in pieces, now and from now on.
          this.chunked.add(target.registry)
          this.info(
            `native: ${target.registry} refused a blob of ${mib(blob.size)} MiB in one request (413); sending blobs to it in chunks of ${mib(this.options.chunkBytes || chunkSizeFor(target.registry))} MiB`
          )
          attempt--
          continue
        }
        const last =
          !(error instanceof TransferError) ||
          error.permanent ||
          attempt >= attempts ||
          stop.stopped
        if (last) {
          if (
            attempt >= attempts &&
            /digest did not match|unexpected blob size/.test(errorMessage(error))
          )
            this.badSource.set(bad, error)
          throw error
        }
        // As long as the registry asked (Retry-After), within the retry layer's cap.
        const wait = Math.min(
          Math.max(backoffDelay(attempt - 1, this.options.retryDelayMs), error.retryAfterMs ?? 0),
          60_000
        )
        this.stats.retried++
        this.info(
          `native: retrying blob ${blob.digest} of ${repositoryName(target)} in ${seconds(wait)} s (try ${attempt + 1} of ${attempts}): ${plain(errorMessage(error))}`
        )
        await sleep(wait)
      }
    }
  }

  /** A manifest by digest, its bytes checked against it (a registry's answer is a stranger's). */
  private async readManifest(source: ImageReference, digest: string): Promise<Manifest> {
    const manifest = await this.client.getManifest(source.registry, source.repository, digest)
    const name = `${repositoryName(source)}@${digest}`
    if (!manifest?.raw) throw new MirrorError(`${name}: manifest unknown to the source`, true)
    const [algorithm] = digest.split(':')
    const actual = `${algorithm}:${createHash(algorithm as string)
      .update(manifest.raw)
      .digest('hex')}`
    if (actual !== digest) {
      throw new MirrorError(
        `${name}: the source served a manifest whose digest is ${actual}`,
        false
      )
    }
    return manifest
  }
}

function reference(text: string): ImageReference {
  const parsed = parseReference(text)
  if (!parsed.ok) throw new MirrorError(`cannot read ${text}: ${parsed.reason}`, true)
  return parsed.ref
}

function isIndexManifest(manifest: Manifest): boolean {
  return isIndex(manifest.mediaType) || Array.isArray(manifest.body.manifests)
}

function wanted(platform: Platform | undefined, platforms: readonly string[]): boolean {
  return platform !== undefined && platforms.some(p => platformMatches(platform, p))
}

function raw(manifest: Manifest): Buffer {
  return manifest.raw as Buffer
}

/** The type a manifest is put with: what the source said it is, else what its body says. */
function mediaTypeOf(manifest: Manifest): string {
  const said = manifest.mediaType || manifest.body.mediaType
  // It goes into a header: a type and subtype of token characters, nothing else.
  if (said && said !== 'application/json' && /^[\w.+-]{1,127}\/[\w.+-]{1,127}$/.test(said))
    return said
  return isIndexManifest(manifest)
    ? 'application/vnd.oci.image.index.v1+json'
    : 'application/vnd.oci.image.manifest.v1+json'
}

/**
 * The source's index with only the chosen children, every other field kept
 * (annotations, media type), as crane's `index filter` writes it.
 */
function filteredIndex(index: Manifest, children: readonly Child[]): Buffer {
  const keep = new Set(children.map(c => c.digest))
  const body = JSON.parse(raw(index).toString('utf8')) as { manifests: Child[] }
  body.manifests = body.manifests.filter(m => keep.has(m.digest))
  return Buffer.from(JSON.stringify(body))
}

/** A manifest's entries, each a digest and size the action will put in a URL, bounded. */
function entries<T extends { digest: string; size?: number }>(
  list: readonly T[] | undefined,
  what: string,
  source: ImageReference
): T[] {
  const all = list ?? []
  if (all.length > MAX_ENTRIES) {
    throw new MirrorError(
      `${repositoryName(source)}: a manifest lists ${all.length} ${what}, more than ${MAX_ENTRIES}; refused`,
      true
    )
  }
  for (const entry of all) {
    if (
      typeof entry.digest !== 'string' ||
      !DIGEST.test(entry.digest) ||
      (entry.size !== undefined && (!Number.isSafeInteger(entry.size) || entry.size < 0))
    ) {
      throw new MirrorError(
        `${repositoryName(source)}: a manifest lists ${what} whose digest or size cannot be right (${JSON.stringify(entry.digest).slice(0, 80)}); refused`,
        true
      )
    }
  }
  return [...all]
}

/**
 * The blobs an image needs: its config and its layers, but not layers that
 * must not be redistributed (foreign layers; as crane and skopeo leave them).
 */
function blobsOf(image: Manifest, source: ImageReference): Blob[] {
  const config = image.body.config ? [image.body.config] : []
  const layers = (image.body.layers ?? []).filter(
    l => !/foreign|nondistributable/.test(l.mediaType ?? '')
  )
  const blobs = entries([...config, ...layers], 'blobs', source)
  for (const b of blobs) {
    if (!Number.isSafeInteger(b.size)) {
      throw new MirrorError(
        `${repositoryName(source)}: a manifest lists blob ${b.digest} without a size; refused`,
        true
      )
    }
  }
  return blobs.map(b => ({ digest: b.digest, size: b.size }))
}

function distinct(blobs: readonly Blob[]): Blob[] {
  return [...new Map(blobs.map(b => [b.digest, b])).values()]
}

/** A failure in plain words first, then as it was met (`cause (native: detail)`). */
function plain(detail: string): string {
  const cause = explain(detail)
  return cause ? `${cause} (native: ${detail})` : `native: ${detail}`
}

function seconds(ms: number): string {
  return (ms / 1000).toFixed(1)
}

function mib(bytes: number): string {
  return (bytes / MIB).toFixed(1)
}
