/**
 * The action's modes. `sync` does everything in one job: inputs → requests (a
 * list, or an issue) → allowed references → targets → plan → copy → results →
 * outputs, summary and, for an issue, the answer on it. A matrix run splits
 * this over jobs: `plan` stops before the copy and hands legs over in files,
 * `copy` runs one leg, `report` merges the legs' results and answers.
 * `lint-allowlist` checks an allowlist file.
 */
import * as core from '@actions/core'
import { getInputs } from './action/inputs.js'
import { errorMessage } from './common/errors.js'
import { runCopy } from './modes/copy.js'
import { runLintAllowlist } from './modes/lint-allowlist.js'
import { runPlan } from './modes/plan.js'
import { runReport } from './modes/report.js'
import { runSync } from './modes/sync.js'

const MODES = {
  sync: runSync,
  plan: runPlan,
  copy: runCopy,
  report: runReport,
  'lint-allowlist': runLintAllowlist
}

export async function run(): Promise<void> {
  try {
    const inputs = getInputs()
    await MODES[inputs.mode](inputs)
  } catch (error) {
    // setFailed escapes the message into one ::error:: command; nothing in it can start another.
    core.setFailed(errorMessage(error))
  }
}
