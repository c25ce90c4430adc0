// Planning figures: N unchanged images, beside skopeo inspect and the HEAD ceiling; requests.
import { spawn, spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { planningImages, registryClient, seedPlanningImages } from '../lib/bench-images.mjs'
import { startRegistry } from '../lib/local-registry.mjs'
import { ROOT, runAction } from '../lib/run-action.mjs'
import { log, logText, MB, median, mirrorPath, round, settled, skopeoCopyArgs } from './common.mjs'

/** Requests of an access log split the way the table shows them. */
function countRequests(entries) {
  const manifest = e => /\/manifests\//.test(e.path)
  return {
    manifestHead: entries.filter(e => e.method === 'HEAD' && manifest(e)).length,
    manifestGet: entries.filter(e => e.method === 'GET' && manifest(e)).length,
    other: entries.filter(e => !manifest(e)).length,
    total: entries.length
  }
}

const perImage = (counts, n) =>
  Object.fromEntries(Object.entries(counts).map(([k, v]) => [k, round(v / n, 2)]))

function skopeo(argv) {
  const started = performance.now()
  const run = spawnSync('skopeo', argv, { encoding: 'utf8', maxBuffer: 64 * MB })
  if (run.status !== 0) throw new Error(`skopeo ${argv.join(' ')} failed: ${run.stderr}`)
  return { ms: performance.now() - started, stdout: run.stdout }
}

/**
 * The registries' own ceiling: HEAD of the source then the target manifest
 * of every image (what planning asks), over `connections` keep-alive
 * connections, from a process of its own (lib/head-ceiling.mjs).
 */
async function headCeiling(source, target, images, connections, work) {
  const file = path.join(work, 'ceiling-pairs.json')
  fs.writeFileSync(
    file,
    JSON.stringify(images.map(i => [i.repository, mirrorPath(source.host, i.repository), i.tag]))
  )
  const script = path.join(ROOT, 'scripts', 'lib', 'head-ceiling.mjs')
  // Asynchronously: the registries' access logs must keep draining meanwhile.
  const child = spawn(process.execPath, [
    script,
    source.host,
    target.host,
    String(connections),
    file
  ])
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', d => (stdout += d))
  child.stderr.on('data', d => (stderr += d))
  const code = await new Promise((resolve, reject) => {
    child.on('error', reject)
    child.on('close', resolve)
  })
  if (code !== 0) throw new Error(`head-ceiling.mjs failed: ${stderr}`)
  const { seconds, cpuMs, unchanged } = JSON.parse(stdout)
  if (unchanged !== images.length)
    throw new Error(`ceiling: ${unchanged} of ${images.length} matched`)
  return {
    headsPerSecond: (2 * images.length) / seconds,
    imagesPerSecond: images.length / seconds,
    cpuPerImage: cpuMs / images.length
  }
}

/** The connections the HEAD ceiling is measured at; the registries' best of them is the ceiling. */
const CEILING_CONNECTIONS = [4, 8, 16, 32]

export async function benchPlanning(options, work) {
  const {
    images: N,
    concurrency: PLAN_CONCURRENCY,
    sample: SAMPLE,
    rounds: ROUNDS,
    nodeArgs: NODE_ARGS,
    dist: DIST_FILE
  } = options
  log(
    `planning: ${N} unchanged images, ${PLAN_CONCURRENCY ? `concurrency ${PLAN_CONCURRENCY}` : "the action's default inputs"}`
  )
  const source = await startRegistry()
  const target = await startRegistry()
  try {
    const images = planningImages(N)
    const started = performance.now()
    const digests = await seedPlanningImages(source.host, images)
    await seedPlanningImages(target.host, images, { prefix: mirrorPath(source.host, '') })
    log(
      `  seeded ${N} images in both registries in ${((performance.now() - started) / 1000).toFixed(1)} s`
    )

    const daocloud = fs.readFileSync(
      path.join(ROOT, '__fixtures__', 'allowlist-daocloud.txt'),
      'utf8'
    )
    const planOnce = async () => {
      const run = await runAction(
        {
          'images-file': 'images.txt',
          allowlist: 'allows.txt',
          target: `${target.host}/mirror`,
          engine: 'skopeo',
          ...(PLAN_CONCURRENCY ? { concurrency: String(PLAN_CONCURRENCY) } : {}),
          'insecure-registries': `${source.host},${target.host}`
        },
        {
          workdir: fs.mkdtempSync(path.join(work, 'plan-')),
          nodeArgs: NODE_ARGS,
          dist: DIST_FILE,
          files: {
            'images.txt': images.map(i => `${source.host}/${i.repository}:${i.tag}`).join('\n'),
            'allows.txt': `${daocloud.trimEnd()}\n${source.host}/bench/*\n`
          }
        }
      )
      if (run.code !== 0 || run.outputs.unchanged !== String(N)) {
        throw new Error(
          `the planning run did not find ${N} unchanged images (exit ${run.code}, unchanged ${run.outputs.unchanged}):\n${logText(run)}\n${run.stderr}`
        )
      }
      // Timed from the line that starts the comparison to the last image's line.
      const begin = run.lines.find(l => /^(Mirroring|Comparing) \d+ image/.test(l.line))
      // The per-image line says "up to date" for an unchanged image (one vocabulary with the summary).
      const last = run.lines.findLast(l => /^up to date\s/.test(l.line))
      const seconds = (last.t - begin.t) / 1000
      const cpuPerImage = (last.cpu - begin.cpu) / N
      log(
        `  action: ${(N / seconds).toFixed(0)} images/s, ${cpuPerImage.toFixed(2)} ms CPU an image (${(run.wallMs / 1000).toFixed(2)} s in all)`
      )
      return { run, seconds, rate: N / seconds, cpuPerImage }
    }
    // The registries' best: the ceiling at each number of connections, once; the best is
    // the one the rounds measure and hold the action against.
    const byConnections = {}
    for (const connections of CEILING_CONNECTIONS) {
      const c = await headCeiling(source, target, images, connections, work)
      byConnections[connections] = round(c.headsPerSecond)
      log(`  ceiling at ${connections} connections: ${c.headsPerSecond.toFixed(0)} HEAD/s`)
    }
    const best = Number(
      Object.entries(byConnections).sort(([, a], [, b]) => b - a)[0]?.[0] ?? CEILING_CONNECTIONS[0]
    )
    const ceilingOnce = async () => {
      const ceiling = await headCeiling(source, target, images, best, work)
      log(
        `  ceiling (${best} connections): ${ceiling.headsPerSecond.toFixed(0)} HEAD/s, ${ceiling.cpuPerImage.toFixed(2)} ms CPU an image`
      )
      return ceiling
    }

    // Interleaved rounds: ceiling, action, ceiling, ..., ceiling.
    const ceilings = []
    const actions = []
    let sourceCounts
    let targetCounts
    for (let i = 0; i < ROUNDS; i++) {
      ceilings.push(await ceilingOnce())
      source.clearLog()
      target.clearLog()
      actions.push(await planOnce())
      sourceCounts ??= countRequests(await settled(source))
      targetCounts ??= countRequests(await settled(target))
    }
    ceilings.push(await ceilingOnce())
    // Each round is held against the ceilings measured just before and after it, so drift in
    // the machine's load hits both sides; the figures shown are medians over the rounds.
    const bracketed = actions.map(
      (a, i) => a.rate / ((ceilings[i].imagesPerSecond + ceilings[i + 1].imagesPerSecond) / 2)
    )
    const actionRate = median(actions.map(a => a.rate))
    const ceilingRate = median(ceilings.map(c => c.imagesPerSecond))

    // What older mirrors do per image: `skopeo inspect` of the source and of the target, compared.
    const sample = Array.from(
      { length: Math.min(SAMPLE, N) },
      (_, i) => images[Math.floor((i * N) / Math.min(SAMPLE, N))]
    )
    const tls = '--tls-verify=false'
    const inspect = { plain: 0, raw: 0 }
    source.clearLog()
    for (const image of sample) {
      for (const mode of ['plain', 'raw']) {
        const extra = mode === 'raw' ? ['--raw'] : []
        const a = skopeo([
          'inspect',
          tls,
          ...extra,
          `docker://${source.host}/${image.repository}:${image.tag}`
        ])
        const b = skopeo([
          'inspect',
          tls,
          ...extra,
          `docker://${target.host}/${mirrorPath(source.host, image.repository)}:${image.tag}`
        ])
        inspect[mode] += a.ms + b.ms
        if (mode === 'plain' && JSON.parse(a.stdout).Digest !== JSON.parse(b.stdout).Digest) {
          throw new Error(`skopeo inspect: digests differ for ${image.repository}:${image.tag}`)
        }
      }
    }
    const inspectCounts = countRequests(await settled(source))
    const inspectRate = sample.length / (inspect.plain / 1000)
    const inspectRawRate = sample.length / (inspect.raw / 1000)
    log(
      `  skopeo inspect: ${inspectRate.toFixed(1)} images/s (--raw: ${inspectRawRate.toFixed(1)})`
    )

    // `skopeo copy` of an image the target already holds: what it asks of the source.
    const copySample = sample.slice(0, Math.min(5, sample.length))
    source.clearLog()
    for (const image of copySample) {
      skopeo(skopeoCopyArgs(source.host, target.host, image))
      const check = registryClient(target.host)
      const digest = await check.headManifest(mirrorPath(source.host, image.repository), image.tag)
      check.close()
      if (digest !== digests.get(`${image.repository}:${image.tag}`)) {
        throw new Error('skopeo copy changed an unchanged image')
      }
    }
    const copyCounts = countRequests(await settled(source))

    return {
      images: N,
      concurrency: PLAN_CONCURRENCY ?? 'default',
      action: {
        imagesPerSecond: round(actionRate),
        roundsImagesPerSecond: actions.map(a => round(a.rate)),
        wallSeconds: actions.map(a => round(a.run.wallMs / 1000, 2)),
        peakRssMiB: round(Math.max(...actions.map(a => a.run.peakRssKiB ?? 0)) / 1024, 1),
        cpuMsPerImage: round(median(actions.map(a => a.cpuPerImage)), 2),
        timedFrom: 'the "Mirroring N image(s)" log line to the last image\'s line'
      },
      ceiling: {
        connections: best,
        headsPerSecondByConnections: byConnections,
        headsPerSecond: round(ceilingRate * 2),
        imagesPerSecond: round(ceilingRate),
        cpuMsPerImage: round(median(ceilings.map(c => c.cpuPerImage)), 2),
        roundsHeadsPerSecond: ceilings.map(c => round(c.headsPerSecond))
      },
      roundRatiosToCeiling: bracketed.map(r => round(r, 2)),
      perImageBaseline: {
        sample: sample.length,
        skopeoInspectImagesPerSecond: round(inspectRate, 2),
        skopeoInspectRawImagesPerSecond: round(inspectRawRate, 2)
      },
      ratioToCeiling: round(median(bracketed), 2),
      ratioToSkopeoInspect: round(actionRate / inspectRate, 1),
      requests: {
        actionSourcePerImage: perImage(sourceCounts, N),
        actionTargetPerImage: perImage(targetCounts, N),
        skopeoInspectSourcePerImage: perImage(inspectCounts, sample.length * 2),
        skopeoCopyPresentSourcePerImage: perImage(copyCounts, copySample.length),
        skopeoCopySample: copySample.length
      }
    }
  } finally {
    await source.stop()
    await target.stop()
  }
}
