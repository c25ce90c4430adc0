#!/usr/bin/env node
// `npm run bench`: measure the bundled action against local registries and
// print a table of figures, each next to a baseline measured in the same run
// on the same data: planning (N unchanged images), requests per unchanged
// image, copying (a set with shared base layers), allowlist matching and
// start-up. Figures also go to a JSON file so later runs can be compared.
// Copies run with each engine (crane, built from its Go module and installed
// by the action from a loopback release, and skopeo), beside the same tool
// run by hand one image after another.
import { spawn, spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { parseArgs } from 'node:util'
import ts from 'typescript'
import {
  copySetPlan,
  eachLimit,
  planningImages,
  registryClient,
  seedCopySet,
  seedPlanningImages
} from './lib/bench-images.mjs'
import { buildCrane, CRANE_VERSION, startReleaseServer } from './lib/crane-release.mjs'
import { ensureTools, startRegistry } from './lib/local-registry.mjs'
import { ROOT, runAction } from './lib/run-action.mjs'

const USAGE = `Usage: npm run bench -- [options]
  --images N          unchanged images to plan (default 2000; 200 with --quick)
  --concurrency N     the action's concurrency while planning, and the HEAD ceiling's connections (default 4)
  --copy-images N     images in the copy set (default 40, at least 500 MB; 8 small ones with --quick)
  --sample N          images timed with skopeo inspect for the per-image baseline (default 20)
  --only LIST         run some parts: planning,copying,allowlist,startup (default all)
  --engines LIST      engines the copying part runs (default crane,skopeo; crane is built
                      from its Go module, so it needs Go)
  --quick             a small, fast run for development
  --rounds N          planning rounds: ceiling, action, ceiling, ...; each action held against
                      the ceilings around it, medians shown (default 3)
  --dist FILE         the bundle to measure (default dist/index.js), e.g. an older build
  --profile DIR       write a CPU profile of each action run (node --cpu-prof) into DIR
  --machine TEXT      label for the machine (default: CPU model, cores, memory)
  --out FILE          where the JSON results go (default bench-results.json); an existing file
                      there is read first and its figures shown next to this run's
  --help`

const { values: args } = parseArgs({
  options: {
    images: { type: 'string' },
    concurrency: { type: 'string', default: '4' },
    'copy-images': { type: 'string' },
    sample: { type: 'string' },
    only: { type: 'string', default: 'planning,copying,allowlist,startup' },
    engines: { type: 'string', default: 'crane,skopeo' },
    quick: { type: 'boolean', default: false },
    rounds: { type: 'string', default: '3' },
    profile: { type: 'string' },
    dist: { type: 'string' },
    machine: { type: 'string' },
    out: { type: 'string', default: 'bench-results.json' },
    help: { type: 'boolean', default: false }
  }
})
if (args.help) {
  console.log(USAGE)
  process.exit(0)
}
const whole = (name, value, min) => {
  const n = Number(value)
  if (!Number.isInteger(n) || n < min) {
    console.error(`--${name}: "${value}" is not a whole number of at least ${min}\n\n${USAGE}`)
    process.exit(2)
  }
  return n
}
const quick = args.quick
const N = whole('images', args.images ?? (quick ? 200 : 2000), 10)
const PLAN_CONCURRENCY = whole('concurrency', args.concurrency, 1)
const COPY_IMAGES = whole('copy-images', args['copy-images'] ?? (quick ? 8 : 40), 1)
const SAMPLE = whole('sample', args.sample ?? (quick ? 5 : 20), 1)
const ROUNDS = whole('rounds', args.rounds, 1)
const NODE_ARGS = args.profile ? ['--cpu-prof', '--cpu-prof-dir', path.resolve(args.profile)] : []
const DIST_FILE = path.resolve(args.dist ?? path.join(ROOT, 'dist', 'index.js'))
const PARTS = new Set(args.only.split(',').map(s => s.trim()))
for (const part of PARTS) {
  if (!['planning', 'copying', 'allowlist', 'startup'].includes(part)) {
    console.error(`--only: unknown part "${part}"\n\n${USAGE}`)
    process.exit(2)
  }
}
const COPY_CONCURRENCY = [1, 4, 8]
const ENGINES = args.engines.split(',').map(s => s.trim())
for (const engine of ENGINES) {
  if (!['crane', 'skopeo'].includes(engine)) {
    console.error(`--engines: unknown engine "${engine}"\n\n${USAGE}`)
    process.exit(2)
  }
}
const MB = 1e6
const outFile = path.resolve(args.out)
const previous = fs.existsSync(outFile) ? JSON.parse(fs.readFileSync(outFile, 'utf8')) : undefined
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'image-mirror-bench-'))
process.once('exit', () => fs.rmSync(work, { recursive: true, force: true }))
process.once('SIGINT', () => process.exit(130))
process.once('SIGTERM', () => process.exit(143))

const log = message => console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}`)
const round = (n, digits = 0) => (n === undefined ? undefined : Number(n.toFixed(digits)))
const median = values => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

// ---------------------------------------------------------------- machine

function version(command, argv, pattern) {
  const run = spawnSync(command, argv, { encoding: 'utf8' })
  const match = pattern.exec(`${run.stdout}${run.stderr}`)
  return match ? match[1] : 'unknown'
}

function machine() {
  const cpus = os.cpus()
  const model = cpus[0]?.model.trim() ?? 'unknown CPU'
  const memory = `${Math.round(os.totalmem() / 2 ** 30)} GiB`
  return {
    label:
      args.machine ?? `${model}, ${cpus.length} cores, ${memory}, ${os.type()} ${os.release()}`,
    cpu: model,
    cores: cpus.length,
    memory,
    os: `${os.type()} ${os.release()}`,
    node: process.version,
    skopeo: version('skopeo', ['--version'], /version (\S+)/),
    registry: version('dpkg-query', ['-W', 'docker-registry'], /docker-registry\s+(\S+)/),
    loadAverage: os.loadavg().map(n => round(n, 2))
  }
}

// ---------------------------------------------------------------- helpers

/** Wait until a registry's access log stops growing (its lines arrive just after the answers). */
async function settled(registry) {
  let count = -1
  while (registry.requests().length !== count) {
    count = registry.requests().length
    await new Promise(resolve => setTimeout(resolve, 250))
  }
  return registry.requests()
}

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

/** Run a peer tool (skopeo, crane) to its end; rejects with what it printed when it fails. */
function runPeer(command, argv) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, argv, { stdio: ['ignore', 'ignore', 'pipe'] })
    let stderr = ''
    child.stderr.on('data', d => (stderr += d))
    child.on('error', reject)
    child.on('close', code =>
      code === 0
        ? resolve()
        : reject(new Error(`${path.basename(command)} ${argv.join(' ')}: ${stderr}`))
    )
  })
}

/** The action's log lines as text (workflow commands left out), for error messages. */
const logText = run =>
  run.lines
    .map(l => l.line)
    .filter(l => !l.startsWith('::'))
    .slice(-20)
    .join('\n')

/** The baseline copy: `skopeo copy --all --preserve-digests` of one image into its mirror path. */
function skopeoCopyArgs(sourceHost, targetHost, image) {
  return [
    'copy',
    '--all',
    '--preserve-digests',
    '--retry-times',
    '0',
    '--src-tls-verify=false',
    '--dest-tls-verify=false',
    `docker://${sourceHost}/${image.repository}:${image.tag}`,
    `docker://${targetHost}/${mirrorPath(sourceHost, image.repository)}:${image.tag}`
  ]
}

/** The peer copy for crane: `crane copy` of one image into its mirror path (all platforms, digest kept). */
function craneCopyArgs(sourceHost, targetHost, image) {
  return [
    'copy',
    `${sourceHost}/${image.repository}:${image.tag}`,
    `${targetHost}/${mirrorPath(sourceHost, image.repository)}:${image.tag}`,
    '--insecure'
  ]
}

function mirrorPath(sourceHost, repository) {
  return `mirror/${sourceHost.replace(':', '_')}/${repository}`
}

// ---------------------------------------------------------------- allowlist

/** Transpile src/allowlist/allowlist.ts and src/image/references.ts so the real matcher is measured. */
async function loadAllowlistModule() {
  const dir = path.join(work, 'allowlist-src')
  fs.mkdirSync(dir, { recursive: true })
  fs.writeFileSync(path.join(dir, 'package.json'), '{"type":"module"}\n')
  // Side by side, so allowlist.js's import of '../image/references.js' is pointed next door.
  for (const [name, folder] of [
    ['allowlist', 'allowlist'],
    ['references', 'image']
  ]) {
    const source = fs.readFileSync(path.join(ROOT, 'src', folder, `${name}.ts`), 'utf8')
    const { outputText } = ts.transpileModule(source, {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 }
    })
    fs.writeFileSync(
      path.join(dir, `${name}.js`),
      outputText.replaceAll('../image/references.js', './references.js')
    )
  }
  return {
    ...(await import(path.join(dir, 'allowlist.js'))),
    ...(await import(path.join(dir, 'references.js')))
  }
}

async function benchAllowlist() {
  log('allowlist: matching requests against the DaoCloud allowlist')
  const { parseAllowlist, parseReference, repositoryName } = await loadAllowlistModule()
  const text = fs.readFileSync(path.join(ROOT, '__fixtures__', 'allowlist-daocloud.txt'), 'utf8')
  const started = performance.now()
  const allowlist = parseAllowlist(text, 'allows.txt')
  const parseMs = performance.now() - started

  // Requests as people write them: half allowed (one per pattern, as deep as it allows), half not.
  const allowed = allowlist.patterns.map((p, i) =>
    p.kind === 'exact'
      ? `${p.prefix}:v${i}`
      : p.kind === 'one'
        ? `${p.prefix}/image-${i}:1.${i}`
        : `${p.prefix}/team-${i}/image:2.${i}`
  )
  const refused = allowlist.patterns.map((p, i) =>
    i % 2 === 0 ? `docker.io/nobody-${i}/image:${i}` : `unlisted-${i}.example.com/x/y:${i}`
  )
  const pool = allowed.flatMap((a, i) => [a, refused[i]])
  const total = quick ? 50_000 : 400_000
  const requests = Array.from({ length: total }, (_, i) => pool[i % pool.length])

  // Baseline: the same parsing, then every line of the list tried in turn.
  const linear = ref => {
    const name = repositoryName(ref)
    for (const p of allowlist.patterns) {
      if (p.kind === 'exact' ? name === p.prefix : name.startsWith(`${p.prefix}/`)) {
        if (p.kind !== 'one' || !name.slice(p.prefix.length + 1).includes('/')) return p
      }
    }
    return undefined
  }
  const measure = match => {
    let hits = 0
    const t0 = performance.now()
    for (const request of requests) {
      const parsed = parseReference(request)
      if (parsed.ok && match(parsed.ref)) hits++
    }
    return { perSecond: total / ((performance.now() - t0) / 1000), hits }
  }
  // Both must decide every request the same way, or the comparison means nothing.
  for (const request of pool) {
    const parsed = parseReference(request)
    if (!parsed.ok)
      throw new Error(`allowlist bench: "${request}" does not parse: ${parsed.reason}`)
    if (Boolean(allowlist.match(parsed.ref)) !== Boolean(linear(parsed.ref))) {
      throw new Error(`allowlist bench: the matchers disagree on ${request}`)
    }
  }
  // Warm-up of both, then the figures.
  measure(ref => allowlist.match(ref))
  measure(linear)
  const action = measure(ref => allowlist.match(ref))
  const baseline = measure(linear)
  return {
    patterns: allowlist.patterns.length,
    parseMs: round(parseMs, 1),
    requests: total,
    allowedShare: round(action.hits / total, 2),
    matchesPerSecond: round(action.perSecond),
    linearScanPerSecond: round(baseline.perSecond),
    ratio: round(action.perSecond / baseline.perSecond, 1)
  }
}

// ---------------------------------------------------------------- start-up

/** Milliseconds from spawning `node argv` to its first line on stdout. */
function firstLine(argv, env) {
  return new Promise((resolve, reject) => {
    const started = performance.now()
    const child = spawn(process.execPath, argv, { cwd: work, env })
    let at
    child.stdout.on('data', () => {
      at ??= performance.now() - started
    })
    child.on('error', reject)
    child.on('close', () =>
      at === undefined ? reject(new Error(`node ${argv.join(' ')} printed nothing`)) : resolve(at)
    )
  })
}

async function benchStartup() {
  log('start-up: node dist/index.js to its first log line')
  const runs = quick ? 3 : 7
  const env = {
    PATH: process.env.PATH,
    HOME: process.env.HOME ?? work,
    GITHUB_WORKSPACE: work,
    RUNNER_TEMP: work,
    INPUT_IMAGES: 'docker.io/library/nginx:1.27',
    INPUT_TARGET: 'registry.example.com/mirror',
    'INPUT_DRY-RUN': 'true',
    'INPUT_SKIP-UNCHANGED': 'false'
  }
  const action = []
  const bare = []
  for (let i = 0; i < runs; i++) {
    action.push(await firstLine([DIST_FILE], env))
    bare.push(await firstLine(['-e', 'console.log("ready")'], env))
  }
  return {
    runs,
    actionMs: round(median(action), 1),
    bareNodeMs: round(median(bare), 1),
    ratio: round(median(action) / median(bare), 2)
  }
}

// ---------------------------------------------------------------- planning

/**
 * The registries' own ceiling: HEAD of the source then the target manifest
 * of every image (what planning asks), over `connections` keep-alive
 * connections, from a process of its own (lib/head-ceiling.mjs).
 */
async function headCeiling(source, target, images, connections) {
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

async function benchPlanning() {
  log(`planning: ${N} unchanged images, concurrency ${PLAN_CONCURRENCY}`)
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
          concurrency: String(PLAN_CONCURRENCY),
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
      const last = run.lines.findLast(l => /^unchanged\s/.test(l.line))
      const seconds = (last.t - begin.t) / 1000
      const cpuPerImage = (last.cpu - begin.cpu) / N
      log(
        `  action: ${(N / seconds).toFixed(0)} images/s, ${cpuPerImage.toFixed(2)} ms CPU an image (${(run.wallMs / 1000).toFixed(2)} s in all)`
      )
      return { run, seconds, rate: N / seconds, cpuPerImage }
    }
    const ceilingOnce = async () => {
      const ceiling = await headCeiling(source, target, images, PLAN_CONCURRENCY)
      log(
        `  ceiling: ${ceiling.headsPerSecond.toFixed(0)} HEAD/s, ${ceiling.cpuPerImage.toFixed(2)} ms CPU an image`
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
      concurrency: PLAN_CONCURRENCY,
      action: {
        imagesPerSecond: round(actionRate),
        roundsImagesPerSecond: actions.map(a => round(a.rate)),
        wallSeconds: actions.map(a => round(a.run.wallMs / 1000, 2)),
        peakRssMiB: round(Math.max(...actions.map(a => a.run.peakRssKiB ?? 0)) / 1024, 1),
        cpuMsPerImage: round(median(actions.map(a => a.cpuPerImage)), 2),
        timedFrom: 'the "Mirroring N image(s)" log line to the last image\'s line'
      },
      ceiling: {
        connections: PLAN_CONCURRENCY,
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

// ---------------------------------------------------------------- copying

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

async function verifyCopy(target, sourceHost, set) {
  const client = registryClient(target.host)
  try {
    for (const image of set.images) {
      const digest = await client.headManifest(mirrorPath(sourceHost, image.repository), image.tag)
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

async function benchCopying() {
  const crane = ENGINES.includes('crane') ? buildCrane({ log }) : undefined
  const plan = quick
    ? copySetPlan({ images: COPY_IMAGES, baseMiB: [16, 8], appMiB: [2, 3, 4] })
    : copySetPlan({ images: COPY_IMAGES })
  log(`copying: building ${plan.length} images with shared base layers`)
  const source = await startRegistry({ dir: path.join(work, 'copy-source') })
  const runs = {}
  try {
    const started = performance.now()
    const set = await seedCopySet(source.host, path.join(work, 'layers'), plan, { log })
    log(
      `  pushed ${(set.uniqueBytes / MB).toFixed(0)} MB (${(set.logicalBytes / MB).toFixed(0)} MB counting shared layers per image) in ${((performance.now() - started) / 1000).toFixed(1)} s`
    )
    // Each way of copying gets a fresh, empty target registry.
    const fresh = async (name, copy) => {
      const dir = path.join(work, `copy-target-${name}`)
      const target = await startRegistry({ dir })
      try {
        const t0 = performance.now()
        const ticks = cpuTicks()
        const extra = (await copy(target)) ?? {}
        const seconds = (performance.now() - t0) / 1000
        const after = cpuTicks()
        // How busy the whole machine was (every process, others' too): near 100 % means
        // the copy was bound by CPU, which concurrency cannot add.
        const machineBusy =
          ticks && after ? (after.busy - ticks.busy) / (after.total - ticks.total) : undefined
        await verifyCopy(target, source.host, set)
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
        await target.stop()
        fs.rmSync(dir, { recursive: true, force: true })
      }
    }
    const list = set.images.map(i => `${source.host}/${i.repository}:${i.tag}`).join('\n')
    const peakMiB = run =>
      run.peakRssKiB === undefined ? undefined : round(run.peakRssKiB / 1024, 1)

    // Memory baseline: the same list compared but not copied (dry run), so what copying adds shows.
    const dry = await runAction(
      {
        images: list,
        target: `${source.host}/nowhere`,
        'dry-run': 'true',
        'insecure-registries': source.host
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
              await runPeer(crane, craneCopyArgs(source.host, target.host, image))
            else await runPeer('skopeo', skopeoCopyArgs(source.host, target.host, image))
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
                'insecure-registries': `${source.host},${target.host}`
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
    await fresh('raw-ceiling', target => rawCopy(source, target, set, 4))

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
      images: set.images.length,
      repositories: new Set(set.images.map(i => i.repository)).size,
      baseLayers: new Set(set.images.map(i => i.base)).size,
      uniqueMB: round(set.uniqueBytes / MB, 1),
      logicalMB: round(set.logicalBytes / MB, 1),
      engines: ENGINES,
      crane: ENGINES.includes('crane') ? CRANE_VERSION : undefined,
      largestBlobMB: round(largestBlobMB, 1),
      dryRunPeakRssMiB: peakMiB(dry),
      runs
    }
  } finally {
    await source.stop()
  }
}

// ---------------------------------------------------------------- table

function verdict(ok) {
  return ok ? 'met' : '**missed**'
}

/** Seconds, how busy the machine's CPU was, and the blob uploads the target received. */
function detail(run) {
  const busy =
    run.machineCpuBusy === undefined ? '' : `, CPU ${Math.round(run.machineCpuBusy * 100)} % busy`
  return `${run.seconds} s${busy}, ${run.blobUploads} uploads`
}

/** Why a copying target was missed, when the figures say the machine itself was the limit. */
function copyingNote(results) {
  const c = results.copying
  const seq = c?.runs['skopeo-sequential']
  const r4 = c?.runs['action-skopeo-4']
  if (!c || !seq?.machineCpuBusy || !r4) return ''
  if (r4.ratioToSequential >= 2.5 && r4.ratioToRawCeiling >= 0.5) return ''
  const cores = results.machine.cores
  const msPerMB = run => round((run.machineCpuBusy * cores * run.seconds * 1000) / c.uniqueMB, 1)
  const raw = c.runs['raw-ceiling']
  const crane4 = c.runs['action-crane-4']
  const craneSeq = c.runs['crane-sequential']
  const craneCost = crane4
    ? ` With crane: sequential ${msPerMB(craneSeq)} ms, action concurrency 4 ${msPerMB(crane4)} ms.`
    : ''
  return [
    '',
    `Copying note: sequential skopeo already kept ${Math.round(seq.machineCpuBusy * 100)} % of the ${cores} cores busy, so no concurrency can make it more than ${round(1 / seq.machineCpuBusy, 1)}× faster on this machine; concurrency 4 ran at ${Math.round(r4.machineCpuBusy * 100)} %.`,
    `CPU spent per MB copied (whole machine): sequential skopeo ${msPerMB(seq)} ms, action concurrency 4 ${msPerMB(r4)} ms, raw stream ${msPerMB(raw)} ms. The copy is bound by CPU (skopeo and both registries read, hash and write every byte), not by waiting; ${r4.blobUploads - seq.blobUploads} extra blob upload(s) at concurrency 4 are shared layers pushed by two copies at once.${craneCost}`
  ].join('\n')
}

function table(results) {
  const rows = [
    ['Figure', 'This run', 'Baseline (same run, same data)', 'Ratio', 'Target', 'Verdict']
  ]
  const p = results.planning
  if (p) {
    rows.push([
      `Planning, ${p.images} unchanged images (concurrency ${p.concurrency})`,
      `${p.action.imagesPerSecond} images/s`,
      `\`skopeo inspect\` of source and target per image: ${p.perImageBaseline.skopeoInspectImagesPerSecond} images/s (sample of ${p.perImageBaseline.sample}; \`--raw\`: ${p.perImageBaseline.skopeoInspectRawImagesPerSecond})`,
      `${p.ratioToSkopeoInspect}×`,
      '≥ 20×',
      verdict(p.ratioToSkopeoInspect >= 20)
    ])
    rows.push([
      "Planning against the registries' ceiling",
      `${p.action.imagesPerSecond} images/s`,
      `raw keep-alive HEADs, ${p.ceiling.connections} connections: ${p.ceiling.headsPerSecond} HEAD/s = ${p.ceiling.imagesPerSecond} images/s (2 HEADs an image; client CPU ${p.ceiling.cpuMsPerImage} ms an image, the action's ${p.action.cpuMsPerImage} ms)`,
      `${Math.round(p.ratioToCeiling * 100)} %`,
      '≥ 70 %',
      verdict(p.ratioToCeiling >= 0.7)
    ])
    const a = p.requests.actionSourcePerImage
    const s = p.requests.skopeoCopyPresentSourcePerImage
    rows.push([
      'Requests to the source per unchanged image',
      `${a.manifestHead} HEAD, ${a.manifestGet} GET of manifests (${a.total} in all)`,
      `\`skopeo copy\` of an image already there: ${s.manifestHead} HEAD, ${s.manifestGet} GET of manifests (${s.total} in all)`,
      '–',
      '0 GET',
      verdict(a.manifestGet === 0)
    ])
    rows.push([
      `Peak memory, planning ${p.images} images`,
      `${p.action.peakRssMiB} MiB`,
      '–',
      '–',
      'bounded',
      '–'
    ])
  }
  const c = results.copying
  if (c) {
    const raw = c.runs['raw-ceiling']
    const peer = {
      crane: '`crane copy` (all platforms, digest kept)',
      skopeo: '`skopeo copy --all --preserve-digests`'
    }
    for (const engine of c.engines) {
      const seq = c.runs[`${engine}-sequential`]
      for (const n of COPY_CONCURRENCY) {
        const r = c.runs[`action-${engine}-${n}`]
        rows.push([
          `Copying ${c.images} images, ${c.uniqueMB} MB, engine ${engine}, concurrency ${n}`,
          `${r.mbPerSecond} MB/s (${detail(r)})`,
          `${peer[engine]} one image after another: ${seq.mbPerSecond} MB/s (${detail(seq)})`,
          `${r.ratioToSequential}×`,
          n === 4 ? '≥ 2.5×' : '–',
          n === 4 ? verdict(r.ratioToSequential >= 2.5) : '–'
        ])
      }
      const r4 = c.runs[`action-${engine}-4`]
      rows.push([
        `Copying, engine ${engine}, concurrency 4, against the raw ceiling`,
        `${r4.mbPerSecond} MB/s`,
        `blobs streamed GET source → PUT target, 4 at once: ${raw.mbPerSecond} MB/s (${detail(raw)})`,
        `${Math.round(r4.ratioToRawCeiling * 100)} %`,
        '≥ 50 %',
        verdict(r4.ratioToRawCeiling >= 0.5)
      ])
      const runsOf = COPY_CONCURRENCY.map(n => c.runs[`action-${engine}-${n}`])
      const peak = Math.max(...runsOf.map(r => r.peakRssMiB))
      rows.push([
        `Peak memory of the action (${engine}) copying ${c.uniqueMB} MB (largest layer ${c.largestBlobMB} MB)`,
        runsOf.map(r => `${r.peakRssMiB} MiB (c${r.concurrency})`).join(', '),
        `the same list compared, not copied (dry run): ${c.dryRunPeakRssMiB} MiB`,
        `+${round(peak - c.dryRunPeakRssMiB, 1)} MiB`,
        'growth < largest layer',
        verdict((peak - c.dryRunPeakRssMiB) * 1.048576 < c.largestBlobMB)
      ])
    }
  }
  const l = results.allowlist
  if (l) {
    rows.push([
      `Allowlist, ${l.patterns} DaoCloud patterns`,
      `${l.matchesPerSecond.toLocaleString('en')} requests/s`,
      `same parsing, then every line tried in turn: ${l.linearScanPerSecond.toLocaleString('en')} requests/s`,
      `${l.ratio}×`,
      '–',
      '–'
    ])
  }
  const s = results.startup
  if (s) {
    rows.push([
      'Start-up to the first log line',
      `${s.actionMs} ms`,
      `\`node -e 'console.log()'\`: ${s.bareNodeMs} ms`,
      `${s.ratio}×`,
      '–',
      '–'
    ])
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map(r => String(r[i]).length)))
  const line = r => `| ${r.map((cell, i) => String(cell).padEnd(widths[i])).join(' | ')} |`
  return [
    line(rows[0]),
    `|${widths.map(w => '-'.repeat(w + 2)).join('|')}|`,
    ...rows.slice(1).map(line)
  ].join('\n')
}

/** A few headline figures of the previous results file next to this run's. */
function comparison(results) {
  if (!previous) return ''
  const pick = r => ({
    'planning images/s': r.planning?.action.imagesPerSecond,
    'planning / ceiling': r.planning?.ratioToCeiling,
    // Results files from before crane ran here name the skopeo runs `action-<n>`.
    'copy skopeo c4 MB/s': (r.copying?.runs['action-skopeo-4'] ?? r.copying?.runs['action-4'])
      ?.mbPerSecond,
    'copy crane c4 MB/s': r.copying?.runs['action-crane-4']?.mbPerSecond,
    'allowlist requests/s': r.allowlist?.matchesPerSecond,
    'start-up ms': r.startup?.actionMs
  })
  const before = pick(previous)
  const now = pick(results)
  const lines = Object.keys(now)
    .filter(k => before[k] !== undefined && now[k] !== undefined)
    .map(k => `  ${k.padEnd(22)} ${String(before[k]).padStart(10)} → ${now[k]}`)
  return lines.length > 0
    ? `\nCompared with ${path.basename(outFile)} of ${previous.date} (${previous.machine?.label}):\n${lines.join('\n')}\n`
    : ''
}

// ---------------------------------------------------------------- main

await ensureTools()
if (!fs.existsSync(DIST_FILE)) {
  console.error(`${DIST_FILE} is missing: run \`npm run package\` first`)
  process.exit(1)
}
const results = {
  date: new Date().toISOString(),
  machine: machine(),
  quick,
  dist: path.relative(ROOT, DIST_FILE)
}
log(`machine: ${results.machine.label}; load ${results.machine.loadAverage.join(' ')}`)
if (PARTS.has('allowlist')) results.allowlist = await benchAllowlist()
if (PARTS.has('startup')) results.startup = await benchStartup()
if (PARTS.has('planning')) results.planning = await benchPlanning()
if (PARTS.has('copying')) results.copying = await benchCopying()
results.machine.loadAverageAtEnd = os.loadavg().map(n => round(n, 2))

console.log(`\nImage Mirror bench, ${results.date.slice(0, 10)}, on ${results.machine.label}`)
console.log(
  `node ${results.machine.node}, skopeo ${results.machine.skopeo}, crane ${CRANE_VERSION} (built from its Go module), docker-registry ${results.machine.registry}; copying with ${ENGINES.join(' and ')}; load average ${results.machine.loadAverage.join(' ')} at start, ${results.machine.loadAverageAtEnd.join(' ')} at end${quick ? '; --quick' : ''}\n`
)
console.log(table(results))
console.log(copyingNote(results))
console.log(comparison(results))
fs.writeFileSync(outFile, `${JSON.stringify(results, null, 2)}\n`)
console.log(`Results written to ${path.relative(process.cwd(), outFile) || outFile}`)
