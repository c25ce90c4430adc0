/**
 * A Docker Hub double for loopback: an HTTP front of its own, put in front of
 * a real, open (no auth) docker-registry, that speaks to clients as Docker Hub
 * does about auth and meters pulls as Docker Hub does (field notes, section 8).
 *
 * What it models:
 * - Token auth. Every `/v2/` request without a valid `Authorization: Bearer`
 *   token gets 401 with `WWW-Authenticate: Bearer realm="http://<double>/token",
 *   service="registry.docker.io"`, plus `scope="repository:<name>:pull"` on a
 *   repository path (none on the `/v2/` ping). `GET /token?service=&scope=`
 *   issues `{token, access_token, expires_in: 300, issued_at}`: anonymously
 *   without an Authorization header, or for an account given as
 *   `Authorization: Basic` (wrong credentials: 401 with a JSON body). A token
 *   is good for 300 s, for the repositories whose pull its scope asked for
 *   (another repository: 401 `error="insufficient_scope"`), and maps to one
 *   identity: `ip:<remote address>` anonymously, `account:<username>` logged in.
 *   The double is a read-only public source: every write (POST, PUT, PATCH,
 *   DELETE) under `/v2/` is refused with 401 UNAUTHORIZED, whatever the token.
 * - Pull metering. Docker's documentation says a GET of a manifest counts as a
 *   pull, a HEAD (a version check) does not, and pulling a multi-platform image
 *   counts one pull per platform. Modelled literally, by request: each GET of
 *   `/v2/<name>/manifests/<ref>` (tag or digest, index or image) that the
 *   upstream answers 2xx counts one pull for the requesting identity; a HEAD
 *   never counts, nor does a blob GET, nor a GET the upstream answers 404. A
 *   client copying an index GETs the index and each child, so it pays per
 *   platform plus one for the index.
 * - Budgets: `limits.anonymous` per IP address, `limits.accounts[user].limit`
 *   per account (`Infinity`: unlimited, as Pro/Team/Business, and then no
 *   rate-limit headers, as Docker Hub sends none where no limit applies), over
 *   a window of `windowSeconds` (default 21600, 6 h). The window slides: a pull
 *   stops counting `windowSeconds` after it was made. `resetWindow()` forgets
 *   every pull so far (tests use it as "six hours later").
 * - Headers: every answer to a manifest request with a valid token (GET or
 *   HEAD, 2xx, 404 or 429) carries `ratelimit-limit: <limit>;w=<window>`,
 *   `ratelimit-remaining: <remaining>;w=<window>` (after this request was
 *   counted) and `docker-ratelimit-source: <IP or username>`.
 * - Over the limit: a manifest GET with nothing remaining gets 429, those
 *   headers (remaining 0) and Docker Hub's JSON body (TOOMANYREQUESTS, "You have
 *   reached your pull rate limit..."), without asking the upstream; a HEAD
 *   still answers 200. A GET is reserved against the budget while it is in
 *   flight, so parallel GETs never overshoot the limit.
 * - The abuse limit, kept apart: `abuse(times)` makes the next `times`
 *   requests (any path, the token service included) get a bare 429 with a
 *   plain-text `Too Many Requests` and no rate-limit headers: a 429 that does
 *   not mean the pull budget is spent.
 *
 * What it leaves out: JWT tokens (these are opaque; no client here parses
 * them), the `library/` prefix for official images (clients add it
 * themselves), a separate auth host (the realm is the double itself), POST
 * /token (OAuth2 refresh tokens, used by docker login flows), private
 * repositories, the search and Hub APIs, IPv6 /64 grouping of anonymous
 * clients, Retry-After (not documented for the pull limit), TLS (it speaks
 * plain HTTP, so clients use it as an insecure registry; a TLS ClientHello
 * gets a 400 as docker-registry answers one, so crane and skopeo fall back to
 * HTTP at once), and the real abuse thresholds (only the injected ones).
 *
 * Requests are forwarded with their Host header (the upstream's Locations point
 * at the double, nothing of the upstream leaks) and without the client's
 * Authorization; hop-by-hop headers are dropped both ways. Every request is
 * recorded, with the identity it was answered for and whether it was counted.
 */
import { randomBytes } from 'node:crypto'
import * as http from 'node:http'
import type { AddressInfo } from 'node:net'

export const SERVICE = 'registry.docker.io'
/** Docker Hub's token lifetime, in seconds. */
export const TOKEN_SECONDS = 300
export const PULL_LIMIT_MESSAGE =
  'You have reached your pull rate limit. You may increase the limit by authenticating and upgrading: https://www.docker.com/increase-rate-limit'

export interface DockerHubOptions {
  /** The open docker-registry behind the double (`127.0.0.1:PORT`). */
  upstream: { host: string }
  limits: {
    /** Pulls per window for each anonymous IP address. */
    anonymous: number
    /** Accounts that may log in, each with its password and pulls per window. */
    accounts?: Record<string, { password: string; limit: number }>
  }
  /** Length of the window in seconds (default 21600, Docker Hub's 6 hours). */
  windowSeconds?: number
}

export type RequestKind = 'manifest' | 'blob' | 'token' | 'other'

export interface HubRequest {
  method: string
  /** Request URI as sent: path plus query string. */
  path: string
  /**
   * Who the request was answered for: `ip:<address>` or `account:<username>`
   * (for /token, the identity a token was issued to); undefined without a
   * valid token or when the token service refused.
   */
  identity: string | undefined
  userAgent: string
  /** Status answered; 0 while the request is still in flight. */
  status: number
  /** ms since the epoch, when the request arrived. */
  at: number
  /** Whether this request counted one pull. */
  counted: boolean
  kind: RequestKind
}

export interface TooManyRequests {
  /** `pull-limit`: the budget was spent (JSON body, headers); `abuse`: a bare 429. */
  reason: 'pull-limit' | 'abuse'
  method: string
  path: string
  identity: string | undefined
  userAgent: string
  at: number
}

export interface DockerHub {
  /** `127.0.0.1:PORT`: what clients use as the registry (and realm) host. */
  host: string
  port: number
  /** Every request, in the order it arrived. */
  requests(): HubRequest[]
  /** Pulls counted in the current window, for one identity or for all. */
  pulls(identity?: string): number
  /** Every manifest GET ever seen, whatever its answer (unauthenticated ones have no identity). */
  manifestGets(identity?: string): HubRequest[]
  /** Pulls left in the current window for an identity (`ip:...` or `account:...`). */
  remaining(identity: string): number
  /** The budget of an identity per window. */
  limit(identity: string): number
  /** Every 429 answered, the pull-limit ones and the abuse ones told apart. */
  tooManyRequests(): TooManyRequests[]
  /** The next `times` requests (any path) get a bare 429 `Too Many Requests`. */
  abuse(times: number): void
  /** Start a new window for every identity: every pull so far stops counting. */
  resetWindow(): void
  close(): Promise<void>
}

interface Token {
  identity: string
  /** Repositories this token may pull. */
  repositories: Set<string>
  expires: number
}

/** What a request URI addresses. */
interface Route {
  kind: RequestKind
  /** Under `/v2/` (the registry API). */
  api: boolean
  /** The repository, for a repository path. */
  repository?: string
}

function route(uri: string): Route {
  const path = uri.split('?')[0] ?? ''
  if (path === '/token') return { kind: 'token', api: false }
  if (path !== '/v2' && !path.startsWith('/v2/')) return { kind: 'other', api: false }
  const patterns: [RegExp, RequestKind][] = [
    [/^\/v2\/(.+)\/blobs\/uploads(?:\/.*)?$/, 'other'],
    [/^\/v2\/(.+)\/manifests\/[^/]+$/, 'manifest'],
    [/^\/v2\/(.+)\/blobs\/[^/]+$/, 'blob'],
    [/^\/v2\/(.+)\/tags\/list$/, 'other'],
    [/^\/v2\/(.+)\/referrers\/[^/]+$/, 'other']
  ]
  for (const [pattern, kind] of patterns) {
    const match = pattern.exec(path)
    if (match) return { kind, api: true, repository: match[1] }
  }
  return { kind: 'other', api: true }
}

/** Headers to pass on: hop-by-hop ones are the double's own business. */
function forwardable(
  headers: http.IncomingHttpHeaders | http.OutgoingHttpHeaders
): http.OutgoingHttpHeaders {
  const out: http.OutgoingHttpHeaders = { ...headers }
  delete out.connection
  delete out['keep-alive']
  return out
}

/** The repositories a token request's scopes grant pull on (`repository:<name>:pull,...`). */
function pullScopes(params: URLSearchParams): Set<string> {
  const granted = new Set<string>()
  for (const scope of params.getAll('scope').flatMap(s => s.split(' '))) {
    const first = scope.indexOf(':')
    const last = scope.lastIndexOf(':')
    if (first < 0 || last <= first || scope.slice(0, first) !== 'repository') continue
    const actions = scope.slice(last + 1).split(',')
    if (actions.includes('pull') || actions.includes('*')) {
      granted.add(scope.slice(first + 1, last))
    }
  }
  return granted
}

function basicCredentials(header: string | undefined): { user: string; password: string } | null {
  const match = /^Basic\s+(\S+)$/i.exec(header ?? '')
  if (!match) return null
  const decoded = Buffer.from(match[1] as string, 'base64').toString('utf8')
  const colon = decoded.indexOf(':')
  if (colon < 0) return null
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) }
}

/** `ip:127.0.0.1` and `account:alice` are shown without their prefix. */
const source = (identity: string): string => identity.slice(identity.indexOf(':') + 1)

export async function startDockerHub(options: DockerHubOptions): Promise<DockerHub> {
  const [upstreamHost, upstreamPort] = options.upstream.host.split(':') as [string, string]
  const agent = new http.Agent({ keepAlive: true })
  const windowSeconds = options.windowSeconds ?? 21600
  const windowMs = windowSeconds * 1000
  const accounts = options.limits.accounts ?? {}

  const tokens = new Map<string, Token>()
  const log: HubRequest[] = []
  const tooMany: TooManyRequests[] = []
  /** When each counted pull was made, by identity (pruned as the window slides). */
  const pullTimes = new Map<string, number[]>()
  /** Manifest GETs in flight, reserved against the budget. */
  const reserved = new Map<string, number>()
  let abuseLeft = 0
  let host = ''

  const limitOf = (identity: string): number => {
    if (identity.startsWith('ip:')) return options.limits.anonymous
    if (identity.startsWith('account:')) {
      const account = accounts[source(identity)]
      if (account) return account.limit
    }
    throw new Error(`docker-hub double: no such identity ${identity}`)
  }
  const used = (identity: string): number => {
    const since = Date.now() - windowMs
    const times = (pullTimes.get(identity) ?? []).filter(t => t > since)
    pullTimes.set(identity, times)
    return times.length
  }
  const remainingOf = (identity: string): number =>
    Math.max(0, limitOf(identity) - used(identity) - (reserved.get(identity) ?? 0))
  const unreserve = (identity: string): void => {
    reserved.set(identity, (reserved.get(identity) ?? 1) - 1)
  }
  const rateLimitHeaders = (identity: string): http.OutgoingHttpHeaders => {
    const limit = limitOf(identity)
    if (limit === Infinity) return {}
    return {
      'ratelimit-limit': `${limit};w=${windowSeconds}`,
      'ratelimit-remaining': `${remainingOf(identity)};w=${windowSeconds}`,
      'docker-ratelimit-source': source(identity)
    }
  }
  const challenge = (scope: string | undefined, error?: string): string =>
    `Bearer realm="http://${host}/token",service="${SERVICE}"` +
    (scope ? `,scope="${scope}"` : '') +
    (error ? `,error="${error}"` : '')

  const server = http.createServer((req, res) => {
    const method = req.method ?? ''
    const uri = req.url ?? ''
    const where = route(uri)
    const entry: HubRequest = {
      method,
      path: uri,
      identity: undefined,
      userAgent: String(req.headers['user-agent'] ?? ''),
      status: 0,
      at: Date.now(),
      counted: false,
      kind: where.kind
    }
    log.push(entry)

    const bearer = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1]
    let token = bearer === undefined ? undefined : tokens.get(bearer)
    if (token && token.expires <= Date.now()) {
      tokens.delete(bearer as string)
      token = undefined
    }
    entry.identity = token?.identity

    const answer = (status: number, headers: http.OutgoingHttpHeaders, body: string) => {
      entry.status = status
      // Drain what the client sends, then answer: a registry answers a request it refuses.
      req.resume()
      res.writeHead(status, { ...headers, 'content-length': Buffer.byteLength(body) })
      res.end(method === 'HEAD' ? undefined : body)
    }
    const json = (status: number, body: unknown, headers: http.OutgoingHttpHeaders = {}) =>
      answer(status, { ...headers, 'content-type': 'application/json' }, JSON.stringify(body))
    const tooManyRequests = (reason: TooManyRequests['reason']) =>
      tooMany.push({
        reason,
        method,
        path: uri,
        identity: entry.identity,
        userAgent: entry.userAgent,
        at: entry.at
      })

    if (abuseLeft > 0) {
      abuseLeft--
      tooManyRequests('abuse')
      answer(429, { 'content-type': 'text/plain; charset=utf-8' }, 'Too Many Requests')
      return
    }

    if (where.kind === 'token') {
      if (method !== 'GET' && method !== 'HEAD') {
        json(405, { details: `${method} /token is not modelled by the double` })
        return
      }
      let identity: string
      if (req.headers.authorization === undefined) {
        identity = `ip:${(req.socket.remoteAddress ?? '').replace(/^::ffff:/, '')}`
      } else {
        const credentials = basicCredentials(req.headers.authorization)
        const account = credentials ? accounts[credentials.user] : undefined
        if (!credentials || !account || account.password !== credentials.password) {
          json(401, { details: 'incorrect username or password' })
          return
        }
        identity = `account:${credentials.user}`
      }
      const params = new URL(uri, 'http://double').searchParams
      const issued = randomBytes(24).toString('base64url')
      tokens.set(issued, {
        identity,
        repositories: pullScopes(params),
        expires: Date.now() + TOKEN_SECONDS * 1000
      })
      entry.identity = identity
      json(200, {
        token: issued,
        access_token: issued,
        expires_in: TOKEN_SECONDS,
        issued_at: new Date().toISOString()
      })
      return
    }

    if (!where.api) {
      json(404, { errors: [{ code: 'NOT_FOUND', message: 'not found' }] })
      return
    }

    if (!['GET', 'HEAD'].includes(method)) {
      const scope = where.repository ? `repository:${where.repository}:pull,push` : undefined
      json(
        401,
        {
          errors: [
            {
              code: 'UNAUTHORIZED',
              message: 'authentication required',
              detail: where.repository
                ? [{ Type: 'repository', Class: '', Name: where.repository, Action: 'push' }]
                : null
            }
          ]
        },
        { 'www-authenticate': challenge(scope, token ? 'insufficient_scope' : undefined) }
      )
      return
    }

    const scope = where.repository ? `repository:${where.repository}:pull` : undefined
    if (
      token === undefined ||
      (where.repository !== undefined && !token.repositories.has(where.repository))
    ) {
      const error =
        bearer === undefined ? undefined : token ? 'insufficient_scope' : 'invalid_token'
      json(
        401,
        {
          errors: [
            {
              code: 'UNAUTHORIZED',
              message: 'authentication required',
              detail: where.repository
                ? [{ Type: 'repository', Class: '', Name: where.repository, Action: 'pull' }]
                : null
            }
          ]
        },
        { 'www-authenticate': challenge(scope, error) }
      )
      return
    }
    const identity = token.identity

    const metered = where.kind === 'manifest'
    const pull = metered && method === 'GET'
    if (pull) {
      if (remainingOf(identity) === 0) {
        tooManyRequests('pull-limit')
        json(
          429,
          { errors: [{ code: 'TOOMANYREQUESTS', message: PULL_LIMIT_MESSAGE }] },
          rateLimitHeaders(identity)
        )
        return
      }
      reserved.set(identity, (reserved.get(identity) ?? 0) + 1)
    }
    let settled = !pull
    const settle = (ok: boolean) => {
      if (settled) return
      settled = true
      unreserve(identity)
      if (ok) {
        pullTimes.set(identity, [...(pullTimes.get(identity) ?? []), Date.now()])
        entry.counted = true
      }
    }

    const headers = forwardable(req.headers)
    delete headers.authorization
    const up = http.request({
      host: upstreamHost,
      port: Number(upstreamPort),
      method,
      path: uri,
      headers,
      agent
    })
    up.on('error', error => {
      settle(false)
      if (!res.headersSent) {
        answer(502, { 'content-type': 'text/plain' }, `upstream failed: ${error.message}`)
      } else {
        res.destroy()
      }
    })
    res.on('close', () => settle(false))
    req.pipe(up)

    up.on('response', upRes => {
      const status = upRes.statusCode ?? 502
      settle(status >= 200 && status < 300)
      const out = forwardable(upRes.headers)
      if (metered) Object.assign(out, rateLimitHeaders(identity))
      entry.status = status
      res.writeHead(status, out)
      upRes.pipe(res)
      upRes.on('error', () => res.destroy())
    })
  })
  // crane and skopeo try TLS first on an insecure registry; that handshake is not HTTP. Answer
  // it as docker-registry (Go's HTTP server) does, with a 400, so the client falls back to HTTP
  // at once (see fault-proxy.ts).
  server.on('clientError', (_error, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n')
    else socket.destroy()
  })

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const { port } = server.address() as AddressInfo
  host = `127.0.0.1:${port}`

  return {
    host,
    port,
    requests: () => log.map(e => ({ ...e })),
    pulls(identity) {
      const identities = identity === undefined ? [...pullTimes.keys()] : [identity]
      return identities.reduce((sum, id) => sum + used(id), 0)
    },
    manifestGets: identity =>
      log
        .filter(e => e.kind === 'manifest' && e.method === 'GET')
        .filter(e => identity === undefined || e.identity === identity)
        .map(e => ({ ...e })),
    remaining: identity => remainingOf(identity),
    limit: identity => limitOf(identity),
    tooManyRequests: () => tooMany.map(t => ({ ...t })),
    abuse(times) {
      abuseLeft = times
    },
    resetWindow() {
      pullTimes.clear()
    },
    close: () =>
      new Promise<void>(resolve => {
        server.close(() => resolve())
        server.closeAllConnections()
        agent.destroy()
      })
  }
}
