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
  // another address), so the legs try them. A tag filter whose listing was deferred stays so:
  // a leg works on single images only.
  const handedOn = (r: MirrorResult, i: number) =>
    r.status === 'deferred' && expanded[i]?.status === 'planned'
  const toLegs = (r: MirrorResult, i: number) =>
    r.status === 'planned' || r.recordByLeg === true || handedOn(r, i)
  const legs = issue?.skip ? [] : splitIntoLegs(results, inputs.maxLegs, toLegs)
  const inLegs = new Set(legs.flat())
  const current = [...inLegs].filter(i => results[i]?.recordByLeg).sort((a, b) => a - b)
  const deferred = [...inLegs].filter(i => handedOn(results[i] as MirrorResult, i)).length
  // The mark is the plan's business only: results and outputs never carry it.
  const settled = results.map(({ recordByLeg: _mark, ...result }) => result)
  const work: PlanFile['work'] = {}
  // A leg starts from the image as planned, not from the comparison's notes and digests.
  for (const index of inLegs) work[index] = expanded[index] as MirrorResult
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
    results: settled,
    legs,
    work,
    ...(current.length > 0 ? { current } : {}),
    ...(inputs.policy ? { policy: inputs.policy.record } : {})
  })
  const matrix = matrixOf(legs)
  core.setOutput('matrix', JSON.stringify(matrix))
  core.setOutput('legs', String(legs.length))
  const toCopy = inLegs.size - current.length - deferred
  const sizes = matrix.include.map(l => l.images)
  const also = [
    current.length > 0 ? `${current.length} up to date, for their mirror records` : '',
    deferred > 0
      ? `${deferred} this job's pull budget deferred, for the legs to try with theirs`
      : ''
  ].filter(Boolean)
  const remark =
    legs.length === 0
      ? 'Nothing to copy: no legs.'
      : `${toCopy} image(s) to copy${also.length > 0 ? ` (and ${also.join('; ')})` : ''} over ${legs.length} leg(s) of ${Math.min(...sizes)} to ${Math.max(...sizes)} image(s); the report job merges what they copy.`
  core.info(`${remark} Plan written to ${file}.`)
  // Failures found while planning are reported (and fail the run) in the report job.
  await publishResults(settled, {
    dryRun: inputs.dryRun,
    ...problemOf(problem),
    remarks: [remark],
    deferFailure: true
  })
}
