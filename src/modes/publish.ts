/**
 * The last step of every job: answer the issue (if any), set the outputs,
 * write the summary (and client configs), and fail the job when it should.
 */
import * as core from '@actions/core'
import { safeLog } from '../action/escape.js'
import type { ClientConfigSettings } from '../action/inputs.js'
import { emitClientConfigs, type WrittenConfigs } from '../client-configs/files.js'
import { countByStatus, type MirrorResult } from '../image/results.js'
import { answerIssue, type PendingIssueRequest } from '../issue/flow.js'
import { setOutputs, writeSummary } from '../report/summary.js'
import { problemOf } from './requests.js'

/**
 * Why the job fails, or undefined: any failure, or nothing but rejections; images deferred
 * for want of pulls only with `failOnDeferred` (else the next run takes them, and the job is
 * green).
 */
export function failureMessage(
  results: readonly MirrorResult[],
  { failOnDeferred = false }: { failOnDeferred?: boolean } = {}
): string | undefined {
  const counts = countByStatus(results)
  if (counts.failed > 0) {
    const failed = results.filter(r => r.status === 'failed')
    const lines = failed.slice(0, 10).map(r => `  ${r.source || r.request}: ${r.reason ?? ''}`)
    const more = failed.length > 10 ? [`  ... and ${failed.length - 10} more in the summary`] : []
    // One line per image, each made harmless; setFailed escapes the line breaks themselves.
    return [`${counts.failed} image(s) failed; see the summary for why.`, ...lines, ...more]
      .map(safeLog)
      .join('\n')
  }
  if (failOnDeferred && counts.deferred > 0) {
    return `${counts.deferred} image(s) deferred: a source registry's pull budget would not allow them (fail-on-deferred is true); the next run takes them.`
  }
  if (results.length > 0 && counts.rejected === results.length) {
    return `Every requested image (${counts.rejected}) was rejected; see the summary for why.`
  }
  return undefined
}

export interface PublishContext {
  dryRun: boolean
  problem?: string
  issue?: PendingIssueRequest
  remarks?: string[]
  /** Leave failing to a later job (a plan leaves it to the report, which must still run). */
  deferFailure?: boolean
  /** Images deferred for want of pulls fail the job. */
  failOnDeferred?: boolean
  configs?: WrittenConfigs
}

/** Answer the issue (if any), set outputs, write the summary, and fail the job when it should. */
export async function publishResults(
  results: readonly MirrorResult[],
  context: PublishContext
): Promise<void> {
  const { issue } = context
  const problems: string[] = []
  if (context.problem) {
    problems.push(
      safeLog(issue ? `The issue request was refused: ${context.problem}` : context.problem)
    )
  }
  if (issue) {
    const unanswered = await answerIssue({ ...issue, ...problemOf(context.problem) }, results)
    if (unanswered) problems.push(safeLog(unanswered))
  }
  const problem = problems.join('\n')
  setOutputs(results)
  await writeSummary(results, {
    dryRun: context.dryRun,
    ...(problem ? { problem } : {}),
    ...(context.remarks ? { remarks: context.remarks } : {}),
    ...(context.configs ? { configs: context.configs } : {})
  })
  if (context.deferFailure) return
  const failure = [
    problem,
    failureMessage(results, { failOnDeferred: context.failOnDeferred === true })
  ].filter(Boolean)
  if (failure.length > 0) core.setFailed(failure.join('\n'))
}

/** Client configs for the run's source registries, written when config-dir is given. */
export function writeClientConfigs(
  inputs: ClientConfigSettings & { target: string; insecureRegistries: readonly string[] },
  results: readonly MirrorResult[],
  target = inputs.target
): { configs?: WrittenConfigs } {
  if (!inputs.configDir) return {}
  const options = { ...inputs, configDir: inputs.configDir, target }
  return { configs: emitClientConfigs(options, results) }
}
