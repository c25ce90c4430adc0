#!/usr/bin/env node
// `npm run bench`: measure the bundled action against local registries and
// print a table of figures, each next to a baseline measured in the same run
// on the same data: planning (N unchanged images), requests per unchanged
// image, copying (a set with shared base layers), allowlist matching and
// start-up. Figures also go to a JSON file so later runs can be compared.
// Copies run with each engine (crane, built from its Go module and installed
// by the action from a loopback release, and skopeo), beside the same tool
// run by hand one image after another.
//
// This file parses the options, runs the chosen figures and prints; each
// figure family is a module of scripts/bench/ (options, table and shared
// helpers too).
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { benchAllowlist } from './bench/allowlist.mjs'
import { log, round, scratchDir } from './bench/common.mjs'
import { benchCopying } from './bench/copying.mjs'
import { machine } from './bench/machine.mjs'
import { parseOptions } from './bench/options.mjs'
import { benchPlanning } from './bench/planning.mjs'
import { benchStartup } from './bench/startup.mjs'
import { readPrevious, report, writeResults } from './bench/table.mjs'
import { ensureTools } from './lib/local-registry.mjs'
import { ROOT } from './lib/run-action.mjs'

// In the order they run: the quick, registry-free figures first.
const FIGURES = {
  allowlist: benchAllowlist,
  startup: benchStartup,
  planning: benchPlanning,
  copying: (options, work) => benchCopying(options, work, 'loopback'),
  // The same copying figures with every registry 40 ms and 200 Mbit/s away (--network).
  copyingWan: (options, work) => benchCopying(options, work, 'wan')
}

const options = parseOptions()
const previous = readPrevious(options.out)
const work = scratchDir()

await ensureTools()
if (!fs.existsSync(options.dist)) {
  console.error(`${options.dist} is missing: run \`npm run package\` first`)
  process.exit(1)
}
const results = {
  date: new Date().toISOString(),
  machine: machine(options.machine),
  quick: options.quick,
  dist: path.relative(ROOT, options.dist)
}
log(`machine: ${results.machine.label}; load ${results.machine.loadAverage.join(' ')}`)
for (const [name, bench] of Object.entries(FIGURES)) {
  const part = name === 'copyingWan' ? 'copying' : name
  const wanted =
    name === 'copyingWan'
      ? options.networks.includes('wan')
      : name !== 'copying' || options.networks.includes('loopback')
  if (options.parts.has(part) && wanted) results[name] = await bench(options, work)
}
results.machine.loadAverageAtEnd = os.loadavg().map(n => round(n, 2))

// Written first: a run of many minutes is never lost to a fault in the report.
writeResults(options.out, results)
console.log(report(results, { previous, outFile: options.out, engines: options.engines }))
console.log(`Results written to ${path.relative(process.cwd(), options.out) || options.out}`)
