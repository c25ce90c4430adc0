/**
 * The registry client against a small local HTTP server that speaks the
 * distribution protocol's auth, paging and error parts, recording what the
 * client sent. (The end-to-end suite runs it against the real registry.)
 */
import { mergeScopes } from '../src/registry/auth.js'
import { chunkSizeFor } from '../src/registry/blobs.js'
import { afterAll, beforeAll, beforeEach, describe, expect, it, jest } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { EventEmitter } from 'node:events'
import * as fs from 'node:fs'
import * as http from 'node:http'
import * as https from 'node:https'
import type { AddressInfo } from 'node:net'
import * as os from 'node:os'
import * as path from 'node:path'
import {
  isForbiddenHost,
  MANIFEST_TYPES,
  parseChallenge,
  RegistryClient,
  RegistryError
} from '../src/registry/client.js'
import { parseRetryAfter } from '../src/common/retry.js'

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
/** An https server (self-signed, trusted only by clients given to trusting()): a token realm or a secure registry. */
let tlsServer: https.Server
let tlsHost: string
let tlsCert: Buffer
let tokenHandler: Handler

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

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'registry-test-'))
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      path.join(dir, 'key.pem'),
      '-out',
      path.join(dir, 'cert.pem'),
      '-days',
      '2',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1'
    ],
    { stdio: 'ignore' }
  )
  tlsCert = fs.readFileSync(path.join(dir, 'cert.pem'))
  tlsServer = https.createServer(
    { key: fs.readFileSync(path.join(dir, 'key.pem')), cert: tlsCert },
    (req, res) => {
      seen.push({
        method: req.method ?? '',
        url: `tls:${req.url ?? ''}`,
        ...(req.headers.authorization ? { authorization: req.headers.authorization } : {})
      })
      tokenHandler(req, res)
    }
  )
  fs.rmSync(dir, { recursive: true, force: true })
  await new Promise<void>(resolve => tlsServer.listen(0, '127.0.0.1', resolve))
  tlsHost = `127.0.0.1:${(tlsServer.address() as AddressInfo).port}`
})
afterAll(async () => {
  await new Promise<void>(resolve => server.close(() => resolve()))
  await new Promise<void>(resolve => tlsServer.close(() => resolve()))
})
beforeEach(() => {
  seen = []
})

function client(options: ConstructorParameters<typeof RegistryClient>[0] = {}): RegistryClient {
  return new RegistryClient({ insecure: [host], retryDelayMs: 5, ...options })
}

/** The client, trusting the test's self-signed certificate for the https server. */
function trusting(c: RegistryClient): RegistryClient {
  // The agents live in the client's transport layer.
  const agents = (c as unknown as { transport: { agents: Map<string, http.Agent> } }).transport
    .agents
  agents.set(`https://${tlsHost}`, new https.Agent({ ca: tlsCert, keepAlive: true }))
  return c
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

  it('fetches a Bearer token from an https realm with Basic credentials, and reuses it for the scope', async () => {
    tokenHandler = (_req, res) => {
      res.setHeader('Content-Type', 'application/json')
      res.end(JSON.stringify({ token: 'tok-123', expires_in: 300 }))
    }
    handler = (req, res) => {
      if (req.headers.authorization !== 'Bearer tok-123') {
        res.statusCode = 401
        res.setHeader(
          'WWW-Authenticate',
          `Bearer realm="https://${tlsHost}/token",service="reg.test",scope="repository:a/b:pull"`
        )
        res.end()
        return
      }
      manifestHeaders(res)
      res.end()
    }
    const c = trusting(client({ credentials: () => ({ username: 'u', password: 'p' }) }))
    await c.headManifest(host, 'a/b', 'one')
    await c.headManifest(host, 'a/b', 'two')
    c.dispose()
    const tokenRequests = seen.filter(s => s.url.startsWith('tls:/token'))
    expect(tokenRequests).toHaveLength(1)
    const url = new URL(tokenRequests[0]?.url.slice('tls:'.length) ?? '', 'http://x')
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
    const agents = (c as unknown as { transport: { agents: Map<string, unknown> } }).transport
      .agents
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

describe('Bearer realm', () => {
  const credentials = () => ({ username: 'u', password: 'hunter2' })
  const challenge =
    (realm: string): Handler =>
    (req, res) => {
      if (req.url?.startsWith('/token')) {
        res.setHeader('Content-Type', 'application/json')
        res.end(JSON.stringify({ token: 'tok-plain' }))
        return
      }
      if (req.headers.authorization?.startsWith('Bearer ')) {
        manifestHeaders(res)
        res.end()
        return
      }
      res.statusCode = 401
      res.setHeader('WWW-Authenticate', `Bearer realm="${realm}",service="reg.test"`)
      res.end()
    }

  async function refusal(c: RegistryClient, registry = host): Promise<RegistryError> {
    const error = await c.headManifest(registry, 'a/b', '1').catch((e: unknown) => e)
    c.dispose()
    expect(error).toBeInstanceOf(RegistryError)
    expect((error as RegistryError).permanent).toBe(true)
    return error as RegistryError
  }

  it("follows a plain-HTTP realm on an insecure registry's own host:port, with the credentials that registry would get over Basic", async () => {
    handler = challenge(`http://${host}/token`)
    const warnings: string[] = []
    const c = client({ credentials, warn: m => warnings.push(m) })
    await expect(c.headManifest(host, 'a/b', '1')).resolves.toMatchObject({ digest: DIGEST })
    c.dispose()
    const token = seen.filter(s => s.url.startsWith('/token'))
    expect(token).toHaveLength(1)
    expect(token[0]?.authorization).toMatch(/^Basic /)
    expect(warnings).toEqual([])
  })

  it('refuses a plain-HTTP realm on another host:port, naming the registry and the realm host only', async () => {
    const other = `127.0.0.1:${Number(host.split(':')[1]) + 1}`
    handler = challenge(`http://${other}/token?secret=s3cr3t`)
    const error = await refusal(client({ credentials }))
    expect(error.message).toBe(
      `${host}'s token realm leads to ${other}: http is refused; a realm must be https (plain HTTP only on the host:port of a registry listed as insecure)`
    )
    expect(seen.map(s => s.url)).toEqual(['/v2/a/b/manifests/1'])
  })

  it('refuses a plain-HTTP realm when the registry itself is spoken to over https', async () => {
    tokenHandler = (req, res) => {
      res.statusCode = 401
      res.setHeader('WWW-Authenticate', `Bearer realm="http://${tlsHost}/token"`)
      res.end()
    }
    const error = await refusal(trusting(new RegistryClient({ credentials })), tlsHost)
    expect(error.message).toMatch(new RegExp(`^${tlsHost}'s token realm leads to ${tlsHost}: http`))
    expect(seen.map(s => s.url)).toEqual(['tls:/v2/a/b/manifests/1'])
  })

  it.each([
    'http://169.254.169.254/latest/meta-data/iam/security-credentials/',
    'https://169.254.169.254/token',
    'http://0xA9FEA9FE/token',
    'https://[fe80::1]/token',
    'https://[::ffff:169.254.169.254]/token',
    'https://metadata.google.internal/computeMetadata/v1/',
    'https://METADATA.google.internal./token',
    'http://metadata/token'
  ])('refuses the link-local or metadata realm %s, asking it nothing', async realm => {
    handler = challenge(realm)
    const error = await refusal(client({ credentials }))
    expect(error.message).toMatch(
      new RegExp(`^${host}'s token realm leads to .+: a link-local or cloud metadata address`)
    )
    expect(error.message).not.toContain('/token')
    expect(seen).toHaveLength(1)
  })

  it('refuses a redirect from the realm that a realm itself could not be', async () => {
    const port = host.split(':')[1]
    for (const [location, why] of [
      [
        `http://localhost:${port}/token2`,
        `token realm leads to localhost:${port}: http is refused`
      ],
      ['http://169.254.169.254/latest/meta-data/', 'redirected to 169.254.169.254, a link-local']
    ] as const) {
      handler = (req, res) => {
        if (req.url?.startsWith('/token')) {
          res.statusCode = 302
          res.setHeader('Location', location)
          res.end()
          return
        }
        challenge(`http://${host}/token`)(req, res)
      }
      expect((await refusal(client())).message).toContain(why)
    }
    expect(seen.filter(s => s.url.startsWith('/token2'))).toEqual([])
  })

  it('refuses a redirect of any request to a metadata address', async () => {
    handler = (_req, res) => {
      res.statusCode = 307
      res.setHeader('Location', 'http://169.254.169.254/latest/meta-data/')
      res.end()
    }
    const error = await refusal(client())
    expect(error.message).toBe(
      `${host} redirected to 169.254.169.254, a link-local or cloud metadata address; not followed`
    )
  })

  it.each([
    ['too long', 'x'.repeat(16 * 1024 + 1)],
    ['with a line break', 'tok\r\nX-Injected: 1'],
    ['with a space', 'tok en'],
    ['not a string', 12345]
  ])('refuses a token %s', async (_what, token) => {
    handler = (req, res) => {
      if (req.url?.startsWith('/token')) {
        res.end(JSON.stringify({ token }))
        return
      }
      challenge(`http://${host}/token`)(req, res)
    }
    const error = await refusal(client())
    expect(error.message).toBe(
      `${host}: the token service on ${host} sent a token that is not up to 16384 printable ASCII characters; refused`
    )
    expect(seen.filter(s => s.authorization?.startsWith('Bearer'))).toEqual([])
  })

  it('refuses a realm that is not a URL', async () => {
    handler = challenge('/token')
    await expect(refusal(client())).resolves.toMatchObject({
      message: `${host} sent a token realm that is not a URL`
    })
  })

  it('tells link-local and metadata hosts from ordinary ones', () => {
    for (const forbidden of [
      '169.254.0.1',
      '169.254.169.254',
      '[fe80::1]',
      '[febf::1]',
      '[::ffff:a9fe:a9fe]',
      '[fd00:ec2::254]',
      '100.100.100.200',
      'metadata',
      'metadata.google.internal',
      'Metadata.Google.Internal.'
    ]) {
      expect([forbidden, isForbiddenHost(forbidden)]).toEqual([forbidden, true])
    }
    for (const fine of [
      '169.255.0.1',
      '10.0.0.1',
      '127.0.0.1',
      '[fec0::1]',
      '[::1]',
      'auth.docker.io',
      'metadata.example.com',
      'ghcr.io'
    ]) {
      expect([fine, isForbiddenHost(fine)]).toEqual([fine, false])
    }
  })
})

describe('getBlobJson', () => {
  const config = Buffer.from(
    JSON.stringify({ architecture: 'arm', os: 'linux', variant: 'v7', rootfs: {} })
  )
  const digest = `sha256:${createHash('sha256').update(config).digest('hex')}`

  it('reads a config through a redirect to storage, dropping the credentials there, and checks its digest', async () => {
    const storage = http.createServer((req, res) => {
      seen.push({
        method: req.method ?? '',
        url: `storage:${req.url}`,
        ...(req.headers.authorization ? { authorization: req.headers.authorization } : {})
      })
      res.end(config)
    })
    await new Promise<void>(resolve => storage.listen(0, '127.0.0.1', resolve))
    const storageHost = `127.0.0.1:${(storage.address() as AddressInfo).port}`
    const expected = `Basic ${Buffer.from('u:p').toString('base64')}`
    handler = (req, res) => {
      if (req.headers.authorization !== expected) {
        res.statusCode = 401
        res.setHeader('WWW-Authenticate', 'Basic realm="r"')
      } else {
        res.statusCode = 307
        res.setHeader('Location', `http://${storageHost}/blob?sig=1`)
      }
      res.end()
    }
    const c = client({ credentials: () => ({ username: 'u', password: 'p' }) })
    await expect(c.getBlobJson(host, 'a/b', digest)).resolves.toEqual({
      architecture: 'arm',
      os: 'linux',
      variant: 'v7',
      rootfs: {}
    })
    c.dispose()
    await new Promise<void>(resolve => storage.close(() => resolve()))
    expect(seen.map(s => [s.method, s.url, s.authorization])).toEqual([
      ['GET', `/v2/a/b/blobs/${digest}`, undefined],
      ['GET', `/v2/a/b/blobs/${digest}`, expected],
      ['GET', 'storage:/blob?sig=1', undefined]
    ])
    // A blob is not a manifest: no pull counted.
    expect(c.manifestGets.get(host)).toBeUndefined()
  })

  it('answers undefined for a blob that does not exist', async () => {
    handler = (_req, res) => {
      res.statusCode = 404
      res.end()
    }
    const c = client()
    await expect(c.getBlobJson(host, 'a/b', digest)).resolves.toBeUndefined()
    c.dispose()
  })

  it('refuses content that does not match the digest, at once', async () => {
    handler = (_req, res) => res.end(JSON.stringify({ os: 'linux', architecture: 'amd64' }))
    const c = client({ retries: 3 })
    const error = (await c
      .getBlobJson(host, 'a/b', digest)
      .catch((e: unknown) => e)) as RegistryError
    c.dispose()
    expect(error).toBeInstanceOf(RegistryError)
    expect(error.permanent).toBe(true)
    expect(error.message).toMatch(
      new RegExp(
        `^${host}/a/b@${digest}: the blob answered has sha256:[0-9a-f]{64}, not its digest`
      )
    )
    expect(seen).toHaveLength(1)
  })

  it('refuses content over the limit, announced or streamed', async () => {
    const big = Buffer.alloc(2048, 0x20)
    const bigDigest = `sha256:${createHash('sha256').update(big).digest('hex')}`
    for (const announced of [true, false]) {
      handler = (_req, res) => {
        if (announced) res.setHeader('Content-Length', String(big.length))
        res.write(big.subarray(0, 1024))
        res.end(big.subarray(1024))
      }
      const c = client({ retries: 3 })
      const error = (await c
        .getBlobJson(host, 'a/b', bigDigest, 1024)
        .catch((e: unknown) => e)) as RegistryError
      c.dispose()
      expect(error.message).toBe(`${host} answered more than 1024 bytes`)
      expect(error.permanent).toBe(true)
    }
    expect(seen).toHaveLength(2)
  })

  it('refuses a digest that is not sha256 without asking, and content that is not JSON', async () => {
    const c = client()
    await expect(c.getBlobJson(host, 'a/b', 'sha256:../../../etc')).rejects.toThrow(
      /is not a sha256 digest; the blob is not read/
    )
    expect(seen).toEqual([])
    const text = Buffer.from('not json')
    handler = (_req, res) => res.end(text)
    await expect(
      c.getBlobJson(host, 'a/b', `sha256:${createHash('sha256').update(text).digest('hex')}`)
    ).rejects.toThrow(/the blob is not JSON/)
    c.dispose()
  })
})

describe('debug lines (RUNNER_DEBUG=1)', () => {
  /** The ::debug:: lines written while `work` runs with step debug logging on. */
  async function debugLines(work: () => Promise<unknown>): Promise<string[]> {
    const written: string[] = []
    const spy = jest.spyOn(process.stdout, 'write').mockImplementation(chunk => {
      written.push(String(chunk))
      return true
    })
    process.env.RUNNER_DEBUG = '1'
    try {
      await work()
    } finally {
      delete process.env.RUNNER_DEBUG
      spy.mockRestore()
    }
    return written
      .join('')
      .split(/\r?\n/)
      .filter(line => line.startsWith('::debug::'))
  }

  it('tell each request (method, URL without query, status, time), the challenge, the token and each retry, without secrets', async () => {
    let calls = 0
    tokenHandler = (_req, res) => {
      res.setHeader('Content-Type', 'application/json')
      res.end(JSON.stringify({ token: 'tok-secret-456', expires_in: 300 }))
    }
    handler = (req, res) => {
      if (req.headers.authorization !== 'Bearer tok-secret-456') {
        res.statusCode = 401
        res.setHeader(
          'WWW-Authenticate',
          `Bearer realm="https://realm-user:realm-pass@${tlsHost}/token?x=1#frag",service="reg.test"`
        )
        res.end()
        return
      }
      if (++calls === 1) {
        res.statusCode = 503
        res.setHeader('Retry-After', '0')
        res.end()
        return
      }
      manifestHeaders(res)
      res.end()
    }
    const c = trusting(client({ credentials: () => ({ username: 'u', password: 'pass-789' }) }))
    const lines = await debugLines(() => c.headManifest(host, 'a/b', 'one'))
    c.dispose()
    const text = lines.join('\n')
    expect(lines[0]).toMatch(
      new RegExp(`^::debug::HEAD http://${host}/v2/a/b/manifests/one → 401 in \\d+ ms$`)
    )
    expect(text).toContain(
      `::debug::${host}: 401 with a bearer challenge (realm https://${tlsHost}/token) for repository:a/b:pull; credentials given`
    )
    expect(text).toMatch(
      new RegExp(`::debug::GET https://${tlsHost}/token → 200 in \\d+ ms \\(Basic auth\\)`)
    )
    expect(text).toContain(
      `::debug::${host}: token for repository:a/b:pull from ${tlsHost}, kept 290 s`
    )
    expect(text).toMatch(
      new RegExp(
        `::debug::HEAD ${host}/a/b/manifests/one: HTTP 503 \\(Retry-After 0\\); attempt 1 of 4, next in 0 ms`
      )
    )
    expect(lines.at(-1)).toMatch(/manifests\/one → 200 in \d+ ms \(Bearer auth\)$/)
    for (const secret of [
      'tok-secret-456',
      'pass-789',
      Buffer.from('u:pass-789').toString('base64'),
      // What a realm's URL may carry beside its origin and path is not repeated.
      'realm-pass',
      'x=1',
      'frag'
    ])
      expect(text).not.toContain(secret)
  })

  it('are not written at all without RUNNER_DEBUG (planning makes thousands of requests)', async () => {
    handler = (_req, res) => {
      manifestHeaders(res)
      res.end()
    }
    const written: string[] = []
    const spy = jest.spyOn(process.stdout, 'write').mockImplementation(chunk => {
      written.push(String(chunk))
      return true
    })
    const c = client()
    try {
      await c.headManifest(host, 'a/b', 'one')
    } finally {
      spy.mockRestore()
      c.dispose()
    }
    expect(written.join('')).not.toContain('::debug::')
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

describe('token scopes and chunk sizes for uploads', () => {
  it('merges scopes per repository, push first, each once', () => {
    expect(mergeScopes('repository:a/b:pull,push', 'repository:a/b:push,pull')).toEqual([
      'repository:a/b:push,pull'
    ])
    // A mount reads another repository: the challenge named only the target's.
    expect(
      mergeScopes('repository:m/x:pull,push', 'repository:m/x:push,pull repository:m/base:pull')
    ).toEqual(['repository:m/x:push,pull', 'repository:m/base:pull'])
    expect(mergeScopes('', 'repository:a:pull')).toEqual(['repository:a:pull'])
    expect(mergeScopes('registry:catalog:*')).toEqual(['registry:catalog:*'])
  })

  it('chunks of 4 MiB for ghcr.io, 8 MiB elsewhere, more when the registry asks', () => {
    expect(chunkSizeFor('ghcr.io')).toBe(4 * 1024 * 1024)
    expect(chunkSizeFor('123456789012.dkr.ecr.eu-west-1.amazonaws.com')).toBe(8 * 1024 * 1024)
    expect(chunkSizeFor('registry.example:5000', 20 * 1024 * 1024)).toBe(20 * 1024 * 1024)
  })
})

describe('upload locations a registry gives', () => {
  const client = new RegistryClient({ insecure: ['plain.example:5000'] })

  it('resolves a path, a URL and a protocol-relative Location on the registry itself', () => {
    expect(client.urlFor('reg.example', 'm/a', 'blobs/uploads/')).toBe(
      'https://reg.example/v2/m/a/blobs/uploads/'
    )
    expect(client.urlFor('reg.example', 'm/a', '/v2/m/a/blobs/uploads/u1?_state=x')).toBe(
      'https://reg.example/v2/m/a/blobs/uploads/u1?_state=x'
    )
    expect(client.urlFor('reg.example', 'm/a', 'https://storage.example/u1')).toBe(
      'https://storage.example/u1'
    )
  })

  it('refuses a Location on a metadata address, however it is written, and HTTPS down to HTTP', () => {
    for (const location of [
      '//169.254.169.254/latest/meta-data/',
      'https://169.254.169.254/latest/',
      'https://metadata.google.internal/computeMetadata/'
    ]) {
      expect(() => client.urlFor('reg.example', 'm/a', location)).toThrow(
        /link-local or cloud metadata address; not followed/
      )
    }
    expect(() => client.urlFor('plain.example:5000', 'm/a', '//169.254.169.254/x')).toThrow(
      /link-local or cloud metadata/
    )
    expect(() => client.urlFor('reg.example', 'm/a', 'http://reg.example/v2/m/a/u1')).toThrow(
      /over plain HTTP/
    )
  })
})
