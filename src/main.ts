/**
 * The main job: inputs → requests (a list, or an issue) → allowed references
 * → targets → plan → copy → results → outputs, summary and, for an issue,
 * the answer on it. A matrix run splits this over jobs: `plan` stops before
 * the copy and hands legs over in files, `copy` runs one leg, `report`
 * merges the legs' results and answers.
 */
import * as core from '@actions/core'
import { randomUUID } from 'node:crypto'
import * as fs from 'node:fs'
import { parseAllowlist, type Allowlist } from './allowlist.js'
import { emitClientConfigs, type WrittenConfigs } from './client-config-files.js'
import { runLintAllowlist } from './allowlist-lint-mode.js'
import { parseEntries, type ImageRequest } from './entries.js'
import { safeLog } from './escape.js'
import {
  legWork,
  mergeResults,
  readPlan,
  writeLegResults,
  writePlan,
  type PlanFile
} from './handoff.js'
import { displayPath, getInputs, type Inputs } from './inputs.js'
import {
  answerIssue,
  issueRecord,
  pendingIssue,
  readIssueRequest,
  type PendingIssueRequest
} from './issue-flow.js'
import { matrixOf, splitIntoLegs } from './legs.js'
import { mirror, targetRegistry, type Mirrored } from './mirror.js'
import { buildPlan } from './plan.js'
import { logResults, setOutputs, writeSummary } from './report.js'
import { countByStatus, type MirrorResult } from './results.js'
import { errorMessage } from './errors.js'

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

function readAllowlist(inputs: Inputs): Allowlist | undefined {
  if (!inputs.allowlist) return undefined
  const allowlist = parseAllowlist(
    fs.readFileSync(inputs.allowlist, 'utf8'),
    displayPath(inputs.allowlist)
  )
  core.info(`Allowlist ${allowlist.source}: ${allowlist.patterns.length} pattern(s)`)
  return allowlist
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

/** Issue requests without an allowlist: sources are read anonymously (open-mirror: true). */
const isOpenMirror = (inputs: Inputs) => inputs.fromIssue && !inputs.allowlist

/**
 * An open mirror (issue requests, no allowlist) refuses sources on the target's own registry:
 * the target's credentials must never read what a stranger named into a public mirror.
 */
function openMirror(
  inputs: Inputs
): ((ref: { registry: string; repository: string }) => string | undefined) | undefined {
  if (!isOpenMirror(inputs)) return undefined
  const own = targetRegistry(inputs.target)
  return ref =>
    ref.registry === own
      ? `${ref.registry} is the mirror's own registry; an open mirror serves no image from it (the maintainers can add it to an allowlist)`
      : undefined
}

/** How far a job takes the planned images: copy them, compare them with the target, or neither. */
type Reach = 'copy' | 'compare' | 'none'

/** Plan, then compare and copy as far as `reach` says. */
async function planAndMirror(
  requests: ImageRequest[],
  inputs: Inputs,
  allowlist: Allowlist | undefined,
  reach: Reach,
  onAccepted?: (count: number) => Promise<void>
): Promise<Mirrored> {
  const open = openMirror(inputs)
  const results = buildPlan(requests, {
    target: inputs.target,
    template: inputs.rewrite,
    ...(allowlist ? { allowlist } : {}),
    ...(open ? { refuse: open } : {})
  })
  logResults(results)
  const planned = results.filter(r => r.status === 'planned').length
  if (planned === 0) return { expanded: results, results }
  await onAccepted?.(planned)
  if (reach === 'none') {
    core.info('dry-run with skip-unchanged: false: no registry is contacted.')
    return { expanded: results, results }
  }
  core.startGroup(reach === 'copy' ? 'Copy' : 'Compare with the target')
  try {
    return await mirror(
      results,
      { ...inputs, dryRun: reach !== 'copy' },
      { anonymousSources: open !== undefined }
    )
  } finally {
    core.endGroup()
  }
}

interface Gathered extends Mirrored {
  /** Platforms in force: the issue's choice, else the input. */
  platforms: Inputs['platforms']
  /** Why the request as a whole cannot be served (said on the issue as it is). */
  problem?: string
  issue?: PendingIssueRequest
}

/** Requests from the list or the issue, planned and taken as far as `reach`. */
async function gather(inputs: Inputs, reach: Reach): Promise<Gathered> {
  const allowlist = readAllowlist(inputs)
  if (!inputs.fromIssue) {
    const done = await planAndMirror(readRequests(inputs), inputs, allowlist, reach)
    return { ...done, platforms: inputs.platforms }
  }
  const issue = readIssueRequest(inputs)
  const platforms = issue.platforms ?? inputs.platforms
  if (issue.problem || issue.skip) {
    return { expanded: [], results: [], platforms, issue, ...problemOf(issue.problem) }
  }
  // The accept comment is a courtesy: if it cannot be posted, the final answer says why.
  const accepted = (count: number) =>
    issue.accepted(count).catch((e: unknown) => core.warning(safeLog(String(e))))
  try {
    const done = await planAndMirror(
      issue.requests,
      { ...inputs, platforms },
      allowlist,
      reach,
      accepted
    )
    return { ...done, platforms, issue }
  } catch (error) {
    // A request that cannot be planned (a collision) is still answered on the issue.
    const problem = errorMessage(error)
    return { expanded: [], results: [], platforms, issue, problem }
  }
}

function problemOf(problem: string | undefined): { problem?: string } {
  return problem ? { problem } : {}
}

/** Answer the issue (if any), set outputs, write the summary, and fail the job when it should. */
async function finish(
  results: readonly MirrorResult[],
  context: {
    dryRun: boolean
    problem?: string
    issue?: PendingIssueRequest
    remarks?: string[]
    /** Leave failing to a later job (a plan leaves it to the report, which must still run). */
    deferFailure?: boolean
    configs?: WrittenConfigs
  }
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
  const failure = [problem, failureMessage(results)].filter(Boolean)
  if (failure.length > 0) core.setFailed(failure.join('\n'))
}

/** Client configs for the run's source registries, written when config-dir is given. */
function clientConfigs(
  inputs: Inputs,
  results: readonly MirrorResult[],
  target = inputs.target
): { configs?: WrittenConfigs } {
  if (!inputs.configDir) return {}
  const options = { ...inputs, configDir: inputs.configDir, target }
  return { configs: emitClientConfigs(options, results) }
}

async function runSync(inputs: Inputs): Promise<void> {
  const reach: Reach = !inputs.dryRun ? 'copy' : inputs.skipUnchanged ? 'compare' : 'none'
  const { results, problem, issue } = await gather(inputs, reach)
  await finish(results, {
    dryRun: inputs.dryRun,
    ...problemOf(problem),
    ...(issue ? { issue } : {}),
    ...clientConfigs(inputs, results)
  })
}

/** Decide what must be copied and split it into legs; copy nothing, answer nothing yet. */
async function runPlan(inputs: Inputs): Promise<void> {
  const { results, expanded, platforms, problem, issue } = await gather(inputs, 'compare')
  const legs = issue?.skip ? [] : splitIntoLegs(results, inputs.maxLegs)
  const work: PlanFile['work'] = {}
  // A leg starts from the image as planned, not from the comparison's notes and digests.
  for (const index of legs.flat()) work[index] = expanded[index] as MirrorResult
  const { GITHUB_RUN_ID: runId = 'local', GITHUB_RUN_ATTEMPT: attempt = '1' } = process.env
  const file = writePlan(inputs.resultsDir, {
    id: `${runId}-${attempt}-${randomUUID()}`,
    created: new Date().toISOString(),
    target: inputs.target,
    platforms,
    dryRun: inputs.dryRun,
    ...problemOf(problem),
    ...(issue ? { issue: issueRecord(issue) } : {}),
    ...(isOpenMirror(inputs) ? { anonymousSources: true } : {}),
    results,
    legs,
    work
  })
  const matrix = matrixOf(legs)
  core.setOutput('matrix', JSON.stringify(matrix))
  core.setOutput('legs', String(legs.length))
  const toCopy = legs.reduce((n, leg) => n + leg.length, 0)
  const sizes = matrix.include.map(l => l.images)
  const remark =
    legs.length === 0
      ? 'Nothing to copy: no legs.'
      : `${toCopy} image(s) to copy over ${legs.length} leg(s) of ${Math.min(...sizes)} to ${Math.max(...sizes)} image(s); the report job merges what they copy.`
  core.info(`${remark} Plan written to ${file}.`)
  // Failures found while planning are reported (and fail the run) in the report job.
  await finish(results, {
    dryRun: inputs.dryRun,
    ...problemOf(problem),
    remarks: [remark],
    deferFailure: true
  })
}

/** One leg: copy the images the plan gave it and write their results for the report. */
async function runCopy(inputs: Inputs): Promise<void> {
  const plan = readPlan(inputs.resultsDir)
  if (plan.target !== inputs.target) {
    throw new Error(
      `Input "target": "${inputs.target}" is not the plan's target "${plan.target}"; give every job of the run the same target`
    )
  }
  const leg = inputs.leg as number
  const work = legWork(plan, leg)
  const name = `Leg ${leg} of ${plan.legs.length}`
  core.info(`${name}: ${work.length} image(s).`)
  const dryRun = plan.dryRun || inputs.dryRun
  const { results } = await mirror(
    work.map(w => w.result),
    { ...inputs, platforms: plan.platforms, dryRun },
    { anonymousSources: plan.anonymousSources === true }
  )
  const file = writeLegResults(
    inputs.resultsDir,
    plan,
    leg,
    work.map((w, i) => ({ index: w.index, result: results[i] as MirrorResult }))
  )
  core.info(`Results written to ${file}.`)
  await finish(results, { dryRun, remarks: [`${name}.`] })
}

/** Merge the plan and every leg's results into one report; answer the issue when there is one. */
async function runReport(inputs: Inputs): Promise<void> {
  const plan = readPlan(inputs.resultsDir)
  const merged = mergeResults(plan, inputs.resultsDir)
  for (const warning of merged.warnings) core.warning(safeLog(warning))
  const remarks = [`Merged ${plan.legs.length} leg(s) into ${plan.results.length} image(s).`]
  if (merged.missing.length > 0) {
    const what = `Leg(s) ${merged.missing.join(', ')} of ${plan.legs.length} never reported; their images are counted as failed.`
    core.warning(what)
    remarks.push(what)
  }
  // Answered from what the plan read, with the plan's settings: the report's own inputs may differ.
  if (inputs.fromIssue && !plan.issue) {
    throw new Error(
      'Input "from-issue": true, but the plan read no issue; give the plan job from-issue: true too'
    )
  }
  const issue =
    inputs.fromIssue && plan.issue
      ? pendingIssue(plan.issue, [], { ...inputs, platforms: plan.platforms })
      : undefined
  await finish(merged.results, {
    dryRun: plan.dryRun,
    ...problemOf(plan.problem),
    ...(issue ? { issue } : {}),
    ...clientConfigs(inputs, merged.results, inputs.target || plan.target),
    remarks
  })
}

export async function run(): Promise<void> {
  try {
    const inputs = getInputs()
    const modes = {
      sync: runSync,
      plan: runPlan,
      copy: runCopy,
      report: runReport,
      'lint-allowlist': runLintAllowlist
    }
    await modes[inputs.mode](inputs)
  } catch (error) {
    // setFailed escapes the message into one ::error:: command; nothing in it can start another.
    core.setFailed(errorMessage(error))
  }
}
