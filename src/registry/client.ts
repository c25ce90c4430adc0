/**
 * Registry client, read side: HEAD and GET manifests, list tags, read a JSON
 * blob (an image config), retried on 429/5xx and network errors
 * (common/retry.ts), with Docker Hub's rate limit watched. The layers under
 * it: transport.ts (HTTP, redirects, bounds), auth.ts (Basic and tokens),
 * manifest.ts (what an answer means). Copying itself is the engines' work.
 */
import { debug } from '../action/log.js'
import { createHash } from 'node:crypto'
import type * as http from 'node:http'
import { errorMessage } from '../common/errors.js'
import { answerDelay, backoffDelay, sleep } from '../common/retry.js'
import { DOCKER_HUB } from '../image/references.js'
import { Authenticator, type Credentials } from './auth.js'
import { RegistryError } from './error.js'
import {
  ACCEPT,
  manifestHead,
  type Manifest,
  type ManifestBody,
  type ManifestHead
} from './manifest.js'
import {
  isForbiddenHost,
  MAX_BODY_BYTES,
  Transport,
  type Answer,
  type Method,
  type Opened
} from './transport.js'

// The registry's vocabulary, importable from its client.
export { parseChallenge, type Credentials } from './auth.js'
export { RegistryError } from './error.js'
export {
  formatPlatform,
  isIndex,
  MANIFEST_TYPES,
  platformMatches,
  type Manifest,
  type ManifestBody,
  type ManifestHead,
  type Platform
} from './manifest.js'
export { isForbiddenHost, type Opened } from './transport.js'
import {
  carriesBudget,
  isBudget,
  isPullLimit,
  PullBudgetError,
  readRateLimit,
  type PullBudgets
} from './pull-budget.js'

/** An image config is a few KiB; getBlobJson's default ceiling. */
const MAX_BLOB_JSON_BYTES = 1024 * 1024

export interface RegistryClientOptions {
  /** Hosts (with port) spoken to over plain HTTP. */
  insecure?: Iterable<string>
  /** Credentials for a registry host, or undefined for anonymous access. */
  credentials?: (registry: string) => Credentials | undefined
  /** Attempts beyond the first on 429, 5xx and network errors. */
  retries?: number
  /** First backoff delay; doubles each attempt. */
  retryDelayMs?: number
  /** Longest wait honoured from Retry-After. */
  maxRetryDelayMs?: number
  warn?: (message: string) => void
  userAgent?: string
  /**
   * Told before each retry of a request (what, the wait, why), for a log that
   * shows them; without it they are debug lines.
   */
  onRetry?: (what: string, waitMs: number, why: string) => void
  /** The run's pull budgets: told every rate-limit reading, and a 429 that says the limit is reached. */
  budgets?: PullBudgets
  /**
   * Each manifest GET takes its pull from the budget first (the action's own reads). An
   * engine's client does not: the copy holds the pulls it will spend.
   */
  takesPulls?: boolean
}

export class RegistryClient {
  private readonly transport: Transport
  private readonly auth: Authenticator
  private readonly insecure: Set<string>
  private readonly warnedLow = new Set<string>()
  private readonly retries: number
  private readonly retryDelayMs: number
  private readonly maxRetryDelayMs: number
  /** Manifest GETs made on each registry (Docker Hub counts each as a pull). */
  readonly manifestGets = new Map<string, number>()

  constructor(private readonly options: RegistryClientOptions = {}) {
    this.transport = new Transport(options.userAgent ?? 'image-mirror')
    this.auth = new Authenticator(this.transport, {
      ...(options.credentials ? { credentials: options.credentials } : {}),
      ...(options.warn ? { warn: options.warn } : {}),
      baseUrl: registry => this.baseUrl(registry)
    })
    this.insecure = new Set(options.insecure ?? [])
    this.retries = options.retries ?? 3
    this.retryDelayMs = options.retryDelayMs ?? 500
    this.maxRetryDelayMs = options.maxRetryDelayMs ?? 60_000
  }

  dispose(): void {
    this.transport.dispose()
  }

  /** The manifest's digest, type and size from a HEAD (free on Docker Hub); undefined when absent. */
  async headManifest(
    registry: string,
    repository: string,
    reference: string
  ): Promise<ManifestHead | undefined> {
    const res = await this.send('HEAD', registry, repository, `manifests/${reference}`)
    if (res.status === 404) return undefined
    return manifestHead(res.headers)
  }

  /** GET a manifest. Counts as a pull on Docker Hub: use only where a HEAD cannot answer. */
  async getManifest(
    registry: string,
    repository: string,
    reference: string
  ): Promise<Manifest | undefined> {
    const hold = this.options.takesPulls
      ? await this.options.budgets?.take(registry, 1, `reading ${repository}:${reference}`)
      : undefined
    const get = () => this.send('GET', registry, repository, `manifests/${reference}`)
    // The answer's own reading counts this pull; without one, it is counted here.
    const res = hold ? await hold.settle(get, answer => carriesBudget(answer.headers)) : await get()
    const text = res.body
    this.manifestGets.set(registry, (this.manifestGets.get(registry) ?? 0) + 1)
    if (res.status === 404) return undefined
    const head = manifestHead(res.headers)
    let body: ManifestBody
    try {
      body = JSON.parse(text) as ManifestBody
    } catch {
      throw new RegistryError(
        `${registry}/${repository}:${reference}: the manifest is not JSON`,
        200,
        true
      )
    }
    const computed = `sha256:${createHash('sha256').update(res.bytes).digest('hex')}`
    // A registry that omits the digest header is answered by the content itself.
    return {
      ...head,
      digest: head.digest || computed,
      body,
      size: head.size || res.bytes.length,
      raw: res.bytes
    }
  }

  /**
   * A JSON blob (an image config), read and checked against its digest;
   * undefined when the registry does not have it. Redirects to storage are
   * followed as for any request; an answer over maxBytes is refused.
   */
  async getBlobJson(
    registry: string,
    repository: string,
    digest: string,
    maxBytes = MAX_BLOB_JSON_BYTES
  ): Promise<unknown | undefined> {
    const bytes = await this.getSmallBlob(registry, repository, digest, maxBytes)
    if (bytes === undefined) return undefined
    try {
      return JSON.parse(bytes.toString('utf8')) as unknown
    } catch {
      throw new RegistryError(
        `${registry}/${repository}@${digest}: the blob is not JSON`,
        200,
        true
      )
    }
  }

  /**
   * A small blob's bytes (a signature payload, a config), checked against its digest;
   * undefined when the registry does not have it. An answer over maxBytes is refused.
   */
  async getSmallBlob(
    registry: string,
    repository: string,
    digest: string,
    maxBytes = MAX_BLOB_JSON_BYTES
  ): Promise<Buffer | undefined> {
    const expected = /^sha256:([a-f0-9]{64})$/.exec(digest)?.[1]
    if (!expected) {
      throw new RegistryError(
        `${registry}/${repository}: ${JSON.stringify(digest.slice(0, 80))} is not a sha256 digest; the blob is not read`,
        undefined,
        true
      )
    }
    const res = await this.send('GET', registry, repository, `blobs/${digest}`, { maxBytes })
    if (res.status === 404) return undefined
    const actual = createHash('sha256').update(res.bytes).digest('hex')
    if (actual !== expected) {
      throw new RegistryError(
        `${registry}/${repository}@${digest}: the blob answered has sha256:${actual}, not its digest; refused`,
        res.status,
        true
      )
    }
    return res.bytes
  }

  /** Every tag of a repository, following `Link: <...>; rel="next"` pages. */
  async listTags(registry: string, repository: string): Promise<string[]> {
    return (await this.listTagPages(registry, repository, 1000)).tags
  }

  /** The tags of the first `maxPages` pages, and whether that was all of them. */
  async listTagPages(
    registry: string,
    repository: string,
    maxPages: number
  ): Promise<{ tags: string[]; complete: boolean }> {
    const tags: string[] = []
    let next: string | undefined = 'tags/list?n=1000'
    for (let page = 0; next && page < maxPages; page++) {
      const res = await this.send('GET', registry, repository, next)
      const text = res.body
      if (res.status === 404) {
        throw new RegistryError(`${registry}/${repository} does not exist`, 404, true)
      }
      try {
        tags.push(...((JSON.parse(text) as { tags?: string[] | null }).tags ?? []))
      } catch {
        throw new RegistryError(`${registry}/${repository}: the tag list is not JSON`, 200, true)
      }
      next = this.nextPage(res, registry, repository)
    }
    return { tags, complete: next === undefined }
  }

  /** The next page of a listing (`Link: <...>; rel="next"`), as a path for `send`; undefined at the end. */
  nextPage(res: Pick<Answer, 'headers'>, registry: string, repository: string): string | undefined {
    const link = res.headers.link
    const target = /<([^>]+)>\s*;\s*rel="?next"?/.exec(
      Array.isArray(link) ? (link[0] ?? '') : (link ?? '')
    )
    return target ? this.relativeToRepository(target[1] as string, registry, repository) : undefined
  }

  /** The API root of a registry: Docker Hub's lives elsewhere; insecure hosts use HTTP. */
  baseUrl(registry: string): string {
    const host = registry === DOCKER_HUB ? 'registry-1.docker.io' : registry
    return `${this.insecure.has(registry) ? 'http' : 'https'}://${host}/v2/`
  }

  private relativeToRepository(link: string, registry: string, repository: string): string {
    const url = new URL(link, this.baseUrl(registry))
    const prefix = `/v2/${repository}/`
    return url.pathname.startsWith(prefix) ? url.pathname.slice(prefix.length) + url.search : link
  }

  /**
   * One request with auth, retries and rate-limit watch; the answer is a 2xx
   * or a 404. `path` is under the repository, or an absolute URL the registry
   * gave (an upload's Location, checked by `location`). A body is a Buffer, so
   * it can be sent again. `push` asks for a token that may write.
   */
  async send(
    method: Method,
    registry: string,
    repository: string,
    path: string,
    options: SendOptions = {}
  ): Promise<Answer> {
    const { maxBytes = MAX_BODY_BYTES, body, headers = {} } = options
    const url = this.urlFor(registry, repository, path)
    // Without the query: a next page's link is the registry's text, not ours to repeat.
    const what = `${method} ${registry}/${repository}/${path.split('?')[0]}`
    const res = await this.withRetries(what, registry, url, scopeOf(repository, options), auth =>
      this.transport.send(
        method,
        url,
        {
          ...(path.startsWith('manifests/') && !body ? { accept: ACCEPT } : {}),
          ...headers,
          ...auth
        },
        { maxBytes, ...(body ? { body } : {}) }
      )
    )
    const status = res.status
    if ((status >= 200 && status < 300) || status === 404) return res
    throw this.failure(status, registry, repository, path, res.body.slice(0, 300), method, {
      mayRefuse: !options.from && !insufficientScope(res.headers['www-authenticate'])
    })
  }

  /**
   * A GET whose answer is streamed (a blob), with auth and the same retries as
   * `send` until the answer starts; a 404 is undefined. The caller reads or
   * destroys the stream.
   */
  async open(
    registry: string,
    repository: string,
    path: string,
    options: SendOptions = {}
  ): Promise<Opened | undefined> {
    const url = this.urlFor(registry, repository, path)
    const res = await this.withRetries(
      `GET ${registry}/${repository}/${path}`,
      registry,
      url,
      scopeOf(repository, options),
      auth => this.transport.open('GET', url, { ...(options.headers ?? {}), ...auth }),
      // An answer not used is read a little and dropped, so its connection is freed.
      answer => readSome(answer)
    )
    const { status } = res
    if (status >= 200 && status < 300) return res
    const text = await readSome(res)
    if (status === 404) return undefined
    throw this.failure(status, registry, repository, path, text, 'GET')
  }

  /**
   * One request's attempts, the one retry layer of the client: a network error,
   * a 429 or a 5xx is tried again (Retry-After or backoff) while attempts
   * remain; a 401 is answered once with credentials or a token, not counted as
   * an attempt. Returns the last answer; `drop` releases one that is not used.
   */
  private async withRetries<T extends Pick<Answer, 'status' | 'headers'>>(
    what: string,
    registry: string,
    url: string,
    scope: string,
    once: (authorization: Record<string, string>) => Promise<T>,
    drop: (answer: T) => Promise<unknown> = async () => undefined
  ): Promise<T> {
    let authenticated = false
    for (let attempt = 0; ; attempt++) {
      let res: T
      try {
        res = await once(this.authorizationFor(registry, url, scope))
      } catch (error) {
        if (error instanceof RegistryError) throw error
        if (attempt < this.retries) {
          const wait = backoffDelay(attempt, this.retryDelayMs)
          this.retrying(what, attempt, wait, errorMessage(error))
          await sleep(wait)
          continue
        }
        throw new RegistryError(`${registry} cannot be reached: ${errorMessage(error)}`)
      }
      const status = res.status
      this.watchRateLimit(registry, res)
      // Spent until the window moves on, hours away: not retried, and nothing more is asked.
      if (isPullLimit(status, res.headers, 'body' in res ? String(res.body).slice(0, 300) : '')) {
        await drop(res)
        const detail = `HTTP 429 for ${what}`
        throw (
          this.options.budgets?.exhausted(registry, detail) ??
          new PullBudgetError(`${registry} said its pull limit is reached (${detail})`)
        )
      }
      if (status === 401 && !authenticated) {
        await drop(res)
        await this.auth.authenticate(registry, scope, res.headers['www-authenticate'])
        authenticated = true
        attempt--
        continue
      }
      if ((status === 429 || status >= 500) && attempt < this.retries) {
        await drop(res)
        const retryAfter = res.headers['retry-after']
        const wait = answerDelay(retryAfter, attempt, this.retryDelayMs, this.maxRetryDelayMs)
        this.retrying(what, attempt, wait, answered(status, retryAfter))
        await sleep(wait)
        continue
      }
      return res
    }
  }

  /**
   * Send an upload's piece once, its body written by `write` as it streams
   * (it cannot be sent again, so a failure is the caller's to retry).
   */
  async upload(
    method: 'PATCH' | 'PUT',
    registry: string,
    repository: string,
    url: string,
    headers: Record<string, string>,
    write: (req: http.ClientRequest) => Promise<void>
  ): Promise<Opened> {
    const auth = this.authorizationFor(registry, url, scopeOf(repository, { push: true }), true)
    return this.transport.open(method, url, { ...headers, ...auth }, { write })
  }

  /**
   * The URL of `path` under a repository, or of a Location the registry gave
   * (absolute, protocol-relative or a path), resolved and checked: never from
   * HTTPS down to HTTP, never to a link-local or metadata host.
   */
  urlFor(registry: string, repository: string, path: string): string {
    const base = `${this.baseUrl(registry)}${repository}/`
    const url = new URL(path, base)
    const own = new URL(base)
    if (own.protocol === 'https:' && url.protocol !== 'https:') {
      throw new RegistryError(
        `${registry} gave an upload location over plain HTTP (${url.host}); not followed`,
        undefined,
        true
      )
    }
    if (url.host !== own.host && isForbiddenHost(url.hostname)) {
      throw new RegistryError(
        `${registry} gave an upload location on ${url.host}, a link-local or cloud metadata address; not followed`,
        undefined,
        true
      )
    }
    return url.toString()
  }

  /** Say that a request is tried again: to onRetry when given, else as a debug line. */
  private retrying(what: string, attempt: number, waitMs: number, why: string): void {
    const tries = this.retries + 1
    if (this.options.onRetry) {
      this.options.onRetry(`${what} (try ${attempt + 2} of ${tries})`, waitMs, why)
    } else {
      debug(
        () =>
          `${what}: ${why}; attempt ${attempt + 1} of ${tries}, next in ${Math.round(waitMs)} ms`
      )
    }
  }

  private authorizationFor(
    registry: string,
    url: string,
    scope: string,
    covering = false
  ): Record<string, string> {
    const refusal = this.auth.refusal(registry)
    if (refusal) throw new RegistryError(refusal, 401, true)
    // Credentials go to the registry's own host only (an upload may be sent to storage).
    if (new URL(url).host !== new URL(this.baseUrl(registry)).host) return {}
    return this.auth.authorization(registry, scope, covering)
  }

  private failure(
    status: number,
    registry: string,
    repository: string,
    path: string,
    body: string,
    verb: Method = 'GET',
    { mayRefuse = true }: { mayRefuse?: boolean } = {}
  ): RegistryError {
    const what = `${describeRequest(verb, path)} ${registry}/${repository}`
    if (status === 401) {
      if (this.options.credentials?.(registry) && !mayRefuse) {
        // A mount from another repository, or a scope the credentials lack for this one:
        // the credentials themselves may be right, so later requests still use them.
        return new RegistryError(
          `${registry} refused ${describeRequest(verb, path)} ${repository} with the credentials given (401 Unauthorized)`,
          401,
          true
        )
      }
      if (this.options.credentials?.(registry)) {
        const message = `${registry} refused the credentials given for it (401 Unauthorized); check the username and password`
        this.auth.refuse(registry, message)
        return new RegistryError(message, 401, true)
      }
      return new RegistryError(
        `${registry} requires credentials (401 Unauthorized) for ${repository}; give username and password for the target, or log in to it in an earlier step`,
        401,
        true
      )
    }
    if (status === 403)
      return new RegistryError(`${what}: access denied (403 Forbidden)`, 403, true)
    if (status === 429)
      return new RegistryError(
        `${what}: rate limited (429 Too Many Requests) after ${this.retries + 1} attempts`,
        429
      )
    const detail = errorDetail(body)
    return new RegistryError(
      `${what}: HTTP ${status}${detail ? ` (${detail})` : ''}`,
      status,
      status >= 400 && status < 500
    )
  }

  private watchRateLimit(registry: string, res: Pick<Answer, 'headers'>): void {
    const reading = readRateLimit(res.headers)
    if (!reading) return
    if (isBudget(reading)) this.options.budgets?.observe(registry, reading)
    const { remaining, limit } = reading
    const low = Math.max(10, Math.floor((limit ?? 100) / 10))
    if (remaining <= low && !this.warnedLow.has(registry)) {
      this.warnedLow.add(registry)
      this.options.warn?.(
        `${registry} rate limit is low: ${remaining}${limit !== undefined ? ` of ${limit}` : ''} pulls remaining in its window; log in to ${registry} for a higher limit`
      )
    }
  }
}

/** A Bearer challenge saying the token lacks the scope (not that the credentials are wrong). */
function insufficientScope(header: string | string[] | undefined): boolean {
  return /error="?insufficient_scope/i.test(
    Array.isArray(header) ? header.join(' ') : (header ?? '')
  )
}

/** An answer retried, as its retry line says it. */
function answered(status: number, retryAfter: string | string[] | undefined): string {
  return `HTTP ${status}${retryAfter ? ` (Retry-After ${String(retryAfter)})` : ''}`
}

/** How a failed request is named in its message. */
function describeRequest(verb: Method, path: string): string {
  if (path.startsWith('tags/')) return 'listing tags of'
  // Only a copy asks whether a repository holds a blob: the native engine, of the target.
  if (verb === 'HEAD' && path.startsWith('blobs/')) return 'checking for a blob in'
  if (verb === 'GET' || verb === 'HEAD') return 'reading'
  return path.startsWith('manifests/') ? 'uploading manifest to' : 'uploading blob to'
}

export interface SendOptions {
  maxBytes?: number
  body?: Buffer
  headers?: Record<string, string>
  /** The token must allow writing (pull and push). */
  push?: boolean
  /** Another repository the request reads (a mount's `from`): its pull is asked for too. */
  from?: string
}

/** The token scope a request needs: its repository, pull or pull and push, and a mount's source. */
function scopeOf(repository: string, options: SendOptions): string {
  const own = `repository:${repository}:${options.push ? 'push,pull' : 'pull'}`
  return options.from ? `${own} repository:${options.from}:pull` : own
}

/** The start of an answer that is not read on (an error's body), bounded; the rest is dropped. */
async function readSome(res: Opened, max = 4096): Promise<string> {
  const chunks: Buffer[] = []
  let length = 0
  try {
    for await (const chunk of res.response as AsyncIterable<Buffer>) {
      if (length < max) chunks.push(chunk)
      length += chunk.length
      if (length >= 64 * 1024) break
    }
  } catch {
    // An error body that did not arrive whole is still an error.
  } finally {
    res.response.destroy()
  }
  return Buffer.concat(chunks).toString('utf8').slice(0, max)
}

/** The first message of an OCI error body, if it is one. */
function errorDetail(body: string): string | undefined {
  try {
    const parsed = JSON.parse(body) as { errors?: { code?: string; message?: string }[] }
    const first = parsed.errors?.[0]
    return first ? [first.code, first.message].filter(Boolean).join(': ') : undefined
  } catch {
    return undefined
  }
}
