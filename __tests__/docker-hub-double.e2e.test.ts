/**
 * The Docker Hub double (__fixtures__/docker-hub.ts), end to end: in front of
 * a real, open docker-registry on loopback, spoken to with plain fetch (and
 * node:http where a test needs another source address), then by skopeo.
 *
 * Shown here: the token dance, anonymous and for an account, and its refusals
 * (no token, a wrong password, a token for another repository, any write);
 * HEAD is free and carries the rate-limit headers; each manifest GET the
 * registry answers counts one pull for its identity, an index and each of its
 * children alike, blobs and 404s never; at the limit a GET gets Docker Hub's
 * 429 and a HEAD still answers; the abuse 429 is bare and told apart; the
 * window resets and slides; an account's budget and another IP's are their
 * own; skopeo completes the dance and what its copy of an index costs.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals'
import { execFile } from 'node:child_process'
import * as http from 'node:http'
import * as net from 'node:net'
import { promisify } from 'node:util'
import {
  PULL_LIMIT_MESSAGE,
  startDockerHub,
  type DockerHub,
  type DockerHubOptions
} from '../__fixtures__/docker-hub.js'
import { ensureTools, startRegistry, type LocalRegistry } from '../scripts/lib/local-registry.mjs'
import {
  ACCEPT,
  getManifest,
  headDigest,
  pushImage,
  type PushedImage
} from '../scripts/lib/seed-images.mjs'

const run = promisify(execFile)

const ALICE = { username: 'alice', password: 'Hub-D0uble-pass-6h' }
const ANON = 'ip:127.0.0.1'
const ALICE_ID = `account:${ALICE.username}`

let upstream: LocalRegistry
let target: LocalRegistry
let hello: PushedImage
let multi: PushedImage
/** The config blob of library/hello:1 (a blob GET to show it is never counted). */
let helloConfig: string
let hub: DockerHub | undefined

async function startHub(
  limits: DockerHubOptions['limits'],
  windowSeconds?: number
): Promise<DockerHub> {
  hub = await startDockerHub({ upstream: { host: upstream.host }, limits, windowSeconds })
  return hub
}

function basic(auth: { username: string; password: string }): string {
  return `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`
}

/** The token service's answer for a pull of `repository`, anonymously or as an account. */
async function tokenAnswer(
  h: DockerHub,
  repository: string,
  auth?: { username: string; password: string }
): Promise<Response> {
  const url = `http://${h.host}/token?service=registry.docker.io&scope=repository:${repository}:pull`
  return fetch(url, { headers: auth ? { authorization: basic(auth) } : {} })
}

async function tokenFor(
  h: DockerHub,
  repository: string,
  auth?: { username: string; password: string }
): Promise<string> {
  const res = await tokenAnswer(h, repository, auth)
  expect(res.status).toBe(200)
  return ((await res.json()) as { token: string }).token
}

/** A request to the registry API through the double, body read to the end. */
async function api(
  h: DockerHub,
  path: string,
  token?: string,
  method = 'GET'
): Promise<{ status: number; headers: Headers; body: string }> {
  const res = await fetch(`http://${h.host}${path}`, {
    method,
    headers: { accept: ACCEPT, ...(token ? { authorization: `Bearer ${token}` } : {}) }
  })
  return { status: res.status, headers: res.headers, body: await res.text() }
}

const manifestPath = (repository: string, reference: string) =>
  `/v2/${repository}/manifests/${reference}`

/** The three rate-limit headers of an answer. */
function rateLimit(headers: Headers): Record<string, string | null> {
  return {
    limit: headers.get('ratelimit-limit'),
    remaining: headers.get('ratelimit-remaining'),
    source: headers.get('docker-ratelimit-source')
  }
}

/** A GET through the double from another loopback address (another anonymous IP). */
function getFrom(
  localAddress: string,
  h: DockerHub,
  path: string,
  headers: http.OutgoingHttpHeaders = {}
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(
      { host: '127.0.0.1', port: h.port, path, localAddress, headers, agent: false },
      res => {
        let body = ''
        res.setEncoding('utf8')
        res.on('data', (chunk: string) => (body += chunk))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }))
      }
    )
    req.on('error', reject)
  })
}

beforeAll(async () => {
  await ensureTools()
  upstream = await startRegistry()
  target = await startRegistry()
  hello = await pushImage(upstream.host, 'library/hello', '1')
  multi = await pushImage(upstream.host, 'library/multi', '1', {
    platforms: ['linux/amd64', 'linux/arm64']
  })
  await pushImage(upstream.host, 'library/other', '1')
  const { manifest } = await getManifest(upstream.host, 'library/hello', '1')
  helloConfig = manifest.config?.digest as string
}, 60_000)

afterEach(async () => {
  await hub?.close()
  hub = undefined
})

afterAll(async () => {
  await upstream?.stop()
  await target?.stop()
})

describe('token auth', () => {
  it('challenges every /v2/ request without a token as Docker Hub does', async () => {
    const h = await startHub({ anonymous: 10 })
    const realm = `Bearer realm="http://${h.host}/token",service="registry.docker.io"`

    const ping = await api(h, '/v2/')
    expect(ping.status).toBe(401)
    expect(ping.headers.get('www-authenticate')).toBe(realm)

    const manifest = await api(h, manifestPath('library/hello', '1'))
    expect(manifest.status).toBe(401)
    expect(manifest.headers.get('www-authenticate')).toBe(
      `${realm},scope="repository:library/hello:pull"`
    )
    expect(JSON.parse(manifest.body)).toMatchObject({ errors: [{ code: 'UNAUTHORIZED' }] })
    expect((await api(h, `/v2/library/hello/blobs/${helloConfig}`)).status).toBe(401)

    // A token nobody issued is refused as invalid; nothing was counted.
    const forged = await api(h, manifestPath('library/hello', '1'), 'forged')
    expect(forged.status).toBe(401)
    expect(forged.headers.get('www-authenticate')).toContain('error="invalid_token"')
    expect(h.pulls()).toBe(0)
    expect(h.manifestGets().map(g => [g.status, g.identity])).toEqual([
      [401, undefined],
      [401, undefined]
    ])
  })

  it('issues an anonymous token bound to the client IP, good for the scope it asked', async () => {
    const h = await startHub({ anonymous: 10 })
    const res = await tokenAnswer(h, 'library/hello')
    expect(res.status).toBe(200)
    const answer = (await res.json()) as Record<string, unknown>
    expect(Object.keys(answer).sort()).toEqual(['access_token', 'expires_in', 'issued_at', 'token'])
    expect(answer.access_token).toBe(answer.token)
    expect(answer.expires_in).toBe(300)
    expect(Math.abs(Date.parse(answer.issued_at as string) - Date.now())).toBeLessThan(10_000)
    const token = answer.token as string

    const ping = await api(h, '/v2/', token)
    expect(ping.status).toBe(200)
    const got = await api(h, manifestPath('library/hello', '1'), token)
    expect(got.status).toBe(200)
    expect(got.headers.get('docker-content-digest')).toBe(hello.digest)
    expect(rateLimit(got.headers)).toEqual({
      limit: '10;w=21600',
      remaining: '9;w=21600',
      source: '127.0.0.1'
    })
    // Nothing of the upstream shows through.
    for (const answerOf of [ping, got]) {
      for (const [, value] of answerOf.headers) expect(value).not.toContain(upstream.host)
    }

    // The token is for library/hello only: another repository asks for its own.
    const other = await api(h, manifestPath('library/other', '1'), token)
    expect(other.status).toBe(401)
    expect(other.headers.get('www-authenticate')).toContain(
      'scope="repository:library/other:pull",error="insufficient_scope"'
    )

    expect(h.requests().map(r => [r.method, r.path.split('?')[0], r.kind, r.identity])).toEqual([
      ['GET', '/token', 'token', ANON],
      ['GET', '/v2/', 'other', ANON],
      ['GET', manifestPath('library/hello', '1'), 'manifest', ANON],
      ['GET', manifestPath('library/other', '1'), 'manifest', ANON]
    ])
  })

  it("issues an account's token for Basic credentials, and refuses wrong ones", async () => {
    const h = await startHub({ anonymous: 10, accounts: { alice: { ...ALICE, limit: 20 } } })
    const token = await tokenFor(h, 'library/hello', ALICE)
    const got = await api(h, manifestPath('library/hello', '1'), token)
    expect(got.status).toBe(200)
    expect(rateLimit(got.headers)).toEqual({
      limit: '20;w=21600',
      remaining: '19;w=21600',
      source: 'alice'
    })

    for (const wrong of [
      { ...ALICE, password: 'wrong' },
      { username: 'mallory', password: ALICE.password }
    ]) {
      const refused = await tokenAnswer(h, 'library/hello', wrong)
      expect(refused.status).toBe(401)
      expect(refused.headers.get('content-type')).toBe('application/json')
      expect(await refused.json()).toEqual({ details: 'incorrect username or password' })
    }
    expect(h.requests().map(r => [r.kind, r.status, r.identity])).toEqual([
      ['token', 200, ALICE_ID],
      ['manifest', 200, ALICE_ID],
      ['token', 401, undefined],
      ['token', 401, undefined]
    ])
  })

  it('refuses every write: a read-only public source', async () => {
    const h = await startHub({ anonymous: 10 })
    const token = await tokenFor(h, 'library/hello')
    upstream.clearLog()
    const writes: [string, string][] = [
      ['POST', '/v2/library/hello/blobs/uploads/'],
      ['PATCH', '/v2/library/hello/blobs/uploads/some-upload'],
      ['PUT', manifestPath('library/hello', '2')],
      ['DELETE', manifestPath('library/hello', hello.digest)]
    ]
    for (const [method, path] of writes) {
      const res = await api(h, path, token, method)
      expect([method, res.status]).toEqual([method, 401])
      expect(JSON.parse(res.body)).toMatchObject({
        errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }]
      })
      expect(res.headers.get('www-authenticate')).toContain(
        'scope="repository:library/hello:pull,push"'
      )
    }
    // A real push through the double fails at its first write.
    await expect(pushImage(h.host, 'library/pushed', '1')).rejects.toThrow(/HTTP 401/)

    // Nothing but the closing read reached the registry; the image is as it was.
    await api(h, manifestPath('library/hello', '1'), token, 'HEAD')
    await upstream.waitForRequest(r => r.method === 'HEAD', 5000)
    expect(upstream.requests().map(r => r.method)).toEqual(['HEAD'])
    expect(await headDigest(upstream.host, 'library/hello', '1')).toBe(hello.digest)
  })

  it('answers a TLS ClientHello with a plain 400, as docker-registry does', async () => {
    const h = await startHub({ anonymous: 10 })
    const reply = await new Promise<string>((resolve, reject) => {
      const socket = net.connect(h.port, '127.0.0.1', () => {
        // The first bytes of a TLS 1.2 ClientHello record.
        socket.write(Buffer.from([0x16, 0x03, 0x01, 0x00, 0xa5, 0x01, 0x00, 0x00, 0xa1, 0x03]))
      })
      let text = ''
      socket.on('data', chunk => (text += String(chunk)))
      socket.on('end', () => resolve(text))
      socket.on('error', reject)
    })
    expect(reply).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/)
  })
})

describe('metering', () => {
  it('lets HEAD through free, with the rate-limit headers', async () => {
    const h = await startHub({ anonymous: 5 })
    const token = await tokenFor(h, 'library/multi')
    for (const reference of ['1', '1', multi.digest, multi.children[0]?.digest as string]) {
      const res = await api(h, manifestPath('library/multi', reference), token, 'HEAD')
      expect(res.status).toBe(200)
      expect(rateLimit(res.headers)).toEqual({
        limit: '5;w=21600',
        remaining: '5;w=21600',
        source: '127.0.0.1'
      })
    }
    expect(h.pulls()).toBe(0)
    expect(h.remaining(ANON)).toBe(5)
    expect(h.requests().filter(r => r.kind === 'manifest' && r.counted)).toEqual([])
  })

  it('counts each manifest GET the registry answers, per identity; blobs and 404s never', async () => {
    const h = await startHub({ anonymous: 10, accounts: { alice: { ...ALICE, limit: 20 } } })
    const anon = await tokenFor(h, 'library/hello')
    const alice = await tokenFor(h, 'library/hello', ALICE)

    const remaining: (string | null)[] = []
    for (let i = 0; i < 2; i++) {
      const res = await api(h, manifestPath('library/hello', '1'), anon)
      remaining.push(res.headers.get('ratelimit-remaining'))
    }
    // By digest counts the same as by tag.
    const byDigest = await api(h, manifestPath('library/hello', hello.digest), anon)
    remaining.push(byDigest.headers.get('ratelimit-remaining'))
    expect(remaining).toEqual(['9;w=21600', '8;w=21600', '7;w=21600'])

    const blob = await api(h, `/v2/library/hello/blobs/${helloConfig}`, anon)
    expect(blob.status).toBe(200)
    expect(rateLimit(blob.headers)).toEqual({ limit: null, remaining: null, source: null })

    const missing = await api(h, manifestPath('library/hello', 'no-such-tag'), anon)
    expect(missing.status).toBe(404)
    expect(missing.headers.get('ratelimit-remaining')).toBe('7;w=21600')

    const hers = await api(h, manifestPath('library/hello', '1'), alice)
    expect(hers.headers.get('ratelimit-remaining')).toBe('19;w=21600')

    expect(h.pulls()).toBe(4)
    expect(h.pulls(ANON)).toBe(3)
    expect(h.pulls(ALICE_ID)).toBe(1)
    expect(h.remaining(ANON)).toBe(7)
    expect(h.remaining(ALICE_ID)).toBe(19)
    expect(h.manifestGets(ANON).map(g => [g.status, g.counted])).toEqual([
      [200, true],
      [200, true],
      [200, true],
      [404, false]
    ])
    expect(h.requests().find(r => r.kind === 'blob')).toMatchObject({ counted: false })
  })

  it('counts an index GET and each child GET: one pull per platform plus the index', async () => {
    const h = await startHub({ anonymous: 10 })
    const token = await tokenFor(h, 'library/multi')
    const index = await api(h, manifestPath('library/multi', '1'), token)
    expect(index.status).toBe(200)
    expect(index.headers.get('ratelimit-remaining')).toBe('9;w=21600')
    const children = (JSON.parse(index.body) as { manifests: { digest: string }[] }).manifests
    expect(children.map(c => c.digest)).toEqual(multi.children.map(c => c.digest))
    for (const [i, child] of children.entries()) {
      const res = await api(h, manifestPath('library/multi', child.digest), token)
      expect(res.status).toBe(200)
      expect(res.headers.get('ratelimit-remaining')).toBe(`${8 - i};w=21600`)
    }
    expect(h.pulls(ANON)).toBe(1 + multi.children.length)
  })

  it("answers Docker Hub's 429 at the limit, and HEAD still answers", async () => {
    const h = await startHub({ anonymous: 2 })
    const token = await tokenFor(h, 'library/hello')
    upstream.clearLog()
    for (let i = 0; i < 2; i++) {
      expect((await api(h, manifestPath('library/hello', '1'), token)).status).toBe(200)
    }
    const over = await api(h, manifestPath('library/hello', '1'), token)
    expect(over.status).toBe(429)
    expect(over.headers.get('content-type')).toBe('application/json')
    expect(JSON.parse(over.body)).toEqual({
      errors: [
        {
          code: 'TOOMANYREQUESTS',
          message:
            'You have reached your pull rate limit. You may increase the limit by authenticating and upgrading: https://www.docker.com/increase-rate-limit'
        }
      ]
    })
    expect(PULL_LIMIT_MESSAGE).toBe(JSON.parse(over.body).errors[0].message)
    expect(rateLimit(over.headers)).toEqual({
      limit: '2;w=21600',
      remaining: '0;w=21600',
      source: '127.0.0.1'
    })

    const head = await api(h, manifestPath('library/hello', '1'), token, 'HEAD')
    expect(head.status).toBe(200)
    expect(head.headers.get('docker-content-digest')).toBe(hello.digest)
    expect(head.headers.get('ratelimit-remaining')).toBe('0;w=21600')
    // Blobs are not metered: a client holding a manifest can still fetch its layers.
    expect((await api(h, `/v2/library/hello/blobs/${helloConfig}`, token)).status).toBe(200)

    expect(h.tooManyRequests()).toEqual([
      expect.objectContaining({
        reason: 'pull-limit',
        method: 'GET',
        path: manifestPath('library/hello', '1'),
        identity: ANON
      })
    ])
    expect(h.manifestGets().map(g => g.status)).toEqual([200, 200, 429])
    expect(h.pulls(ANON)).toBe(2)
    // The refused GET never reached the registry.
    await upstream.waitForRequest(r => r.method === 'GET' && r.path.includes('/blobs/'), 5000)
    const reached = upstream.requests().filter(r => r.path.includes('/manifests/'))
    expect(reached.map(r => r.method)).toEqual(['GET', 'GET', 'HEAD'])
  })

  it('never lets parallel GETs overshoot the limit', async () => {
    const h = await startHub({ anonymous: 2 })
    const token = await tokenFor(h, 'library/hello')
    const answers = await Promise.all(
      Array.from({ length: 6 }, () => api(h, manifestPath('library/hello', '1'), token))
    )
    expect(answers.map(a => a.status).sort()).toEqual([200, 200, 429, 429, 429, 429])
    expect(h.pulls(ANON)).toBe(2)
    expect(h.remaining(ANON)).toBe(0)
  })

  it('answers a bare 429 while abused, told apart from the pull limit', async () => {
    const h = await startHub({ anonymous: 10 })
    const token = await tokenFor(h, 'library/hello')
    h.abuse(2)
    const tokenRefused = await tokenAnswer(h, 'library/hello')
    const manifestRefused = await api(h, manifestPath('library/hello', '1'), token)
    for (const res of [tokenRefused, manifestRefused]) {
      expect(res.status).toBe(429)
      expect(res.headers.get('content-type')).toMatch(/^text\/plain/)
      expect(rateLimit(res.headers)).toEqual({ limit: null, remaining: null, source: null })
    }
    expect(await tokenRefused.text()).toBe('Too Many Requests')
    expect(manifestRefused.body).toBe('Too Many Requests')

    const after = await api(h, manifestPath('library/hello', '1'), token)
    expect(after.status).toBe(200)
    expect(after.headers.get('ratelimit-remaining')).toBe('9;w=21600')
    expect(h.tooManyRequests().map(t => [t.reason, t.path.split('?')[0]])).toEqual([
      ['abuse', '/token'],
      ['abuse', manifestPath('library/hello', '1')]
    ])
    expect(h.pulls(ANON)).toBe(1)
  })

  it('starts a new window for every identity on resetWindow()', async () => {
    const h = await startHub({ anonymous: 1, accounts: { alice: { ...ALICE, limit: 1 } } })
    const tokens = [await tokenFor(h, 'library/hello'), await tokenFor(h, 'library/hello', ALICE)]
    for (const token of tokens) {
      expect((await api(h, manifestPath('library/hello', '1'), token)).status).toBe(200)
      expect((await api(h, manifestPath('library/hello', '1'), token)).status).toBe(429)
    }
    expect([h.remaining(ANON), h.remaining(ALICE_ID), h.pulls()]).toEqual([0, 0, 2])

    h.resetWindow()
    expect([h.remaining(ANON), h.remaining(ALICE_ID), h.pulls()]).toEqual([1, 1, 0])
    for (const token of tokens) {
      const res = await api(h, manifestPath('library/hello', '1'), token)
      expect(res.status).toBe(200)
      expect(res.headers.get('ratelimit-remaining')).toBe('0;w=21600')
    }
    // The record of manifest GETs is not windowed.
    expect(h.manifestGets()).toHaveLength(6)
  })

  it('lets a pull age out of the window windowSeconds after it was made', async () => {
    const h = await startHub({ anonymous: 1 }, 1)
    const token = await tokenFor(h, 'library/hello')
    const first = await api(h, manifestPath('library/hello', '1'), token)
    expect(rateLimit(first.headers)).toEqual({
      limit: '1;w=1',
      remaining: '0;w=1',
      source: '127.0.0.1'
    })
    expect((await api(h, manifestPath('library/hello', '1'), token)).status).toBe(429)
    await new Promise(resolve => setTimeout(resolve, 1100))
    expect(h.remaining(ANON)).toBe(1)
    expect((await api(h, manifestPath('library/hello', '1'), token)).status).toBe(200)
  })

  it("keeps an account's larger budget apart from the anonymous one", async () => {
    const h = await startHub({ anonymous: 1, accounts: { alice: { ...ALICE, limit: 3 } } })
    const anon = await tokenFor(h, 'library/hello')
    expect((await api(h, manifestPath('library/hello', '1'), anon)).status).toBe(200)
    expect((await api(h, manifestPath('library/hello', '1'), anon)).status).toBe(429)

    // The same machine, logged in: its own budget, untouched by the anonymous pulls.
    const alice = await tokenFor(h, 'library/hello', ALICE)
    const remaining: (string | null)[] = []
    for (let i = 0; i < 3; i++) {
      const res = await api(h, manifestPath('library/hello', '1'), alice)
      expect(res.status).toBe(200)
      remaining.push(res.headers.get('ratelimit-remaining'))
    }
    expect(remaining).toEqual(['2;w=21600', '1;w=21600', '0;w=21600'])
    const over = await api(h, manifestPath('library/hello', '1'), alice)
    expect(over.status).toBe(429)
    expect(rateLimit(over.headers)).toEqual({
      limit: '3;w=21600',
      remaining: '0;w=21600',
      source: 'alice'
    })
    expect([h.pulls(ANON), h.pulls(ALICE_ID), h.remaining(ANON)]).toEqual([1, 3, 0])
    expect(h.tooManyRequests().map(t => [t.reason, t.identity])).toEqual([
      ['pull-limit', ANON],
      ['pull-limit', ALICE_ID]
    ])
  })

  it('gives each anonymous IP address its own budget', async () => {
    const h = await startHub({ anonymous: 1 })
    const here = await tokenFor(h, 'library/hello')
    expect((await api(h, manifestPath('library/hello', '1'), here)).status).toBe(200)
    expect((await api(h, manifestPath('library/hello', '1'), here)).status).toBe(429)

    const scope = '/token?service=registry.docker.io&scope=repository:library/hello:pull'
    const issued = await getFrom('127.0.0.2', h, scope)
    const there = (JSON.parse(issued.body) as { token: string }).token
    const res = await getFrom('127.0.0.2', h, manifestPath('library/hello', '1'), {
      authorization: `Bearer ${there}`,
      accept: ACCEPT
    })
    expect(res.status).toBe(200)
    expect(res.headers['docker-ratelimit-source']).toBe('127.0.0.2')
    expect(res.headers['ratelimit-remaining']).toBe('0;w=21600')
    expect([h.pulls('ip:127.0.0.1'), h.pulls('ip:127.0.0.2')]).toEqual([1, 1])
  })
})

describe('a real client (skopeo)', () => {
  it('completes the token dance: inspect anonymously and as an account', async () => {
    const h = await startHub({ anonymous: 10, accounts: { alice: { ...ALICE, limit: 20 } } })
    const reference = `docker://${h.host}/library/hello:1`
    const inspect = ['inspect', '--tls-verify=false', '--no-tags', '--format', '{{.Digest}}']
    const anonymous = await run('skopeo', [...inspect, reference])
    expect(anonymous.stdout.trim()).toBe(hello.digest)
    const creds = `${ALICE.username}:${ALICE.password}`
    const loggedIn = await run('skopeo', [...inspect, '--creds', creds, reference])
    expect(loggedIn.stdout.trim()).toBe(hello.digest)

    // Each run: a ping refused, a token, then the manifest with the token.
    const dance = h
      .requests()
      .filter(r => r.kind !== 'blob')
      .map(r => [r.method, r.path.split('?')[0], r.status, r.identity])
    expect(dance).toEqual([
      ['GET', '/v2/', 401, undefined],
      ['GET', '/token', 200, ANON],
      ['GET', manifestPath('library/hello', '1'), 200, ANON],
      ['GET', '/v2/', 401, undefined],
      ['GET', '/token', 200, ALICE_ID],
      ['GET', manifestPath('library/hello', '1'), 200, ALICE_ID]
    ])
    expect(h.requests().every(r => /skopeo/.test(r.userAgent))).toBe(true)
    // Inspecting a single image costs one pull (the manifest GET; its config blob is free).
    expect([h.pulls(ANON), h.pulls(ALICE_ID)]).toEqual([1, 1])
  }, 60_000)

  it('copies a 2-platform index with --all at a cost of one pull per manifest', async () => {
    const h = await startHub({ anonymous: 10 })
    await run('skopeo', [
      'copy',
      '--all',
      '--src-tls-verify=false',
      '--dest-tls-verify=false',
      `docker://${h.host}/library/multi:1`,
      `docker://${target.host}/library/multi:1`
    ])
    expect(await headDigest(target.host, 'library/multi', '1')).toBe(multi.digest)

    const gets = h
      .manifestGets(ANON)
      .map(g => g.path.replace(/^\/v2\/library\/multi\/manifests\//, ''))
    expect(gets.sort()).toEqual(['1', ...multi.children.map(c => c.digest)].sort())
    // The index plus each of its 2 platforms: 3 pulls.
    expect(h.pulls(ANON)).toBe(3)
    expect(h.remaining(ANON)).toBe(7)
  }, 60_000)
})
