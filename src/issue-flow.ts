/**
 * The issue-request flow around the main job: read the request from the
 * event, say when it is accepted, and answer with the results (comment,
 * labels, state).
 */
import * as core from '@actions/core'
import * as github from '@actions/github'
import * as path from 'node:path'
import { safeLog } from './escape.js'
import { displayPath, workspacePath, type Inputs } from './inputs.js'
import {
  IssueAnswerer,
  acceptedComment,
  outcomeOf,
  resultComment,
  type Run
} from './issue-answer.js'
import { parseIssue, readIssueEvent, type IssueEvent, type IssueRequest } from './issue-request.js'
import type { MirrorResult } from './results.js'

/** Events that carry a new or changed request; others (labeled, closed, ...) are left alone. */
const ANSWERED = new Set(['opened', 'edited', 'reopened'])

export interface PendingIssueRequest extends IssueRequest {
  event: IssueEvent
  run: Run
  /** Nothing to do for this event (e.g. `labeled`): no answer is given. */
  skip: boolean
  answerer: IssueAnswerer
  /** Say on the issue that work has started. */
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

export function readIssueRequest(inputs: Inputs): PendingIssueRequest {
  const event = readIssueEvent(process.env.GITHUB_EVENT_NAME, process.env.GITHUB_EVENT_PATH)
  if (!inputs.githubToken) {
    throw new Error('Input "github-token": is required with from-issue: true, to answer the issue')
  }
  const [owner, repo] = (process.env.GITHUB_REPOSITORY ?? '').split('/')
  if (!owner || !repo) throw new Error('from-issue: GITHUB_REPOSITORY (owner/repo) is not set')

  // The title is a stranger's text: logged only through safeLog.
  core.info(
    safeLog(
      `Issue #${event.number} (${event.action}) by ${event.author}: ${event.title.slice(0, 200)}`
    )
  )
  const skip = !ANSWERED.has(event.action)
  const parsed: IssueRequest = skip
    ? { requests: [], notes: [], ignored: 0 }
    : parseIssue(event, { maxImages: inputs.issueMaxImages })
  if (skip) core.info(`Nothing to do for an issue that was ${safeLog(event.action)}.`)
  if (parsed.problem) core.warning(safeLog(`The request is refused: ${parsed.problem}`))

  const allowlist = allowlistLink(inputs.allowlist)
  const run: Run = {
    dryRun: inputs.dryRun,
    ...(runUrl() ? { url: runUrl() as string } : {}),
    ...(allowlist ? { allowlist } : {})
  }
  const answerer = new IssueAnswerer(
    github.getOctokit(inputs.githubToken),
    { owner, repo, number: event.number, labels: event.labels, state: event.state },
    inputs.labels
  )
  const platforms = parsed.platforms ?? inputs.platforms
  return {
    ...parsed,
    ...(skip ? { problem: undefined } : {}),
    event,
    run,
    skip,
    answerer,
    accepted: count => answerer.comment(acceptedComment(count, platforms, run))
  }
}

/** Answer on the issue; returns why answering failed, so the run can still report. */
export async function answerIssue(
  request: PendingIssueRequest,
  results: readonly MirrorResult[]
): Promise<string | undefined> {
  if (request.skip) return undefined
  const outcome = outcomeOf(results, request.problem)
  try {
    await request.answerer.comment(
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
    const why = error instanceof Error ? error.message : String(error)
    return `Could not answer issue #${request.event.number} (${why}); the token needs issues: write`
  }
}
