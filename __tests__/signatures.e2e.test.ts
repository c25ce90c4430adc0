/**
 * Signatures, attestations and SBOMs travel with the image (issue 19), proven the way users
 * would: images signed by cosign (built from its Go module) in a real source registry, the
 * bundled action run once per engine, then `cosign verify` and `cosign verify-attestation`
 * run against the mirror. Both kinds of registry, both ways: Debian's docker-registry (no
 * referrers API: cosign and the action use the `sha256-<hex>` tag schema) and
 * __fixtures__/refreg (go-containerregistry's registry with the referrers API).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { createHash } from 'node:crypto'
import * as fs from 'node:fs'
import * as path from 'node:path'
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
import { ACCEPT, pushImage, pushReferrer, type PushedImage } from '../scripts/lib/seed-images.mjs'
import { startTestSigstore, type TestSigstore } from '../__fixtures__/sigstore.js'

const ATTESTATION = 'https://example.com/provenance/v1'
const RECORD_TYPE = 'application/vnd.image-mirror.record.v1+json'
const BUNDLE = 'application/vnd.dev.sigstore.bundle.v0.3+json'
const WORKFLOW = 'https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v1.2.0'
const GITHUB = 'https://token.actions.githubusercontent.com'

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
/** A test Sigstore whose trusted root the keyless test gives, and a stranger to it. */
let sigstore: TestSigstore
let stranger: TestSigstore
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

/**
 * Replace the signature of a `.sig` tag's layer by one of other bytes (a valid signature by
 * the same key of something else would do as well): the payload and its digest stay.
 */
async function tamperSignature(host: string, repository: string, digest: string): Promise<void> {
  const tag = `${digest.replace(':', '-')}.sig`
  const url = `http://${host}/v2/${repository}/manifests/${tag}`
  const res = await fetch(url, { headers: { accept: ACCEPT } })
  const manifest = (await res.json()) as {
    mediaType: string
    layers: { annotations: Record<string, string> }[]
  }
  const layer = manifest.layers[0]
  if (!layer) throw new Error(`${tag} has no layer`)
  const key = 'dev.cosignproject.cosign/signature'
  const signature = Buffer.from(layer.annotations[key] ?? '', 'base64')
  signature.writeUInt8(signature.readUInt8(signature.length - 3) ^ 0x55, signature.length - 3)
  layer.annotations[key] = signature.toString('base64')
  const put = await fetch(url, {
    method: 'PUT',
    headers: { 'content-type': manifest.mediaType },
    body: JSON.stringify(manifest)
  })
  if (put.status !== 201) throw new Error(`tampering ${tag}: HTTP ${put.status}`)
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
    sigstore = await startTestSigstore()
    stranger = await startTestSigstore()
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
      // An image of its own: signing it again must not change what the other tests count.
      const repository = `library/again-${engine.name}`
      const image = await pushImage(source.host, repository, '1', { seed: `again-${engine.name}` })
      cosign.sign(`${source.host}/${repository}@${image.digest}`, keys)
      for (const target of [source, { name: 'referrers-api', host: api.host } as const]) {
        const prefix = `${engine.name}-again`
        const inputs = {
          images: `${source.host}/${repository}:1`,
          target: `${target.host}/${prefix}`,
          ...engine.inputs(),
          'insecure-registries': `${source.host},${target.host}`
        }
        expect((await runActionAsync(inputs, { timeoutMs: 120_000 })).code).toBe(0)

        // Someone signs upstream again, with another key, after the mirror was made.
        const later = cosign.keys(`later-${engine.name}-${target.name}`)
        cosign.sign(`${source.host}/${repository}@${image.digest}`, later)
        const mirror = `${mirrored(target, prefix, source, repository)}@${image.digest}`
        expect(cosign.verify(mirror, later).code).not.toBe(0)

        tagSchema.clearLog()
        const again = await runActionAsync(inputs, { timeoutMs: 120_000 })
        expect(again.code).toBe(0)
        // Read before cosign is run again (against a mirror on this same registry).
        const requests = tagSchema.requests()
        const [result] = resultsOf(again)
        expect(result).toMatchObject({ status: 'unchanged', attached: { copied: 1 } })
        expect(cosign.verify(mirror, later).code).toBe(0)
        expect(cosign.verify(mirror, keys).code).toBe(0)
        // The image was not read: its tag and digest were only HEADed, never GET. (cosign's
        // own requests, logged late, are not the action's.)
        const imageGets = requests.filter(
          r =>
            r.method === 'GET' &&
            !String(r.userAgent).startsWith('cosign/') &&
            r.path.startsWith(`/v2/${repository}/manifests/`) &&
            (r.path.endsWith('/1') || r.path.endsWith(image.digest))
        )
        expect(imageGets).toEqual([])
      }
    })

    it('the mirror owner’s own signature in the mirror survives a new upstream one', async () => {
      const source = tagSchema
      const repository = `library/owned-${engine.name}`
      const image = await pushImage(source.host, repository, '1', { seed: `owned-${engine.name}` })
      cosign.sign(`${source.host}/${repository}@${image.digest}`, keys, { legacy: true })
      const prefix = `${engine.name}-owned`
      const inputs = {
        images: `${source.host}/${repository}:1`,
        target: `${source.host}/${prefix}`,
        ...engine.inputs(),
        'insecure-registries': source.host
      }
      expect((await runActionAsync(inputs)).code).toBe(0)
      // The mirror's owner signs the mirrored image too (the same `.sig` tag, in the mirror).
      const mirror = `${mirrored({ name: 'tag-schema', host: source.host }, prefix, { name: 'tag-schema', host: source.host }, repository)}@${image.digest}`
      const owner = cosign.keys(`owner-${engine.name}`)
      cosign.sign(mirror, owner, { legacy: true })
      // Then upstream signs again with another key.
      const later = cosign.keys(`owned-later-${engine.name}`)
      cosign.sign(`${source.host}/${repository}@${image.digest}`, later, { legacy: true })

      const again = await runActionAsync(inputs)
      expect(again.code).toBe(0)
      expect(resultsOf(again)[0]).toMatchObject({
        status: 'unchanged',
        attached: { signatures: 3, copied: 1 }
      })
      for (const signer of [keys, later, owner]) {
        expect(cosign.verify(mirror, signer, { legacy: true }).code).toBe(0)
      }
      // A third run finds it current: nothing copied, nothing merged again.
      const third = await runActionAsync(inputs)
      expect(resultsOf(third)[0]).toMatchObject({
        status: 'unchanged',
        attached: { signatures: 3, copied: 0 }
      })
    })

    it('with a signature policy: the signed image is copied and said verified; a tampered signature and an unsigned image are rejected with nothing copied', async () => {
      const source = tagSchema
      const images = seeded.get(source.host) as Seeded
      // A tampered copy of the signed single image: its `.sig` (older format) with a
      // signature of other bytes, and no bundle; and an image nobody signed.
      const tampered = await pushImage(source.host, 'library/tampered', '1', {
        seed: `tampered-${engine.name}`
      })
      cosign.sign(`${source.host}/library/tampered@${tampered.digest}`, keys, { legacy: true })
      await tamperSignature(source.host, 'library/tampered', tampered.digest)
      await pushImage(source.host, 'library/unsigned', '1', { seed: `unsigned-${engine.name}` })

      // The policy and the key, in the workspace as a checkout would hold them.
      const files = {
        'policy.txt': [
          "# every image of these sources must be signed by upstream's key",
          `${source.host}/library/* key=keys/upstream.pub`,
          `${api.host}/library/* key=keys/upstream.pub`
        ].join('\n'),
        'keys/upstream.pub': fs.readFileSync(keys.pub, 'utf8')
      }
      const prefix = `${engine.name}-policy`
      const run = await runActionAsync(
        {
          // The bundle found through the referrers API too (the second source).
          images: [
            ...['single', 'tampered', 'unsigned'].map(name => `${source.host}/library/${name}:1`),
            `${api.host}/library/single:1`
          ].join('\n'),
          target: `${api.host}/${prefix}`,
          ...engine.inputs(),
          'insecure-registries': `${source.host},${api.host}`,
          'verify-policy': 'policy.txt'
        },
        { timeoutMs: 120_000, files }
      )
      expect(run.code).toBe(0)
      const [single, bad, unsigned, viaApi] = resultsOf(run)
      const fromApi = seeded.get(api.host) as Seeded
      expect(viaApi).toMatchObject({
        status: 'copied',
        verified: { digest: fromApi.single.digest, format: 'bundle' }
      })
      expect(single).toMatchObject({
        status: 'copied',
        verified: { digest: images.single.digest, format: 'bundle' }
      })
      expect(single?.verified?.by).toMatch(
        /^key keys\/upstream\.pub \(SHA256:[A-Za-z0-9+/]{43}=\)$/
      )
      expect(bad).toMatchObject({ status: 'rejected' })
      expect(bad?.reason).toMatch(
        /1 signature\(s\) of sha256:[0-9a-f]{64}, none by that key \(or not valid\)/
      )
      expect(unsigned).toMatchObject({ status: 'rejected' })
      expect(unsigned?.reason).toMatch(/no signature of sha256:/)
      expect(unsigned?.reason).toContain('Nothing was copied')
      // Nothing of either is in the mirror: no repository, no tag.
      for (const name of ['tampered', 'unsigned']) {
        const repository = `${prefix}/${source.host.replace(':', '_')}/library/${name}`
        const listed = await fetch(`http://${api.host}/v2/${repository}/tags/list`)
        const tags = listed.ok ? ((await listed.json()) as { tags?: string[] }).tags : []
        expect({ name, tags: tags ?? [] }).toEqual({ name, tags: [] })
      }
      expect(run.summary).toContain('✔ verified: signed by key keys/upstream.pub')
    })

    it('in a matrix run: the plan hands a leg an up-to-date image with a new upstream signature, and carries the policy to legs that check out nothing', async () => {
      const source = tagSchema
      const signed = `library/mx-${engine.name}`
      const unsigned = `library/mx-unsigned-${engine.name}`
      const image = await pushImage(source.host, signed, '1', { seed: `mx-${engine.name}` })
      await pushImage(source.host, unsigned, '1', { seed: `mx-unsigned-${engine.name}` })
      cosign.sign(`${source.host}/${signed}@${image.digest}`, keys)
      const prefix = `${engine.name}-matrix`
      const common = {
        target: `${api.host}/${prefix}`,
        ...engine.inputs(),
        'insecure-registries': `${source.host},${api.host}`
      }
      const first = await runActionAsync({ ...common, images: `${source.host}/${signed}:1` })
      expect(resultsOf(first)[0]?.status).toBe('copied')
      const later = cosign.keys(`matrix-${engine.name}`)
      cosign.sign(`${source.host}/${signed}@${image.digest}`, later)

      const planDir = fs.mkdtempSync(path.join(cosign.dir, 'plan-'))
      const plan = await runActionAsync(
        {
          ...common,
          mode: 'plan',
          'max-legs': '1',
          'results-dir': planDir,
          images: [signed, unsigned].map(name => `${source.host}/${name}:1`).join('\n'),
          'verify-policy': 'policy.txt'
        },
        {
          files: {
            'policy.txt': [signed, unsigned]
              .map(name => `${source.host}/${name} key=keys/upstream.pub`)
              .join('\n'),
            'keys/upstream.pub': fs.readFileSync(keys.pub, 'utf8')
          }
        }
      )
      expect(plan.code).toBe(0)
      const planned = JSON.parse(fs.readFileSync(path.join(planDir, 'plan.json'), 'utf8')) as {
        legs: number[][]
        current?: number[]
        results: { status: string; note?: string }[]
      }
      // Up to date, handed to the leg for its new signature; the other is for the leg to check.
      expect(planned.legs).toEqual([[0, 1]])
      expect(planned.current).toEqual([0])
      expect(planned.results[0]?.note).toMatch(/new upstream: a leg copies them/)

      // The leg: the plan downloaded into a fresh results-dir, no checkout, no policy input.
      const legDir = fs.mkdtempSync(path.join(cosign.dir, 'leg-'))
      fs.copyFileSync(path.join(planDir, 'plan.json'), path.join(legDir, 'plan.json'))
      const leg = await runActionAsync({ ...common, mode: 'copy', leg: '1', 'results-dir': legDir })
      const [again, refused] = resultsOf(leg)
      expect(again).toMatchObject({ status: 'unchanged', attached: { copied: 1 } })
      expect(refused).toMatchObject({ status: 'rejected' })
      expect(refused?.reason).toMatch(/no signature of sha256:/)
      const mirror = `${api.host}/${prefix}/${source.host.replace(':', '_')}/${signed}@${image.digest}`
      expect(cosign.verify(mirror, later).code).toBe(0)
    })

    it('an upstream artifact posing as a mirror record, listed under another type, is left out, not copied', async () => {
      // The source's fallback index lies about the artifact's type (the listing is upstream's
      // word); the manifest itself is typed as the action's own mirror record, which would
      // tell later runs what the mirrored tag holds.
      const source = tagSchema
      const repository = `library/forged-${engine.name}`
      const image = await pushImage(source.host, repository, '1', { seed: `forged-${engine.name}` })
      const base = `http://${source.host}/v2/${repository}`
      const empty = Buffer.from('{}')
      const emptyDigest = `sha256:${createHash('sha256').update(empty).digest('hex')}`
      const upload = await fetch(`${base}/blobs/uploads/`, { method: 'POST' })
      const location = new URL(String(upload.headers.get('location')), base)
      location.searchParams.set('digest', emptyDigest)
      const put = await fetch(location, { method: 'PUT', body: empty })
      expect(put.status).toBe(201)
      const descriptor = {
        mediaType: 'application/vnd.oci.empty.v1+json',
        digest: emptyDigest,
        size: 2
      }
      const forged = Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          artifactType: RECORD_TYPE,
          config: descriptor,
          layers: [descriptor],
          subject: { mediaType: image.mediaType, digest: image.digest, size: image.size },
          annotations: { 'io.github.image-mirror.record': '{"source":"x"}' }
        })
      )
      const forgedDigest = `sha256:${createHash('sha256').update(forged).digest('hex')}`
      const putManifest = (reference: string, type: string, body: Buffer) =>
        fetch(`${base}/manifests/${reference}`, {
          method: 'PUT',
          headers: { 'content-type': type },
          body
        })
      expect(
        (await putManifest(forgedDigest, 'application/vnd.oci.image.manifest.v1+json', forged))
          .status
      ).toBe(201)
      const index = Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: 'application/vnd.oci.image.index.v1+json',
          manifests: [
            {
              mediaType: 'application/vnd.oci.image.manifest.v1+json',
              digest: forgedDigest,
              size: forged.length,
              artifactType: 'application/spdx+json'
            }
          ]
        })
      )
      const tag = image.digest.replace(':', '-')
      expect(
        (await putManifest(tag, 'application/vnd.oci.image.index.v1+json', index)).status
      ).toBe(201)

      const prefix = `${engine.name}-forged`
      const run = await runActionAsync({
        images: `${source.host}/${repository}:1`,
        target: `${api.host}/${prefix}`,
        ...engine.inputs(),
        'insecure-registries': `${source.host},${api.host}`
      })
      expect(run.code).toBe(0)
      const [result] = resultsOf(run)
      expect(result?.status).toBe('copied')
      expect(result?.note).toMatch(
        /1 referrer\(s\) left out: .*typed as a mirror record; not copied/
      )
      // Nothing of it in the mirror: not by digest, not among the image's referrers.
      const mirror = `http://${api.host}/v2/${prefix}/${source.host.replace(':', '_')}/${repository}`
      const head = await fetch(`${mirror}/manifests/${forgedDigest}`, {
        method: 'HEAD',
        headers: { accept: ACCEPT }
      })
      expect(head.status).toBe(404)
      const listed = (await (await fetch(`${mirror}/referrers/${image.digest}`)).json()) as {
        manifests: unknown[]
      }
      expect(listed.manifests).toEqual([])
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
        attached: { signatures: 1, attestations: 0, sboms: 0, indexLeftOut: images.multi.digest }
      })
      const mirror = mirrored(target, prefix, source, 'library/multi')
      expect(cosign.verify(`${mirror}@${arm64}`, keys, { legacy: true }).code).toBe(0)
    })

    it('keyless: identities verified against a trusted root in both formats and both kinds; another identity and another Sigstore are rejected with nothing copied', async () => {
      const tags = { name: 'tag-schema', host: tagSchema.host } as const
      const withApi = { name: 'referrers-api', host: api.host } as const
      const released = { identity: WORKFLOW, issuer: GITHUB }
      const bundleOf = async (
        source: Kind,
        name: string,
        by: TestSigstore,
        signer: { identity: string; issuer: string }
      ) => {
        const repository = `keyless/${name}-${engine.name}`
        const image = await pushImage(source.host, repository, '1', {
          seed: `${name}-${engine.name}`
        })
        const bundle = await by.bundle(`${source.host}/${repository}`, image.digest, signer)
        await pushReferrer(
          source.host,
          repository,
          image,
          {
            artifactType: BUNDLE,
            mediaType: BUNDLE,
            bytes: JSON.stringify(bundle),
            annotations: {
              'dev.sigstore.bundle.content': 'dsse-envelope',
              'dev.sigstore.bundle.predicateType': 'https://sigstore.dev/cosign/sign/v1'
            }
          },
          { fallback: source.name === 'tag-schema' }
        )
        return { image, reference: `${source.host}/${repository}:1`, repository }
      }
      // cosign 3's bundle, found through the referrers API and through the tag schema.
      const viaApi = await bundleOf(withApi, 'api', sigstore, released)
      const viaTags = await bundleOf(tags, 'tags', sigstore, released)
      // cosign 2's keyless `.sig`, written by cosign itself.
      const legacyRepository = `keyless/legacy-${engine.name}`
      const legacy = await pushImage(tags.host, legacyRepository, '1', {
        seed: `keyless/legacy-${engine.name}`
      })
      cosign.attachSignature(
        `${tags.host}/${legacyRepository}@${legacy.digest}`,
        await sigstore.legacy(`${tags.host}/${legacyRepository}`, legacy.digest, released)
      )
      // Signed, and valid, but by a look-alike identity; and by the right one in another Sigstore.
      const other = await bundleOf(tags, 'other', sigstore, {
        identity: `${WORKFLOW}-evil`,
        issuer: GITHUB
      })
      const foreign = await bundleOf(tags, 'foreign', stranger, released)

      const files = {
        'policy.txt': [tags.host, api.host]
          .map(host => `${host}/keyless/* identity=${WORKFLOW} issuer=${GITHUB}`)
          .join('\n'),
        'sigstore/trusted_root.json': JSON.stringify(sigstore.trustedRoot)
      }
      const prefix = `${engine.name}-keyless`
      const run = await runActionAsync(
        {
          images: [
            viaApi.reference,
            viaTags.reference,
            `${tags.host}/${legacyRepository}:1`,
            other.reference,
            foreign.reference
          ].join('\n'),
          target: `${api.host}/${prefix}`,
          ...engine.inputs(),
          'insecure-registries': `${tags.host},${api.host}`,
          'verify-policy': 'policy.txt',
          'verify-trusted-root': 'sigstore/trusted_root.json'
        },
        { timeoutMs: 120_000, files }
      )
      expect({ code: run.code, out: run.code === 0 ? '' : run.stdout.slice(-4000) }).toEqual({
        code: 0,
        out: ''
      })
      const [apiResult, tagsResult, legacyResult, otherResult, foreignResult] = resultsOf(run)
      const by = `identity ${WORKFLOW} (issuer ${GITHUB})`
      expect(apiResult).toMatchObject({
        status: 'copied',
        verified: {
          digest: viaApi.image.digest,
          by,
          identity: WORKFLOW,
          issuer: GITHUB,
          format: 'bundle'
        },
        attached: { signatures: 1 }
      })
      expect(tagsResult).toMatchObject({
        status: 'copied',
        verified: { digest: viaTags.image.digest, by, format: 'bundle' }
      })
      expect(legacyResult).toMatchObject({
        status: 'copied',
        verified: { digest: legacy.digest, by, format: 'simple signing' }
      })
      expect(otherResult).toMatchObject({ status: 'rejected' })
      expect(otherResult?.reason).toContain(
        `none by that identity (signed by identity ${WORKFLOW}-evil (issuer ${GITHUB}), which the policy does not name)`
      )
      expect(foreignResult).toMatchObject({ status: 'rejected' })
      expect(foreignResult?.reason).toMatch(
        /none by that identity \(1 keyless signature\(s\) not valid against the trusted root/
      )
      for (const rejected of [other, foreign]) {
        const repository = `${prefix}/${tags.host.replace(':', '_')}/${rejected.repository}`
        const listed = await fetch(`http://${api.host}/v2/${repository}/tags/list`)
        const found = listed.ok ? ((await listed.json()) as { tags?: string[] }).tags : []
        expect({ repository, tags: found ?? [] }).toEqual({ repository, tags: [] })
      }

      // cosign verifies the mirror against the same trusted root, offline, both formats.
      const root = path.join(cosign.dir, 'trusted_root.json')
      fs.writeFileSync(root, JSON.stringify(sigstore.trustedRoot))
      const keyless = { trustedRoot: root, identity: WORKFLOW, issuer: GITHUB }
      const checks = [
        cosign.verifyKeyless(
          `${mirrored(withApi, prefix, withApi, viaApi.repository)}@${viaApi.image.digest}`,
          keyless
        ),
        cosign.verifyKeyless(
          `${mirrored(withApi, prefix, tags, viaTags.repository)}@${viaTags.image.digest}`,
          keyless
        ),
        cosign.verifyKeyless(
          `${mirrored(withApi, prefix, tags, legacyRepository)}@${legacy.digest}`,
          { ...keyless, legacy: true }
        )
      ]
      expect(checks.filter(c => c.code !== 0).map(c => c.output)).toEqual([])
      // The summary's verify line names the signer, as cosign takes it.
      // (The summary breaks links and mentions: `https:\u2060//`, `&#64;\u2060`.)
      expect(run.summary).toContain(
        '✔ verified: signed by identity https:\u2060//github.com/acme/app/'
      )
      expect(run.summary).toContain(
        `cosign verify --trusted-root sigstore/trusted_root.json --certificate-identity ${WORKFLOW} --certificate-oidc-issuer ${GITHUB} ${mirrored(withApi, prefix, withApi, viaApi.repository)}@${viaApi.image.digest}`
      )
    })
  })
})
