/**
 * Report: results → action outputs, the job summary and the log. Everything a
 * user wrote is escaped on the way out.
 */
import * as core from '@actions/core'
import type { WrittenConfigs } from '../client-configs/files.js'
import { CLIENTS, installCommands, type Client } from '../client-configs/render.js'
import { clip, codeCell, EMPTY_CELL, escapeHtml, escapeProse, safeLog } from '../action/escape.js'
import { STATUSES, countByStatus, type MirrorResult } from '../image/results.js'

/** A table this long is past reading; the `results` output has every row. */
export const MAX_SUMMARY_ROWS = 1000
/**
 * GitHub refuses a step summary over 1 MiB: rows stop once the summary
 * reaches this many bytes, leaving room for what follows the table.
 */
export const MAX_SUMMARY_BYTES = 900 * 1024
/** Longest reason, note or code text in a cell; the `results` output has the whole text. */
export const MAX_CELL_CHARS = 1_000

// Maps, so a status from a results file such as `constructor` finds nothing rather than Object's.
const STATUS_LABEL = new Map<string, string>([
  ['copied', '✅ copied'],
  ['unchanged', '✅ unchanged'],
  ['planned', '📝 planned'],
  ['rejected', '⛔ rejected'],
  ['failed', '❌ failed']
])
// Problems first: they are what a reader of a long table looks for (unknown ones first of all).
const STATUS_ORDER = new Map<string, number>([
  ['failed', 0],
  ['rejected', 1],
  ['copied', 2],
  ['planned', 3],
  ['unchanged', 4]
])
const MIRRORED = new Set(['copied', 'unchanged', 'planned'])

/** Results may come from files other jobs wrote: read a field only when it is a string. */
const str = (value: unknown): string => (typeof value === 'string' ? value : '')

const statusLabel = (status: unknown) => STATUS_LABEL.get(str(status)) ?? '❔ unknown'
const statusOrder = (status: unknown) => STATUS_ORDER.get(str(status)) ?? -1

/**
 * A reference that can go as it is into a shell line or a code block: the
 * characters of `host[:port]/path[:tag][@algo:hex]` only, of a sane length.
 */
export function isPasteableReference(ref: unknown): ref is string {
  return typeof ref === 'string' && ref.length <= 512 && /^[A-Za-z0-9][\w.:@/+-]*$/.test(ref)
}

/** References that exist (or would, in a dry run) in the mirror, one per image. */
export function mirroredReferences(results: readonly MirrorResult[]): string[] {
  return results
    .filter(r => MIRRORED.has(str(r.status)) && !r.tagFilter && str(r.target))
    .map(r => r.target)
}

export function setOutputs(results: readonly MirrorResult[]): void {
  const counts = countByStatus(results)
  core.setOutput('results', JSON.stringify(results))
  core.setOutput('mirrored', mirroredReferences(results).join('\n'))
  for (const status of ['copied', 'unchanged', 'failed', 'rejected', 'planned'] as const) {
    core.setOutput(status, String(counts[status]))
  }
}

export function totalsLine(results: readonly MirrorResult[]): string {
  const counts = countByStatus(results)
  const parts = STATUSES.filter(s => counts[s] > 0).map(s => `${counts[s]} ${s}`)
  const unknown = results.filter(r => !STATUS_LABEL.has(str(r.status))).length
  if (unknown > 0) parts.push(`${unknown} unknown`)
  return `${results.length} image(s): ${parts.join(', ') || 'none'}`
}

const code = (text: string) => codeCell(text, MAX_CELL_CHARS)

const prose = (text: string) => escapeProse(clip(text, MAX_CELL_CHARS))

function requestCell(r: MirrorResult): string {
  const request = str(r.request)
  const source = str(r.source)
  const asked = `${code(request)}<br><sub>${prose(str(r.origin))}</sub>`
  const read = source && source !== request ? `<br>→ ${code(source)}` : ''
  const filter = str(r.tagFilter) ? ` tags ${code(str(r.tagFilter))}` : ''
  return asked + read + filter
}

function reasonCell(r: MirrorResult): string {
  return [str(r.reason), str(r.note)].filter(Boolean).map(prose).join('<br>') || EMPTY_CELL
}

/** `sha256:0123456789ab…`, enough to tell digests apart in a table. */
export function shortDigest(digest: string | undefined): string {
  if (typeof digest !== 'string' || !digest) return ''
  const [algorithm, hex] = digest.split(':')
  return hex ? `${algorithm}:${hex.slice(0, 12)}` : digest
}

/** 1536 → `1.5 KiB`. */
export function formatSize(bytes: number | undefined): string {
  if (bytes === undefined || !Number.isFinite(bytes)) return ''
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let value = bytes
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit++
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`
}

function digestCell(r: MirrorResult): string {
  const digest = str(r.digest)
  if (!digest) return EMPTY_CELL
  const full = escapeHtml(clip(digest, MAX_CELL_CHARS))
  const source = str(r.sourceDigest)
  const changed = source
    ? `<br><sub>source ${escapeHtml(clip(shortDigest(source), MAX_CELL_CHARS))}</sub>`
    : ''
  return `<code title="${full}">${escapeHtml(clip(shortDigest(digest), MAX_CELL_CHARS))}</code>${changed}`
}

function detailCell(text: string): string {
  return text ? prose(text) : EMPTY_CELL
}

const platformsText = (platforms: unknown) =>
  Array.isArray(platforms) ? platforms.map(str).filter(Boolean).join(', ') : ''
const secondsText = (seconds: unknown) =>
  typeof seconds === 'number' && Number.isFinite(seconds) ? `${seconds.toFixed(1)} s` : ''

/** `<td>…</td>` eight times in a `<tr>…</tr>`, as core.summary writes a row. */
const ROW_OVERHEAD = 8 * '<td></td>'.length + '<tr></tr>'.length

export interface SummaryContext {
  dryRun: boolean
  /** Why the request as a whole was refused or not answered (an issue request). */
  problem?: string
  /** Lines about the run itself (which leg, how many legs), shown above the totals. */
  remarks?: readonly string[]
  /** Client configs written to config-dir. */
  configs?: WrittenConfigs
}

/** Build the job summary in core.summary's buffer (written by writeSummary). */
export function buildSummary(results: readonly MirrorResult[], context: SummaryContext): void {
  const summary = core.summary.addHeading('Image Mirror', 2)
  if (context.dryRun) summary.addRaw('<p><b>Dry run</b>: nothing was written to any registry.</p>')
  if (context.problem) summary.addRaw(`<p><b>⛔ ${prose(context.problem)}</b></p>`)
  for (const remark of context.remarks ?? []) summary.addRaw(`<p>${prose(remark)}</p>`)
  summary.addRaw(`<p>${escapeHtml(totalsLine(results))}</p>`)

  const rows = [...results].sort((a, b) => statusOrder(a.status) - statusOrder(b.status))
  // Rows while they fit: at most MAX_SUMMARY_ROWS, and the buffer under MAX_SUMMARY_BYTES.
  let bytes = Buffer.byteLength(summary.stringify()) + 1024
  const shown: string[][] = []
  for (const r of rows) {
    if (shown.length >= MAX_SUMMARY_ROWS) break
    const cells = [
      requestCell(r),
      code(str(r.target)),
      statusLabel(r.status),
      digestCell(r),
      detailCell(platformsText(r.platforms)),
      detailCell(formatSize(typeof r.size === 'number' ? r.size : undefined)),
      detailCell(secondsText(r.seconds)),
      reasonCell(r)
    ]
    const row = cells.reduce((n, cell) => n + Buffer.byteLength(cell), ROW_OVERHEAD)
    if (bytes + row > MAX_SUMMARY_BYTES) break
    bytes += row
    shown.push(cells)
  }
  summary.addTable([
    [
      { data: 'Request', header: true },
      { data: 'Mirrored address', header: true },
      { data: 'Status', header: true },
      { data: 'Digest', header: true },
      { data: 'Platforms', header: true },
      { data: 'Size', header: true },
      { data: 'Time', header: true },
      { data: 'Reason', header: true }
    ],
    ...shown
  ])
  if (rows.length > shown.length) {
    summary.addRaw(
      `<p>${rows.length - shown.length} more row(s) not shown; the <code>results</code> output lists every image.</p>`
    )
  }

  const mirrored = mirroredReferences(results)
  // addCodeBlock does not escape: the example is a reference that needs none.
  const example = mirrored.find(isPasteableReference)
  if (example !== undefined) {
    summary
      .addHeading('How to use', 3)
      .addRaw(
        '<p>Pull from the mirror by its new name (Docker, then containerd on Kubernetes nodes):</p>'
      )
      .addCodeBlock(`docker pull ${example}\nctr -n k8s.io images pull ${example}`, 'sh')
    if (mirrored.length > 1) {
      summary.addRaw(
        `<p>The <code>mirrored</code> output lists all ${mirrored.length} addresses.</p>`
      )
    }
  }
  if (context.configs) addClientConfigs(context.configs)
}

const CLIENT_LABEL: Record<Client, string> = {
  containers: 'Podman, Buildah, skopeo, CRI-O (<code>registries.conf</code>)',
  containerd: 'containerd (<code>hosts.toml</code>)',
  k3s: 'k3s (<code>registries.yaml</code>)',
  docker: 'Docker (<code>daemon.json</code>)'
}

/** Which client configs were written, how to install each, and what no file can express. */
function addClientConfigs({ dir, configs, written, error }: WrittenConfigs): void {
  const summary = core.summary.addHeading('Client configuration', 3)
  if (error) summary.addRaw(`<p><b>⛔ ${prose(error)}</b></p>`)
  const registries = configs.registries.map(r => `<code>${escapeHtml(r)}</code>`).join(', ')
  if (registries) {
    summary.addRaw(
      `<p>Files in <code>${escapeHtml(dir)}</code> make runtimes pull ${registries} from the mirror first and fall back to the source, so images keep their usual names.</p>`
    )
  }
  for (const client of CLIENTS.filter(c => written[c])) {
    const files = (written[client] ?? []).map(f => `<code>${escapeHtml(f)}</code>`).join(', ')
    summary.addRaw(`<p><b>${CLIENT_LABEL[client]}</b>: ${files}</p>`)
    // addCodeBlock does not escape; the paths come from the workflow.
    const commands = installCommands(client, dir, configs)
    summary.addCodeBlock(commands.map(escapeHtml).join('\n'), 'sh')
  }
  // Notes name registries a request asked for: prose like any user text.
  for (const note of configs.notes) summary.addRaw(`<p>${prose(note.text)}</p>`)
}

/**
 * Write the summary. A missing GITHUB_STEP_SUMMARY (a local run, an old
 * runner) or a failed write is logged, never a failure of the job.
 */
export async function writeSummary(
  results: readonly MirrorResult[],
  context: SummaryContext
): Promise<void> {
  buildSummary(results, context)
  await flushSummary()
}

/**
 * Write what `core.summary` holds; without GITHUB_STEP_SUMMARY (outside the runner) or when
 * the write fails, say so and drop it: a summary is never why a job fails.
 */
export async function flushSummary(): Promise<void> {
  if (!process.env.GITHUB_STEP_SUMMARY) {
    core.info('GITHUB_STEP_SUMMARY is not set; the job summary is skipped.')
    core.summary.emptyBuffer()
    return
  }
  try {
    await core.summary.write()
  } catch (e) {
    core.warning(`Could not write the job summary: ${safeLog((e as Error).message)}`)
    core.summary.emptyBuffer()
  }
}

/** One log line per result, grouped, with user text made harmless. */
export function logResults(results: readonly MirrorResult[]): void {
  core.startGroup(`Plan: ${totalsLine(results)}`)
  for (const r of results) {
    const what = r.source || r.request
    const where = r.target ? ` -> ${r.target}` : ''
    const filter = r.tagFilter ? ` tags ${r.tagFilter}` : ''
    const why = r.reason ? `: ${r.reason}` : ''
    core.info(
      safeLog(
        `${(str(r.status) || 'unknown').padEnd(9)} ${what}${filter}${where}${why} (${r.origin})`
      )
    )
  }
  core.endGroup()
  for (const r of results.filter(r => r.status === 'rejected' || r.status === 'failed')) {
    core.warning(safeLog(`${r.origin}: "${r.request}" ${r.status}: ${r.reason ?? ''}`))
  }
}
