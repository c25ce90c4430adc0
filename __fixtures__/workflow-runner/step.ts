/** A step's `uses:`: a built-in action by name, or a node action by path or repository. */
import * as path from 'node:path'
import { checkout, downloadArtifact, uploadArtifact } from './builtin-actions.js'
import type { StepPlace } from './environment.js'
import { runNodeAction } from './node-action.js'
import { UnsupportedError, type StepRun } from './types.js'

export async function runStep(uses: string, step: StepRun, place: StepPlace): Promise<void> {
  const builtIn = /^actions\/(checkout|upload-artifact|download-artifact)@v(\d+)/.exec(uses)
  if (builtIn) {
    const [, action, major] = builtIn as unknown as [string, string, string]
    const minimum = { checkout: 4, 'upload-artifact': 4, 'download-artifact': 4 }[action] as number
    // Earlier majors behave differently (v3 artifacts merge names and paths).
    if (Number(major) < minimum) throw new UnsupportedError(`${uses} (before v${minimum})`)
    if (action === 'checkout') checkout(step, place)
    else if (action === 'upload-artifact') uploadArtifact(step, place)
    else downloadArtifact(step, place)
    step.outcome = 'success'
    return
  }
  let actionDir: string
  if (uses.startsWith('./')) {
    actionDir = path.join(place.workspace, uses)
  } else if (/^[\w.-]+\/[\w.-]+@[\w./-]+$/.test(uses)) {
    const dir = place.job.options.repositories?.[uses]
    if (!dir) throw new Error(`Unable to resolve action ${uses}, repository or version not found`)
    actionDir = dir
  } else {
    throw new UnsupportedError(`uses: ${uses}`)
  }
  await runNodeAction(actionDir, step, place)
}
