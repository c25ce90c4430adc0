/**
 * Report: results → action outputs, the job summary and the log. Everything a
 * user wrote is escaped on the way out.
 */
import * as core from '@actions/core'
import type { WrittenConfigs } from '../client-configs/files.js'
import { CLIENTS, installCommands, type Client } from '../client-configs/render.js'
import {
  breakable,
  breakableCode,
  clip,
  codeCell,
  EMPTY_CELL,
  escapeHtml,
  escapeProse,
  safeLog
} from '../action/escape.js'
import { countByStatus, targetRepository, type MirrorResult } from '../image/results.js'
import {
  attachedWords,
  isSigned,
  subsetSigningWords,
  verifiedWords,
  shortDigest,
  shortReference,
  isMirrored,
  isProblem,
  statusLabel,
  statusWord,
  totalsLine
} from '../image/status-words.js'

/** A table this long is past reading; the `results` output has every row. */
export const MAX_SUMMARY_ROWS = 1000
/**
 * GitHub refuses a step summary over 1 MiB: rows stop once the summary
 * reaches this many bytes, leaving room for what follows the table.
 */
export const MAX_SUMMARY_BYTES = 900 * 1024
/** Longest reason, note or code text in a cell; the `results` output has the whole text. */
export const MAX_CELL_CHARS = 1_000

/** Results may come from files other jobs wrote: read a field only when it is a string. */
const str = (value: unknown): string => (typeof value === 'string' ? value : '')

// Problems first: they are what a reader of a long table looks for (unknown ones first of all).
const STATUS_ORDER = new Map<string, number>([
  ['failed', 0],
  ['rejected', 1],
  ['deferred', 2],
  ['copied', 3],
  ['planned', 4],
  ['unchanged', 5]
])
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
    .filter(r => isMirrored(r.status) && !r.tagFilter && str(r.target))
    .map(r => r.target)
}

export function setOutputs(results: readonly MirrorResult[]): void {
  const counts = countByStatus(results)
  core.setOutput('results', JSON.stringify(results))
  core.setOutput('mirrored', mirroredReferences(results).join('\n'))
  for (const status of [
    'copied',
    'unchanged',
    'failed',
    'rejected',
    'planned',
    'deferred'
  ] as const) {
    core.setOutput(status, String(counts[status]))
  }
}

export { totalsLine }

const code = (text: string) => codeCell(text, MAX_CELL_CHARS)

/** A reference in a table cell: its digest shortened, wrapping at its `/`s. */
const referenceCode = (reference: string) =>
  breakableCode(shortReference(reference), MAX_CELL_CHARS)

const prose = (text: string) => escapeProse(clip(text, MAX_CELL_CHARS))

/** The image as asked for (digests shortened, so the cell stays narrow), and what it was read as. */
function imageCell(r: MirrorResult): string {
  const request = str(r.request)
  const source = str(r.source)
  const asked = `${referenceCode(request) || EMPTY_CELL}<br><sub>${prose(str(r.origin))}</sub>`
  const read = source && source !== request ? `<br>→ ${referenceCode(source)}` : ''
  const filter = str(r.tagFilter) ? ` tags ${code(str(r.tagFilter))}` : ''
  return asked + read + filter
}

/**
 * How the attention list names an image: as the table's Image column does, as asked and,
 * when it differs, as read (each tag of a tag list told apart).
 */
function imageName(r: MirrorResult): string {
  const request = str(r.request)
  const source = str(r.source)
  const read = source && source !== request ? ` → ${referenceCode(source)}` : ''
  return `${referenceCode(request) || EMPTY_CELL}${read}`
}

/** How the notes list names an image: as read (one entry's tags are told apart), else as asked. */
function readName(r: MirrorResult): string {
  return code(shortReference(str(r.source) || str(r.request)))
}

export { shortDigest }

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

/** The digest, short (the full one in its title and in `results`), and the source's if it differs. */
function digestText(r: MirrorResult): string {
  const digest = str(r.digest)
  if (!digest) return ''
  const full = escapeHtml(clip(digest, MAX_CELL_CHARS))
  const short = (d: string) => breakable(shortDigest(d), MAX_CELL_CHARS)
  const source = str(r.sourceDigest)
  const changed = source ? `<br><sub>source ${short(source)}</sub>` : ''
  return `<code title="${full}">${short(digest)}</code>${changed}`
}

const platformsText = (platforms: unknown) =>
  Array.isArray(platforms) ? platforms.map(str).filter(Boolean).join(', ') : ''
const secondsText = (seconds: unknown) =>
  typeof seconds === 'number' && Number.isFinite(seconds) ? `${seconds.toFixed(1)} s` : ''

/** Digest, platforms, size and time in one narrow cell; empty when none is known. */
function detailsCell(r: MirrorResult): string {
  const size = formatSize(typeof r.size === 'number' ? r.size : undefined)
  const facts = [platformsText(r.platforms), size, secondsText(r.seconds)].filter(Boolean)
  return [digestText(r), ...facts.map(prose)].filter(Boolean).join('<br>')
}

/** What came with the image (signatures, attestations, SBOMs); empty when nothing did. */
function signingCell(r: MirrorResult): string {
  const words = attachedWords(r)
  const subset = subsetSigningWords(r)
  const verified = verifiedWords(r)
  return [
    verified && prose(verified),
    words && prose(words),
    subset && `<sub>${prose(subset)}</sub>`
  ]
    .filter(Boolean)
    .join('<br>')
}

/**
 * The `cosign verify` line for a signed image as the mirror holds it, by digest (what a
 * signature is over); undefined when there is none to show.
 */
export function verifyLine(results: readonly MirrorResult[]): string | undefined {
  for (const r of results) {
    if (!isMirrored(r.status) || !isSigned(r) || !str(r.digest)) continue
    // A subset of several platforms is a new index: its signatures are its platform images'.
    const subset = (r.attached as Record<string, unknown> | undefined)?.indexLeftOut
    if (subset && Array.isArray(r.platforms) && r.platforms.length > 1) continue
    const reference = `${targetRepository(r)}@${str(r.digest)}`
    const signer = signerOptions(r.verified as Record<string, unknown> | undefined)
    if (!signer || !isPasteableReference(reference)) continue
    return `cosign verify ${signer} ${reference}`
  }
  return undefined
}

/** Words a shell reads as one word, unquoted: a path, a URL, an email. */
const PASTEABLE_WORD = /^[\w.][\w./:@%+=-]{0,299}$/

/**
 * cosign's options naming who signed: the keyless signer the policy checked, else the
 * policy's key (a path its author wrote), else a stand-in for the publisher's key.
 */
function signerOptions(verified: Record<string, unknown> | undefined): string | undefined {
  const identity = str(verified?.identity)
  const issuer = str(verified?.issuer)
  if (identity || issuer) {
    // A signer a shell would read otherwise is not shown: a wrong line is worse than none.
    if (!PASTEABLE_WORD.test(identity) || !PASTEABLE_WORD.test(issuer)) return undefined
    // A private Sigstore's root: cosign needs it too (a path the user wrote, or left out).
    const root = str(verified?.trustedRoot)
    if (root && !/^[\w.][\w./-]{0,199}$/.test(root)) return undefined
    const rootOption = root ? `--trusted-root ${root} ` : ''
    return `${rootOption}--certificate-identity ${identity} --certificate-oidc-issuer ${issuer}`
  }
  const key = str(verified?.key)
  return `--key ${/^[\w.][\w./-]{0,199}$/.test(key) ? key : 'publisher.pub'}`
}

/** Tag policies' lines shown; each is short, so the summary stays bounded. */
const MAX_POLICY_LINES = 50

/**
 * One line per tag policy: what it selected of the tags listed and, by reason, what it left
 * out, the first few named (`semver(>=1.26) newest(3)`: 3 of 1258 tags: 1.31.1, …).
 */
function selectionLines(results: readonly MirrorResult[]): string[] {
  const lines: string[] = []
  for (const r of results) {
    const s = r.selection
    if (!s || typeof s !== 'object' || lines.length >= MAX_POLICY_LINES) continue
    const names = (tags: unknown) =>
      Array.isArray(tags)
        ? tags
            .slice(0, 5)
            .map(t => code(str(t)))
            .join(', ')
        : ''
    const count = (n: unknown) => (typeof n === 'number' && Number.isFinite(n) ? n : 0)
    const repository = str(r.source).replace(/:[^:/]*$/, '')
    const chosen = count(s.selected)
    const picked =
      chosen > 0 ? `: ${names(s.first)}${chosen > count(s.first?.length) ? ', …' : ''}` : ''
    const left = (Array.isArray(s.leftOut) ? s.leftOut : []).slice(0, 8).map(l => {
      const more = count(l?.count) > count(l?.first?.length) ? ', …' : ''
      return `${count(l?.count)} ${prose(str(l?.reason))} (${names(l?.first)}${more})`
    })
    lines.push(
      `${code(repository)} ${code(str(s.policy))}: ${chosen} of ${count(s.seen)} tag(s) selected${picked}${left.length ? `; left out ${left.join('; ')}` : ''}`
    )
  }
  return lines
}

/** The table's columns; a column empty for every row of the run is left out. */
const COLUMNS: { header: string; cell: (r: MirrorResult) => string }[] = [
  { header: 'Status', cell: r => statusLabel(r.status) },
  { header: 'Image', cell: imageCell },
  { header: 'Mirrored address', cell: r => referenceCode(str(r.target)) },
  { header: 'Details', cell: detailsCell },
  { header: 'Signed', cell: signingCell }
]

export interface SummaryContext {
  dryRun: boolean
  /** Why the request as a whole was refused or not answered (an issue request). */
  problem?: string
  /** Lines about the run itself (which leg, how many legs), shown above the totals. */
  remarks?: readonly string[]
  /** Client configs written to config-dir. */
  configs?: WrittenConfigs
}

const list = (items: readonly string[]) =>
  `<ul>\n${items.map(i => `<li>${i}</li>`).join('\n')}\n</ul>`

/**
 * Build the job summary in core.summary's buffer (written by writeSummary). What went wrong
 * comes first, as a list right under the totals (status, image, reason: on the first screen,
 * where a table cell or a list after a long table would not be), then the table, status
 * first and problems first, its columns empty for the whole run left out, then the notes,
 * and pull lines only for images written.
 */
export function buildSummary(results: readonly MirrorResult[], context: SummaryContext): void {
  const summary = core.summary.addHeading('Image Mirror', 2)
  if (context.dryRun) summary.addRaw('<p><b>Dry run</b>: nothing was written to any registry.</p>')
  if (context.problem) summary.addRaw(`<p><b>⛔ ${prose(context.problem)}</b></p>`)
  for (const remark of context.remarks ?? []) summary.addRaw(`<p>${prose(remark)}</p>`)
  summary.addRaw(`<p>${escapeHtml(totalsLine(results))}</p>`)
  const deferred = results.filter(r => str(r.status) === 'deferred').length
  if (deferred > 0) {
    const failed = results.some(r => str(r.status) === 'failed')
    summary.addRaw(
      `<p>⏳ <b>${deferred} image(s) deferred</b>: a source registry's pull budget would not allow them now (each reason says when pulls come back). ${failed ? 'They are not failures' : 'Nothing failed'}; the next run takes them.</p>`
    )
  }

  const rows = [...results].sort((a, b) => statusOrder(a.status) - statusOrder(b.status))
  // Rows, with their reasons and notes, while they fit: at most MAX_SUMMARY_ROWS, and the
  // buffer under MAX_SUMMARY_BYTES. Problems sort first, so their reasons are never cut.
  let bytes = Buffer.byteLength(summary.stringify()) + 1024
  const shown: string[][] = []
  const reasons: string[] = []
  const notes: string[] = []
  for (const r of rows) {
    if (shown.length >= MAX_SUMMARY_ROWS) break
    const cells = COLUMNS.map(column => column.cell(r))
    const why =
      isProblem(r.status) && str(r.reason)
        ? `${statusLabel(r.status)} ${imageName(r)} <sub>${prose(str(r.origin))}</sub>: ${prose(str(r.reason))}`
        : ''
    const note = str(r.note) ? `${readName(r)}: ${prose(str(r.note))}` : ''
    const size =
      cells.reduce((n, cell) => n + Buffer.byteLength(cell) + '<td></td>'.length, 0) +
      '<tr></tr>'.length +
      Buffer.byteLength(why + note) +
      2 * '<li></li>\n'.length
    if (bytes + size > MAX_SUMMARY_BYTES) break
    bytes += size
    shown.push(cells)
    if (why) reasons.push(why)
    if (note) notes.push(note)
  }
  if (reasons.length > 0) summary.addHeading('Needs attention', 3).addRaw(list(reasons))
  const used = COLUMNS.map((_, i) => shown.some(cells => cells[i] !== ''))
  // No results (a request refused as a whole): no table at all, rather than an empty one.
  if (shown.length > 0) {
    summary.addTable([
      COLUMNS.filter((_, i) => used[i]).map(column => ({ data: column.header, header: true })),
      ...shown.map(cells => cells.filter((_, i) => used[i]).map(cell => cell || EMPTY_CELL))
    ])
  }
  if (rows.length > shown.length) {
    summary.addRaw(
      `<p>${rows.length - shown.length} more row(s) not shown; the <code>results</code> output lists every image.</p>`
    )
  }
  const policies = selectionLines(results)
  if (policies.length > 0) summary.addHeading('Tag policies', 3).addRaw(list(policies))
  if (notes.length > 0) summary.addHeading('Notes', 3).addRaw(list(notes))

  const mirrored = mirroredReferences(results)
  // addCodeBlock does not escape: the example is a reference that needs none.
  const example = mirrored.find(isPasteableReference)
  if (example !== undefined && !context.dryRun) {
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
  const verify = context.dryRun ? undefined : verifyLine(results)
  if (verify) {
    summary
      .addHeading('How to verify', 3)
      .addRaw(
        "<p>Signatures, attestations and SBOMs came with the images, so cosign checks the mirror as it would the source, with the publisher's key (or <code>--certificate-identity</code> and <code>--certificate-oidc-issuer</code> for keyless signatures):</p>"
      )
      .addCodeBlock(verify, 'sh')
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
      safeLog(`${statusWord(r.status).padEnd(10)} ${what}${filter}${where}${why} (${r.origin})`)
    )
  }
  core.endGroup()
  for (const r of results.filter(r => r.status === 'rejected' || r.status === 'failed')) {
    core.warning(safeLog(`${r.origin}: "${r.request}" ${statusWord(r.status)}: ${r.reason ?? ''}`))
  }
}
