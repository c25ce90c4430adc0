/**
 * Answering an issue request: the comments (everything the author wrote is
 * escaped), the outcome labels, and closing. Talks only to the issue API.
 */
import * as github from '@actions/github'
import { escapeHtml } from './escape.js'
import { NOT_ALLOWED } from './plan.js'
import { shortDigest } from './report.js'
import { countByStatus, type MirrorResult } from './results.js'

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

const OK = new Set(['copied', 'unchanged', 'planned'])

/** Everything mirrored: succeeded; nothing: failed; some: partial. */
export function outcomeOf(results: readonly MirrorResult[], problem?: string): Outcome {
  const ok = results.filter(r => OK.has(r.status)).length
  if (problem || ok === 0) return 'failed'
  return ok === results.length ? 'succeeded' : 'partial'
}

const code = (text: string) => (text ? `<code>${escapeHtml(text)}</code>` : '–')
const STATUS: Record<MirrorResult['status'], string> = {
  copied: '✅ copied',
  unchanged: '✅ up to date',
  planned: '📝 planned',
  rejected: '⛔ rejected',
  failed: '❌ failed'
}

export function acceptedComment(
  count: number,
  platforms: 'all' | readonly string[],
  run: Run
): string {
  const which = platforms === 'all' ? 'all platforms' : platforms.join(', ')
  const follow = run.url ? ` Follow it in [the workflow run](${run.url}).` : ''
  return [
    '<!-- image-mirror: accepted -->',
    `Request accepted: mirroring ${count} image(s) (${which})${run.dryRun ? ' as a dry run' : ''}.${follow}`
  ].join('\n')
}

/** The final answer: one row per image, the reasons, and ready-to-paste pull lines. */
export function resultComment(
  results: readonly MirrorResult[],
  details: { problem?: string; notes: readonly string[]; ignored: number; run: Run }
): string {
  const outcome = outcomeOf(results, details.problem)
  const counts = countByStatus(results)
  const done = counts.copied + counts.unchanged + counts.planned
  const head =
    outcome === 'succeeded'
      ? `✅ **Mirrored ${done} of ${results.length} image(s).**`
      : outcome === 'partial'
        ? `⚠️ **Mirrored ${done} of ${results.length} image(s); the others need attention (see below).** This issue stays open.`
        : details.problem
          ? `⛔ **This request cannot be served:** ${escapeHtml(details.problem)}`
          : `❌ **Nothing was mirrored** (${results.length} image(s) asked for).`
  const lines = ['<!-- image-mirror: result -->', head, '']
  if (details.run.dryRun) lines.push('_Dry run: nothing was written to the mirror._', '')

  if (results.length > 0) {
    lines.push('| Status | Requested | Mirrored address | Digest |', '| --- | --- | --- | --- |')
    for (const r of results) {
      const read = r.source && r.source !== r.request ? `<br>read as ${code(r.source)}` : ''
      lines.push(
        `| ${STATUS[r.status]} | ${code(r.request)}${read} | ${code(r.target)} | ${code(shortDigest(r.digest))} |`
      )
    }
    lines.push('')
  }

  const reasons = results.filter(r => r.reason)
  if (reasons.length > 0) {
    lines.push('**Why**', '')
    for (const r of reasons) lines.push(`- ${code(r.request)}: ${escapeHtml(r.reason ?? '')}`)
    lines.push('')
  }
  const allowlist = details.run.allowlist
  if (allowlist && results.some(r => r.reason?.includes(NOT_ALLOWED))) {
    // The name and URL come from the workflow's own input and the runner, not from the issue.
    const file = allowlist.url
      ? `[${escapeHtml(allowlist.name)}](${allowlist.url})`
      : code(allowlist.name)
    lines.push(
      `Only images in the allowlist ${file} are mirrored. To ask for an addition, open a pull request that adds the line named above, or ask the maintainers on this issue.`,
      ''
    )
  }
  const remarks = [
    ...details.notes,
    ...results.filter(r => r.note).map(r => `${r.request}: ${r.note}`)
  ]
  if (details.ignored > 0) {
    remarks.push(
      `${details.ignored} line(s) of text were not read as images: write one image reference a line.`
    )
  }
  if (remarks.length > 0) {
    lines.push('**Notes**', '')
    for (const note of remarks) lines.push(`- ${escapeHtml(note)}`)
    lines.push('')
  }

  const mirrored = results.filter(r => OK.has(r.status) && r.target).map(r => r.target)
  if (mirrored.length > 0 && !details.run.dryRun) {
    lines.push('**How to use**', '', '```sh')
    // Mirrored references are built by the action from validated parts: no user text is pasted here.
    for (const ref of mirrored) lines.push(`docker pull ${ref}`, `ctr -n k8s.io images pull ${ref}`)
    lines.push('```', '')
  }
  if (details.run.url) lines.push(`[The workflow run](${details.run.url})`)
  return lines.join('\n').trimEnd() + '\n'
}

type Octokit = ReturnType<typeof github.getOctokit>

export interface IssueTarget {
  owner: string
  repo: string
  number: number
  /** Labels on the issue when the event fired. */
  labels: readonly string[]
  /** `open` or `closed` when the event fired. */
  state: string
}

/** Comments, labels and state of one issue. */
export class IssueAnswerer {
  constructor(
    private readonly octokit: Octokit,
    private readonly issue: IssueTarget,
    private readonly labels: IssueLabels
  ) {}

  async comment(body: string): Promise<void> {
    await this.octokit.rest.issues.createComment({
      owner: this.issue.owner,
      repo: this.issue.repo,
      issue_number: this.issue.number,
      body
    })
  }

  /**
   * Label the outcome (adding only what is missing, removing our other
   * outcome labels from an earlier run), then close, or leave open (reopening
   * an issue that an earlier run closed and an edit turned into a mixed outcome).
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
    } else if (this.issue.state === 'closed') {
      await this.octokit.rest.issues.update({
        owner,
        repo,
        issue_number: number,
        state: 'open',
        state_reason: 'reopened'
      })
    }
  }
}
