/**
 * Authentication for the registry client: Basic, or a Bearer token from the
 * registry's token service, kept per registry and scope. What a registry
 * answers is a stranger's: a Bearer realm is followed only over https (plain
 * HTTP only to an insecure registry's own host:port, the server the user
 * chose to speak to in the clear), never to a link-local or cloud metadata address, and the
 * token it gives is bounded before it is used in a header.
 */
import { debug } from '../action/log.js'
import { RegistryError } from './error.js'
import { isForbiddenHost, type Guard, type Transport } from './transport.js'

/** Registry tokens are JWTs of a few KiB; a longer one is refused. */
const MAX_TOKEN_LENGTH = 16 * 1024

export interface Credentials {
  username: string
  password: string
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

type Auth = { kind: 'bearer'; token: string; expires: number } | { kind: 'basic' }

export interface AuthOptions {
  /** Credentials for a registry host, or undefined for anonymous access. */
  credentials?: (registry: string) => Credentials | undefined
  warn?: (message: string) => void
  /** The API root of a registry (a realm may share an insecure registry's host:port). */
  baseUrl: (registry: string) => string
}

export class Authenticator {
  private readonly tokens = new Map<string, Auth>()
  /** Registries whose credentials were refused: every later request fails at once. */
  private readonly refused = new Map<string, string>()

  constructor(
    private readonly transport: Transport,
    private readonly options: AuthOptions
  ) {}

  /** Why the registry's credentials were refused earlier in the run, if they were. */
  refusal(registry: string): string | undefined {
    return this.refused.get(registry)
  }

  /** Remember that the registry refused its credentials, so no later request tries again. */
  refuse(registry: string, message: string): void {
    this.refused.set(registry, message)
  }

  /**
   * The Authorization header a request to `registry` for `scope` carries now,
   * if any. `covering`: a token fetched for a wider scope that includes every
   * part of this one will do (an upload after a mount, whose token also reads
   * the other repository).
   */
  authorization(registry: string, scope: string, covering = false): Record<string, string> {
    const auth =
      this.tokens.get(`${registry} ${scope}`) ??
      (covering ? this.covering(registry, scope) : undefined) ??
      this.tokens.get(registry)
    if (auth?.kind === 'bearer' && auth.expires > Date.now()) {
      return { authorization: `Bearer ${auth.token}` }
    }
    const credentials = this.options.credentials?.(registry)
    if (auth?.kind === 'basic' && credentials) {
      return { authorization: `Basic ${basic(credentials)}` }
    }
    return {}
  }

  /** An unexpired token of `registry` whose scope includes every action `scope` asks for. */
  private covering(registry: string, scope: string): Auth | undefined {
    const wanted = mergeScopes(scope)
    for (const [key, auth] of this.tokens) {
      if (!key.startsWith(`${registry} `) || auth.kind !== 'bearer' || auth.expires <= Date.now())
        continue
      const held = mergeScopes(key.slice(registry.length + 1))
      const covers = wanted.every(w => {
        const at = w.lastIndexOf(':')
        const has = held.find(h => h.slice(0, h.lastIndexOf(':')) === w.slice(0, at))
        const actions = new Set(has?.slice(has.lastIndexOf(':') + 1).split(','))
        return (
          has !== undefined &&
          w
            .slice(at + 1)
            .split(',')
            .every(a => actions.has(a))
        )
      })
      if (covers) return auth
    }
    return undefined
  }

  /** Answer a 401 challenge: remember Basic, or fetch a token for the scope and keep it. */
  async authenticate(
    registry: string,
    scope: string,
    header: string | string[] | undefined
  ): Promise<void> {
    const challenge = parseChallenge(Array.isArray(header) ? header[0] : header)
    const credentials = this.options.credentials?.(registry)
    debug(
      () =>
        `${registry}: 401 with ${challenge ? `a ${challenge.scheme} challenge${challenge.params.realm ? ` (realm ${realmShown(challenge.params.realm)})` : ''}` : 'no challenge'} for ${scope}; ${credentials ? 'credentials given' : 'anonymous'}`
    )
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
    // What the registry asked for and what this request needs (a mount reads another
    // repository, which a challenge may leave out), one scope parameter each.
    for (const one of mergeScopes(challenge.params.scope ?? '', scope)) {
      url.searchParams.append('scope', one)
    }
    const res = await this.transport.send(
      'GET',
      url.toString(),
      // Plain HTTP passed the guard only on the insecure registry's own host:port: the server
      // the user chose to speak to in the clear, which Basic auth would send them to as well.
      credentials ? { authorization: `Basic ${basic(credentials)}` } : {},
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
    debug(() => `${registry}: token for ${scope} from ${url.host}, kept ${lifetime / 1000 - 10} s`)
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
    const own = new URL(this.options.baseUrl(registry))
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
}

/** A realm as a debug line shows it: origin and path, never userinfo, query or fragment. */
function realmShown(realm: string): string {
  try {
    const url = new URL(realm)
    return `${url.origin}${url.pathname}`
  } catch {
    return 'not a URL'
  }
}

/**
 * Scopes (`repository:<name>:<actions>`, space-separated) merged per resource,
 * push first (some registries read only the first scope of a token request).
 */
export function mergeScopes(...lists: string[]): string[] {
  const actions = new Map<string, Set<string>>()
  for (const scope of lists.flatMap(list => list.split(' ')).filter(Boolean)) {
    const at = scope.lastIndexOf(':')
    if (at <= 0) continue
    const resource = scope.slice(0, at)
    const set = actions.get(resource) ?? new Set<string>()
    for (const action of scope.slice(at + 1).split(',')) if (action) set.add(action)
    actions.set(resource, set)
  }
  const ordered = [...actions].sort(([, a], [, b]) => Number(b.has('push')) - Number(a.has('push')))
  return ordered.map(([resource, set]) => {
    const list = [...set].sort((a, b) =>
      a === 'push' ? -1 : b === 'push' ? 1 : a.localeCompare(b)
    )
    return `${resource}:${list.join(',')}`
  })
}

function basic(c: Credentials): string {
  return Buffer.from(`${c.username}:${c.password}`, 'utf8').toString('base64')
}
