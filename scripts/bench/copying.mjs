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
      for (const child of image.children) await dst.pushManifest(into, child.digest, child.manifest)
      await dst.pushManifest(into, image.tag, image.manifest, image.mediaType)
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
  const plan = copySetPlan({ images: COPY_IMAGES, ...(quick ? { scale: 0.25 } : {}) })
  log(
    `copying (${network}): building ${plan.length} images over ${new Set(plan.map(i => i.repository)).size} repositories, families sharing base and runtime layers, ${plan.filter(i => i.platforms.length > 1).length} multi-platform`
  )
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
    const sourceManifestGets = () =>
      source.requests().filter(e => e.method === 'GET' && /\/manifests\//.test(e.path)).length
    // Each way of copying gets a fresh, empty target registry. `rerun`: the same copy again
    // once it is done, which finds everything up to date: its time and the pulls it spends.
    const fresh = async (name, copy, layout = mirrorPath, { rerun = false } = {}) => {
      const dir = path.join(work, `copy-target-${network}-${name}`)
      const target = await startRegistry({ dir })
      const to = await reach(target)
      const moved = () => ({
        pulled: from.bytes?.().fromRegistry ?? 0,
        pushed: to.bytes?.().toRegistry ?? 0
      })
      try {
        const before = moved()
        const t0 = performance.now()
        const ticks = cpuTicks()
        const extra = (await copy(to)) ?? {}
        const seconds = (performance.now() - t0) / 1000
        const after = cpuTicks()
        const bytes = moved()
        // How busy the whole machine was (every process, others' too): near 100 % means
        // the copy was bound by CPU, which concurrency cannot add.
        const machineBusy =
          ticks && after ? (after.busy - ticks.busy) / (after.total - ticks.total) : undefined
        // Read back directly, under the names the tools wrote (the source as they reached it).
        await verifyCopy(target, from.host, set, layout)
        const counts = uploads(await settled(target))
        // Through the WAN links only (a proxy counts): every byte, headers and retries too,
        // against the set's distinct blob bytes.
        const wire = from.bytes
          ? {
              pulledMB: round((bytes.pulled - before.pulled) / MB, 1),
              pushedMB: round((bytes.pushed - before.pushed) / MB, 1),
              pulledRatio: round((bytes.pulled - before.pulled) / set.blobBytes, 3),
              pushedRatio: round((bytes.pushed - before.pushed) / set.blobBytes, 3)
            }
          : {}
        runs[name] = {
          seconds: round(seconds, 2),
          mbPerSecond: round(set.uniqueBytes / MB / seconds, 1),
          machineCpuBusy: round(machineBusy, 2),
          ...counts,
          ...wire,
          ...extra
        }
        log(
          `  ${name}: ${seconds.toFixed(1)} s, ${(set.uniqueBytes / MB / seconds).toFixed(1)} MB/s, machine CPU ${Math.round((machineBusy ?? 0) * 100)} % busy, ${counts.blobUploads} uploads${wire.pushedMB !== undefined ? `, ${wire.pulledMB} MB pulled and ${wire.pushedMB} MB pushed (${wire.pulledRatio}x, ${wire.pushedRatio}x the distinct blobs)` : ''}${extra.peakMiB !== undefined ? `, peak ${extra.peakMiB} MiB` : ''}`
        )
        if (rerun) {
          await settled(source)
          const gets = sourceManifestGets()
          const r0 = performance.now()
          await copy(to, { again: true })
          const againSeconds = (performance.now() - r0) / 1000
          await settled(source)
          runs[name].rerun = {
            seconds: round(againSeconds, 2),
            sourceManifestGets: sourceManifestGets() - gets
          }
          log(
            `  ${name}, again (all up to date): ${againSeconds.toFixed(1)} s, ${runs[name].rerun.sourceManifestGets} source manifest GETs`
          )
        }
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
        if (engine !== 'native') {
          await fresh(`${engine}-sequential`, async target => {
            let peak = 0
            for (const image of set.images) {
              const kib =
                engine === 'crane'
                  ? await runPeer(crane, craneCopyArgs(from.host, target.host, image))
                  : await runPeer('skopeo', skopeoCopyArgs(from.host, target.host, image))
              peak = Math.max(peak, kib ?? 0)
            }
            return { peakMiB: round(peak / 1024, 1) }
          })
        }
        for (const concurrency of COPY_CONCURRENCY) {
          const copy = async (target, { again = false } = {}) => {
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
            const want = again ? run.outputs.unchanged : run.outputs.copied
            if (run.code !== 0 || want !== String(set.images.length)) {
              throw new Error(
                `the ${again ? 're-run' : 'copy run'} (${engine}, concurrency ${concurrency}) found ${want} of ${set.images.length} ${again ? 'up to date' : 'copied'} (exit ${run.code}):\n${logText(run)}\n${run.stderr}`
              )
            }
            // The engine's own peak: crane and skopeo are processes of their own (the largest
            // one, as several run at once), native is the action's node process.
            const engineKiB =
              engine === 'native' ? run.peakRssKiB : run.memory?.peakByCommand?.[engine]
            return {
              engine,
              concurrency,
              peakRssMiB: peakMiB(run),
              peakMiB: engineKiB === undefined ? undefined : round(engineKiB / 1024, 1),
              peakTreeMiB:
                run.memory?.peakTotalKiB === undefined
                  ? undefined
                  : round(run.memory.peakTotalKiB / 1024, 1)
            }
          }
          await fresh(`action-${engine}-${concurrency}`, copy, mirrorPath, {
            rerun: concurrency === 4
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
    // Held against crane copy one image after another (the targets' baseline), and against
    // the engine's own tool run so where there is one.
    const craneSeq = runs['crane-sequential']?.seconds
    for (const engine of ENGINES) {
      const own = runs[`${engine}-sequential`]?.seconds
      for (const c of COPY_CONCURRENCY) {
        const r = runs[`action-${engine}-${c}`]
        r.ratioToSequential = craneSeq ? round(craneSeq / r.seconds, 2) : undefined
        r.ratioToOwnSequential = own ? round(own / r.seconds, 2) : undefined
        r.ratioToRawCeiling = round(raw / r.seconds, 2)
      }
    }
    return {
      network,
      ...(link ? { link: { set: WAN, measured: link } } : {}),
      images: set.images.length,
      repositories: new Set(set.images.map(i => i.repository)).size,
      families: new Set(set.images.map(i => i.family)).size,
      multiPlatform: set.images.filter(i => i.children.length > 0).length,
      blobMB: round(set.blobBytes / MB, 1),
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
