/**
 * The main job: inputs → requests (a list, or an issue) → allowed references
 * → targets → plan → copy → results → outputs, summary and, for an issue,
 * the answer on it.
 */
import * as core from '@actions/core'
import * as fs from 'node:fs'
import { parseAllowlist, type Allowlist } from './allowlist.js'
import { parseEntries, type ImageRequest } from './entries.js'
import { safeLog } from './escape.js'
import { displayPath, getInputs, type Inputs } from './inputs.js'
import { answerIssue, readIssueRequest } from './issue-flow.js'
import { mirror } from './mirror.js'
import { buildPlan } from './plan.js'
import { logResults, setOutputs, writeSummary } from './report.js'
import { countByStatus, type MirrorResult } from './results.js'

function readRequests(inputs: Inputs): ImageRequest[] {
  const requests = parseEntries(inputs.images, 'images')
  if (inputs.imagesFile) {
    requests.push(
      ...parseEntries(fs.readFileSync(inputs.imagesFile, 'utf8'), displayPath(inputs.imagesFile))
    )
  }
  if (requests.length === 0) {
    throw new Error(
      'No image entries found in "images" or "images-file" (only blank lines and comments).'
    )
  }
  return requests
}

/** Why the job fails, or undefined: any failure, or nothing but rejections. */
export function failureMessage(results: readonly MirrorResult[]): string | undefined {
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
  if (results.length > 0 && counts.rejected === results.length) {
    return `Every requested image (${counts.rejected}) was rejected; see the summary for why.`
  }
  return undefined
}

/** Plan, then compare and copy unless a dry run without comparison was asked for. */
async function planAndMirror(
  requests: ImageRequest[],
  inputs: Inputs,
  allowlist: Allowlist | undefined,
  onAccepted?: (count: number) => Promise<void>
): Promise<MirrorResult[]> {
  let results = buildPlan(requests, {
    target: inputs.target,
    template: inputs.rewrite,
    ...(allowlist ? { allowlist } : {})
  })
  logResults(results)
  const planned = results.filter(r => r.status === 'planned').length
  if (planned === 0) return results
  await onAccepted?.(planned)
  if (inputs.dryRun && !inputs.skipUnchanged) {
    core.info('dry-run with skip-unchanged: false: no registry is contacted.')
    return results
  }
  core.startGroup(inputs.dryRun ? 'Compare with the target (dry run)' : 'Copy')
  try {
    results = await mirror(results, inputs)
  } finally {
    core.endGroup()
  }
  return results
}

export async function run(): Promise<void> {
  try {
    const inputs = getInputs()
    if (inputs.mode !== 'sync') {
      throw new Error(
        `mode "${inputs.mode}" is not available in this version of the action; use mode: sync`
      )
    }
    const allowlist = inputs.allowlist
      ? parseAllowlist(fs.readFileSync(inputs.allowlist, 'utf8'), displayPath(inputs.allowlist))
      : undefined
    if (allowlist)
      core.info(`Allowlist ${allowlist.source}: ${allowlist.patterns.length} pattern(s)`)

    let results: MirrorResult[]
    let problem: string | undefined
    if (inputs.fromIssue) {
      const request = readIssueRequest(inputs)
      // The accept comment is a courtesy: if it cannot be posted, the final answer says why.
      const accepted = (count: number) =>
        request.accepted(count).catch((e: unknown) => core.warning(safeLog(String(e))))
      results =
        request.problem || request.skip
          ? []
          : await planAndMirror(
              request.requests,
              { ...inputs, ...(request.platforms ? { platforms: request.platforms } : {}) },
              allowlist,
              accepted
            ).catch((error: unknown) => {
              // A request that cannot be planned (a collision) is still answered on the issue.
              request.problem = error instanceof Error ? error.message : String(error)
              return []
            })
      problem = request.problem && safeLog(`The issue request was refused: ${request.problem}`)
      const unanswered = await answerIssue(request, results)
      if (unanswered) problem = [problem, safeLog(unanswered)].filter(Boolean).join('\n')
    } else {
      results = await planAndMirror(readRequests(inputs), inputs, allowlist)
    }

    setOutputs(results)
    await writeSummary(results, { dryRun: inputs.dryRun, ...(problem ? { problem } : {}) })
    const failure = [problem, failureMessage(results)].filter(Boolean).join('\n')
    if (failure) core.setFailed(failure)
  } catch (error) {
    // setFailed escapes the message into one ::error:: command; nothing in it can start another.
    core.setFailed(error instanceof Error ? error.message : String(error))
  }
}
