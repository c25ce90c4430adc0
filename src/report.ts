/**
 * Report: results → action outputs, the job summary and the log. Everything a
 * user wrote is escaped on the way out.
 */
import * as core from '@actions/core'
import type { WrittenConfigs } from './client-config-files.js'
import { CLIENTS, installCommands, type Client } from './client-configs.js'
import { escapeHtml, safeLog } from './escape.js'
import { countByStatus, type MirrorResult, type Status } from './results.js'

/** Past this many rows the table would approach GitHub's 1 MiB summary limit. */
export const MAX_SUMMARY_ROWS = 1000

const STATUS_LABEL: Record<Status, string> = {
  copied: '✅ copied',
  unchanged: '✅ unchanged',
  planned: '📝 planned',
  rejected: '⛔ rejected',
  failed: '❌ failed'
}
// Problems first: they are what a reader of a long table looks for.
const STATUS_ORDER: Record<Status, number> = {
  failed: 0,
  rejected: 1,
  copied: 2,
  planned: 3,
  unchanged: 4
}

/** References that exist (or would, in a dry run) in the mirror, one per image. */
export function mirroredReferences(results: readonly MirrorResult[]): string[] {
  return results
    .filter(r => r.status !== 'rejected' && r.status !== 'failed' && !r.tagFilter && r.target)
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
  const parts = (Object.keys(STATUS_LABEL) as Status[])
    .filter(s => counts[s] > 0)
    .map(s => `${counts[s]} ${s}`)
  return `${results.length} image(s): ${parts.join(', ') || 'none'}`
}

// core.summary writes an empty cell as an unclosed tag; give every cell content.
const EMPTY = '–'

function code(text: string): string {
  return text ? `<code>${escapeHtml(text)}</code>` : EMPTY
}

function requestCell(r: MirrorResult): string {
  const asked = `${code(r.request)}<br><sub>${escapeHtml(r.origin)}</sub>`
  const read = r.source && r.source !== r.request ? `<br>→ ${code(r.source)}` : ''
  const filter = r.tagFilter ? ` tags ${code(r.tagFilter)}` : ''
  return asked + read + filter
}

function reasonCell(r: MirrorResult): string {
  return (
    [r.reason, r.note]
      .filter((t): t is string => Boolean(t))
      .map(escapeHtml)
      .join('<br>') || EMPTY
  )
}

/** `sha256:0123456789ab…`, enough to tell digests apart in a table. */
export function shortDigest(digest: string | undefined): string {
  if (!digest) return ''
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
  if (!r.digest) return EMPTY
  const full = escapeHtml(r.digest)
  const changed = r.sourceDigest
    ? `<br><sub>source ${escapeHtml(shortDigest(r.sourceDigest))}</sub>`
    : ''
  return `<code title="${full}">${escapeHtml(shortDigest(r.digest))}</code>${changed}`
}

function detailCell(text: string): string {
  return text ? escapeHtml(text) : EMPTY
}

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
  if (context.problem) summary.addRaw(`<p><b>⛔ ${escapeHtml(context.problem)}</b></p>`)
  for (const remark of context.remarks ?? []) summary.addRaw(`<p>${escapeHtml(remark)}</p>`)
  summary.addRaw(`<p>${escapeHtml(totalsLine(results))}</p>`)

  const rows = [...results].sort((a, b) => STATUS_ORDER[a.status] - STATUS_ORDER[b.status])
  const shown = rows.slice(0, MAX_SUMMARY_ROWS)
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
    ...shown.map(r => [
      requestCell(r),
      code(r.target),
      STATUS_LABEL[r.status],
      digestCell(r),
      detailCell((r.platforms ?? []).join(', ')),
      detailCell(formatSize(r.size)),
      detailCell(r.seconds !== undefined ? `${r.seconds.toFixed(1)} s` : ''),
      reasonCell(r)
    ])
  ])
  if (rows.length > shown.length) {
    summary.addRaw(
      `<p>${rows.length - shown.length} more row(s) not shown; the <code>results</code> output lists every image.</p>`
    )
  }

  const mirrored = mirroredReferences(results)
  if (mirrored.length > 0) {
    const example = mirrored[0] as string
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
  if (error) summary.addRaw(`<p><b>⛔ ${escapeHtml(error)}</b></p>`)
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
  for (const note of configs.notes) summary.addRaw(`<p>${escapeHtml(note.text)}</p>`)
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
    core.info(safeLog(`${r.status.padEnd(9)} ${what}${filter}${where}${why} (${r.origin})`))
  }
  core.endGroup()
  for (const r of results.filter(r => r.status === 'rejected' || r.status === 'failed')) {
    core.warning(safeLog(`${r.origin}: "${r.request}" ${r.status}: ${r.reason ?? ''}`))
  }
}
