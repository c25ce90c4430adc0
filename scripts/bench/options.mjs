// The bench's options: USAGE, and the command line parsed and checked into settings.
import * as path from 'node:path'
import { parseArgs } from 'node:util'
import { ROOT } from '../lib/run-action.mjs'

export const USAGE = `Usage: npm run bench -- [options]
  --images N          unchanged images to plan (default 2000; 200 with --quick)
  --concurrency N     the action's concurrency input while planning (default: not given, the
                      action's defaults; the HEAD ceiling is measured at 4, 8, 16 and 32
                      connections and its best is the one held against)
  --copy-images N     images in the copy set (default 72 over 24 repositories, 449 MiB of
                      layers; 18 at a quarter of the sizes with --quick)
  --sample N          images timed with skopeo inspect for the per-image baseline (default 20)
  --only LIST         run some parts: planning,copying,allowlist,startup (default all)
  --engines LIST      engines the copying part runs (default crane,skopeo,native; crane is
                      built from its Go module, so it needs Go)
  --network LIST      networks the copying part runs on: loopback, wan (default both; wan puts
                      every registry 40 ms and 200 Mbit/s away through a pacing proxy, and
                      measures the link it got)
  --no-peers          leave out the peers (crane copy --jobs, skopeo sync, regsync once at
                      each parallel; regsync is built from its Go module, so it needs Go)
  --quick             a small, fast run for development
  --rounds N          planning rounds: ceiling, action, ceiling, ...; each action held against
                      the ceilings around it, medians shown (default 3)
  --dist FILE         the bundle to measure (default dist/index.js), e.g. an older build
  --profile DIR       write a CPU profile of each action run (node --cpu-prof) into DIR
  --machine TEXT      label for the machine (default: CPU model, cores, memory)
  --out FILE          where the JSON results go (default bench-results.json); an existing file
                      there is read first and its figures shown next to this run's
  --help`

const PARTS = ['planning', 'copying', 'allowlist', 'startup']
const ENGINES = ['crane', 'skopeo', 'native']

/**
 * The command line's options, checked. --help prints USAGE and exits 0; a bad
 * value prints what is wrong and USAGE and exits 2, before anything starts.
 */
export function parseOptions() {
  const { values: args } = parseArgs({
    options: {
      images: { type: 'string' },
      concurrency: { type: 'string' },
      'copy-images': { type: 'string' },
      sample: { type: 'string' },
      only: { type: 'string', default: PARTS.join(',') },
      engines: { type: 'string', default: ENGINES.join(',') },
      quick: { type: 'boolean', default: false },
      'no-peers': { type: 'boolean', default: false },
      network: { type: 'string', default: 'loopback,wan' },
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
  const options = {
    quick,
    images: whole('images', args.images ?? (quick ? 200 : 2000), 10),
    concurrency:
      args.concurrency === undefined ? undefined : whole('concurrency', args.concurrency, 1),
    copyImages: whole('copy-images', args['copy-images'] ?? (quick ? 18 : 72), 1),
    sample: whole('sample', args.sample ?? (quick ? 5 : 20), 1),
    rounds: whole('rounds', args.rounds, 1),
    nodeArgs: args.profile ? ['--cpu-prof', '--cpu-prof-dir', path.resolve(args.profile)] : [],
    dist: path.resolve(args.dist ?? path.join(ROOT, 'dist', 'index.js')),
    parts: new Set(args.only.split(',').map(s => s.trim())),
    engines: args.engines.split(',').map(s => s.trim()),
    peers: !args['no-peers'],
    networks: args.network.split(',').map(s => s.trim()),
    machine: args.machine,
    out: path.resolve(args.out)
  }
  for (const part of options.parts) {
    if (!PARTS.includes(part)) {
      console.error(`--only: unknown part "${part}"\n\n${USAGE}`)
      process.exit(2)
    }
  }
  for (const network of options.networks) {
    if (!['loopback', 'wan'].includes(network)) {
      console.error(`--network: unknown network "${network}"\n\n${USAGE}`)
      process.exit(2)
    }
  }
  for (const engine of options.engines) {
    if (!ENGINES.includes(engine)) {
      console.error(`--engines: unknown engine "${engine}"\n\n${USAGE}`)
      process.exit(2)
    }
  }
  return options
}
