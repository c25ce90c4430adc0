// Build small but real container images and push them through the registry
// HTTP API (no Docker daemon): gzip'd tar layers, configs, image manifests and
// indexes with correct sizes, digests and media types. Types in seed-images.d.mts.
import { createHash } from 'node:crypto'
import { gzipSync } from 'node:zlib'

const OCI = {
  index: 'application/vnd.oci.image.index.v1+json',
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  config: 'application/vnd.oci.image.config.v1+json',
  layer: 'application/vnd.oci.image.layer.v1.tar+gzip'
}
const DOCKER = {
  index: 'application/vnd.docker.distribution.manifest.list.v2+json',
  manifest: 'application/vnd.docker.distribution.manifest.v2+json',
  config: 'application/vnd.docker.container.image.v1+json',
  layer: 'application/vnd.docker.image.rootfs.diff.tar.gzip'
}
export const ACCEPT = [OCI.index, DOCKER.index, OCI.manifest, DOCKER.manifest].join(', ')

const digestOf = bytes => `sha256:${createHash('sha256').update(bytes).digest('hex')}`

/** A one-entry ustar header for a file of `size` bytes. */
export function tarHeader(name, size) {
  const header = Buffer.alloc(512)
  const put = (text, offset, length) => header.write(text, offset, length, 'ascii')
  put(name, 0, 100)
  put('0000644\0', 100, 8)
  put('0000000\0', 108, 8)
  put('0000000\0', 116, 8)
  put(`${size.toString(8).padStart(11, '0')}\0`, 124, 12)
  put('00000000000\0', 136, 12)
  put('        ', 148, 8)
  put('0', 156, 1)
  put('ustar\0', 257, 6)
  put('00', 263, 2)
  let sum = 0
  for (const byte of header) sum += byte
  put(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8)
  return header
}

/** A one-file ustar archive. */
function tarOf(name, content) {
  const data = Buffer.from(content)
  const padding = Buffer.alloc((512 - (data.length % 512)) % 512)
  return Buffer.concat([tarHeader(name, data.length), data, padding, Buffer.alloc(1024)])
}

function authHeader(auth) {
  return auth
    ? {
        authorization: `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`
      }
    : {}
}

/** Throw on an error status; otherwise read the body to the end (frees the connection). */
async function check(res, what, keepBody = false) {
  if (res.ok) {
    if (!keepBody) await res.arrayBuffer()
    return res
  }
  const body = await res.text().catch(() => '')
  const error = new Error(`${what}: HTTP ${res.status} ${body.slice(0, 200)}`)
  error.status = res.status
  throw error
}

async function pushBlob(base, repository, bytes, auth) {
  const digest = digestOf(bytes)
  const head = await fetch(`${base}/v2/${repository}/blobs/${digest}`, {
    method: 'HEAD',
    headers: authHeader(auth)
  })
  await head.arrayBuffer()
  if (head.status === 200) return digest
  const start = await check(
    await fetch(`${base}/v2/${repository}/blobs/uploads/`, {
      method: 'POST',
      headers: authHeader(auth)
    }),
    `starting a blob upload to ${repository}`
  )
  const location = new URL(start.headers.get('location'), base)
  location.searchParams.set('digest', digest)
  await check(
    await fetch(location, {
      method: 'PUT',
      headers: { ...authHeader(auth), 'content-type': 'application/octet-stream' },
      body: bytes
    }),
    `uploading ${digest} to ${repository}`
  )
  return digest
}

async function pushManifest(base, repository, reference, mediaType, bytes, auth) {
  await check(
    await fetch(`${base}/v2/${repository}/manifests/${reference}`, {
      method: 'PUT',
      headers: { ...authHeader(auth), 'content-type': mediaType },
      body: bytes
    }),
    `pushing ${repository}:${reference}`
  )
  return digestOf(bytes)
}

/** Push one image for one platform; returns its manifest's digest, size and type. */
async function pushSingle(base, repository, reference, platform, seed, types, auth) {
  const [os, architecture, variant] = platform.split('/')
  const tar = tarOf('hello.txt', `${seed} ${platform}\n`)
  const layer = gzipSync(tar)
  const config = Buffer.from(
    JSON.stringify({
      architecture,
      os,
      ...(variant ? { variant } : {}),
      created: '2026-01-01T00:00:00Z',
      config: { Cmd: ['/bin/sh'] },
      rootfs: { type: 'layers', diff_ids: [digestOf(tar)] }
    })
  )
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: types.manifest,
      config: {
        mediaType: types.config,
        digest: await pushBlob(base, repository, config, auth),
        size: config.length
      },
      layers: [
        {
          mediaType: types.layer,
          digest: await pushBlob(base, repository, layer, auth),
          size: layer.length
        }
      ]
    })
  )
  const digest = await pushManifest(
    base,
    repository,
    reference ?? digestOf(manifest),
    types.manifest,
    manifest,
    auth
  )
  return { digest, size: manifest.length, mediaType: types.manifest }
}

/** Push a single-platform image, or an index of one image per platform, under a tag. */
export async function pushImage(host, repository, tag, options = {}) {
  const base = `http://${host}`
  const types = options.format === 'docker' ? DOCKER : OCI
  const seed = options.seed ?? `${repository}:${tag}`
  if (!options.platforms) {
    const image = await pushSingle(base, repository, tag, 'linux/amd64', seed, types, options.auth)
    return { ...image, children: [] }
  }
  const children = []
  const entries = []
  for (const platform of options.platforms) {
    const child = await pushSingle(base, repository, undefined, platform, seed, types, options.auth)
    const [os, architecture, variant] = platform.split('/')
    children.push({ platform, digest: child.digest })
    entries.push({
      mediaType: child.mediaType,
      digest: child.digest,
      size: child.size,
      platform: { architecture, os, ...(variant ? { variant } : {}) }
    })
  }
  const index = Buffer.from(
    JSON.stringify({ schemaVersion: 2, mediaType: types.index, manifests: entries })
  )
  const digest = await pushManifest(base, repository, tag, types.index, index, options.auth)
  return { digest, mediaType: types.index, size: index.length, children }
}

/** The digest a tag or digest resolves to (HEAD), or undefined when absent. */
export async function headDigest(host, repository, reference, auth) {
  const res = await fetch(`http://${host}/v2/${repository}/manifests/${reference}`, {
    method: 'HEAD',
    headers: { ...authHeader(auth), accept: ACCEPT }
  })
  if (res.status === 404) {
    await res.arrayBuffer()
    return undefined
  }
  await check(res, `HEAD ${repository}:${reference}`)
  return res.headers.get('docker-content-digest') ?? undefined
}

/** A manifest, parsed, with its digest and media type. */
export async function getManifest(host, repository, reference, auth) {
  const res = await check(
    await fetch(`http://${host}/v2/${repository}/manifests/${reference}`, {
      headers: { ...authHeader(auth), accept: ACCEPT }
    }),
    `GET ${repository}:${reference}`,
    true
  )
  const bytes = Buffer.from(await res.arrayBuffer())
  return {
    digest: res.headers.get('docker-content-digest') ?? digestOf(bytes),
    mediaType: (res.headers.get('content-type') ?? '').split(';')[0],
    manifest: JSON.parse(bytes.toString('utf8'))
  }
}

/**
 * Put the manifest `from` points to under more tags of the same repository,
 * one PUT each: seeding thousands of tags of one image without re-sending blobs.
 */
export async function tagImage(host, repository, from, tags, auth) {
  const res = await check(
    await fetch(`http://${host}/v2/${repository}/manifests/${from}`, {
      headers: { ...authHeader(auth), accept: ACCEPT }
    }),
    `GET ${repository}:${from}`,
    true
  )
  const mediaType = (res.headers.get('content-type') ?? '').split(';')[0]
  const bytes = Buffer.from(await res.arrayBuffer())
  for (const tag of tags)
    await pushManifest(`http://${host}`, repository, tag, mediaType, bytes, auth)
  return digestOf(bytes)
}

/**
 * Push an artifact about `subject` (an OCI manifest with `subject`, one layer), as cosign 3
 * pushes a bundle: a registry with the referrers API lists it from the `subject`; for one
 * without, `fallback` also writes the `sha256-<hex>` index listing it (replacing any there,
 * so for images with no other referrers). Returns the artifact's digest.
 */
export async function pushReferrer(host, repository, subject, artifact, options = {}) {
  const base = `http://${host}`
  const empty = Buffer.from('{}')
  const emptyDigest = await pushBlob(base, repository, empty, options.auth)
  const layer = Buffer.from(artifact.bytes)
  const layerDigest = await pushBlob(base, repository, layer, options.auth)
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI.manifest,
      artifactType: artifact.artifactType,
      config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: emptyDigest, size: 2 },
      layers: [{ mediaType: artifact.mediaType, digest: layerDigest, size: layer.length }],
      annotations: artifact.annotations ?? {},
      subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size }
    })
  )
  const digest = digestOf(manifest)
  await pushManifest(base, repository, digest, OCI.manifest, manifest, options.auth)
  if (options.fallback) {
    const index = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI.index,
        manifests: [
          {
            mediaType: OCI.manifest,
            digest,
            size: manifest.length,
            artifactType: artifact.artifactType,
            annotations: artifact.annotations ?? {}
          }
        ]
      })
    )
    const tag = subject.digest.replace(':', '-')
    await pushManifest(base, repository, tag, OCI.index, index, options.auth)
  }
  return digest
}
