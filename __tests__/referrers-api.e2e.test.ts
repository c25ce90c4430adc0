/**
 * A target with the OCI referrers API (__fixtures__/refreg: go-containerregistry's
 * registry with referrers on), the source a real docker-registry, the bundled action
 * once per engine. Debian's docker-registry has no such API, so the other suites only
 * ever take the `sha256-<hex>` fallback; here a platform subset's mirror record must go
 * through the API: found as a referrer of the mirrored manifest, no fallback tag written,
 * and the re-run decides from it with no GET of the source's manifests.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { resultsOf, runActionAsync } from '../__fixtures__/action-runner.js'
import { describeEngines, engine } from '../__fixtures__/engines.js'
import {
  ensureTools,
  referrersRegistryBuilt,
  startReferrersRegistry,
  startRegistry,
  type LocalRegistry
} from '../scripts/lib/local-registry.mjs'
import { ACCEPT, pushImage, type PushedImage } from '../scripts/lib/seed-images.mjs'

const RECORD_TYPE = 'application/vnd.image-mirror.record.v1+json'

let source: LocalRegistry
let target: Awaited<ReturnType<typeof startReferrersRegistry>>
let image: PushedImage

// Built by the global set-up with Go; without Go these are left out and said so.
const block = referrersRegistryBuilt() ? describe : describe.skip

block('a target with the referrers API (needs Go)', () => {
  beforeAll(async () => {
    await ensureTools()
    source = await startRegistry()
    target = await startReferrersRegistry()
    image = await pushImage(source.host, 'library/app', '1', {
      seed: 'referrers-api',
      platforms: ['linux/amd64', 'linux/arm64']
    })
  }, 60_000)

  afterAll(async () => {
    await source?.stop()
    await target?.stop()
  })

  describeEngines('mirror records', () => {
    it('a subset is recorded through the API (no fallback tag), and the re-run reads no source manifest', async () => {
      const inputs = {
        images: `${source.host}/library/app:1`,
        target: `${target.host}/${engine.name}`,
        ...engine.inputs(),
        'insecure-registries': `${source.host},${target.host}`,
        platforms: 'linux/arm64'
      }
      const first = await runActionAsync(inputs, { timeoutMs: 120_000 })
      expect(first.code).toBe(0)
      const [copied] = resultsOf(first)
      expect(copied?.status).toBe('copied')
      expect(copied?.sourceDigest).toBe(image.digest)

      // The record is a referrer of what the tag holds, with what it says in its annotation.
      const repository = `${engine.name}/${source.host.replace(':', '_')}/library/app`
      const base = `http://${target.host}/v2/${repository}`
      const head = await fetch(`${base}/manifests/1`, {
        method: 'HEAD',
        headers: { accept: ACCEPT }
      })
      const subject = String(head.headers.get('docker-content-digest'))
      expect(subject).toBe(copied?.digest)
      const listed = await fetch(
        `${base}/referrers/${subject}?artifactType=${encodeURIComponent(RECORD_TYPE)}`
      )
      const referrers = (await listed.json()) as {
        manifests: { artifactType: string; annotations: Record<string, string> }[]
      }
      expect(referrers.manifests.map(m => m.artifactType)).toEqual([RECORD_TYPE])
      const record = JSON.parse(
        Object.values(referrers.manifests[0]?.annotations ?? {})[0] ?? '{}'
      ) as { source: string; sourceDigest: string; held: { architecture: string }[] }
      expect(record).toMatchObject({
        source: `${source.host}/library/app`,
        sourceDigest: image.digest,
        held: [{ os: 'linux', architecture: 'arm64' }]
      })
      // Nothing under the fallback tag: the API was found and used.
      const fallback = await fetch(`${base}/manifests/${subject.replace(':', '-')}`, {
        method: 'HEAD',
        headers: { accept: ACCEPT }
      })
      expect(fallback.status).toBe(404)

      source.clearLog()
      const again = await runActionAsync(inputs, { timeoutMs: 120_000 })
      expect(again.code).toBe(0)
      const [unchanged] = resultsOf(again)
      expect(unchanged?.status).toBe('unchanged')
      expect(unchanged?.note).toMatch(/mirror record/)
      const gets = source
        .requests()
        .filter(r => r.method === 'GET' && r.path.includes('/manifests/'))
      expect(gets).toEqual([])
    })
  })
})
