/** Mode copy: one leg of a plan, copied in its own job of the matrix. */
import * as core from '@actions/core'
import type { CopyInputs } from '../action/inputs.js'
import { mirror } from '../copy/session.js'
import type { MirrorResult } from '../image/results.js'
import { legWork, readPlan, writeLegResults } from '../plan/handoff.js'
import { publishResults } from './publish.js'
import { policyFromRecord } from '../verify/policy.js'

/** One leg: copy the images the plan gave it and write their results for the report. */
export async function runCopy(inputs: CopyInputs): Promise<void> {
  const plan = readPlan(inputs.resultsDir)
  if (plan.target !== inputs.target) {
    throw new Error(
      `Input "target": "${inputs.target}" is not the plan's target "${plan.target}"; give every job of the run the same target`
    )
  }
  const { leg } = inputs
  const work = legWork(plan, leg)
  const name = `Leg ${leg} of ${plan.legs.length}`
  core.info(`${name}: ${work.length} image(s).`)
  const dryRun = plan.dryRun || inputs.dryRun
  // The plan's policy: a leg checks out only the action, not the caller's policy and keys.
  const policy = plan.policy ? policyFromRecord(plan.policy) : inputs.policy
  const { results } = await mirror(
    work.map(w => w.result),
    { ...inputs, platforms: plan.platforms, dryRun, ...(policy ? { policy } : {}) },
    { anonymousSources: plan.anonymousSources === true }
  )
  const file = writeLegResults(
    inputs.resultsDir,
    plan,
    leg,
    work.map((w, i) => ({ index: w.index, result: results[i] as MirrorResult }))
  )
  core.info(`Results written to ${file}.`)
  await publishResults(results, {
    dryRun,
    failOnDeferred: inputs.failOnDeferred,
    remarks: [`${name}.`]
  })
}
