/**
 * The issue-request flow around the main job: read the request from the
 * event, say when it is accepted, and answer with the results (comment,
 * labels, state).
 */
import * as core from '@actions/core'
import * as github from '@actions/github'
import * as path from 'node:path'
import { safeLog } from '../action/escape.js'
import type { IssueSettings, Platforms, RequestInputs } from '../action/inputs.js'
import { displayPath, workspacePath } from '../action/paths.js'
import { IssueAnswerer, acceptedComment, outcomeOf, resultComment, type Run } from './answer.js'
import { parseIssue, readIssueEvent, type IssueEvent, type IssueRequest } from './request.js'
import type { MirrorResult } from '../image/results.js'
import { errorMessage } from '../common/errors.js'

/** Events that carry a new or changed request; others (labeled, closed, ...) are left alone. */
const ANSWERED = new Set(['opened', 'edited', 'reopened'])

/** What was read from the issue, as the plan file carries it to the report job. */
export interface IssueRecord extends Omit<IssueRequest, 'requests'> {
  event: IssueEvent
  run: Run
  /** Nothing to do for this event (e.g. `labeled`): no answer is given. */
  skip: boolean
}

export interface PendingIssueRequest extends IssueRecord {
  requests: IssueRequest['requests']
  answerer: IssueAnswerer
  /** Say on the issue that work has started (a new or reopened issue only). */
  accepted(count: number): Promise<void>
}

function runUrl(): string | undefined {
  const { GITHUB_SERVER_URL: server, GITHUB_REPOSITORY: repo, GITHUB_RUN_ID: id } = process.env
  return server && repo && id ? `${server}/${repo}/actions/runs/${id}` : undefined
}

/** The allowlist as answers name it: its path, linked to the repository's copy when it has one. */
function allowlistLink(file: string | undefined): Run['allowlist'] {
  if (!file) return undefined
  const name = displayPath(file)
  const inRepo = workspacePath(file)
  const { GITHUB_SERVER_URL: server, GITHUB_REPOSITORY: repo, GITHUB_SHA: sha } = process.env
  if (!inRepo || !server || !repo || !sha) return { name }
  const url = `${server}/${repo}/blob/${sha}/${inRepo.split(path.sep).map(encodeURIComponent).join('/')}`
  return { name, url }
}

/** Why this event is not served, or undefined when it carries a request to serve. */
function notServed(event: IssueEvent): string | undefined {
  if (!ANSWERED.has(event.action)) return `Nothing to do for an issue that was ${event.action}.`
  // Closed is final (a maintainer may have closed it): an edit must not bring it back to life.
  if (event.action === 'edited' && event.state === 'closed') {
    return 'The issue is closed; an edit of a closed issue is not served (open a new issue).'
  }
  return undefined
}

/**
 * Hold an issue's platform choice to what the maintainers offer (`issue-platforms`): with
 * `none` the choice is set aside (said in a note) and the `platforms` input applies; with a
 * list, a choice outside it refuses the request, naming what is offered.
 */
export function offeredPlatforms(
  parsed: IssueRequest,
  inputs: { issuePlatforms: IssueSettings['issuePlatforms']; platforms: Platforms }
): void {
  const chosen = parsed.platforms
  const offered = inputs.issuePlatforms
  if (chosen === undefined || offered === 'any' || parsed.problem) return
  const said = chosen === 'all' ? 'all' : chosen.join(', ')
  if (offered === 'none') {
    const used = inputs.platforms === 'all' ? 'all platforms' : inputs.platforms.join(', ')
    parsed.notes.push(
      `the platform choice (${said}) was set aside: this mirror copies ${used} for every request`
    )
    delete parsed.platforms
    return
  }
  const outside = chosen === 'all' ? ['all'] : chosen.filter(p => !offered.includes(p))
  if (outside.length > 0) {
    parsed.problem = `this mirror does not offer ${outside.join(', ')} to issue requests; choose from ${offered.join(', ')}, or leave the platform out.`
  }
}

export function readIssueRequest(inputs: RequestInputs): PendingIssueRequest {
  const event = readIssueEvent(process.env.GITHUB_EVENT_NAME, process.env.GITHUB_EVENT_PATH)
  // The title is a stranger's text: logged only through safeLog.
  core.info(
    safeLog(
      `Issue #${event.number} (${event.action}) by ${event.author}: ${event.title.slice(0, 200)}`
    )
  )
  const why = notServed(event)
  const parsed: IssueRequest = why
    ? { requests: [], notes: [], ignored: 0 }
    : parseIssue(event, { maxImages: inputs.issueMaxImages })
  if (why) core.info(safeLog(why))
  if (!why) offeredPlatforms(parsed, inputs)
  if (parsed.problem) core.warning(safeLog(`The request is refused: ${parsed.problem}`))
  const allowlist = allowlistLink(inputs.allowlist)
  const run: Run = {
    dryRun: inputs.dryRun,
    ...(runUrl() ? { url: runUrl() as string } : {}),
    ...(allowlist ? { allowlist } : {})
  }
  const { requests, ...rest } = parsed
  return pendingIssue({ ...rest, event, run, skip: Boolean(why) }, requests, inputs)
}

/** The request as read, with what it takes to answer it (the token, the repository). */
export function pendingIssue(
  record: IssueRecord,
  requests: IssueRequest['requests'],
  inputs: Pick<IssueSettings, 'githubToken' | 'labels'> & { platforms: Platforms }
): PendingIssueRequest {
  if (!inputs.githubToken) {
    throw new Error('Input "github-token": is required with from-issue: true, to answer the issue')
  }
  const [owner, repo] = (process.env.GITHUB_REPOSITORY ?? '').split('/')
  if (!owner || !repo) throw new Error('from-issue: GITHUB_REPOSITORY (owner/repo) is not set')
  const { event, run } = record
  const answerer = new IssueAnswerer(
    github.getOctokit(inputs.githubToken),
    {
      owner,
      repo,
      number: event.number,
      labels: event.labels,
      action: event.action
    },
    inputs.labels
  )
  const platforms = record.platforms ?? inputs.platforms
  return {
    ...record,
    ...(record.skip ? { problem: undefined } : {}),
    requests,
    answerer,
    // An edit updates the earlier answer in place; only a new or reopened issue hears "accepted".
    accepted: count =>
      event.action === 'edited'
        ? Promise.resolve()
        : answerer.comment(acceptedComment(count, platforms, run))
  }
}

/** The serialisable part of a pending request, for the plan file. */
export function issueRecord(request: PendingIssueRequest): IssueRecord {
  const { requests: _requests, answerer: _answerer, accepted: _accepted, ...record } = request
  void _requests
  void _answerer
  void _accepted
  return record
}

/** Answer on the issue; returns why answering failed, so the run can still report. */
export async function answerIssue(
  request: PendingIssueRequest,
  results: readonly MirrorResult[]
): Promise<string | undefined> {
  if (request.skip) return undefined
  const outcome = outcomeOf(results, request.problem)
  try {
    await request.answerer.answer(
      resultComment(results, {
        ...(request.problem ? { problem: request.problem } : {}),
        notes: request.notes,
        ignored: request.ignored,
        run: request.run
      })
    )
    await request.answerer.settle(outcome, request.run.dryRun)
    core.info(`Answered issue #${request.event.number}: ${outcome}`)
    return undefined
  } catch (error) {
    const why = errorMessage(error)
    return `Could not answer issue #${request.event.number} (${why}); the token needs issues: write`
  }
}
