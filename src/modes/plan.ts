/** Mode plan: decide what must be copied and split it into legs for a job matrix. */
import * as core from '@actions/core'
import { randomUUID } from 'node:crypto'
import type { PlanInputs } from '../action/inputs.js'
import type { MirrorResult } from '../image/results.js'
import { issueRecord } from '../issue/flow.js'
import { writePlan, type PlanFile } from '../plan/handoff.js'
import { matrixOf, splitIntoLegs } from '../plan/legs.js'
import { publishResults } from './publish.js'
import { isOpenMirror, planRequests, problemOf } from './requests.js'

/** Decide what must be copied and split it into legs; copy nothing, answer nothing yet. */
export async function runPlan(inputs: PlanInputs): Promise<void> {
  const { results, expanded, platforms, problem, issue } = await planRequests(
    inputs,
    inputs.dryRun ? 'compare' : 'legs'
  )
  // Deferred here is this job's pull budget: each leg reads its own (another runner, often
  // another address), so the legs try them.
  const toLegs = (r: MirrorResult, i: number) =>
    r.status === 'planned' || (r.status === 'deferred' && expanded[i]?.status === 'planned')
  const legs = issue?.skip ? [] : splitIntoLegs(results, inputs.maxLegs, toLegs)
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
  await publishResults(results, {
    dryRun: inputs.dryRun,
    ...problemOf(problem),
    remarks: [remark],
    deferFailure: true
  })
}
