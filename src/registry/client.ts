/**
 * Registry client, read side: HEAD and GET manifests, list tags, read a JSON
 * blob (an image config), with the registry's token or Basic auth, retries on
 * 429/5xx and Docker Hub's rate limit watched. Copying itself is the engines' work.
 *
 * Requests go out on node:http(s) directly over keep-alive agents, one per
 * origin, that @actions/http-client hands out (so a proxy from the
 * environment is honoured): planning thousands of images is two HEADs each,
 * and the client's own per-request work is what the registries' ceiling is
 * compared with (see `npm run bench`).
 *
 * What a registry answers is a stranger's: a Bearer realm is followed only
 * over https (plain HTTP only to an insecure registry's own host:port, and
 * then without credentials), never to a link-local or cloud metadata
 * address, and the token it gives is bounded before it is used in a header.
 */
import { HttpClient } from '@actions/http-client'
import { createHash } from 'node:crypto'
import * as http from 'node:http'
import * as https from 'node:https'
import { BlockList } from 'node:net'
import { DOCKER_HUB } from '../image/references.js'
import { errorMessage, MirrorError } from '../common/errors.js'
import { answerDelay, backoffDelay, sleep } from '../common/retry.js'

/** Every manifest and index type, so no registry converts what it answers (field notes §4). */
export const MANIFEST_TYPES = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json'
] as const
const INDEX_TYPES = new Set<string>(MANIFEST_TYPES.slice(0, 2))
const ACCEPT = MANIFEST_TYPES.join(', ')

export interface Credentials {
  username: string
  password: string
}

export interface ManifestHead {
  digest: string
  mediaType: string
  size: number
}

export interface Manifest extends ManifestHead {
  body: ManifestBody
}

export interface ManifestBody {
  mediaType?: string
  manifests?: { digest: string; mediaType?: string; size?: number; platform?: Platform }[]
  config?: { digest: string; size: number }
  layers?: { digest: string; size: number }[]
}

export interface Platform {
  os: string
  architecture: string
  variant?: string
}

export function isIndex(mediaType: string): boolean {
  return INDEX_TYPES.has(mediaType)
}

export function formatPlatform(p: Platform): string {
  return [p.os, p.architecture, p.variant].filter(Boolean).join('/')
}

export class RegistryError extends MirrorError {
  constructor(
    message: string,
    /** HTTP status, or undefined for a network error. */
    readonly status?: number,
    permanent = false
  ) {
    super(message, permanent)
  }
}

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
}

interface Challenge {
  scheme: string
  params: Record<string, string>
}

/** Parse `Bearer realm="...",service="...",scope="..."` (one challenge is all registries send). */
export function parseChallenge(header: string | undefined): Challenge | undefined {
  if (!header) return undefined
  const match = /^\s*(\w+)\s*(.*)$/s.exec(header)
  if (!match) return undefined
  const params: Record<string, string> = {}
  for (const p of (match[2] as string).matchAll(
    /([\w-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g
  )) {
    params[(p[1] as string).toLowerCase()] =
      p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : (p[3] ?? '')
  }
  return { scheme: (match[1] as string).toLowerCase(), params }
}

/** `76;w=21600` → 76. */
function leadingNumber(value: string | string[] | undefined): number | undefined {
  const text = Array.isArray(value) ? value[0] : value
  const match = text ? /^\s*(\d+)/.exec(text) : null
  return match ? Number(match[1]) : undefined
}

type Auth = { kind: 'bearer'; token: string; expires: number } | { kind: 'basic' }

/** An answer, read to the end. */
interface Answer {
  status: number
  headers: http.IncomingHttpHeaders
  bytes: Buffer
  /** The bytes as UTF-8. */
  body: string
}

/** Checks a URL before it is requested (each hop of a redirect too); throws to refuse it. */
type Guard = (url: URL) => void

const SOCKET_TIMEOUT_MS = 60_000
const MAX_REDIRECTS = 10
const REDIRECTS = new Set([301, 302, 303, 307, 308])
/** Manifests, tag pages and tokens are small; a bigger answer is refused, never held. */
const MAX_BODY_BYTES = 16 * 1024 * 1024
/** An image config is a few KiB; getBlobJson's default ceiling. */
const MAX_BLOB_JSON_BYTES = 1024 * 1024
/** Registry tokens are JWTs of a few KiB; a longer one is refused. */
const MAX_TOKEN_LENGTH = 16 * 1024

/** Cloud metadata endpoints (instance credentials live there): never a realm or redirect target. */
const METADATA_NAMES = new Set(['metadata', 'metadata.google.internal'])
const FORBIDDEN_ADDRESSES = new BlockList()
FORBIDDEN_ADDRESSES.addSubnet('169.254.0.0', 16, 'ipv4')
FORBIDDEN_ADDRESSES.addSubnet('fe80::', 10, 'ipv6')
// AWS's IPv6 and Alibaba's metadata addresses, outside link-local.
FORBIDDEN_ADDRESSES.addAddress('fd00:ec2::254', 'ipv6')
FORBIDDEN_ADDRESSES.addAddress('100.100.100.200', 'ipv4')

/**
 * A host no registry answer may send the client to: a link-local address
 * (checked also in IPv4-mapped IPv6 form; the URL parser has already made
 * decimal and hex IPv4 spellings dotted) or a metadata name.
 */
export function isForbiddenHost(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/\.$/, '')
  if (METADATA_NAMES.has(host)) return true
  if (/^\d+\.\d+\.\d+\.\d+$/.test(host)) return FORBIDDEN_ADDRESSES.check(host, 'ipv4')
  if (host.startsWith('[') && host.endsWith(']')) {
    try {
      return FORBIDDEN_ADDRESSES.check(host.slice(1, -1), 'ipv6')
    } catch {
      return true
    }
  }
  return false
}

export class RegistryClient {
  /** Agents come from here; one HttpClient serves a single protocol, hence one each. */
  private readonly agentSources: Record<'http:' | 'https:', HttpClient>
  private readonly agents = new Map<string, http.Agent>()
  private readonly userAgent: string
  private readonly insecure: Set<string>
  private readonly tokens = new Map<string, Auth>()
  /** Registries whose credentials were refused: every later request fails at once. */
  private readonly refused = new Map<string, string>()
  private readonly warnedLow = new Set<string>()
  private readonly warnedPlainRealm = new Set<string>()
  private readonly retries: number
  private readonly retryDelayMs: number
  private readonly maxRetryDelayMs: number
  /** Manifest GETs made on each registry (Docker Hub counts each as a pull). */
  readonly manifestGets = new Map<string, number>()

  constructor(private readonly options: RegistryClientOptions = {}) {
    // Proxies come from the environment; the agents keep connections alive.
    const source = () =>
      new HttpClient(options.userAgent ?? 'image-mirror', [], { keepAlive: true })
    this.agentSources = { 'http:': source(), 'https:': source() }
    this.userAgent = options.userAgent ?? 'image-mirror'
    this.insecure = new Set(options.insecure ?? [])
    this.retries = options.retries ?? 3
    this.retryDelayMs = options.retryDelayMs ?? 500
    this.maxRetryDelayMs = options.maxRetryDelayMs ?? 60_000
  }

  dispose(): void {
    this.agentSources['http:'].dispose()
    this.agentSources['https:'].dispose()
    // A proxy's tunnelling agent has no destroy(); it holds no sockets of ours to close.
    for (const agent of this.agents.values()) (agent as { destroy?: () => void }).destroy?.()
  }

  /** The manifest's digest, type and size from a HEAD (free on Docker Hub); undefined when absent. */
  async headManifest(
    registry: string,
    repository: string,
    reference: string
  ): Promise<ManifestHead | undefined> {
    const res = await this.request('HEAD', registry, repository, `manifests/${reference}`)
    if (res.status === 404) return undefined
    return this.describe(res)
  }

  /** GET a manifest. Counts as a pull on Docker Hub: use only where a HEAD cannot answer. */
  async getManifest(
    registry: string,
    repository: string,
    reference: string
  ): Promise<Manifest | undefined> {
    const res = await this.request('GET', registry, repository, `manifests/${reference}`)
    const text = res.body
    this.manifestGets.set(registry, (this.manifestGets.get(registry) ?? 0) + 1)
    if (res.status === 404) return undefined
    const head = this.describe(res)
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
    return { ...head, digest: head.digest || computed, body, size: head.size || res.bytes.length }
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
    const expected = /^sha256:([a-f0-9]{64})$/.exec(digest)?.[1]
    if (!expected) {
      throw new RegistryError(
        `${registry}/${repository}: ${JSON.stringify(digest.slice(0, 80))} is not a sha256 digest; the blob is not read`,
        undefined,
        true
      )
    }
    const res = await this.request('GET', registry, repository, `blobs/${digest}`, maxBytes)
    if (res.status === 404) return undefined
    const actual = createHash('sha256').update(res.bytes).digest('hex')
    if (actual !== expected) {
      throw new RegistryError(
        `${registry}/${repository}@${digest}: the blob answered has sha256:${actual}, not its digest; refused`,
        res.status,
        true
      )
    }
    try {
      return JSON.parse(res.bytes.toString('utf8')) as unknown
    } catch {
      throw new RegistryError(
        `${registry}/${repository}@${digest}: the blob is not JSON`,
        200,
        true
      )
    }
  }

  /** Every tag of a repository, following `Link: <...>; rel="next"` pages. */
  async listTags(registry: string, repository: string): Promise<string[]> {
    const tags: string[] = []
    let next: string | undefined = 'tags/list?n=1000'
    for (let page = 0; next && page < 1000; page++) {
      const res = await this.request('GET', registry, repository, next)
      const text = res.body
      if (res.status === 404) {
        throw new RegistryError(`${registry}/${repository} does not exist`, 404, true)
      }
      try {
        tags.push(...((JSON.parse(text) as { tags?: string[] | null }).tags ?? []))
      } catch {
        throw new RegistryError(`${registry}/${repository}: the tag list is not JSON`, 200, true)
      }
      const link = res.headers.link
      const target = /<([^>]+)>\s*;\s*rel="?next"?/.exec(
        Array.isArray(link) ? (link[0] ?? '') : (link ?? '')
      )
      next = target
        ? this.relativeToRepository(target[1] as string, registry, repository)
        : undefined
    }
    return tags
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

  private describe(res: Answer): ManifestHead {
    const headers = res.headers
    return {
      // A registry's answer is not trusted to be a digest: anything else reads as none.
      digest: /^sha256:[0-9a-f]{64}$|^sha512:[0-9a-f]{128}$/.test(
        String(headers['docker-content-digest'] ?? '')
      )
        ? String(headers['docker-content-digest'])
        : '',
      mediaType: String(headers['content-type'] ?? '')
        .split(';')[0]!
        .trim(),
      size: Number(headers['content-length'] ?? 0)
    }
  }

  /** One request with auth, retries and rate-limit watch; the answer is a 2xx or a 404. */
  private async request(
    method: 'GET' | 'HEAD',
    registry: string,
    repository: string,
    path: string,
    maxBytes = MAX_BODY_BYTES
  ): Promise<Answer> {
    const refusal = this.refused.get(registry)
    if (refusal) throw new RegistryError(refusal, 401, true)
    const url = `${this.baseUrl(registry)}${repository}/${path}`
    const scope = `repository:${repository}:pull`
    let authenticated = false
    for (let attempt = 0; ; attempt++) {
      let res: Answer
      try {
        res = await this.send(
          method,
          url,
          {
            ...(path.startsWith('manifests/') ? { accept: ACCEPT } : {}),
            ...this.authorization(registry, scope)
          },
          { maxBytes }
        )
      } catch (error) {
        if (error instanceof RegistryError) throw error
        if (attempt < this.retries) {
          await sleep(backoffDelay(attempt, this.retryDelayMs))
          continue
        }
        throw new RegistryError(`${registry} cannot be reached: ${errorMessage(error)}`)
      }
      const status = res.status
      this.watchRateLimit(registry, res)
      if (status === 401 && !authenticated) {
        await this.authenticate(registry, scope, res.headers['www-authenticate'])
        authenticated = true
        attempt--
        continue
      }
      if ((status === 429 || status >= 500) && attempt < this.retries) {
        const retryAfter = res.headers['retry-after']
        await sleep(answerDelay(retryAfter, attempt, this.retryDelayMs, this.maxRetryDelayMs))
        continue
      }
      if ((status >= 200 && status < 300) || status === 404) return res
      throw this.failure(status, registry, repository, path, res.body.slice(0, 300))
    }
  }

  /** The keep-alive agent for an origin (through the environment's proxy, if one applies). */
  private agentFor(url: URL): http.Agent {
    let agent = this.agents.get(url.origin)
    if (!agent) {
      const protocol = url.protocol === 'https:' ? 'https:' : 'http:'
      agent = this.agentSources[protocol].getAgent(url.href)
      this.agents.set(url.origin, agent)
    }
    return agent
  }

  /**
   * Send a request and read the answer, following redirects (never from
   * HTTPS down to HTTP, nor to a link-local or metadata host; credentials
   * are not carried to another host). `guard` checks every hop.
   */
  private async send(
    method: 'GET' | 'HEAD',
    address: string,
    headers: Record<string, string>,
    { maxBytes = MAX_BODY_BYTES, guard }: { maxBytes?: number; guard?: Guard } = {}
  ): Promise<Answer> {
    let url = new URL(address)
    let sent = headers
    for (let redirects = 0; ; redirects++) {
      guard?.(url)
      const answer = await this.sendOnce(method, url, sent, maxBytes)
      const location = answer.headers.location
      if (!REDIRECTS.has(answer.status) || !location || redirects >= MAX_REDIRECTS) return answer
      const next = new URL(location, url)
      if (url.protocol === 'https:' && next.protocol !== 'https:') {
        throw new RegistryError(
          `${url.host} redirected to ${next.origin} over plain HTTP; not followed`,
          answer.status,
          true
        )
      }
      if (next.host !== url.host && isForbiddenHost(next.hostname)) {
        throw new RegistryError(
          `${url.host} redirected to ${next.host}, a link-local or cloud metadata address; not followed`,
          answer.status,
          true
        )
      }
      if (next.host !== url.host) {
        const { authorization: _dropped, ...rest } = sent
        void _dropped
        sent = rest
      }
      url = next
    }
  }

  private sendOnce(
    method: string,
    url: URL,
    headers: Record<string, string>,
    maxBytes: number
  ): Promise<Answer> {
    const transport = url.protocol === 'https:' ? https : http
    return new Promise((resolve, reject) => {
      let refused = false
      const refuse = () => {
        // Final: asking again would only fetch the same oversized answer.
        refused = true
        reject(new RegistryError(`${url.host} answered more than ${maxBytes} bytes`, 0, true))
        req.destroy()
      }
      const req = transport.request(
        url,
        {
          method,
          headers: { 'user-agent': this.userAgent, ...headers },
          agent: this.agentFor(url),
          timeout: SOCKET_TIMEOUT_MS
        },
        res => {
          const chunks: Buffer[] = []
          let length = 0
          // A HEAD's Content-Length describes a body that is not sent.
          if (method !== 'HEAD' && Number(res.headers['content-length'] ?? 0) > maxBytes) {
            return refuse()
          }
          res.on('data', (chunk: Buffer) => {
            if (refused) return
            length += chunk.length
            if (length > maxBytes) refuse()
            else chunks.push(chunk)
          })
          res.on('error', reject)
          res.on('end', () => {
            // Ended early by refuse(): what came is incomplete and must not be used.
            if (refused) return
            const bytes = Buffer.concat(chunks)
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              bytes,
              body: bytes.toString('utf8')
            })
          })
        }
      )
      req.on('timeout', () =>
        req.destroy(new Error(`no answer within ${SOCKET_TIMEOUT_MS / 1000} s`))
      )
      req.on('error', reject)
      req.end()
    })
  }

  private failure(
    status: number,
    registry: string,
    repository: string,
    path: string,
    body: string
  ): RegistryError {
    const what = `${method(path)} ${registry}/${repository}`
    if (status === 401) {
      if (this.options.credentials?.(registry)) {
        const message = `${registry} refused the credentials given for it (401 Unauthorized); check the username and password`
        this.refused.set(registry, message)
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

  private authorization(registry: string, scope: string): Record<string, string> {
    const auth = this.tokens.get(`${registry} ${scope}`) ?? this.tokens.get(registry)
    if (auth?.kind === 'bearer' && auth.expires > Date.now()) {
      return { authorization: `Bearer ${auth.token}` }
    }
    const credentials = this.options.credentials?.(registry)
    if (auth?.kind === 'basic' && credentials) {
      return { authorization: `Basic ${basic(credentials)}` }
    }
    return {}
  }

  /** Answer a 401 challenge: remember Basic, or fetch a token for the scope and keep it. */
  private async authenticate(
    registry: string,
    scope: string,
    header: string | string[] | undefined
  ): Promise<void> {
    const challenge = parseChallenge(Array.isArray(header) ? header[0] : header)
    const credentials = this.options.credentials?.(registry)
    if (challenge?.scheme === 'basic') {
      if (credentials) this.tokens.set(registry, { kind: 'basic' })
      return
    }
    if (challenge?.scheme !== 'bearer' || !challenge.params.realm) return
    let url: URL
    try {
      url = new URL(challenge.params.realm)
    } catch {
      throw new RegistryError(`${registry} sent a token realm that is not a URL`, undefined, true)
    }
    const guard = this.realmGuard(registry)
    guard(url)
    if (challenge.params.service) url.searchParams.set('service', challenge.params.service)
    url.searchParams.set('scope', challenge.params.scope || scope)
    const plain = url.protocol !== 'https:'
    if (plain && credentials && !this.warnedPlainRealm.has(registry)) {
      this.warnedPlainRealm.add(registry)
      this.options.warn?.(
        `${registry}'s token service ${url.host} speaks plain HTTP: credentials are never sent over it, so an anonymous token is asked for`
      )
    }
    const res = await this.send(
      'GET',
      url.toString(),
      credentials && !plain ? { authorization: `Basic ${basic(credentials)}` } : {},
      { guard }
    )
    const text = res.body
    const status = res.status
    if (status === 401 || status === 403) {
      const message = credentials
        ? `${registry} refused the credentials given for it (token service answered ${status}); check the username and password`
        : `${registry} refused an anonymous token (${status}) for ${scope}`
      if (credentials) this.refused.set(registry, message)
      throw new RegistryError(message, status, true)
    }
    if (status < 200 || status >= 300) {
      throw new RegistryError(`${registry}: the token service answered HTTP ${status}`, status)
    }
    let answer: { token?: string; access_token?: string; expires_in?: number }
    try {
      answer = JSON.parse(text) as typeof answer
    } catch {
      throw new RegistryError(`${registry}: the token service answered something not JSON`)
    }
    const token = answer?.token ?? answer?.access_token
    if (!token) throw new RegistryError(`${registry}: the token service sent no token`)
    // It goes into a header: a stranger's string is bounded and kept to header-safe characters.
    if (
      typeof token !== 'string' ||
      token.length > MAX_TOKEN_LENGTH ||
      !/^[\x21-\x7e]+$/.test(token)
    ) {
      throw new RegistryError(
        `${registry}: the token service on ${url.host} sent a token that is not up to ${MAX_TOKEN_LENGTH} printable ASCII characters; refused`,
        status,
        true
      )
    }
    // Expire a little early so no request goes out with a token about to lapse.
    const expiresIn = Number.isFinite(answer.expires_in) ? (answer.expires_in as number) : 60
    const lifetime = Math.max(60, expiresIn) * 1000
    this.tokens.set(`${registry} ${scope}`, {
      kind: 'bearer',
      token,
      expires: Date.now() + lifetime - 10_000
    })
  }

  /**
   * Where a registry's token realm may send the client: https anywhere, plain
   * HTTP only to an insecure registry's own host:port, never a link-local or
   * metadata host. Applied to the realm and to every redirect from it.
   */
  private realmGuard(registry: string): Guard {
    const own = new URL(this.baseUrl(registry))
    return realm => {
      const refuse = (why: string) =>
        new RegistryError(
          `${registry}'s token realm leads to ${realm.host}: ${why}`,
          undefined,
          true
        )
      if (isForbiddenHost(realm.hostname)) {
        throw refuse('a link-local or cloud metadata address; refused')
      }
      if (realm.protocol === 'https:') return
      if (realm.protocol === 'http:' && own.protocol === 'http:' && realm.host === own.host) return
      throw refuse(
        `${realm.protocol.replace(/:$/, '')} is refused; a realm must be https (plain HTTP only on the host:port of a registry listed as insecure)`
      )
    }
  }

  private watchRateLimit(registry: string, res: Answer): void {
    const remaining = leadingNumber(res.headers['ratelimit-remaining'])
    if (remaining === undefined) return
    const limit = leadingNumber(res.headers['ratelimit-limit'])
    const low = Math.max(10, Math.floor((limit ?? 100) / 10))
    if (remaining <= low && !this.warnedLow.has(registry)) {
      this.warnedLow.add(registry)
      this.options.warn?.(
        `${registry} rate limit is low: ${remaining}${limit !== undefined ? ` of ${limit}` : ''} pulls remaining in its window; log in to ${registry} for a higher limit`
      )
    }
  }
}

function method(path: string): string {
  return path.startsWith('tags/') ? 'listing tags of' : 'reading'
}

function basic(c: Credentials): string {
  return Buffer.from(`${c.username}:${c.password}`, 'utf8').toString('base64')
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
