/**
 * The trusted root through TUF, as the action gets Sigstore's public one on a runner, with
 * the same code (@sigstore/tuf's client) pointed at a TUF repository on loopback: its
 * metadata signed by keys of the test's own (@tufjs/repo-mock builds them), served over real
 * HTTP, holding the trusted_root.json of a test Sigstore. What it fetches verifies that
 * Sigstore's signatures; a repository whose target does not match its signed metadata, or
 * that cannot be reached, gives no root. (This machine does not reach tuf-repo-cdn.sigstore.dev,
 * so the public repository itself is not fetched here.)
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
// The modules themselves: the package's index loads nock, which takes over HTTP.
import { tufHandlers } from '@tufjs/repo-mock/dist/handler.js'
import { initializeTUFRepo } from '@tufjs/repo-mock/dist/repo.js'
import * as fs from 'node:fs'
import * as http from 'node:http'
import type { AddressInfo } from 'node:net'
import * as os from 'node:os'
import * as path from 'node:path'
import { startTestSigstore, type TestSigstore } from '../__fixtures__/sigstore.js'
import { TrustRoot } from '../src/verify/keyless.js'

const D = `sha256:${'1'.repeat(64)}`
const signer = {
  identity: 'https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main',
  issuer: 'https://token.actions.githubusercontent.com'
}

interface Repository {
  url: string
  rootPath: string
  requests: string[]
  close: () => Promise<void>
}

/** A TUF repository over HTTP holding `trusted_root.json` (served as `served`, if given). */
async function serveRepository(trustedRoot: string, served = trustedRoot): Promise<Repository> {
  const repo = initializeTUFRepo([{ name: 'trusted_root.json', content: trustedRoot }])
  const handlers = new Map(
    tufHandlers(repo, { metadataPathPrefix: '', targetPathPrefix: '/targets' }).map(h => [
      h.path,
      h.fn
    ])
  )
  const requests: string[] = []
  const server = http.createServer((req, res) => {
    const url = req.url ?? ''
    requests.push(url)
    if (url === '/targets/trusted_root.json' && served !== trustedRoot) {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(served)
      return
    }
    const handler = handlers.get(url)
    const answer = handler ? handler() : { statusCode: 404, response: '' }
    res.writeHead(answer.statusCode, { 'content-type': answer.contentType ?? 'text/plain' })
    res.end(answer.response)
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tuf-root-'))
  const rootPath = path.join(dir, 'root.json')
  fs.writeFileSync(rootPath, JSON.stringify(repo.rootMeta.toJSON()))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    rootPath,
    requests,
    close: () => new Promise(resolve => server.close(() => resolve()))
  }
}

let sigstore: TestSigstore
const caches: string[] = []
const cache = () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tuf-cache-'))
  caches.push(dir)
  return dir
}

beforeAll(async () => {
  sigstore = await startTestSigstore()
})

afterAll(() => {
  for (const dir of caches) fs.rmSync(dir, { recursive: true, force: true })
})

describe('the trusted root through TUF', () => {
  it('is fetched and verified, then verifies the Sigstore it names', async () => {
    const repository = await serveRepository(JSON.stringify(sigstore.trustedRoot))
    try {
      const root = await TrustRoot.fetch({
        mirrorURL: repository.url,
        rootPath: repository.rootPath,
        cachePath: cache(),
        retry: 0
      })
      expect(root.verify(await sigstore.bundle('r.example.com/app', D, signer))).toEqual(signer)
      // TUF's order: timestamp, snapshot, targets metadata, then the target itself.
      expect(repository.requests).toEqual(
        expect.arrayContaining([
          '/timestamp.json',
          '/snapshot.json',
          '/targets.json',
          '/targets/trusted_root.json'
        ])
      )
    } finally {
      await repository.close()
    }
  })

  it('a trusted root that is not the one the signed metadata names is refused', async () => {
    const other = await startTestSigstore()
    const repository = await serveRepository(
      JSON.stringify(sigstore.trustedRoot),
      // Same length, other keys: only the signed hashes tell them apart.
      JSON.stringify(other.trustedRoot)
    )
    try {
      await expect(
        TrustRoot.fetch({
          mirrorURL: repository.url,
          rootPath: repository.rootPath,
          cachePath: cache(),
          retry: 0
        })
      ).rejects.toThrow(/error downloading target .*: (.*length|.*hash)/i)
    } finally {
      await repository.close()
    }
  })

  it('a repository that cannot be reached gives no root', async () => {
    const repository = await serveRepository(JSON.stringify(sigstore.trustedRoot))
    await repository.close()
    await expect(
      TrustRoot.fetch({
        mirrorURL: repository.url,
        rootPath: repository.rootPath,
        cachePath: cache(),
        retry: 0,
        timeout: 2000
      })
    ).rejects.toThrow(/error refreshing TUF metadata: .*(ECONNREFUSED|fetch failed|connect)/i)
  })
})
