// The results: heading, table with verdicts, notes, comparison with the last file, the file.
import * as fs from 'node:fs'
import * as path from 'node:path'
import { CRANE_VERSION } from '../lib/crane-release.mjs'
import { round } from './common.mjs'
import { COPY_CONCURRENCY } from './copying.mjs'

/** The results file a previous run left at `outFile`, read before this run writes over it. */
export function readPrevious(outFile) {
  return fs.existsSync(outFile) ? JSON.parse(fs.readFileSync(outFile, 'utf8')) : undefined
}

export function writeResults(outFile, results) {
  fs.writeFileSync(outFile, `${JSON.stringify(results, null, 2)}\n`)
}

/** What the bench prints before writing the file: heading, table, copying note, comparison. */
export function report(results, { previous, outFile, engines }) {
  return [
    `\nImage Mirror bench, ${results.date.slice(0, 10)}, on ${results.machine.label}`,
    `node ${results.machine.node}, skopeo ${results.machine.skopeo}, crane ${CRANE_VERSION} (built from its Go module), docker-registry ${results.machine.registry}; copying with ${engines.join(' and ')}; load average ${results.machine.loadAverage.join(' ')} at start, ${results.machine.loadAverageAtEnd.join(' ')} at end${results.quick ? '; --quick' : ''}\n`,
    table(results),
    copyingNote(results),
    comparison(results, previous, outFile)
  ].join('\n')
}

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
  for (const c of [results.copying, results.copyingWan]) if (c) rows.push(...copyingRows(c))
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
function comparison(results, previous, outFile) {
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

/**
 * The action (its faster engine at concurrency 4) against each peer at each setting, then
 * against the fastest of them; ratios are time taken by the peer ÷ time taken by the action.
 */
function peerRows(c, on = '') {
  const peers = (c.peers ?? []).map(name => ({ name, ...c.runs[name] }))
  if (peers.length === 0) return []
  const action = c.engines
    .map(engine => ({ engine, ...c.runs[`action-${engine}-4`] }))
    .sort((a, b) => a.seconds - b.seconds)[0]
  const label = `the action (${action.engine}, concurrency 4): ${action.mbPerSecond} MB/s (${detail(action)})`
  const rows = peers.map(p => [
    `Copying ${c.images} images${on} against a peer: ${p.config}`,
    label,
    `${p.mbPerSecond} MB/s (${detail(p)})`,
    `${round(p.seconds / action.seconds, 2)}×`,
    '–',
    '–'
  ])
  const fastest = [...peers].sort((a, b) => a.seconds - b.seconds)[0]
  rows.push([
    `Copying ${c.images} images${on} against the fastest peer at its best setting`,
    label,
    `${fastest.config}: ${fastest.mbPerSecond} MB/s`,
    `${round(fastest.seconds / action.seconds, 2)}×`,
    c.link ? '≥ 1.2×' : '– (≥ 1.2× on the WAN profile)',
    c.link ? verdict(fastest.seconds / action.seconds >= 1.2) : '–'
  ])
  return rows
}

/** The copying rows of one network; on the WAN profile each figure names the link measured. */
function copyingRows(c) {
  const rows = []
  const on = c.link
    ? ` on the WAN profile (${c.link.measured.rttMs} ms, ${c.link.measured.mbitPerSecond} Mbit/s measured)`
    : ''
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
        `Copying ${c.images} images, ${c.uniqueMB} MB${on}, engine ${engine}, concurrency ${n}`,
        `${r.mbPerSecond} MB/s (${detail(r)})`,
        `${peer[engine]} one image after another: ${seq.mbPerSecond} MB/s (${detail(seq)})`,
        `${r.ratioToSequential}×`,
        n === 4 ? '≥ 2.5×' : '–',
        n === 4 ? verdict(r.ratioToSequential >= 2.5) : '–'
      ])
    }
    const r4 = c.runs[`action-${engine}-4`]
    rows.push([
      `Copying${on}, engine ${engine}, concurrency 4, against the raw ceiling`,
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
  rows.push(...peerRows(c, on))
  return rows
}
