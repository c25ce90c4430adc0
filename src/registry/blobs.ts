/**
 * Blobs and manifests, the write side of the distribution protocol (what the
 * native engine copies with): whether a repository holds a blob, a mount from
 * another repository of the same registry, a blob streamed from a source into
 * an upload (one PUT for a small blob, PATCH chunks for a large one), and a
 * manifest put as its bytes. Requests without a streamed body are retried by
 * the client; a streamed transfer that fails throws a TransferError, which the
 * caller retries as a whole blob (its body cannot be sent again).
 */
import { createHash, type Hash } from 'node:crypto'
import { once } from 'node:events'
import type * as http from 'node:http'
import { MirrorError } from '../common/errors.js'
import { parseRetryAfter } from '../common/retry.js'
import { RegistryError, type RegistryClient } from './client.js'

/** A blob as a manifest names it: digest and size, checked before either reaches a URL. */
export interface Blob {
  digest: string
  size: number
}

/** A digest the action will put in a URL: sha256 or sha512, lower-case hex, nothing else. */
export const DIGEST = /^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/

/**
 * A streamed transfer that failed part way (the source's bytes, or the
 * upload carrying them): the whole blob is what can be tried again.
 */
export class TransferError extends MirrorError {
  constructor(
    message: string,
    permanent: boolean,
    /** The registry refused one request this large (413): chunks may pass. */
    readonly tooLarge = false,
    /** How long the registry asked to be left alone (Retry-After), in ms. */
    readonly retryAfterMs?: number
  ) {
    super(message, permanent)
  }
}

/** Whether the repository holds the blob (HEAD; free everywhere). */
export async function hasBlob(
  client: RegistryClient,
  registry: string,
  repository: string,
  blob: Blob
): Promise<boolean> {
  const res = await client.send('HEAD', registry, repository, `blobs/${blob.digest}`, {
    push: true
  })
  return res.status >= 200 && res.status < 300
}

/**
 * Ask the registry to link a blob it holds in `from` into `repository`. Mounted,
 * or not (the registry does not mount, or `from` lacks it), with the upload it
 * started instead when it says where (202 with a Location).
 */
export async function mountBlob(
  client: RegistryClient,
  registry: string,
  repository: string,
  blob: Blob,
  from: string
): Promise<{ mounted: true } | { mounted: false; location?: string }> {
  let res
  try {
    res = await client.send(
      'POST',
      registry,
      repository,
      `blobs/uploads/?mount=${blob.digest}&from=${encodeURIComponent(from)}`,
      { push: true, from, headers: { 'content-length': '0' } }
    )
  } catch (error) {
    // A registry that refuses the mount (a token without pull on `from`, Harbor's 401 for a
    // project it lacks, Docker Hub's for a repository) still takes an upload.
    const status = error instanceof RegistryError ? (error.status ?? 0) : 0
    if (status >= 400 && status < 500 && status !== 429) return { mounted: false }
    throw error
  }
  if (res.status === 201) return { mounted: true }
  const location = res.status === 202 ? locationOf(res.headers) : undefined
  return location ? { mounted: false, location } : { mounted: false }
}

/** Start an upload; the registry says where to send it. */
export async function startUpload(
  client: RegistryClient,
  registry: string,
  repository: string
): Promise<Upload> {
  const res = await client.send('POST', registry, repository, 'blobs/uploads/', {
    push: true,
    headers: { 'content-length': '0' }
  })
  const location = res.status === 202 ? locationOf(res.headers) : undefined
  if (!location) {
    throw new RegistryError(
      `${registry}/${repository}: starting an upload answered HTTP ${res.status}${res.status === 202 ? ' without a Location' : ''}`,
      res.status,
      res.status === 404
    )
  }
  // The spec's way for a registry to say its smallest chunk.
  const min = Number(res.headers['oci-chunk-min-length'])
  return Number.isSafeInteger(min) && min > 0 ? { location, minChunk: min } : { location }
}

export interface Upload {
  location: string
  /** The smallest chunk the registry takes (OCI-Chunk-Min-Length), when it says. */
  minChunk?: number
}

export interface UploadOptions {
  /**
   * Absent: the blob goes in one PUT, which every common registry takes.
   * Otherwise PATCH chunks of this size (with Content-Range), then a PUT.
   */
  chunkBytes?: number
  /** Told each piece as it is sent, for progress. */
  onBytes?: (bytes: number) => void
}

/**
 * The chunk size for a registry that would not take a blob in one PUT. No
 * size suits all (docs/registries.md): GHCR refuses chunks over 4 MiB, ECR
 * chunks under 5 MiB but the last (and documents 10 MiB as its largest);
 * 8 MiB elsewhere, or more when the registry asks for more.
 */
export function chunkSizeFor(registry: string, minChunk = 0): number {
  const host = registry.replace(/:\d+$/, '')
  const size = host === 'ghcr.io' ? 4 * MIB : 8 * MIB
  return Math.max(size, minChunk)
}

const MIB = 1024 * 1024

/**
 * Stream `blob` from the source's answer into the upload at `location`. The
 * bytes are counted and hashed on the way: a source that sends more or less
 * than the size, or other content than the digest, fails before the upload is
 * completed (a registry checks the digest as well, and refuses a mismatch).
 */
export async function uploadBlob(
  client: RegistryClient,
  registry: string,
  repository: string,
  location: string,
  blob: Blob,
  source: { bytes: AsyncIterable<Buffer>; where: string },
  options: UploadOptions
): Promise<void> {
  const reader = new BlobReader(source.bytes, blob, source.where)
  let at = location
  if (options.chunkBytes !== undefined) {
    for (let start = 0; start < blob.size;) {
      const length = Math.min(options.chunkBytes, blob.size - start)
      const res = await sendPiece(
        client,
        registry,
        repository,
        'PATCH',
        at,
        {
          'content-type': 'application/octet-stream',
          'content-length': String(length),
          'content-range': `${start}-${start + length - 1}`
        },
        reader,
        length,
        options
      )
      // ECR answers a chunk with 201, the spec with 202; the offset is counted here (ECR's
      // Range header is known to go stale).
      if (res.status !== 202 && res.status !== 201) {
        throw await uploadRefused(res, registry, repository, blob)
      }
      at = locationOf(res.headers) ?? at
      start += length
      res.response.resume()
    }
    await reader.checkEnd()
    reader.verify()
    const done = await sendPiece(
      client,
      registry,
      repository,
      'PUT',
      withDigest(at, blob),
      {
        'content-length': '0'
      },
      reader,
      0,
      options
    )
    if (done.status !== 201) throw await uploadRefused(done, registry, repository, blob)
    done.response.resume()
    return
  }
  const res = await sendPiece(
    client,
    registry,
    repository,
    'PUT',
    withDigest(at, blob),
    {
      'content-type': 'application/octet-stream',
      'content-length': String(blob.size)
    },
    reader,
    blob.size,
    options,
    true
  )
  if (res.status !== 201) throw await uploadRefused(res, registry, repository, blob)
  res.response.resume()
}

/** What a registry said to a manifest put. */
export interface PutManifestAnswer {
  digest: string
  /** It answered `OCI-Subject`: it indexes the manifest's subject for the referrers API. */
  subjectIndexed: boolean
}

/** Put a manifest as its bytes, under a tag or its digest; the registry's digest must be ours. */
export async function putManifest(
  client: RegistryClient,
  registry: string,
  repository: string,
  reference: string,
  mediaType: string,
  bytes: Buffer
): Promise<PutManifestAnswer> {
  const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`
  const res = await client.send('PUT', registry, repository, `manifests/${reference}`, {
    push: true,
    body: bytes,
    headers: { 'content-type': mediaType, 'content-length': String(bytes.length) }
  })
  if (res.status < 200 || res.status >= 300) {
    throw new RegistryError(
      `uploading manifest ${reference} to ${registry}/${repository}: HTTP ${res.status}${errorCode(res.body)}`,
      res.status,
      res.status >= 400 && res.status < 500 && res.status !== 429
    )
  }
  const answered = String(res.headers['docker-content-digest'] ?? '')
  if (answered && answered.startsWith('sha256:') && answered !== digest) {
    throw new RegistryError(
      `${registry}/${repository}: the manifest put as ${digest} was stored as ${answered}`,
      res.status,
      true
    )
  }
  return { digest, subjectIndexed: Boolean(res.headers['oci-subject']) }
}

/** Reads a blob's bytes in pieces of a given length, hashing and counting them. */
class BlobReader {
  private readonly iterator: AsyncIterator<Buffer>
  private readonly hash: Hash
  private held: Buffer | undefined
  private read = 0

  constructor(
    source: AsyncIterable<Buffer>,
    private readonly blob: Blob,
    /** `registry/repository/blobs/digest` of the source, for messages. */
    private readonly where: string
  ) {
    this.iterator = source[Symbol.asyncIterator]()
    this.hash = createHash(blob.digest.split(':')[0] as string)
  }

  /** The next `length` bytes, in the pieces they arrive in. */
  async *take(length: number): AsyncGenerator<Buffer> {
    let left = length
    while (left > 0) {
      let piece = this.held
      this.held = undefined
      if (!piece) {
        const next = await this.next()
        if (next.done) {
          throw new TransferError(
            `${this.where}: unexpected blob size, the source sent ${this.read} of its ${this.blob.size} bytes`,
            false
          )
        }
        piece = next.value
      }
      if (piece.length > left) {
        this.held = piece.subarray(left)
        piece = piece.subarray(0, left)
      }
      left -= piece.length
      this.read += piece.length
      this.hash.update(piece)
      yield piece
    }
  }

  /** After the last byte: nothing more may come, and the content must be the digest's. */
  verify(): void {
    if (this.held && this.held.length > 0) throw this.tooLong()
    const actual = `${this.blob.digest.split(':')[0]}:${this.hash.digest('hex')}`
    if (actual !== this.blob.digest) {
      throw new TransferError(`${this.where}: digest did not match, got ${actual}`, false)
    }
  }

  /** The source's next piece; a connection that broke says it was the source's. */
  private async next(): Promise<IteratorResult<Buffer>> {
    try {
      return await this.iterator.next()
    } catch (error) {
      throw new TransferError(`reading blob ${this.where}: ${errorText(error)}`, false)
    }
  }

  /** Whether the source has bytes beyond the size (read once the size has been taken). */
  async checkEnd(): Promise<void> {
    if (this.held && this.held.length > 0) throw this.tooLong()
    const next = await this.next()
    if (!next.done && next.value.length > 0) throw this.tooLong()
  }

  private tooLong(): TransferError {
    return new TransferError(
      `${this.where}: unexpected blob size, the source sent more than its ${this.blob.size} bytes`,
      false
    )
  }
}

/** One PATCH or PUT carrying `length` bytes of the blob (checked in full when `last`). */
async function sendPiece(
  client: RegistryClient,
  registry: string,
  repository: string,
  method: 'PATCH' | 'PUT',
  location: string,
  headers: Record<string, string>,
  reader: BlobReader,
  length: number,
  options: UploadOptions,
  last = false
) {
  const url = client.urlFor(registry, repository, location)
  const write = async (req: http.ClientRequest): Promise<void> => {
    for await (const piece of reader.take(length)) {
      if (!req.write(piece)) await once(req, 'drain')
      options.onBytes?.(piece.length)
    }
    if (last) {
      await reader.checkEnd()
      reader.verify()
    }
    req.end()
  }
  const broken = (error: unknown): Error => {
    if (error instanceof MirrorError) return error
    // Go's wording, which the plain causes (copy/engines/engine.ts) already know.
    return new TransferError(
      `${method === 'PUT' ? 'Put' : 'Patch'} "${url.split('?')[0]}": ${errorText(error)}`,
      false
    )
  }
  let res
  try {
    res = await client.upload(method, registry, repository, url, headers, write)
  } catch (error) {
    throw broken(error)
  }
  // A success counts once the whole body went out and passed its checks (a registry may
  // answer early; a source that sent too much is found only at the end).
  if (res.status >= 200 && res.status < 300) {
    try {
      await res.written
    } catch (error) {
      res.response.destroy()
      throw broken(error)
    }
  }
  return res
}

/** An upload answered with something other than success, as an error that says whose fault. */
async function uploadRefused(
  res: { status: number; response: http.IncomingMessage },
  registry: string,
  repository: string,
  blob: Blob
): Promise<TransferError> {
  const code = errorCode(await readBounded(res.response))
  const retryAfter = parseRetryAfter(String(res.response.headers['retry-after'] ?? ''))
  return new TransferError(
    `uploading blob ${blob.digest} to ${registry}/${repository}: HTTP ${res.status}${code}`,
    // Refused for good: denied (403). A 401 is a token that lapsed (the blob's next try asks
    // for one; credentials that are wrong are refused there); a 429, a 5xx or a broken
    // upload may pass next time, and a 413 (one request too large) in chunks.
    res.status === 403,
    res.status === 413,
    retryAfter
  )
}

/**
 * The start of an error answer (4 KiB kept, at most 64 KiB read, 10 s at
 * most), then the answer is dropped; a connection that breaks meanwhile
 * leaves what came.
 */
async function readBounded(response: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = []
  let length = 0
  const timer = setTimeout(() => response.destroy(), 10_000)
  try {
    for await (const chunk of response as AsyncIterable<Buffer>) {
      if (length < 4096) chunks.push(chunk)
      length += chunk.length
      if (length >= 64 * 1024) break
    }
  } catch {
    // What came is enough to say why.
  } finally {
    clearTimeout(timer)
    response.destroy()
  }
  return Buffer.concat(chunks).toString('utf8').slice(0, 4096)
}

/** The upload URL with the digest that completes it added to its query. */
function withDigest(location: string, blob: Blob): string {
  return `${location}${location.includes('?') ? '&' : '?'}digest=${encodeURIComponent(blob.digest)}`
}

function locationOf(headers: http.IncomingHttpHeaders): string | undefined {
  const location = headers.location
  return typeof location === 'string' && location.length > 0 && location.length <= 8192
    ? location
    : undefined
}

/** `: CODE: message` of an OCI error body, or nothing. */
function errorCode(body: string): string {
  try {
    const first = (JSON.parse(body) as { errors?: { code?: string; message?: string }[] })
      .errors?.[0]
    const text = [first?.code, first?.message].filter(Boolean).join(': ').slice(0, 300)
    return text ? ` (${text})` : ''
  } catch {
    return ''
  }
}

function errorText(error: unknown): string {
  const code = (error as { code?: unknown }).code
  const message = error instanceof Error ? error.message : String(error)
  return typeof code === 'string' && !message.includes(code) ? `${message} (${code})` : message
}
