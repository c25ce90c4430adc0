/**
 * The action's modes. `sync` does everything in one job: inputs → requests (a
 * list, or an issue) → allowed references → targets → plan → copy → results →
 * outputs, summary and, for an issue, the answer on it. A matrix run splits
 * this over jobs: `plan` stops before the copy and hands legs over in files,
 * `copy` runs one leg, `report` merges the legs' results and answers.
 * `lint-allowlist` checks an allowlist file.
 */
import * as core from '@actions/core'
import { getInputs, inputsForMode, type Inputs } from './action/inputs.js'
import { errorMessage } from './common/errors.js'
import { runCopy } from './modes/copy.js'
import { runLintAllowlist } from './modes/lint-allowlist.js'
import { runPlan } from './modes/plan.js'
import { runReport } from './modes/report.js'
import { runSync } from './modes/sync.js'

/** Each mode with the inputs it uses (a switch, so each gets its own narrow type). */
async function runMode(inputs: Inputs): Promise<void> {
  switch (inputs.mode) {
    case 'sync':
      return runSync(inputs)
    case 'plan':
      return runPlan(inputs)
    case 'copy':
      return runCopy(inputs)
    case 'report':
      return runReport(inputs)
    case 'lint-allowlist':
      return runLintAllowlist(inputs)
  }
}

export async function run(): Promise<void> {
  try {
    await runMode(inputsForMode(getInputs()))
  } catch (error) {
    // setFailed escapes the message into one ::error:: command; nothing in it can start another.
    core.setFailed(errorMessage(error))
  }
}
