/**
 * HTTP for the registry client. Requests go out on node:http(s) directly over
 * keep-alive agents, one per origin, that @actions/http-client hands out (so
 * a proxy from the environment is honoured): planning thousands of images is
 * two HEADs each, and this per-request work is what the registries' ceiling
 * is compared with (see `npm run bench`). Answers are bounded; redirects never
 * go from HTTPS to HTTP, never to a link-local or metadata host, and never
 * carry credentials to another host.
 */
import { debug } from '../action/log.js'
import { HttpClient } from '@actions/http-client'
import * as http from 'node:http'
import * as https from 'node:https'
import { BlockList } from 'node:net'
import { RegistryError } from './error.js'

/** An answer, read to the end. */
export interface Answer {
  status: number
  headers: http.IncomingHttpHeaders
  bytes: Buffer
  /** The bytes as UTF-8. */
  body: string
}

/** An answer whose body is still to be read (a blob), or whose request body was streamed. */
export interface Opened {
  status: number
  headers: http.IncomingHttpHeaders
  response: http.IncomingMessage
  /**
   * An upload's body, written in full (rejects when it could not be): a
   * registry may answer before the last byte was sent, and a 2xx then is
   * not a success until this settles.
   */
  written: Promise<void>
}

export type Method = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH'

/** Checks a URL before it is requested (each hop of a redirect too); throws to refuse it. */
export type Guard = (url: URL) => void

const SOCKET_TIMEOUT_MS = 60_000
/** An upload's socket may idle this long: a registry storing a large blob answers late. */
const UPLOAD_TIMEOUT_MS = 10 * 60_000
const MAX_REDIRECTS = 10
const REDIRECTS = new Set([301, 302, 303, 307, 308])
/** Manifests, tag pages and tokens are small; a bigger answer is refused, never held. */
export const MAX_BODY_BYTES = 16 * 1024 * 1024
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

export class Transport {
  /** Agents come from here; one HttpClient serves a single protocol, hence one each. */
  private readonly agentSources: Record<'http:' | 'https:', HttpClient>
  private readonly agents = new Map<string, http.Agent>()

  constructor(private readonly userAgent: string) {
    // Proxies come from the environment; the agents keep connections alive.
    const source = () => new HttpClient(userAgent, [], { keepAlive: true })
    this.agentSources = { 'http:': source(), 'https:': source() }
  }

  dispose(): void {
    this.agentSources['http:'].dispose()
    this.agentSources['https:'].dispose()
    // A proxy's tunnelling agent has no destroy(); it holds no sockets of ours to close.
    for (const agent of this.agents.values()) (agent as { destroy?: () => void }).destroy?.()
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
   * are not carried to another host). `guard` checks every hop. A body is
   * sent as it is and never to a redirect (uploads are not redirected).
   */
  async send(
    method: Method,
    address: string,
    headers: Record<string, string>,
    {
      maxBytes = MAX_BODY_BYTES,
      guard,
      body
    }: { maxBytes?: number; guard?: Guard; body?: Buffer } = {}
  ): Promise<Answer> {
    let url = new URL(address)
    let sent = headers
    for (let redirects = 0; ; redirects++) {
      guard?.(url)
      const started = Date.now()
      const answer = await this.sendOnce(method, url, sent, maxBytes, body)
      // Without the query: a token request's scope and service are not secret, but are noise.
      debug(
        () =>
          `${method} ${url.origin}${url.pathname} → ${answer.status} in ${Date.now() - started} ms${sent.authorization ? ` (${sent.authorization.split(' ')[0]} auth)` : ''}`
      )
      const hop = body ? undefined : redirected(url, answer, sent, redirects)
      if (!hop) return answer
      ;({ url, headers: sent } = hop)
    }
  }

  /**
   * Send a request whose answer is read as a stream (a blob) or whose body is
   * written as one (an upload, `write` ends or destroys the request). Redirects
   * are followed for a request without a body, as `send` does; the caller
   * reads or destroys the answer.
   */
  async open(
    method: Method,
    address: string,
    headers: Record<string, string>,
    { guard, write }: { guard?: Guard; write?: (req: http.ClientRequest) => Promise<void> } = {}
  ): Promise<Opened> {
    let url = new URL(address)
    let sent = headers
    for (let redirects = 0; ; redirects++) {
      guard?.(url)
      const { response, written } = await this.openOnce(method, url, sent, write)
      const status = response.statusCode ?? 0
      debug(() => `${method} ${url.origin}${url.pathname} → ${status} (streamed)`)
      let hop: ReturnType<typeof redirected>
      try {
        hop = write
          ? undefined
          : redirected(url, { status, headers: response.headers }, sent, redirects)
      } catch (error) {
        response.destroy()
        throw error
      }
      if (!hop) return { status, headers: response.headers, response, written }
      response.resume()
      ;({ url, headers: sent } = hop)
    }
  }

  private openOnce(
    method: string,
    url: URL,
    headers: Record<string, string>,
    write?: (req: http.ClientRequest) => Promise<void>
  ): Promise<{ response: http.IncomingMessage; written: Promise<void> }> {
    const transport = url.protocol === 'https:' ? https : http
    // A registry may take minutes to answer the last byte of a large upload (storing it).
    const timeout = write ? UPLOAD_TIMEOUT_MS : SOCKET_TIMEOUT_MS
    return new Promise((resolve, reject) => {
      let written: Promise<void> = Promise.resolve()
      const req = transport.request(
        url,
        {
          method,
          headers: { 'user-agent': this.userAgent, ...headers },
          agent: this.agentFor(url),
          timeout
        },
        response => resolve({ response, written })
      )
      req.on('timeout', () => req.destroy(new Error(`no answer within ${timeout / 1000} s`)))
      req.on('error', reject)
      if (!write) req.end()
      else {
        written = write(req)
        written.catch((error: unknown) => {
          // The body could not be sent whole: the request must not look complete.
          req.destroy(error instanceof Error ? error : new Error(String(error)))
          reject(error)
        })
      }
    })
  }

  private sendOnce(
    method: string,
    url: URL,
    headers: Record<string, string>,
    maxBytes: number,
    body?: Buffer
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
      req.end(body)
    })
  }
}

/**
 * Where a redirect leads, with the headers to send there; undefined when the
 * answer is not one to follow. Never from HTTPS down to HTTP, nor to a
 * link-local or metadata host; credentials are not carried to another host.
 */
function redirected(
  url: URL,
  answer: { status: number; headers: http.IncomingHttpHeaders },
  sent: Record<string, string>,
  redirects: number
): { url: URL; headers: Record<string, string> } | undefined {
  const location = answer.headers.location
  if (!REDIRECTS.has(answer.status) || !location || redirects >= MAX_REDIRECTS) return undefined
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
  if (next.host === url.host) return { url: next, headers: sent }
  const { authorization: _dropped, ...rest } = sent
  void _dropped
  return { url: next, headers: rest }
}
