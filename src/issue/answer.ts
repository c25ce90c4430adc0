/**
 * Answering an issue request: the comments (everything the author wrote is
 * escaped), the outcome labels, and closing. Talks only to the issue API.
 */
import * as github from '@actions/github'
import { breakableCode, clip, escapeHtml, escapeProse } from '../action/escape.js'
import { NOT_ALLOWED } from '../allowlist/allowlist.js'
import { isPasteableReference, verifyLine } from '../report/summary.js'
import {
  attachedWords,
  isMirrored,
  shortDigest,
  shortReference,
  statusLabel,
  subsetSigningWords,
  verifiedWords
} from '../image/status-words.js'
import type { MirrorResult } from '../image/results.js'

export interface IssueLabels {
  succeeded: string
  failed: string
  partial: string
}

export type Outcome = 'succeeded' | 'failed' | 'partial'

export interface Run {
  /** Link to the workflow run, when the runner says where it is. */
  url?: string
  dryRun: boolean
  /** The allowlist file, to point at when an image is not in it. */
  allowlist?: { name: string; url?: string }
}

/** First line of every result comment: how a later run finds its earlier answer. */
export const RESULT_MARKER = '<!-- image-mirror: result -->'
/**
 * GitHub refuses a comment over 65,536 characters; the answer stops adding
 * rows, reasons, notes and pull lines at this size.
 */
export const MAX_COMMENT_CHARS = 60_000
/** Longest single reason, note or code cell shown; the results output has the whole text. */
export const MAX_TEXT_CHARS = 1_000
/** Pages of 100 comments read to find an earlier answer; past them a new one is posted. */
export const MAX_COMMENT_PAGES = 10

/** Results may come from files other jobs wrote: read a field only when it is a string. */
const str = (value: unknown): string => (typeof value === 'string' ? value : '')

/**
 * Everything mirrored: succeeded; nothing: failed; some: partial. Anything deferred for want
 * of pulls is partial at worst: the issue stays open for the run that takes it.
 */
export function outcomeOf(results: readonly MirrorResult[], problem?: string): Outcome {
  const ok = results.filter(r => isMirrored(r.status)).length
  if (problem) return 'failed'
  if (results.some(r => r.status === 'deferred')) return 'partial'
  if (ok === 0) return 'failed'
  return ok === results.length ? 'succeeded' : 'partial'
}

// Code text is what users paste: escaped, but no joiners.
const code = (text: string) =>
  text ? `<code>${escapeHtml(clip(text, MAX_TEXT_CHARS))}</code>` : '–'
const prose = (text: string) => escapeProse(clip(text, MAX_TEXT_CHARS))
// In the table, a reference wraps at its `/`s and a digest in it is shortened (the comment's
// width is GitHub's, not ours); the results output and the pull lines have them whole.
const cellCode = (text: string) => breakableCode(shortReference(text), MAX_TEXT_CHARS) || '–'

/** An image as asked and, when it was read as something else, `readAs` and what it was read as. */
function named(r: MirrorResult, readAs: string): string {
  const request = str(r.request)
  const source = str(r.source)
  return `${cellCode(request)}${source && source !== request ? `${readAs}${cellCode(source)}` : ''}`
}

export function acceptedComment(
  count: number,
  platforms: 'all' | readonly string[],
  run: Run
): string {
  const which = platforms === 'all' ? 'all platforms' : escapeProse(platforms.join(', '))
  const follow = run.url ? ` Follow it in [the workflow run](${run.url}).` : ''
  return [
    '<!-- image-mirror: accepted -->',
    `Request accepted: mirroring ${count} image(s) (${which})${run.dryRun ? ' as a dry run' : ''}.${follow}`
  ].join('\n')
}

/** A block of items (table rows, list items, pull lines) shown while they fit. */
interface Section {
  open: string[]
  count: number
  item: (index: number) => string
  close: string[]
  /** The line for the items not shown. */
  more: (left: number) => string
}

/** Budget kept for each later section, so one long section does not crowd out the rest. */
const SECTION_RESERVE = 4_000
/** Room for a section's "N more" line. */
const MORE_RESERVE = 300

const size = (lines: readonly string[]) => lines.reduce((n, line) => n + line.length + 1, 0)

/** The section's lines, within `budget` characters (newlines included). */
function fill(section: Section, budget: number): string[] {
  const lines = [...section.open]
  let used = size(section.open) + size(section.close) + MORE_RESERVE
  let shown = 0
  // Stop at the first item that does not fit: linear, and "N more" means the tail.
  for (; shown < section.count; shown++) {
    const line = section.item(shown)
    if (used + line.length + 1 > budget) break
    lines.push(line)
    used += line.length + 1
  }
  lines.push(...section.close)
  // A blank line first: right after a table or list, a line would join it.
  if (shown < section.count) lines.push('', section.more(section.count - shown))
  lines.push('')
  return lines
}

/** The final answer: one row per image, the reasons, and ready-to-paste pull lines. */
export function resultComment(
  results: readonly MirrorResult[],
  details: { problem?: string; notes: readonly string[]; ignored: number; run: Run }
): string {
  const outcome = outcomeOf(results, details.problem)
  const done = results.filter(r => isMirrored(r.status)).length
  const head =
    outcome === 'succeeded'
      ? `✅ **Mirrored ${done} of ${results.length} image(s).**`
      : outcome === 'partial'
        ? `⚠️ **Mirrored ${done} of ${results.length} image(s); the others need attention (see below).** This issue stays open.`
        : details.problem
          ? `⛔ **This request cannot be served:** ${prose(details.problem)}`
          : `❌ **Nothing was mirrored** (${results.length} image(s) asked for).`
  const top = [RESULT_MARKER, head, '']
  const deferred = results.filter(r => r.status === 'deferred').length
  if (deferred > 0) {
    const failed = results.some(r => r.status === 'failed')
    top.push(
      `⏳ **${deferred} image(s) deferred:** the source registry's pull budget would not allow them now (each reason says when it comes back). ${failed ? 'They are not failures' : 'Nothing failed'}; re-run this workflow after that to mirror them.`,
      ''
    )
  }
  if (details.run.dryRun) top.push('_Dry run: nothing was written to the mirror._', '')

  const runLink = details.run.url ? `[the workflow run](${details.run.url})` : 'the workflow run'
  const listed = (what: string) => (left: number) =>
    `_${left} more ${what} are listed in the results output of ${runLink}._`

  const reasons = results.filter(r => str(r.reason))
  const allowlist = details.run.allowlist
  const allowlistLines: string[] = []
  if (allowlist && results.some(r => str(r.reason).includes(NOT_ALLOWED))) {
    // The name and URL come from the workflow's own input and the runner, not from the issue.
    const file = allowlist.url
      ? `[${escapeHtml(allowlist.name)}](${allowlist.url})`
      : code(allowlist.name)
    allowlistLines.push(
      `Only images in the allowlist ${file} are mirrored. To ask for an addition, open a pull request that adds the line named above, or ask the maintainers on this issue.`,
      ''
    )
  }

  const noted = results.filter(r => str(r.note))
  const ignored =
    details.ignored > 0
      ? [
          `${details.ignored} line(s) of text were not read as images: write one image reference a line.`
        ]
      : []
  // The request's own notes first: the results output has each image's note.
  const general = [...details.notes.map(String), ...ignored]
  const remark = (i: number): string => {
    if (i < general.length) return `- ${prose(general[i] as string)}`
    const r = noted[i - general.length] as MirrorResult
    return `- ${code(str(r.request))}: ${prose(str(r.note))}`
  }

  // Built by the action from validated parts; anything else (a results file) is left out.
  const mirrored = details.run.dryRun
    ? []
    : results.filter(r => isMirrored(r.status) && isPasteableReference(r.target)).map(r => r.target)

  // A column of what came with each image, when anything did: signatures are why some mirror.
  const signing = results.some(r => verifiedWords(r) || attachedWords(r) || subsetSigningWords(r))
  const signedCell = (r: MirrorResult) =>
    [verifiedWords(r), attachedWords(r), subsetSigningWords(r)]
      .filter(Boolean)
      .map(words => prose(words))
      .join('<br>') || '–'
  const verify = details.run.dryRun ? undefined : verifyLine(results)

  const sections: Section[] = [
    {
      open: signing
        ? [
            '| Status | Image | Mirrored address | Digest | Signed |',
            '| --- | --- | --- | --- | --- |'
          ]
        : ['| Status | Image | Mirrored address | Digest |', '| --- | --- | --- | --- |'],
      count: results.length,
      item: i => {
        const r = results[i] as MirrorResult
        const row = `| ${statusLabel(r.status)} | ${named(r, '<br>read as ')} | ${cellCode(str(r.target))} | ${breakableCode(shortDigest(str(r.digest)), MAX_TEXT_CHARS) || '–'} |`
        return signing ? `${row} ${signedCell(r)} |` : row
      },
      close: [],
      more: listed('image(s)')
    },
    {
      open: ['**Why**', ''],
      count: reasons.length,
      item: i => {
        const r = reasons[i] as MirrorResult
        // Named as the table names it, with its status, so the line reads on its own.
        return `- ${statusLabel(r.status)} ${named(r, ' → ')}: ${prose(str(r.reason))}`
      },
      close: [],
      more: listed('reason(s)')
    },
    {
      open: ['**Notes**', ''],
      count: general.length + noted.length,
      item: remark,
      close: [],
      more: left =>
        `_${left} more note(s) are not shown; the results output of ${runLink} has each image's note._`
    },
    {
      open: ['**How to use**', '', '```sh'],
      count: mirrored.length,
      item: i => `docker pull ${mirrored[i]}\nctr -n k8s.io images pull ${mirrored[i]}`,
      close: ['```'],
      more: listed('mirrored image(s)')
    },
    {
      open: [
        '**How to verify**',
        '',
        "Signatures came with the images: cosign checks the mirror with the publisher's key (or `--certificate-identity` and `--certificate-oidc-issuer` for keyless signatures).",
        '',
        '```sh'
      ],
      count: verify ? 1 : 0,
      item: () => verify as string,
      close: ['```'],
      more: () => ''
    }
  ]

  const tail = details.run.url ? [`[The workflow run](${details.run.url})`] : []
  let budget = MAX_COMMENT_CHARS - size(top) - size(allowlistLines) - size(tail)
  const body: string[][] = sections.map((section, i) => {
    if (section.count === 0) return []
    const later = sections.slice(i + 1).filter(s => s.count > 0).length
    const lines = fill(section, budget - later * SECTION_RESERVE)
    budget -= size(lines)
    return lines
  })
  const [table = [], why = [], remarks = [], pull = [], verifying = []] = body
  const lines = [
    ...top,
    ...table,
    ...why,
    ...allowlistLines,
    ...remarks,
    ...pull,
    ...verifying,
    ...tail
  ]
  return lines.join('\n').trimEnd() + '\n'
}

type Octokit = ReturnType<typeof github.getOctokit>

export interface IssueTarget {
  owner: string
  repo: string
  number: number
  /** The `issues` event's action: opened, edited, reopened, ... */
  action: string
  /** Labels on the issue when the event fired. */
  labels: readonly string[]
}

/** Comments, labels and state of one issue. */
export class IssueAnswerer {
  constructor(
    private readonly octokit: Octokit,
    private readonly issue: IssueTarget,
    private readonly labels: IssueLabels
  ) {}

  /** A new comment (the accepted comment). */
  async comment(body: string): Promise<void> {
    await this.octokit.rest.issues.createComment({
      owner: this.issue.owner,
      repo: this.issue.repo,
      issue_number: this.issue.number,
      body
    })
  }

  /**
   * The result comment: after an edit, the earlier answer is updated in place
   * (so edits do not pile up comments); otherwise, or when there is none, a new one.
   */
  async answer(body: string): Promise<void> {
    const earlier = this.issue.action === 'edited' ? await this.earlierAnswer() : undefined
    if (earlier === undefined) return this.comment(body)
    try {
      await this.octokit.rest.issues.updateComment({
        owner: this.issue.owner,
        repo: this.issue.repo,
        comment_id: earlier,
        body
      })
    } catch (error) {
      // Deleted since it was listed: answer anew.
      if ((error as { status?: unknown }).status !== 404) throw error
      await this.comment(body)
    }
  }

  /**
   * The newest result comment a bot wrote (anyone can write the marker; only
   * a bot's comment is ours to update), in the first MAX_COMMENT_PAGES pages.
   */
  private async earlierAnswer(): Promise<number | undefined> {
    const { owner, repo, number } = this.issue
    let found: number | undefined
    let pages = 0
    const iterator = this.octokit.paginate.iterator(this.octokit.rest.issues.listComments, {
      owner,
      repo,
      issue_number: number,
      per_page: 100
    })
    for await (const page of iterator) {
      // Listed oldest first: the last match is the newest.
      for (const c of page.data) {
        if (c.user?.type === 'Bot' && c.body?.startsWith(RESULT_MARKER)) found = c.id
      }
      if (++pages >= MAX_COMMENT_PAGES) break
    }
    return found
  }

  /**
   * Label the outcome (adding only what is missing, removing our other
   * outcome labels from an earlier run), then close on success or failure.
   * A partial outcome leaves the state alone: never reopened, so an edit
   * cannot reopen an issue a maintainer closed.
   */
  async settle(outcome: Outcome, dryRun: boolean): Promise<void> {
    if (dryRun) return
    const { owner, repo, number } = this.issue
    const wanted = this.labels[outcome]
    const stale = Object.values(this.labels).filter(
      l => l !== wanted && this.issue.labels.includes(l)
    )
    for (const name of stale) {
      await this.octokit.rest.issues.removeLabel({ owner, repo, issue_number: number, name })
    }
    if (!this.issue.labels.includes(wanted)) {
      await this.octokit.rest.issues.addLabels({
        owner,
        repo,
        issue_number: number,
        labels: [wanted]
      })
    }
    if (outcome !== 'partial') {
      await this.octokit.rest.issues.update({
        owner,
        repo,
        issue_number: number,
        state: 'closed',
        state_reason: outcome === 'succeeded' ? 'completed' : 'not_planned'
      })
    }
  }
}
