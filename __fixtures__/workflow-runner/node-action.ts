/**
 * A node action named by a step's `uses:`: its action.yml read by
 * @actions/workflow-parser, its inputs' defaults filled in as the runner
 * does, and its main run by action-runner.ts, which runs this repository's
 * bundle (dist/index.js) and nothing else.
 */
import type { ActionRunsNode } from '@actions/workflow-parser/actions/action-template'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { DIST, runActionAsync } from '../action-runner.js'
import { actionEnv, type StepPlace } from './environment.js'
import { evaluateString } from './expressions.js'
import { loadAction } from './load.js'
import { UnsupportedError, type StepRun } from './types.js'

export async function runNodeAction(
  actionDir: string,
  step: StepRun,
  place: StepPlace
): Promise<void> {
  const metadataFile = ['action.yml', 'action.yaml']
    .map(f => path.join(actionDir, f))
    .find(f => fs.existsSync(f))
  if (!metadataFile) {
    throw new Error(
      `Can't find 'action.yml' or 'action.yaml' under '${actionDir}'. Did you forget to run actions/checkout before running your local action?`
    )
  }
  const metadata = loadAction(metadataFile)
  if (!/^node\d+$/.test(metadata.runs.using))
    throw new UnsupportedError(`runs.using ${metadata.runs.using}`)
  const main = fs.realpathSync(path.join(actionDir, (metadata.runs as ActionRunsNode).main))
  // action-runner runs this repository's bundle; anything else is not what we think it is.
  if (main !== fs.realpathSync(DIST)) throw new UnsupportedError(`an action whose main is ${main}`)

  // The runner fills in the defaults of inputs not given (expressions evaluated), and warns of unknown ones.
  const declared = metadata.inputs ?? []
  const inputs: Record<string, string> = { ...step.inputs }
  const known = new Set(declared.map(d => d.id.toLowerCase()))
  const unexpected = Object.keys(step.inputs).filter(k => !known.has(k.toLowerCase()))
  if (unexpected.length > 0) {
    step.warnings.push(
      `Unexpected input(s) '${unexpected.join("', '")}', valid inputs are ['${declared.map(d => d.id).join("', '")}']`
    )
  }
  for (const input of declared) {
    if (input.id in inputs || input.default === undefined) continue
    inputs[input.id] = evaluateString(input.default, {
      contexts: {
        github: place.github,
        runner: { temp: place.temp },
        env: place.env,
        job: {},
        steps: {},
        strategy: {},
        matrix: {},
        inputs: {}
      }
    })
  }
  const result = await runActionAsync(inputs, {
    workdir: place.workspace,
    env: actionEnv(place, actionDir),
    timeoutMs: place.timeoutMs
  })
  step.stdout = result.stdout
  step.stderr = result.stderr
  step.summary = result.summary
  step.outputs = result.outputs
  step.outcome = result.code === 0 ? 'success' : 'failure'
  if (result.code !== 0) step.error = `node exited with ${String(result.code)}`
}
