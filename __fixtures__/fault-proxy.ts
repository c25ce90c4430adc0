/**
 * A fault-injecting HTTP proxy for loopback, put in front of a real registry
 * by the fault-tolerance tests. It forwards every request as it came (Host
 * header included, so the registry's upload Locations point back at the
 * proxy) and, where a rule matches, injects one fault: an error status (429
 * with Retry-After, 5xx, a failed storage write), a connection cut after K
 * bytes of a response or of a request body, a corrupted or truncated body.
 *
 * Every request is logged, and every fault that actually happened is recorded
 * (a cut after K bytes of a body shorter than K did not happen, and is not
 * counted), so a test can show its fault fired.
 */
import * as http from 'node:http'
import type { AddressInfo } from 'node:net'

export type Fault =
  /** Answer this status without asking the registry; cycles through a list. */
  | {
      kind: 'status'
      status: number | number[]
      /** Seconds, sent as `Retry-After`. */
      retryAfter?: number
      /** Body sent with the status (JSON errors the way a registry words them). */
      body?: string
    }
  /** Forward, then cut the connection after this many bytes of the response body. */
  | { kind: 'cut-response'; afterBytes: number }
  /** Cut the connection after this many bytes of the request body (mid-upload). */
  | { kind: 'cut-request'; afterBytes: number }
  /** Forward with one byte of the response body flipped (same length). */
  | { kind: 'corrupt-response'; at?: number }
  /** Forward only the first bytes of the response body, with Content-Length saying so. */
  | { kind: 'truncate-response'; keepBytes: number }
  /** Forward the request with one byte of its body flipped (same length). */
  | { kind: 'corrupt-request'; at?: number }

export interface Rule {
  /** Names the rule in the record. */
  name: string
  method?: string | RegExp
  /** Matched against the request URI (path and query). */
  path?: RegExp
  /** Matched against the User-Agent (to aim at one client: `image-mirror`, `skopeo`). */
  userAgent?: RegExp
  /** Let this many matching requests through before injecting. */
  skip?: number
  /** Inject on every Nth matching request after `skip` (default 1: each). */
  every?: number
  /** Inject at most this many times (default: no limit). */
  times?: number
  fault: Fault
}

export interface LoggedRequest {
  method: string
  path: string
  userAgent: string
  /** ms since the epoch, when the request arrived. */
  at: number
  /** The rule whose fault hit this request, if one did. */
  fault?: string
}

export interface Injection {
  rule: string
  kind: Fault['kind']
  method: string
  path: string
  userAgent: string
  at: number
  /** What exactly was done: `429 Retry-After: 1`, `cut after 16 of 187 bytes`. */
  detail: string
}

export interface FaultProxy {
  /** `127.0.0.1:PORT`: what clients use instead of the registry's host. */
  host: string
  port: number
  /** Replace the rules (counts restart); `setRules([])` makes the proxy transparent. */
  setRules(rules: Rule[]): void
  requests(): LoggedRequest[]
  injected(): Injection[]
  /** Calls `listener` for each request as it arrives (to act mid-run). */
  onRequest(listener: (request: LoggedRequest) => void): void
  close(): Promise<void>
}

interface Armed {
  rule: Rule
  matched: number
  fired: number
  /** Injections decided but not yet known to have happened (body faults). */
  pending: number
}

function matches(rule: Rule, req: http.IncomingMessage): boolean {
  const method = req.method ?? ''
  if (rule.method !== undefined) {
    const ok = typeof rule.method === 'string' ? rule.method === method : rule.method.test(method)
    if (!ok) return false
  }
  if (rule.userAgent !== undefined && !rule.userAgent.test(req.headers['user-agent'] ?? '')) {
    return false
  }
  return rule.path === undefined || rule.path.test(req.url ?? '')
}

/** Decide whether this request gets the rule's fault; counts the match either way. */
function decide(armed: Armed): boolean {
  const { rule } = armed
  armed.matched++
  const n = armed.matched - (rule.skip ?? 0)
  if (n <= 0) return false
  if ((n - 1) % (rule.every ?? 1) !== 0) return false
  if (rule.times !== undefined && armed.fired + armed.pending >= rule.times) return false
  armed.pending++
  return true
}

/** Headers to pass on: hop-by-hop ones are the proxy's own business. */
function forwardable(headers: http.IncomingHttpHeaders): http.OutgoingHttpHeaders {
  const out: http.OutgoingHttpHeaders = { ...headers }
  delete out.connection
  delete out['keep-alive']
  return out
}

export async function startFaultProxy(upstream: { host: string }): Promise<FaultProxy> {
  const [upstreamHost, upstreamPort] = upstream.host.split(':') as [string, string]
  const agent = new http.Agent({ keepAlive: true })
  let armed: Armed[] = []
  const log: LoggedRequest[] = []
  const injections: Injection[] = []
  const listeners: ((request: LoggedRequest) => void)[] = []

  const server = http.createServer((req, res) => {
    const entry: LoggedRequest = {
      method: req.method ?? '',
      path: req.url ?? '',
      userAgent: String(req.headers['user-agent'] ?? ''),
      at: Date.now()
    }
    log.push(entry)
    for (const listener of listeners) listener(entry)

    let hit: Armed | undefined
    for (const a of armed) {
      if (matches(a.rule, req) && decide(a)) {
        hit = a
        break
      }
    }
    let settled = false
    const record = (detail: string) => {
      if (!hit || settled) return
      settled = true
      hit.pending--
      hit.fired++
      entry.fault = hit.rule.name
      injections.push({
        rule: hit.rule.name,
        kind: hit.rule.fault.kind,
        method: entry.method,
        path: entry.path,
        userAgent: entry.userAgent,
        at: entry.at,
        detail
      })
    }
    /** The fault could not happen here (a body too short, a client gone): the rule stays armed. */
    const release = () => {
      if (hit && !settled) hit.pending--
      settled = true
      hit = undefined
    }
    res.on('close', release)
    const fault = hit?.rule.fault

    if (fault?.kind === 'status') {
      const statuses = Array.isArray(fault.status) ? fault.status : [fault.status]
      const status = statuses[(hit as Armed).fired % statuses.length] as number
      const headers: http.OutgoingHttpHeaders = { 'content-type': 'application/json' }
      if (fault.retryAfter !== undefined) headers['retry-after'] = String(fault.retryAfter)
      // Worded as a registry words it (OCI distribution error codes).
      const code = status === 429 ? 'TOOMANYREQUESTS' : status === 503 ? 'UNAVAILABLE' : 'UNKNOWN'
      const body =
        fault.body ??
        JSON.stringify({ errors: [{ code, message: `injected ${status} by the fault proxy` }] })
      headers['content-length'] = Buffer.byteLength(body)
      record(
        `${status}${fault.retryAfter !== undefined ? ` Retry-After: ${fault.retryAfter}` : ''}`
      )
      // Drain what the client sends, then answer: a registry answers an upload it refuses.
      req.resume()
      res.writeHead(status, headers)
      res.end(req.method === 'HEAD' ? undefined : body)
      return
    }

    const up = http.request({
      host: upstreamHost,
      port: Number(upstreamPort),
      method: req.method,
      path: req.url,
      headers: forwardable(req.headers),
      agent
    })
    up.on('error', error => {
      // The registry went away (killed) or we cut it: say so as a gateway would, or hang up.
      if (!res.headersSent) {
        res.writeHead(502, { 'content-type': 'text/plain' })
        res.end(`fault proxy: upstream ${upstream.host} failed: ${error.message}`)
      } else {
        res.destroy()
      }
    })

    // The request body, with a cut or a flipped byte where a rule says so.
    let sent = 0
    let requestFaulted = false
    req.on('data', (chunk: Buffer) => {
      if (fault?.kind === 'cut-request' && !requestFaulted) {
        if (sent + chunk.length > fault.afterBytes) {
          requestFaulted = true
          up.write(chunk.subarray(0, fault.afterBytes - sent))
          record(`cut the request after ${fault.afterBytes} bytes of its body`)
          up.destroy()
          req.socket.destroy()
          return
        }
      }
      if (fault?.kind === 'corrupt-request' && !requestFaulted) {
        const at = fault.at ?? 0
        if (at >= sent && at < sent + chunk.length) {
          requestFaulted = true
          chunk = Buffer.from(chunk)
          chunk[at - sent] = (chunk[at - sent] as number) ^ 0xff
          record(`flipped byte ${at} of the request body`)
        }
      }
      sent += chunk.length
      up.write(chunk)
    })
    req.on('end', () => {
      if (fault?.kind === 'cut-request' || fault?.kind === 'corrupt-request') {
        if (!requestFaulted) release()
      }
      if (!req.socket.destroyed) up.end()
    })
    req.on('error', () => up.destroy())

    up.on('response', upRes => {
      const headers = forwardable(upRes.headers)
      const status = upRes.statusCode ?? 502
      const isBody =
        req.method !== 'HEAD' && status >= 200 && status < 300 && upRes.headers['content-length']
      const length = Number(upRes.headers['content-length'] ?? 0)
      const bodyFault =
        fault?.kind === 'cut-response' ||
        fault?.kind === 'corrupt-response' ||
        fault?.kind === 'truncate-response'
      if (bodyFault && !isBody) release()

      if (hit && fault?.kind === 'truncate-response' && isBody) {
        if (fault.keepBytes >= length) {
          release()
        } else {
          headers['content-length'] = fault.keepBytes
          record(`truncated the body to ${fault.keepBytes} of ${length} bytes`)
          res.writeHead(status, headers)
          let kept = 0
          upRes.on('data', (chunk: Buffer) => {
            const room = fault.keepBytes - kept
            if (room > 0) res.write(chunk.subarray(0, room))
            kept += Math.min(room, chunk.length)
          })
          upRes.on('end', () => res.end())
          return
        }
      }
      res.writeHead(status, headers)
      let passed = 0
      let responseFaulted = false
      upRes.on('data', (chunk: Buffer) => {
        if (hit && isBody && !responseFaulted && fault?.kind === 'cut-response') {
          if (passed + chunk.length > fault.afterBytes) {
            responseFaulted = true
            res.write(chunk.subarray(0, fault.afterBytes - passed), () => res.destroy())
            record(`cut the connection after ${fault.afterBytes} of ${length} bytes`)
            upRes.destroy()
            return
          }
        }
        if (hit && isBody && !responseFaulted && fault?.kind === 'corrupt-response') {
          const at = Math.min(fault.at ?? 0, length - 1)
          if (at >= passed && at < passed + chunk.length) {
            responseFaulted = true
            chunk = Buffer.from(chunk)
            chunk[at - passed] = (chunk[at - passed] as number) ^ 0xff
            record(`flipped byte ${at} of ${length}`)
          }
        }
        passed += chunk.length
        res.write(chunk)
      })
      upRes.on('end', () => {
        if (hit && isBody && bodyFault && !responseFaulted) release()
        if (!res.destroyed) res.end()
      })
      upRes.on('error', () => res.destroy())
    })
  })
  // crane and skopeo try TLS first on an insecure registry; that handshake is not HTTP. Answer
  // it as docker-registry (Go's HTTP server) does, with a 400, so the client falls back to HTTP
  // at once: a connection closed instead reads as EOF, which crane retries (1 s) first.
  server.on('clientError', (_error, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n')
    else socket.destroy()
  })

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const { port } = server.address() as AddressInfo

  return {
    host: `127.0.0.1:${port}`,
    port,
    setRules(rules) {
      armed = rules.map(rule => ({ rule, matched: 0, fired: 0, pending: 0 }))
    },
    requests: () => log.map(e => ({ ...e })),
    injected: () => injections.map(i => ({ ...i })),
    onRequest(listener) {
      listeners.push(listener)
    },
    close: () =>
      new Promise<void>(resolve => {
        server.close(() => resolve())
        server.closeAllConnections()
        agent.destroy()
      })
  }
}
