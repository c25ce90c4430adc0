/** Mode report: merge the plan and the legs' results into one report and answer the issue. */
import * as core from '@actions/core'
import { safeLog } from '../action/escape.js'
import type { ReportInputs } from '../action/inputs.js'
import { pendingIssue } from '../issue/flow.js'
import { mergeResults, readPlan } from '../plan/handoff.js'
import { publishResults, writeClientConfigs } from './publish.js'
import { problemOf } from './requests.js'

/** Merge the plan and every leg's results into one report; answer the issue when there is one. */
export async function runReport(inputs: ReportInputs): Promise<void> {
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
  await publishResults(merged.results, {
    dryRun: plan.dryRun,
    failOnDeferred: inputs.failOnDeferred,
    ...problemOf(plan.problem),
    ...(issue ? { issue } : {}),
    ...writeClientConfigs(inputs, merged.results, inputs.target || plan.target),
    remarks
  })
}
