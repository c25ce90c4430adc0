/**
 * The registry client against a small local HTTP server that speaks the
 * distribution protocol's auth, paging and error parts, recording what the
 * client sent. (The end-to-end suite runs it against the real registry.)
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals'
import { EventEmitter } from 'node:events'
import * as http from 'node:http'
import type { AddressInfo } from 'node:net'
import {
  MANIFEST_TYPES,
  parseChallenge,
  parseRetryAfter,
  RegistryClient,
  RegistryError
} from '../src/registry.js'

interface Seen {
  method: string
  url: string
  authorization?: string
  accept?: string
}

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void

let server: http.Server
let host: string
let seen: Seen[] = []
let handler: Handler

const DIGEST = `sha256:${'a'.repeat(64)}`

beforeAll(async () => {
  server = http.createServer((req, res) => {
    seen.push({
      method: req.method ?? '',
      url: req.url ?? '',
      ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}),
      ...(req.headers.accept ? { accept: req.headers.accept } : {})
    })
    handler(req, res)
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  host = `127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(() => new Promise<void>(resolve => server.close(() => resolve())))
beforeEach(() => {
  seen = []
})

function client(options: ConstructorParameters<typeof RegistryClient>[0] = {}): RegistryClient {
  return new RegistryClient({ insecure: [host], retryDelayMs: 5, ...options })
}

function manifestHeaders(res: http.ServerResponse): void {
  res.setHeader('Docker-Content-Digest', DIGEST)
  res.setHeader('Content-Type', 'application/vnd.oci.image.index.v1+json')
  res.setHeader('Content-Length', '321')
}

describe('headManifest', () => {
  it('sends every manifest and index type in Accept and reads the digest, type and size', async () => {
    handler = (_req, res) => {
      manifestHeaders(res)
      res.end()
    }
    const c = client()
    const head = await c.headManifest(host, 'library/nginx', '1.27')
    c.dispose()
    expect(head).toEqual({
      digest: DIGEST,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      size: 321
    })
    expect(seen).toHaveLength(1)
    expect(seen[0]?.method).toBe('HEAD')
    expect(seen[0]?.url).toBe('/v2/library/nginx/manifests/1.27')
    for (const type of MANIFEST_TYPES) expect(seen[0]?.accept).toContain(type)
  })

  it('answers undefined for a manifest that does not exist', async () => {
    handler = (_req, res) => {
      res.statusCode = 404
      res.end()
    }
    const c = client()
    await expect(c.headManifest(host, 'x/y', 'nope')).resolves.toBeUndefined()
    c.dispose()
  })

  it('fetches a Bearer token from the realm with Basic credentials, and reuses it for the scope', async () => {
    handler = (req, res) => {
      if (req.url?.startsWith('/token')) {
        res.setHeader('Content-Type', 'application/json')
        res.end(JSON.stringify({ token: 'tok-123', expires_in: 300 }))
        return
      }
      if (req.headers.authorization !== 'Bearer tok-123') {
        res.statusCode = 401
        res.setHeader(
          'WWW-Authenticate',
          `Bearer realm="http://${host}/token",service="reg.test",scope="repository:a/b:pull"`
        )
        res.end()
        return
      }
      manifestHeaders(res)
      res.end()
    }
    const c = client({ credentials: () => ({ username: 'u', password: 'p' }) })
    await c.headManifest(host, 'a/b', 'one')
    await c.headManifest(host, 'a/b', 'two')
    c.dispose()
    const tokenRequests = seen.filter(s => s.url.startsWith('/token'))
    expect(tokenRequests).toHaveLength(1)
    const url = new URL(tokenRequests[0]?.url ?? '', 'http://x')
    expect(url.searchParams.get('service')).toBe('reg.test')
    expect(url.searchParams.get('scope')).toBe('repository:a/b:pull')
    expect(tokenRequests[0]?.authorization).toBe(`Basic ${Buffer.from('u:p').toString('base64')}`)
    // First manifest request unauthenticated, then retried with the token; the second goes straight with it.
    expect(seen.filter(s => s.url.includes('/manifests/')).map(s => s.authorization)).toEqual([
      undefined,
      'Bearer tok-123',
      'Bearer tok-123'
    ])
  })

  it('answers a Basic challenge with the credentials and keeps sending them', async () => {
    const expected = `Basic ${Buffer.from('user:secret').toString('base64')}`
    handler = (req, res) => {
      if (req.headers.authorization !== expected) {
        res.statusCode = 401
        res.setHeader('WWW-Authenticate', 'Basic realm="basic-realm"')
        res.end()
        return
      }
      manifestHeaders(res)
      res.end()
    }
    const c = client({ credentials: () => ({ username: 'user', password: 'secret' }) })
    await c.headManifest(host, 'a/b', '1')
    await c.headManifest(host, 'a/c', '2')
    c.dispose()
    expect(seen.map(s => s.authorization)).toEqual([undefined, expected, expected])
  })

  it('says the credentials were refused, without the password, and stops asking that registry', async () => {
    handler = (_req, res) => {
      res.statusCode = 401
      res.setHeader('WWW-Authenticate', 'Basic realm="basic-realm"')
      res.end()
    }
    const c = client({ credentials: () => ({ username: 'user', password: 'hunter2-secret' }) })
    const error = await c.headManifest(host, 'a/b', '1').catch((e: unknown) => e)
    expect(error).toBeInstanceOf(RegistryError)
    expect((error as RegistryError).message).toMatch(/refused the credentials/)
    expect((error as RegistryError).message).not.toContain('hunter2-secret')
    expect((error as RegistryError).permanent).toBe(true)
    const before = seen.length
    await expect(c.headManifest(host, 'a/c', '1')).rejects.toThrow(/refused the credentials/)
    expect(seen.length).toBe(before)
    c.dispose()
  })

  it('without credentials, says they are needed', async () => {
    handler = (_req, res) => {
      res.statusCode = 401
      res.setHeader('WWW-Authenticate', 'Basic realm="basic-realm"')
      res.end()
    }
    const c = client()
    await expect(c.headManifest(host, 'a/b', '1')).rejects.toThrow(/requires credentials/)
    c.dispose()
  })

  it('retries 429 and 5xx, honouring Retry-After', async () => {
    let calls = 0
    handler = (_req, res) => {
      calls++
      if (calls === 1) {
        res.statusCode = 429
        res.setHeader('Retry-After', '1')
        res.end()
      } else if (calls === 2) {
        res.statusCode = 503
        res.end()
      } else {
        manifestHeaders(res)
        res.end()
      }
    }
    const c = client()
    const started = Date.now()
    const head = await c.headManifest(host, 'a/b', '1')
    c.dispose()
    expect(head?.digest).toBe(DIGEST)
    expect(calls).toBe(3)
    expect(Date.now() - started).toBeGreaterThanOrEqual(950)
  })

  it('gives up after the retries with the status in the message', async () => {
    handler = (_req, res) => {
      res.statusCode = 502
      res.end()
    }
    const c = client({ retries: 2 })
    await expect(c.headManifest(host, 'a/b', '1')).rejects.toThrow(/HTTP 502/)
    expect(seen).toHaveLength(3)
    c.dispose()
  })

  it("warns once with the figure when Docker Hub's ratelimit-remaining runs low", async () => {
    handler = (_req, res) => {
      res.setHeader('ratelimit-limit', '100;w=21600')
      res.setHeader('ratelimit-remaining', '7;w=21600')
      manifestHeaders(res)
      res.end()
    }
    const warnings: string[] = []
    const c = client({ warn: m => warnings.push(m) })
    await c.headManifest(host, 'a/b', '1')
    await c.headManifest(host, 'a/b', '2')
    c.dispose()
    expect(warnings).toHaveLength(1)
    expect(warnings[0]).toMatch(/7 of 100 pulls remaining/)
  })

  it('reports an unreachable registry as such', async () => {
    const c = new RegistryClient({ insecure: ['127.0.0.1:1'], retries: 1, retryDelayMs: 5 })
    await expect(c.headManifest('127.0.0.1:1', 'a/b', '1')).rejects.toThrow(/cannot be reached/)
    c.dispose()
  })
})

describe('getManifest and listTags', () => {
  it('GETs a manifest, counts the GET, and computes the digest when the header is missing', async () => {
    const body = JSON.stringify({ schemaVersion: 2, manifests: [] })
    handler = (_req, res) => {
      res.setHeader('Content-Type', 'application/vnd.oci.image.index.v1+json')
      res.end(body)
    }
    const c = client()
    const manifest = await c.getManifest(host, 'a/b', '1')
    c.dispose()
    const { createHash } = await import('node:crypto')
    expect(manifest?.digest).toBe(`sha256:${createHash('sha256').update(body).digest('hex')}`)
    expect(c.manifestGets.get(host)).toBe(1)
  })

  it('follows Link rel="next" pages', async () => {
    handler = (req, res) => {
      res.setHeader('Content-Type', 'application/json')
      if (req.url === '/v2/a/b/tags/list?n=1000') {
        res.setHeader('Link', '</v2/a/b/tags/list?n=1000&last=2>; rel="next"')
        res.end(JSON.stringify({ name: 'a/b', tags: ['1', '2'] }))
      } else {
        res.end(JSON.stringify({ name: 'a/b', tags: ['3'] }))
      }
    }
    const c = client()
    await expect(c.listTags(host, 'a/b')).resolves.toEqual(['1', '2', '3'])
    c.dispose()
    expect(seen.map(s => s.url)).toEqual([
      '/v2/a/b/tags/list?n=1000',
      '/v2/a/b/tags/list?n=1000&last=2'
    ])
  })
})

describe('transport', () => {
  it('speaks TLS to a secure registry after plain HTTP to an insecure one (one agent per protocol)', async () => {
    const net = await import('node:net')
    // A TCP server standing in for a secure registry: it records the first byte and hangs up.
    const firstBytes: number[] = []
    const tls = net.createServer(socket => {
      socket.once('data', (data: Buffer) => {
        firstBytes.push(data[0] as number)
        socket.destroy()
      })
    })
    await new Promise<void>(resolve => tls.listen(0, '127.0.0.1', resolve))
    const secure = `127.0.0.1:${(tls.address() as AddressInfo).port}`
    handler = (_req, res) => {
      manifestHeaders(res)
      res.end()
    }
    const c = client({ retries: 0 })
    await expect(c.headManifest(host, 'a/b', '1')).resolves.toMatchObject({ digest: DIGEST })
    await expect(c.headManifest(secure, 'a/b', '1')).rejects.toThrow(/cannot be reached/)
    c.dispose()
    await new Promise<void>(resolve => tls.close(() => resolve()))
    // 0x16: a TLS handshake record, not an HTTP request line.
    expect(firstBytes).toEqual([0x16])
  })

  it('follows a redirect, keeping credentials on the same host only', async () => {
    const other = http.createServer((req, res) => {
      seen.push({
        method: req.method ?? '',
        url: `other:${req.url}`,
        ...(req.headers.authorization ? { authorization: req.headers.authorization } : {})
      })
      manifestHeaders(res)
      res.end()
    })
    await new Promise<void>(resolve => other.listen(0, '127.0.0.1', resolve))
    const otherHost = `127.0.0.1:${(other.address() as AddressInfo).port}`
    const expected = `Basic ${Buffer.from('u:p').toString('base64')}`
    handler = (req, res) => {
      if (!req.headers.authorization) {
        res.statusCode = 401
        res.setHeader('WWW-Authenticate', 'Basic realm="r"')
      } else if (req.url === '/v2/a/b/manifests/1') {
        res.statusCode = 307
        res.setHeader('Location', '/v2/a/b/manifests/moved')
      } else {
        res.statusCode = 302
        res.setHeader('Location', `http://${otherHost}/elsewhere`)
      }
      res.end()
    }
    const c = client({ credentials: () => ({ username: 'u', password: 'p' }) })
    await expect(c.headManifest(host, 'a/b', '1')).resolves.toMatchObject({ digest: DIGEST })
    c.dispose()
    await new Promise<void>(resolve => other.close(() => resolve()))
    expect(seen.map(s => [s.url, s.authorization])).toEqual([
      ['/v2/a/b/manifests/1', undefined],
      ['/v2/a/b/manifests/1', expected],
      ['/v2/a/b/manifests/moved', expected],
      ['other:/elsewhere', undefined]
    ])
  })

  it('disposes of a proxy tunnelling agent, which has no destroy()', () => {
    const c = client()
    // What @actions/http-client hands out behind HTTPS_PROXY: an EventEmitter, not an http.Agent.
    const agents = (c as unknown as { agents: Map<string, unknown> }).agents
    agents.set('https://registry.example.com', new EventEmitter())
    expect(() => c.dispose()).not.toThrow()
  })

  it('refuses an answer too big to be a manifest instead of holding it', async () => {
    const chunk = Buffer.alloc(1024 * 1024, 0x20)
    let asked = 0
    handler = (_req, res) => {
      asked++
      res.setHeader('Content-Type', 'application/vnd.oci.image.manifest.v1+json')
      let sent = 0
      const more = (): void => {
        while (sent < 64) {
          sent++
          if (!res.write(chunk)) return void res.once('drain', more)
        }
        res.end()
      }
      more()
    }
    // Asking again would only fetch the same oversized answer: final at once, retries or not.
    const c = client({ retries: 3 })
    await expect(c.getManifest(host, 'a/b', 'huge')).rejects.toThrow(/more than 16777216 bytes/)
    expect(asked).toBe(1)
    c.dispose()
  })
})

describe('helpers', () => {
  it('parses challenges with quoted and bare values', () => {
    expect(
      parseChallenge(
        'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull"'
      )
    ).toEqual({
      scheme: 'bearer',
      params: {
        realm: 'https://auth.docker.io/token',
        service: 'registry.docker.io',
        scope: 'repository:library/nginx:pull'
      }
    })
    expect(parseChallenge('Basic realm=x')).toEqual({ scheme: 'basic', params: { realm: 'x' } })
    expect(parseChallenge(undefined)).toBeUndefined()
  })

  it('reads Retry-After as seconds or a date', () => {
    expect(parseRetryAfter('3')).toBe(3000)
    expect(parseRetryAfter(new Date(10_000).toUTCString(), 4_000)).toBe(6000)
    expect(parseRetryAfter('soon')).toBeUndefined()
  })

  it("talks to Docker Hub's API host, and HTTP only to insecure registries", () => {
    const c = new RegistryClient({ insecure: ['localhost:5000'] })
    expect(c.baseUrl('docker.io')).toBe('https://registry-1.docker.io/v2/')
    expect(c.baseUrl('localhost:5000')).toBe('http://localhost:5000/v2/')
    expect(c.baseUrl('ghcr.io')).toBe('https://ghcr.io/v2/')
    c.dispose()
  })
})
