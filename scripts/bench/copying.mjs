// Copying figures: the action per engine and concurrency, beside the tool by hand and raw blobs.
import * as fs from 'node:fs'
import * as path from 'node:path'
import { copySetPlan, eachLimit, registryClient, seedCopySet } from '../lib/bench-images.mjs'
import { buildCrane, CRANE_VERSION, startReleaseServer } from '../lib/crane-release.mjs'
import { buildRegsync, REGSYNC_VERSION } from '../lib/go-tools.mjs'
import { measureLink, startWanProxy } from '../lib/wan-proxy.mjs'
import { startRegistry } from '../lib/local-registry.mjs'
import { runAction } from '../lib/run-action.mjs'
import { log, logText, MB, mirrorPath, round, settled, skopeoCopyArgs } from './common.mjs'
import { runPeer, runPeers } from './peers.mjs'

/** The action's concurrencies measured; the table shows a row for each. */
export const COPY_CONCURRENCY = [1, 4, 8]

/** The peer copy for crane: `crane copy` of one image into its mirror path (all platforms, digest kept). */
function craneCopyArgs(sourceHost, targetHost, image) {
  return [
    'copy',
    `${sourceHost}/${image.repository}:${image.tag}`,
    `${targetHost}/${mirrorPath(sourceHost, image.repository)}:${image.tag}`,
    '--insecure'
  ]
}

/** The machine's CPU counters (all cores): busy and total ticks, from /proc/stat. */
function cpuTicks() {
  try {
    const line = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]
    const ticks = line.trim().split(/\s+/).slice(1).map(Number)
    const total = ticks.reduce((a, b) => a + b, 0)
    return { busy: total - ticks[3] - ticks[4], total }
  } catch {
    return undefined
  }
}

/** Uploads and mounts the target received, from its access log. */
function uploads(entries) {
  return {
    blobUploads: entries.filter(e => e.method === 'PUT' && /\/blobs\/uploads\//.test(e.path))
      .length,
    mounts: entries.filter(e => e.method === 'POST' && /mount=/.test(e.path) && e.status === 201)
      .length
  }
}

/**
 * The raw ceiling of a copy on this machine and these registries: every
 * distinct blob streamed once from a GET on the source into a PUT on the
 * target (`connections` at once), mounted where another repository needs it,
 * then the manifests. No tool, no verification beyond the registry's own.
 */
async function rawCopy(source, target, set, connections) {
  const src = registryClient(source.host, { connections })
  const dst = registryClient(target.host, { connections })
  // digest → the repository it was first uploaded to; `repository digest` → its arrival there.
  // One upload or mount per blob and repository: concurrent ones race in distribution 2.8.
  const homes = new Map()
  const arrivals = new Map()
  try {
    await eachLimit(set.images, connections, async image => {
      const into = mirrorPath(source.host, image.repository)
      for (const blob of image.blobs) {
        const key = `${into} ${blob.digest}`
        if (!arrivals.has(key)) {
          const home = homes.get(blob.digest)
          const arrival = home
            ? home.then(from => dst.mountBlob(into, from, blob))
            : dst.pushBlob(into, {
                ...blob,
                bytes: undefined,
                open: async () => {
                  const res = await src.send(
                    'GET',
                    `/v2/${image.repository}/blobs/${blob.digest}`,
                    { stream: true }
                  )
                  if (res.statusCode !== 200) throw new Error(`GET blob: HTTP ${res.statusCode}`)
                  return res
                }
              })
          if (!home)
            homes.set(
              blob.digest,
              arrival.then(() => into)
            )
          arrivals.set(key, arrival)
        }
        await arrivals.get(key)
      }
      await dst.pushManifest(into, image.tag, image.manifest)
    })
  } finally {
    src.close()
    dst.close()
  }
}

async function verifyCopy(target, sourceHost, set, layout = mirrorPath) {
  const client = registryClient(target.host)
  try {
    for (const image of set.images) {
      const digest = await client.headManifest(layout(sourceHost, image.repository), image.tag)
      if (digest !== image.digest) {
        throw new Error(
          `${image.repository}:${image.tag} on the target is ${digest}, not ${image.digest}`
        )
      }
    }
  } finally {
    client.close()
  }
}

/** The WAN profile: between the tools and each registry, as a runner far from both. */
export const WAN = { rttMs: 40, mbitPerSecond: 200 }

/**
 * The copying figures on one network: `loopback`, or `wan`, where every registry is reached
 * through a proxy that delays and paces (scripts/lib/wan-proxy.mjs) and the link it gave is
 * measured and returned with the figures.
 */
export async function benchCopying(options, work, network = 'loopback') {
  const { engines: ENGINES, quick, copyImages: COPY_IMAGES, dist: DIST_FILE } = options
  const crane = ENGINES.includes('crane') || options.peers ? buildCrane({ log }) : undefined
  const regsync = options.peers ? buildRegsync({ log }) : undefined
  const plan = quick
    ? copySetPlan({ images: COPY_IMAGES, baseMiB: [16, 8], appMiB: [2, 3, 4] })
    : copySetPlan({ images: COPY_IMAGES })
  log(`copying (${network}): building ${plan.length} images with shared base layers`)
  const source = await startRegistry({ dir: path.join(work, `copy-source-${network}`) })
  /** How the tools reach a registry: directly, or through its own WAN link (closed by the caller). */
  const reach = registry =>
    network === 'wan' ? startWanProxy({ target: registry.host, ...WAN }) : registry
  const runs = {}
  let from = source
  try {
    from = await reach(source)
    const started = performance.now()
    const set = await seedCopySet(source.host, path.join(work, `layers-${network}`), plan, { log })
    const largest = set.images
      .flatMap(i => i.blobs.map(b => ({ ...b, repository: i.repository })))
      .sort((a, b) => b.size - a.size)[0]
    const link =
      network === 'wan'
        ? await measureLink(from.host, `/v2/${largest.repository}/blobs/${largest.digest}`)
        : undefined
    if (link) {
      log(
        `  WAN link (set ${WAN.rttMs} ms, ${WAN.mbitPerSecond} Mbit/s): measured ${link.rttMs} ms round trip, ${link.mbitPerSecond} Mbit/s on a ${(link.probeBytes / MB).toFixed(0)} MB blob`
      )
    }
    log(
      `  pushed ${(set.uniqueBytes / MB).toFixed(0)} MB (${(set.logicalBytes / MB).toFixed(0)} MB counting shared layers per image) in ${((performance.now() - started) / 1000).toFixed(1)} s`
    )
    // Each way of copying gets a fresh, empty target registry.
    const fresh = async (name, copy, layout = mirrorPath) => {
      const dir = path.join(work, `copy-target-${network}-${name}`)
      const target = await startRegistry({ dir })
      const to = await reach(target)
      try {
        const t0 = performance.now()
        const ticks = cpuTicks()
        const extra = (await copy(to)) ?? {}
        const seconds = (performance.now() - t0) / 1000
        const after = cpuTicks()
        // How busy the whole machine was (every process, others' too): near 100 % means
        // the copy was bound by CPU, which concurrency cannot add.
        const machineBusy =
          ticks && after ? (after.busy - ticks.busy) / (after.total - ticks.total) : undefined
        // Read back directly, under the names the tools wrote (the source as they reached it).
        await verifyCopy(target, from.host, set, layout)
        const counts = uploads(await settled(target))
        runs[name] = {
          seconds: round(seconds, 2),
          mbPerSecond: round(set.uniqueBytes / MB / seconds, 1),
          machineCpuBusy: round(machineBusy, 2),
          ...counts,
          ...extra
        }
        log(
          `  ${name}: ${seconds.toFixed(1)} s, ${(set.uniqueBytes / MB / seconds).toFixed(1)} MB/s, machine CPU ${Math.round((machineBusy ?? 0) * 100)} % busy, ${counts.blobUploads} uploads`
        )
      } finally {
        if (to !== target) await to.close()
        await target.stop()
        fs.rmSync(dir, { recursive: true, force: true })
      }
    }
    const list = set.images.map(i => `${from.host}/${i.repository}:${i.tag}`).join('\n')
    const peakMiB = run =>
      run.peakRssKiB === undefined ? undefined : round(run.peakRssKiB / 1024, 1)

    // Memory baseline: the same list compared but not copied (dry run), so what copying adds shows.
    const dry = await runAction(
      {
        images: list,
        target: `${from.host}/nowhere`,
        'dry-run': 'true',
        'insecure-registries': from.host
      },
      { workdir: fs.mkdtempSync(path.join(work, 'dry-')), dist: DIST_FILE }
    )
    if (dry.code !== 0 || dry.outputs.planned !== String(set.images.length)) {
      throw new Error(
        `the dry run planned ${dry.outputs.planned} (exit ${dry.code}):\n${logText(dry)}`
      )
    }
    const largestBlobMB = Math.max(...set.images.flatMap(i => i.blobs.map(b => b.size))) / MB

    // Each engine: the tool by hand, one image after another, then the action at each concurrency.
    for (const engine of ENGINES) {
      const release = engine === 'crane' ? await startReleaseServer({ binary: crane }) : undefined
      try {
        await fresh(`${engine}-sequential`, async target => {
          for (const image of set.images) {
            if (engine === 'crane')
              await runPeer(crane, craneCopyArgs(from.host, target.host, image))
            else await runPeer('skopeo', skopeoCopyArgs(from.host, target.host, image))
          }
        })
        for (const concurrency of COPY_CONCURRENCY) {
          await fresh(`action-${engine}-${concurrency}`, async target => {
            const run = await runAction(
              {
                images: list,
                target: `${target.host}/mirror`,
                ...(release ? release.inputs : { engine }),
                concurrency: String(concurrency),
                'insecure-registries': `${from.host},${target.host}`
              },
              { workdir: fs.mkdtempSync(path.join(work, 'copy-')), dist: DIST_FILE }
            )
            if (run.code !== 0 || run.outputs.copied !== String(set.images.length)) {
              throw new Error(
                `the copy run (${engine}, concurrency ${concurrency}) copied ${run.outputs.copied} of ${set.images.length} (exit ${run.code}):\n${logText(run)}\n${run.stderr}`
              )
            }
            return { engine, concurrency, peakRssMiB: peakMiB(run) }
          })
        }
      } finally {
        await release?.close()
      }
    }
    await fresh('raw-ceiling', target => rawCopy(from, target, set, 4))
    const peers = options.peers
      ? await runPeers({ fresh, source: from, set, crane, regsync, work })
      : {}
    for (const [name, config] of Object.entries(peers)) runs[name].config = config

    const raw = runs['raw-ceiling'].seconds
    for (const engine of ENGINES) {
      const seq = runs[`${engine}-sequential`].seconds
      for (const c of COPY_CONCURRENCY) {
        const r = runs[`action-${engine}-${c}`]
        r.ratioToSequential = round(seq / r.seconds, 2)
        r.ratioToRawCeiling = round(raw / r.seconds, 2)
      }
    }
    return {
      network,
      ...(link ? { link: { set: WAN, measured: link } } : {}),
      images: set.images.length,
      repositories: new Set(set.images.map(i => i.repository)).size,
      baseLayers: new Set(set.images.map(i => i.base)).size,
      uniqueMB: round(set.uniqueBytes / MB, 1),
      logicalMB: round(set.logicalBytes / MB, 1),
      engines: ENGINES,
      crane: crane ? CRANE_VERSION : undefined,
      regsync: regsync ? REGSYNC_VERSION : undefined,
      peers: Object.keys(peers),
      largestBlobMB: round(largestBlobMB, 1),
      dryRunPeakRssMiB: peakMiB(dry),
      runs
    }
  } finally {
    if (from !== source) await from.close()
    await source.stop()
  }
}
