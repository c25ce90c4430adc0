/**
 * Signatures, attestations and SBOMs travel with the image (issue 19), proven the way users
 * would: images signed by cosign (built from its Go module) in a real source registry, the
 * bundled action run once per engine, then `cosign verify` and `cosign verify-attestation`
 * run against the mirror. Both kinds of registry, both ways: Debian's docker-registry (no
 * referrers API: cosign and the action use the `sha256-<hex>` tag schema) and
 * __fixtures__/refreg (go-containerregistry's registry with the referrers API).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { resultsOf, runActionAsync } from '../__fixtures__/action-runner.js'
import { cosignBinary, startCosign, type Cosign, type KeyPair } from '../__fixtures__/cosign.js'
import { describeEngines, engine } from '../__fixtures__/engines.js'
import {
  ensureTools,
  referrersRegistryBuilt,
  startReferrersRegistry,
  startRegistry,
  type LocalRegistry
} from '../scripts/lib/local-registry.mjs'
import { pushImage, type PushedImage } from '../scripts/lib/seed-images.mjs'

const ATTESTATION = 'https://example.com/provenance/v1'

interface Kind {
  name: 'tag-schema' | 'referrers-api'
  host: string
}

interface Seeded {
  multi: PushedImage
  single: PushedImage
}

let tagSchema: LocalRegistry
let api: Awaited<ReturnType<typeof startReferrersRegistry>>
let cosign: Cosign
let keys: KeyPair
const seeded = new Map<string, Seeded>()

/**
 * What each source holds: a two-platform image whose index is signed in both of cosign's
 * formats, attested and given an SBOM, with one child signed on its own (cosign's older
 * format); and a single image with a bundle signature and an older-format attestation.
 */
async function seed(host: string): Promise<Seeded> {
  const multi = await pushImage(host, 'library/multi', '1', {
    seed: `signed-multi-${host}`,
    platforms: ['linux/amd64', 'linux/arm64']
  })
  const single = await pushImage(host, 'library/single', '1', { seed: `signed-single-${host}` })
  const at = (repository: string, digest: string) => `${host}/${repository}@${digest}`
  cosign.sign(at('library/multi', multi.digest), keys)
  cosign.sign(at('library/multi', multi.digest), keys, { legacy: true })
  cosign.attest(at('library/multi', multi.digest), keys, ATTESTATION)
  cosign.attachSbom(at('library/multi', multi.digest))
  cosign.sign(at('library/multi', childOf(multi, 'linux/arm64')), keys, { legacy: true })
  cosign.sign(at('library/single', single.digest), keys)
  cosign.attest(at('library/single', single.digest), keys, ATTESTATION, { legacy: true })
  return { multi, single }
}

function childOf(image: PushedImage, platform: string): string {
  const child = image.children.find(c => c.platform === platform)
  if (!child) throw new Error(`no ${platform} in ${image.digest}`)
  return child.digest
}

/** Where the action puts a source repository under `prefix` of the target. */
function mirrored(target: Kind, prefix: string, source: Kind, repository: string): string {
  return `${target.host}/${prefix}/${source.host.replace(':', '_')}/${repository}`
}

// Built by the global set-up with Go; without Go these are left out and said so.
const block = referrersRegistryBuilt() && cosignBinary ? describe : describe.skip

block('signatures, attestations and SBOMs travel (needs Go)', () => {
  let kinds: Kind[]

  beforeAll(async () => {
    await ensureTools()
    tagSchema = await startRegistry()
    api = await startReferrersRegistry()
    cosign = startCosign()
    keys = cosign.keys('upstream')
    kinds = [
      { name: 'tag-schema', host: tagSchema.host },
      { name: 'referrers-api', host: api.host }
    ]
    for (const kind of kinds) seeded.set(kind.host, await seed(kind.host))
  }, 180_000)

  afterAll(async () => {
    await tagSchema?.stop()
    await api?.stop()
    cosign?.remove()
  })

  describeEngines('between each pair of registry kinds', () => {
    it('copies them with the images, and cosign verifies the mirror', async () => {
      for (const source of kinds) {
        for (const target of kinds) {
          const prefix = `${engine.name}-${source.name}`
          const run = await runActionAsync(
            {
              images: [`${source.host}/library/multi:1`, `${source.host}/library/single:1`].join(
                '\n'
              ),
              target: `${target.host}/${prefix}`,
              ...engine.inputs(),
              'insecure-registries': `${source.host},${target.host}`
            },
            { timeoutMs: 180_000 }
          )
          const pair = `${source.name} → ${target.name}`
          expect({ pair, code: run.code }).toEqual({ pair, code: 0 })
          const [multi, single] = resultsOf(run)
          const images = seeded.get(source.host) as Seeded
          // The index: a bundle and an older signature, the arm64 child's older one; one
          // attestation (a bundle) and one SBOM.
          expect({ pair, ...multi }).toMatchObject({
            pair,
            status: 'copied',
            digest: images.multi.digest,
            attached: { signatures: 3, attestations: 1, sboms: 1, other: 0, copied: 5 }
          })
          expect({ pair, ...single }).toMatchObject({
            pair,
            status: 'copied',
            attached: { signatures: 1, attestations: 1, sboms: 0, other: 0, copied: 2 }
          })

          const at = (repository: string, digest: string) =>
            `${mirrored(target, prefix, source, repository)}@${digest}`
          const checks = [
            cosign.verify(at('library/multi', images.multi.digest), keys),
            cosign.verify(at('library/multi', images.multi.digest), keys, { legacy: true }),
            cosign.verify(at('library/multi', images.multi.digest), keys, {
              attestation: ATTESTATION
            }),
            cosign.verify(at('library/multi', childOf(images.multi, 'linux/arm64')), keys, {
              legacy: true
            }),
            cosign.verify(at('library/single', images.single.digest), keys),
            cosign.verify(at('library/single', images.single.digest), keys, {
              legacy: true,
              attestation: ATTESTATION
            })
          ]
          expect({ pair, failed: checks.filter(c => c.code !== 0).map(c => c.output) }).toEqual({
            pair,
            failed: []
          })
          // Not signed upstream, not verified in the mirror: the amd64 child had no signature.
          expect(
            cosign.verify(at('library/multi', childOf(images.multi, 'linux/amd64')), keys, {
              legacy: true
            }).code
          ).not.toBe(0)
        }
      }
    })

    it('a new upstream signature on an unchanged image reaches the mirror with no image pull', async () => {
      const source = { name: 'tag-schema', host: tagSchema.host } as const
      const images = seeded.get(source.host) as Seeded
      for (const target of [source, { name: 'referrers-api', host: api.host } as const]) {
        const prefix = `${engine.name}-again`
        const inputs = {
          images: `${source.host}/library/single:1`,
          target: `${target.host}/${prefix}`,
          ...engine.inputs(),
          'insecure-registries': `${source.host},${target.host}`
        }
        expect((await runActionAsync(inputs, { timeoutMs: 120_000 })).code).toBe(0)

        // Someone signs upstream again, with another key, after the mirror was made.
        const later = cosign.keys(`later-${engine.name}-${target.name}`)
        cosign.sign(`${source.host}/library/single@${images.single.digest}`, later)
        const mirror = `${mirrored(target, prefix, source, 'library/single')}@${images.single.digest}`
        expect(cosign.verify(mirror, later).code).not.toBe(0)

        tagSchema.clearLog()
        const again = await runActionAsync(inputs, { timeoutMs: 120_000 })
        expect(again.code).toBe(0)
        const [result] = resultsOf(again)
        expect(result).toMatchObject({ status: 'unchanged', attached: { copied: 1 } })
        expect(cosign.verify(mirror, later).code).toBe(0)
        expect(cosign.verify(mirror, keys).code).toBe(0)
        // The image was not read: its tag and digest were only HEADed, never GET.
        const imageGets = tagSchema
          .requests()
          .filter(
            r =>
              r.method === 'GET' &&
              r.path.startsWith('/v2/library/single/manifests/') &&
              (r.path.endsWith('/1') || r.path.endsWith(images.single.digest))
          )
        expect(imageGets).toEqual([])
      }
    })

    it('a platform subset carries its platform images’ signatures, not the source index’s', async () => {
      const source = { name: 'tag-schema', host: tagSchema.host } as const
      const target = { name: 'referrers-api', host: api.host } as const
      const images = seeded.get(source.host) as Seeded
      const prefix = `${engine.name}-arm64`
      const run = await runActionAsync(
        {
          images: `${source.host}/library/multi:1`,
          target: `${target.host}/${prefix}`,
          ...engine.inputs(),
          'insecure-registries': `${source.host},${target.host}`,
          platforms: 'linux/arm64'
        },
        { timeoutMs: 120_000 }
      )
      expect(run.code).toBe(0)
      const [result] = resultsOf(run)
      const arm64 = childOf(images.multi, 'linux/arm64')
      // One platform: the mirror holds the child itself, signed on its own upstream.
      expect(result).toMatchObject({
        status: 'copied',
        digest: arm64,
        attached: { signatures: 1, attestations: 0, sboms: 0 }
      })
      const mirror = mirrored(target, prefix, source, 'library/multi')
      expect(cosign.verify(`${mirror}@${arm64}`, keys, { legacy: true }).code).toBe(0)
    })
  })
})
