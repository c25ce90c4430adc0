/**
 * One job: its matrix legs (fail-fast, max-parallel, legs at once), each leg
 * on its own machine running the steps in order with GitHub's status
 * functions, then the job's outputs.
 */
import { machine, type JobEnvironment } from './environment.js'
import { entriesOf, evaluateCondition, evaluateString, statusFunctions } from './expressions.js'
import type { LoadedJob } from './load.js'
import { strategyOf } from './matrix.js'
import { runStep } from './step.js'
import {
  UnsupportedError,
  type GitHubContext,
  type JobResult,
  type JobRun,
  type Json,
  type Result,
  type StepHookContext,
  type StepRun
} from './types.js'

export async function runJob(job: LoadedJob, env: JobEnvironment): Promise<JobResult> {
  const id = job.id
  const { legs, failFast, maxParallel } = strategyOf(id, job.job.strategy, { contexts: env.base })
  // Legs at once: the runner's option, bounded by strategy.max-parallel as on GitHub.
  const width = Math.max(1, Math.min(env.options.parallelLegs ?? 1, maxParallel ?? legs.length))
  const runs: JobRun[] = new Array<JobRun>(legs.length)
  const finished: JobRun[] = []
  let cancelled = false
  let next = 0
  const worker = async () => {
    while (next < legs.length) {
      const index = next++
      const matrix = legs[index]
      const strategy = {
        'fail-fast': failFast,
        'job-index': index,
        'job-total': legs.length,
        'max-parallel': maxParallel ?? legs.length
      }
      // fail-fast cancels the legs not started yet (running ones finish here).
      const leg = cancelled ? cancelledLeg(id, matrix) : await runLeg(job, matrix, strategy, env)
      runs[index] = leg
      finished.push(leg)
      if (leg.result === 'failure' && failFast) cancelled = true
    }
  }
  await Promise.all(Array.from({ length: width }, worker))
  const results = runs.map(r => r.result)
  const result: Result = results.includes('failure')
    ? 'failure'
    : results.includes('cancelled')
      ? 'cancelled'
      : 'success'
  // Legs' outputs overwrite each other: the last one to finish wins, as on GitHub.
  const outputs: Record<string, string> = {}
  for (const r of finished) {
    for (const [k, v] of Object.entries(r.outputs)) if (v !== '') outputs[k] = v
  }
  return { result, outputs, runs }
}

function cancelledLeg(id: string, matrix: Record<string, Json> | undefined): JobRun {
  return {
    name: id,
    ...(matrix ? { matrix } : {}),
    result: 'cancelled',
    outputs: {},
    steps: [],
    workspace: '',
    temp: ''
  }
}

async function runLeg(
  job: LoadedJob,
  matrix: Record<string, Json> | undefined,
  strategy: Record<string, unknown>,
  env: JobEnvironment
): Promise<JobRun> {
  const id = job.id
  const { workspace, temp, runner } = machine(env.run.dir, id)
  const jobContext = { status: 'success' }
  const steps: Record<
    string,
    { outputs: Record<string, string>; outcome: string; conclusion: string }
  > = {}
  // github.workspace and github.job are the job's own.
  const github = { ...(env.base.github as GitHubContext), workspace, job: id }
  const header = {
    github,
    needs: env.base.needs,
    strategy,
    matrix: matrix ?? {},
    vars: {},
    inputs: env.base.inputs
  }
  const leg: JobRun = {
    name: id,
    ...(matrix ? { matrix } : {}),
    result: 'success',
    outputs: {},
    steps: [],
    workspace,
    temp
  }
  try {
    // The parser names a job without a name after its id.
    leg.name = job.job.name ? evaluateString(job.job.name, { contexts: header }) : id
    evaluateString(job.job['runs-on'], { contexts: header })
    const timeout =
      job.timeoutMinutes !== undefined
        ? Number(evaluateString(job.timeoutMinutes, { contexts: header }))
        : 360
    if (!Number.isFinite(timeout) || timeout <= 0)
      throw new Error(`timeout-minutes is not a positive number: ${timeout}`)
    const stepTimeoutMs = Math.min(env.options.stepTimeoutMs ?? 120_000, timeout * 60_000)
    const jobEnv = {
      ...env.workflowEnv,
      ...Object.fromEntries(
        entriesOf(job.job.env).map(([k, v]) => [
          k,
          evaluateString(v, { contexts: { ...header, secrets: env.secrets } })
        ])
      )
    }
    let failed = false
    for (const def of job.steps) {
      const uses = def.step.uses.value
      const contexts = { ...header, job: jobContext, runner, env: jobEnv, steps }
      const hook: StepHookContext = {
        job: id,
        ...(matrix ? { matrix } : {}),
        step: {
          ...(def.id ? { id: def.id } : {}),
          ...(def.name ? { name: def.name } : {}),
          uses
        }
      }
      const step: StepRun = {
        name: def.name ?? uses,
        ...(def.id ? { id: def.id } : {}),
        uses,
        inputs: {},
        outcome: 'skipped',
        outputs: {},
        stdout: '',
        stderr: '',
        summary: '',
        warnings: [],
        ms: 0
      }
      // Steps' if: sees no secrets.
      const functions = statusFunctions(
        () => !failed,
        () => failed
      )
      let runIt: boolean
      try {
        runIt = evaluateCondition(def.step.if, { contexts, functions })
      } catch (error) {
        runIt = false
        step.outcome = 'failure'
        step.error = `The step's if: could not be evaluated: ${(error as Error).message}`
      }
      if (runIt) {
        await env.options.beforeStep?.(hook)
        const started = Date.now()
        try {
          const withScope = { contexts: { ...contexts, secrets: env.secrets } }
          for (const [key, value] of entriesOf(def.with))
            step.inputs[key] = evaluateString(value, withScope)
          const stepEnv = {
            ...jobEnv,
            ...Object.fromEntries(
              entriesOf(def.step.env).map(([k, v]) => [k, evaluateString(v, withScope)])
            )
          }
          await runStep(uses, step, {
            workspace,
            temp,
            env: stepEnv,
            timeoutMs: stepTimeoutMs,
            github,
            job: env
          })
        } catch (error) {
          if (error instanceof UnsupportedError) throw error
          step.outcome = 'failure'
          step.error = (error as Error).message
        }
        step.ms = Date.now() - started
        await env.options.afterStep?.(hook)
      }
      if (step.outcome === 'failure') {
        failed = true
        jobContext.status = 'failure'
      }
      if (def.id)
        steps[def.id] = { outputs: step.outputs, outcome: step.outcome, conclusion: step.outcome }
      leg.steps.push(step)
      env.run.steps.push({ ...step, job: id, ...(matrix ? { matrix } : {}) })
    }
    leg.result = failed ? 'failure' : 'success'
    // Job outputs are evaluated at the end, failed or not, with the steps' outputs.
    for (const [name, value] of entriesOf(job.job.outputs)) {
      leg.outputs[name] = evaluateString(value, {
        contexts: { ...header, job: jobContext, runner, env: jobEnv, steps, secrets: env.secrets }
      })
    }
  } catch (error) {
    if (error instanceof UnsupportedError) throw error
    leg.result = 'failure'
    leg.error = (error as Error).message
  }
  return leg
}
