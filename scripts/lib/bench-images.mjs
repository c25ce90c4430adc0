// Images for `npm run bench`, pushed through the registry HTTP API with a
// keep-alive client: many tiny images for planning (one shared layer per
// repository, a manifest per tag), and a copy set of large images with shared
// base layers, whose layers are written to disk as a stream of pseudo-random
// (incompressible) bytes and uploaded from disk, so no layer is ever held in
// memory whole. Everything is deterministic: the same options give the same
// digests. Types in bench-images.d.mts.
import { createCipheriv, createHash } from 'node:crypto'
import * as fs from 'node:fs'
import * as http from 'node:http'
import * as path from 'node:path'
import { pipeline } from 'node:stream/promises'
import { createGzip, gzipSync } from 'node:zlib'
import { ACCEPT, tarHeader } from './seed-images.mjs'

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json'
const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json'
const OCI_LAYER = 'application/vnd.oci.image.layer.v1.tar+gzip'
const MiB = 1024 * 1024

const sha256 = bytes => `sha256:${createHash('sha256').update(bytes).digest('hex')}`

/**
 * A keep-alive HTTP/1.1 client for one registry (plain HTTP, loopback), at
 * most `connections` sockets. Bodies may be Buffers or readable streams.
 */
export function registryClient(host, { connections = 8 } = {}) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections })
  const [hostname, port] = host.split(':')
  /** Send a request; resolves with { status, headers, body } (body read to the end). */
  function send(method, target, { headers = {}, body, stream = false } = {}) {
    return new Promise((resolve, reject) => {
      const req = http.request(
        { agent, host: hostname, port: Number(port), method, path: target, headers },
        res => {
          if (stream) return resolve(res)
          const chunks = []
          res.on('data', chunk => chunks.push(chunk))
          res.on('error', reject)
          res.on('end', () =>
            resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) })
          )
        }
      )
      req.on('error', reject)
      if (body && typeof body.pipe === 'function') {
        body.once('error', error => req.destroy(error))
        body.pipe(req)
      } else {
        req.end(body)
      }
    })
  }
  const expect = async (promise, what, ...ok) => {
    const res = await promise
    if (!ok.includes(res.status)) {
      throw new Error(`${what}: HTTP ${res.status} ${res.body?.toString('utf8').slice(0, 200)}`)
    }
    return res
  }

  /** Monolithic upload (POST, then PUT with the whole body); skipped when the repository has it. */
  async function pushBlob(repository, blob) {
    const head = await send('HEAD', `/v2/${repository}/blobs/${blob.digest}`)
    if (head.status === 200) return 'present'
    const start = await expect(
      send('POST', `/v2/${repository}/blobs/uploads/`),
      `starting an upload to ${repository}`,
      202
    )
    const location = new URL(start.headers.location, `http://${host}`)
    location.searchParams.set('digest', blob.digest)
    const body = blob.bytes ?? (await blob.open())
    await expect(
      send('PUT', location.pathname + location.search, {
        headers: { 'content-type': 'application/octet-stream', 'content-length': blob.size },
        body
      }),
      `uploading ${blob.digest} to ${repository}`,
      201
    )
    return 'uploaded'
  }

  /** Cross-repository mount; falls back to an upload when the registry declines. */
  async function mountBlob(repository, from, blob) {
    const res = await send(
      'POST',
      `/v2/${repository}/blobs/uploads/?mount=${blob.digest}&from=${encodeURIComponent(from)}`
    )
    if (res.status === 201) return 'mounted'
    return pushBlob(repository, blob)
  }

  function pushManifest(repository, reference, bytes, mediaType = OCI_MANIFEST) {
    return expect(
      send('PUT', `/v2/${repository}/manifests/${reference}`, {
        headers: { 'content-type': mediaType, 'content-length': bytes.length },
        body: bytes
      }),
      `pushing ${repository}:${reference}`,
      201
    )
  }

  /** The digest of a manifest from a HEAD (as the action asks), or undefined when absent. */
  async function headManifest(repository, reference) {
    const res = await send('HEAD', `/v2/${repository}/manifests/${reference}`, {
      headers: { accept: ACCEPT }
    })
    if (res.status === 404) return undefined
    if (res.status !== 200) throw new Error(`HEAD ${repository}:${reference}: HTTP ${res.status}`)
    return res.headers['docker-content-digest']
  }

  return {
    host,
    send,
    pushBlob,
    mountBlob,
    pushManifest,
    headManifest,
    close: () => agent.destroy()
  }
}

/** Run `work(item)` over items with at most `limit` at once. */
export async function eachLimit(items, limit, work) {
  let next = 0
  const worker = async () => {
    while (next < items.length) {
      const index = next++
      await work(items[index], index)
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
}

function configFor(diffIds, label, architecture = 'amd64') {
  return Buffer.from(
    JSON.stringify({
      architecture,
      os: 'linux',
      created: '2026-01-01T00:00:00Z',
      config: { Cmd: ['/bin/sh'], Labels: { 'bench.image': label } },
      rootfs: { type: 'layers', diff_ids: diffIds }
    })
  )
}

function manifestFor(config, layers, annotations) {
  return Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: OCI_CONFIG, digest: config.digest, size: config.size },
      layers: layers.map(l => ({ mediaType: OCI_LAYER, digest: l.digest, size: l.size })),
      ...(annotations ? { annotations } : {})
    })
  )
}

const inMemory = bytes => ({ bytes, digest: sha256(bytes), size: bytes.length })

/** `bench/app-007:v3` style names: `count` images over repositories of `perRepository` tags. */
export function planningImages(count, perRepository = 10) {
  return Array.from({ length: count }, (_, i) => ({
    repository: `bench/app-${String(Math.floor(i / perRepository)).padStart(4, '0')}`,
    tag: `v${i % perRepository}`
  }))
}

/**
 * Push tiny single-platform images (one shared layer and config per
 * repository, a distinct manifest per tag) under `prefix` + repository on
 * each host. The same image gets the same digest everywhere, so a host
 * seeded this way holds an up-to-date mirror. Returns the digests.
 */
export async function seedPlanningImages(host, images, { prefix = '', connections = 8 } = {}) {
  const client = registryClient(host, { connections })
  const byRepository = new Map()
  for (const image of images) {
    byRepository.set(image.repository, [...(byRepository.get(image.repository) ?? []), image])
  }
  const digests = new Map()
  try {
    await eachLimit([...byRepository], connections, async ([repository, tags]) => {
      const name = `${prefix}${repository}`
      const tar = Buffer.from(`${repository}\n`.padEnd(1024, '.'))
      const layer = inMemory(gzipSync(tar))
      const config = inMemory(configFor([sha256(tar)], repository))
      await client.pushBlob(name, config)
      await client.pushBlob(name, layer)
      for (const { tag } of tags) {
        const manifest = manifestFor(config, [layer], { 'bench.image': `${repository}:${tag}` })
        await client.pushManifest(name, tag, manifest)
        digests.set(`${repository}:${tag}`, sha256(manifest))
      }
    })
  } finally {
    client.close()
  }
  return digests
}

/** A tar of one file of `size` pseudo-random bytes (AES-CTR keystream of the seed), in 1 MiB chunks. */
async function* randomTar(size, seed) {
  const key = createHash('sha256').update(seed).digest().subarray(0, 16)
  const cipher = createCipheriv('aes-128-ctr', key, Buffer.alloc(16))
  const zeros = Buffer.alloc(MiB)
  yield tarHeader('data.bin', size)
  for (let left = size; left > 0; left -= MiB) {
    yield cipher.update(left >= MiB ? zeros : zeros.subarray(0, left))
  }
  yield Buffer.alloc(((512 - (size % 512)) % 512) + 1024)
}

/**
 * Write a gzip'd tar layer of `size` random bytes to `file`, streaming (gzip
 * level 0: random data does not compress, and the bytes are what is copied).
 */
export async function writeLayer(file, size, seed) {
  const diff = createHash('sha256')
  const compressed = createHash('sha256')
  let length = 0
  await pipeline(
    randomTar(size, seed),
    async function* (source) {
      for await (const chunk of source) {
        diff.update(chunk)
        yield chunk
      }
    },
    createGzip({ level: 0 }),
    async function* (source) {
      for await (const chunk of source) {
        compressed.update(chunk)
        length += chunk.length
        yield chunk
      }
    },
    fs.createWriteStream(file)
  )
  return {
    file,
    digest: `sha256:${compressed.digest('hex')}`,
    diffId: `sha256:${diff.digest('hex')}`,
    size: length,
    open: () => fs.createReadStream(file, { highWaterMark: MiB })
  }
}

const OCI_INDEX = 'application/vnd.oci.image.index.v1+json'

/**
 * Image families as registries hold them: a base, runtimes built on it, and
 * each image's own application layer on top (MiB; arm64 children get layers
 * of their own, alike in size).
 */
const FAMILIES = {
  debian: { base: 28, runtimes: { python: 18, node: 14, jre: 32 } },
  alpine: { base: 3.2, runtimes: { go: 6, nginx: 2.5 } },
  distroless: { base: 1.9, runtimes: { cc: 0.8, static: 0 } }
}

/** Repositories by family and runtime, in the order they are numbered (24 in all). */
const REPOSITORIES = [
  ...Array(5).fill(['debian', 'python']),
  ...Array(4).fill(['debian', 'node']),
  ...Array(3).fill(['debian', 'jre']),
  ...Array(4).fill(['alpine', 'go']),
  ...Array(3).fill(['alpine', 'nginx']),
  ...Array(3).fill(['distroless', 'cc']),
  ...Array(2).fill(['distroless', 'static'])
]

/** Application layers, cycled over images: 1 KiB to 8 MiB; two images carry 50 MiB (a model). */
const APP_MIB = [0.001, 0.004, 0.03, 0.2, 0.6, 1.5, 3, 5, 8]

/**
 * The copy set, shaped like a real mirror list: `images` images (default 72)
 * over 24 repositories of 3 tags, in three families that share base and
 * runtime layers, every ninth image multi-platform (linux/amd64 and
 * linux/arm64), layers from 1 KiB to 50 MiB. `scale` shrinks every size
 * (a quick run). Each platform is a list of layers by key: one key, one blob.
 */
export function copySetPlan({ images = 72, perRepository = 3, scale = 1 } = {}) {
  return Array.from({ length: images }, (_, i) => {
    const r = Math.floor(i / perRepository) % REPOSITORIES.length
    const [family, runtime] = REPOSITORIES[r]
    const { base, runtimes } = FAMILIES[family]
    const appMiB = i % 36 === 7 ? 50 : APP_MIB[i % APP_MIB.length]
    const platform = arch => ({
      arch,
      layers: [
        { key: `${family}-base-${arch}`, mib: base * scale },
        ...(runtimes[runtime]
          ? [{ key: `${family}-${runtime}-${arch}`, mib: runtimes[runtime] * scale }]
          : []),
        { key: `app-${i}-${arch}`, mib: Math.max(appMiB * scale, 0.001) }
      ]
    })
    return {
      repository: `bench/${family}-${runtime}-${String(r).padStart(2, '0')}`,
      tag: `v${i % perRepository}`,
      family,
      platforms: i % 9 === 0 ? [platform('amd64'), platform('arm64')] : [platform('amd64')]
    }
  })
}

/**
 * Write the copy set's layers under `dir` (each distinct layer once) and push
 * it to `host`. Returns the images (digest, top manifest and its type, the
 * children of an index, every blob the image needs) and the unique bytes
 * (every distinct blob and manifest once) and logical bytes (per image, shared
 * layers counted again).
 */
export async function seedCopySet(host, dir, plan, { connections = 4, log = () => {} } = {}) {
  fs.mkdirSync(dir, { recursive: true })
  const layers = new Map()
  const users = new Map()
  for (const image of plan) {
    for (const { layers: list } of image.platforms) {
      for (const { key, mib } of list) {
        if (!layers.has(key)) {
          layers.set(
            key,
            await writeLayer(path.join(dir, `${key}.tar.gz`), Math.round(mib * MiB), key)
          )
        }
        users.set(key, new Set([...(users.get(key) ?? []), image]))
      }
    }
  }
  const images = plan.map(image => {
    const children = image.platforms.map(({ arch, layers: list }) => {
      const own = list.map(l => layers.get(l.key))
      const config = inMemory(
        configFor(
          own.map(l => l.diffId),
          `${image.repository}:${image.tag}`,
          arch
        )
      )
      const manifest = manifestFor(config, own)
      return {
        arch,
        manifest,
        digest: sha256(manifest),
        blobs: [config, ...own],
        keys: list.map(l => l.key)
      }
    })
    if (children.length === 1) {
      const [only] = children
      return {
        ...image,
        manifest: only.manifest,
        mediaType: OCI_MANIFEST,
        digest: only.digest,
        children: [],
        blobs: only.blobs,
        keys: only.keys
      }
    }
    const index = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_INDEX,
        manifests: children.map(c => ({
          mediaType: OCI_MANIFEST,
          digest: c.digest,
          size: c.manifest.length,
          platform: { os: 'linux', architecture: c.arch }
        }))
      })
    )
    const blobs = [...new Map(children.flatMap(c => c.blobs).map(b => [b.digest, b])).values()]
    return {
      ...image,
      manifest: index,
      mediaType: OCI_INDEX,
      digest: sha256(index),
      children,
      blobs,
      keys: children.flatMap(c => c.keys)
    }
  })
  log(`wrote ${layers.size} layers to ${dir}`)

  const client = registryClient(host, { connections })
  const shared = new Set([...users].filter(([, u]) => u.size > 1).map(([key]) => key))
  try {
    // Shared layers first, each uploaded once and mounted into every other repository that
    // needs it, one request at a time: distribution 2.8 rewrites a repository's link file on
    // every mount or upload, and a manifest PUT racing such a rewrite reads it empty.
    const home = new Map()
    const held = new Set()
    for (const image of images) {
      for (const key of image.keys.filter(k => shared.has(k))) {
        if (held.has(`${image.repository} ${key}`)) continue
        const blob = layers.get(key)
        if (home.has(key)) await client.mountBlob(image.repository, home.get(key), blob)
        else {
          await client.pushBlob(image.repository, blob)
          home.set(key, image.repository)
        }
        held.add(`${image.repository} ${key}`)
      }
    }
    await eachLimit(images, connections, async image => {
      const own = image.children.length > 0 ? image.children : [image]
      for (const child of own) {
        for (const [n, blob] of child.blobs.entries()) {
          if (n === 0 || !shared.has(child.keys[n - 1]))
            await client.pushBlob(image.repository, blob)
        }
        if (child !== image)
          await client.pushManifest(image.repository, child.digest, child.manifest)
      }
      await client.pushManifest(image.repository, image.tag, image.manifest, image.mediaType)
    })
  } finally {
    client.close()
  }
  const unique = new Map()
  let logical = 0
  for (const image of images) {
    for (const blob of image.blobs) {
      unique.set(blob.digest, blob.size)
      logical += blob.size
    }
    for (const { digest, manifest } of [image, ...image.children]) {
      unique.set(digest, manifest.length)
      logical += manifest.length
    }
  }
  const uniqueBytes = [...unique.values()].reduce((a, b) => a + b, 0)
  const blobBytes = [
    ...new Map(images.flatMap(i => i.blobs).map(b => [b.digest, b.size])).values()
  ].reduce((a, b) => a + b, 0)
  return { images, uniqueBytes, blobBytes, logicalBytes: logical }
}
