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

/**
 * Where copying's time goes, per network: the whole machine's CPU spent per MB
 * copied (both registries included), for crane one image after another, the
 * action with each engine at concurrency 4, and the raw stream.
 */
function copyingNote(results) {
  const lines = []
  for (const c of [results.copying, results.copyingWan]) {
    if (!c) continue
    const cores = results.machine.cores
    const msPerMB = run => round((run.machineCpuBusy * cores * run.seconds * 1000) / c.uniqueMB, 1)
    const parts = [
      ['`crane copy` one by one', c.runs['crane-sequential']],
      ...c.engines.map(e => [`the action (${e}, c4)`, c.runs[`action-${e}-4`]]),
      ['the raw stream', c.runs['raw-ceiling']]
    ]
      .filter(([, run]) => run?.machineCpuBusy !== undefined)
      .map(([name, run]) => `${name} ${msPerMB(run)} ms`)
    lines.push(
      `CPU spent per MB copied ${c.link ? 'on the WAN profile' : 'on loopback'} (the whole machine, both registries included): ${parts.join(', ')}.`
    )
  }
  return lines.length > 0 ? `\n${lines.join('\n')}` : ''
}

function table(results) {
  const rows = [
    ['Figure', 'This run', 'Baseline (same run, same data)', 'Ratio', 'Target', 'Verdict']
  ]
  const p = results.planning
  if (p) {
    rows.push([
      `Planning, ${p.images} unchanged images (${p.concurrency === 'default' ? 'default inputs' : `concurrency ${p.concurrency}`})`,
      `${p.action.imagesPerSecond} images/s`,
      `\`skopeo inspect\` of source and target per image: ${p.perImageBaseline.skopeoInspectImagesPerSecond} images/s (sample of ${p.perImageBaseline.sample}; \`--raw\`: ${p.perImageBaseline.skopeoInspectRawImagesPerSecond})`,
      `${p.ratioToSkopeoInspect}×`,
      '≥ 20×',
      verdict(p.ratioToSkopeoInspect >= 20)
    ])
    rows.push([
      "Planning against the registries' ceiling",
      `${p.action.imagesPerSecond} images/s`,
      `raw keep-alive HEADs at the registries' best, ${p.ceiling.connections} connections${
        p.ceiling.headsPerSecondByConnections
          ? ` (HEAD/s by connections: ${Object.entries(p.ceiling.headsPerSecondByConnections)
              .map(([c, h]) => `${c}: ${h}`)
              .join(', ')})`
          : ''
      }: ${p.ceiling.headsPerSecond} HEAD/s = ${p.ceiling.imagesPerSecond} images/s (2 HEADs an image; client CPU ${p.ceiling.cpuMsPerImage} ms an image, the action's ${p.action.cpuMsPerImage} ms)`,
      `${Math.round(p.ratioToCeiling * 100)} %`,
      '≥ 90 %',
      verdict(p.ratioToCeiling >= 0.9)
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
    'copy native c4 MB/s': r.copying?.runs['action-native-4']?.mbPerSecond,
    'allowlist requests/s': r.allowlist?.matchesPerSecond,
    'start-up ms': r.startup?.actionMs
  })
  // Copy figures compare only over the same copy set.
  const sameSet =
    previous.copying?.images === results.copying?.images &&
    previous.copying?.blobMB === results.copying?.blobMB
  const before = pick(previous)
  const now = pick(results)
  if (!sameSet) {
    for (const key of Object.keys(now)) if (key.startsWith('copy ')) delete now[key]
  }
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
  const rows = peers.flatMap(p => [
    [
      `Copying ${c.images} images${on} against a peer: ${p.config}`,
      label,
      `${p.mbPerSecond} MB/s (${detail(p)}${p.peakMiB !== undefined ? `, peak ${p.peakMiB} MiB` : ''})`,
      `${round(p.seconds / action.seconds, 2)}×`,
      '–',
      '–'
    ],
    ...wireRows(c, p.config, p, on).map(row => [...row.slice(0, 4), '–', '–']),
    ...(p.rerun
      ? [
          [
            ...rerunRow(c, p.config, p.rerun, on).slice(0, 4),
            '–',
            `${p.rerun.sourceManifestGets} GETs`
          ]
        ]
      : [])
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

/** The memory an engine may take beyond its largest layer: a runtime and its buffers. */
const MEMORY_ALLOWANCE_MIB = 100

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
  // The target's baseline is crane copy one image after another, for every engine.
  const craneSeq = c.runs['crane-sequential']
  for (const engine of c.engines) {
    const own = c.runs[`${engine}-sequential`]
    const seq = craneSeq ?? own
    const seqName = craneSeq ? 'crane' : engine
    for (const n of COPY_CONCURRENCY) {
      const r = c.runs[`action-${engine}-${n}`]
      const ratio = seq ? round(seq.seconds / r.seconds, 2) : undefined
      const alsoOwn =
        own && seqName !== engine ? `; ${peer[engine]}: ${round(own.seconds / r.seconds, 2)}×` : ''
      rows.push([
        `Copying ${c.images} images, ${c.uniqueMB} MB${on}, engine ${engine}, concurrency ${n}`,
        `${r.mbPerSecond} MB/s (${detail(r)})`,
        seq
          ? `${peer[seqName]} one image after another: ${seq.mbPerSecond} MB/s (${detail(seq)})${alsoOwn}`
          : '–',
        ratio === undefined ? '–' : `${ratio}×`,
        n === 4 && c.link ? '≥ 2.5×' : '–',
        n === 4 && c.link && ratio !== undefined ? verdict(ratio >= 2.5) : '–'
      ])
    }
    const r4 = c.runs[`action-${engine}-4`]
    const rawTarget = engine === 'native' && !c.link ? 0.8 : undefined
    rows.push([
      `Copying${on}, engine ${engine}, concurrency 4, against the raw ceiling`,
      `${r4.mbPerSecond} MB/s`,
      `blobs streamed GET source → PUT target, 4 at once: ${raw.mbPerSecond} MB/s (${detail(raw)})`,
      `${Math.round(r4.ratioToRawCeiling * 100)} %`,
      rawTarget ? `≥ ${rawTarget * 100} %` : '–',
      rawTarget ? verdict(r4.ratioToRawCeiling >= rawTarget) : '–'
    ])
    const runsOf = COPY_CONCURRENCY.map(n => c.runs[`action-${engine}-${n}`])
    const peak = Math.max(...runsOf.map(r => r.peakMiB ?? 0))
    const limit = c.largestBlobMB / 1.048576 + MEMORY_ALLOWANCE_MIB
    rows.push([
      `Peak memory of engine ${engine} (${engine === 'native' ? "the action's process" : `the largest ${engine} process`}) copying ${c.uniqueMB} MB${on}`,
      runsOf.map(r => `${r.peakMiB} MiB (c${r.concurrency})`).join(', '),
      `largest layer ${round(c.largestBlobMB / 1.048576, 1)} MiB; the action's own process ${runsOf.map(r => r.peakRssMiB).join(', ')} MiB, the dry run ${c.dryRunPeakRssMiB} MiB; all its processes at once ${runsOf.map(r => r.peakTreeMiB).join(', ')} MiB`,
      '–',
      `< largest layer + ${MEMORY_ALLOWANCE_MIB} MiB`,
      verdict(peak < limit)
    ])
    rows.push(...wireRows(c, `engine ${engine}, concurrency 4`, r4, on))
    if (r4.rerun) rows.push(rerunRow(c, `the action (${engine})`, r4.rerun, on))
  }
  rows.push(...peerRows(c, on))
  return rows
}

/** Bytes pulled from the source and pushed to the target (through the WAN links) of one run. */
function wireRows(c, what, run, on) {
  if (run.pushedRatio === undefined) return []
  return [
    [
      `Bytes moved copying ${c.images} images${on}: ${what}`,
      `pulled ${run.pulledMB} MB, pushed ${run.pushedMB} MB`,
      `the set's distinct blobs: ${c.blobMB} MB`,
      `${run.pulledRatio}×, ${run.pushedRatio}×`,
      '≤ 1.05× each',
      verdict(run.pulledRatio <= 1.05 && run.pushedRatio <= 1.05)
    ]
  ]
}

/** The same copy run again with everything up to date: its time and the pulls it spent. */
function rerunRow(c, who, rerun, on) {
  return [
    `Unchanged re-run of ${c.images} images${on}: ${who}`,
    `${rerun.seconds} s`,
    '–',
    '–',
    '0 source manifest GETs',
    `${rerun.sourceManifestGets} GETs: ${verdict(rerun.sourceManifestGets === 0)}`
  ]
}
