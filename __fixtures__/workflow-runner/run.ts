/**
 * A run of a workflow: loaded and checked by the parser, the call's inputs
 * and secrets, the `github` context, top-level concurrency and env, every job
 * in `needs` order, then the `workflow_call` outputs.
 */
import { isMapping } from '@actions/workflow-parser'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { ArtifactStore } from './artifacts.js'
import { callInputs, callSecrets } from './call.js'
import { githubContext, type JobEnvironment } from './environment.js'
import { entriesOf, evaluateCondition, evaluateString, statusFunctions } from './expressions.js'
import { runJob } from './job.js'
import { loadWorkflow, type LoadedJob, type LoadedWorkflow } from './load.js'
import {
  UnsupportedError,
  type GitHubContext,
  type InputValue,
  type JobResult,
  type WorkflowRun,
  type WorkflowRunOptions
} from './types.js'

/** Delete what a run left on disk: its jobs' workspaces and its artifacts. */
export function removeRun(run: WorkflowRun): void {
  fs.rmSync(run.dir, { recursive: true, force: true })
  fs.rmSync(run.artifacts.dir, { recursive: true, force: true })
}

/** Run a workflow (a `workflow_call` one with `inputs` and `secrets`) to the end. */
export async function runWorkflow(
  file: string,
  options: WorkflowRunOptions = {}
): Promise<WorkflowRun> {
  // Throws InvalidWorkflowError for what the parser reports, UnsupportedError for what is not modelled.
  const workflow = await loadWorkflow(file)
  const call = workflow.call
  if (options.inputs && !call)
    throw new UnsupportedError('inputs for a workflow that is not workflow_call')
  const inputs = callInputs(call?.inputs ?? {}, options.inputs ?? {})
  const secrets = callSecrets(call?.secrets ?? {}, options.secrets ?? {})

  const github = githubContext(options, workflow.name ?? path.basename(file))
  secrets.GITHUB_TOKEN = github.token
  const vars: Record<string, string> = {}
  const artifacts = options.artifacts ?? new ArtifactStore()
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'workflow-run-'))
  const run: WorkflowRun = { result: 'success', dir, jobs: {}, outputs: {}, artifacts, steps: [] }

  const concurrency = workflow.template.concurrency
  if (concurrency !== undefined) {
    const group = isMapping(concurrency) ? concurrency.find('group') : concurrency
    run.concurrency = evaluateString(group, { contexts: { github, inputs, vars } })
  }
  const workflowEnv = Object.fromEntries(
    entriesOf(workflow.template.env).map(([k, v]) => [
      k,
      evaluateString(v, { contexts: { github, inputs, vars, secrets } })
    ])
  )

  try {
    await runJobs(workflow, run, { github, inputs, vars, secrets, workflowEnv, artifacts, options })
  } catch (error) {
    // An unsupported workflow leaves nothing behind.
    fs.rmSync(dir, { recursive: true, force: true })
    if (!options.artifacts) fs.rmSync(artifacts.dir, { recursive: true, force: true })
    throw error
  }

  const jobs = Object.fromEntries(
    Object.entries(run.jobs).map(([id, j]) => [id, { result: j.result, outputs: j.outputs }])
  )
  for (const [name, value] of Object.entries(call?.outputs ?? {})) {
    run.outputs[name] = evaluateString(value, { contexts: { github, jobs, vars, inputs } })
  }
  return run
}

/** Every job in `needs` order (one after the other: jobs running at once on GitHub share nothing anyway). */
async function runJobs(
  workflow: LoadedWorkflow,
  run: WorkflowRun,
  given: {
    github: GitHubContext
    inputs: Record<string, InputValue>
    vars: Record<string, string>
    secrets: Record<string, string>
    workflowEnv: Record<string, string>
    artifacts: ArtifactStore
    options: WorkflowRunOptions
  }
): Promise<void> {
  const { github, inputs, vars, secrets, workflowEnv, artifacts, options } = given
  const byId = new Map(workflow.jobs.map(job => [job.id, job]))
  const pending = new Map(byId)
  const ancestors = (id: string): string[] => {
    const direct = byId.get(id)?.needs ?? []
    return [...new Set([...direct, ...direct.flatMap(ancestors)])]
  }
  while (pending.size > 0) {
    // The parser refuses unknown needs and cycles, so some job is always ready.
    const [id, job] = [...pending].find(([, j]) => j.needs.every(n => n in run.jobs)) as [
      string,
      LoadedJob
    ]
    pending.delete(id)
    const needs = Object.fromEntries(
      job.needs.map(n => [n, { result: run.jobs[n]?.result, outputs: run.jobs[n]?.outputs }])
    )
    const above = ancestors(id).map(a => run.jobs[a]?.result)
    const jobFunctions = statusFunctions(
      () => above.every(r => r === 'success'),
      () => above.some(r => r === 'failure')
    )
    const base = { github, needs, vars, inputs }
    const env: JobEnvironment = { base, secrets, workflowEnv, artifacts, options, run }
    let outcome: JobResult
    try {
      outcome = evaluateCondition(job.job.if, { contexts: base, functions: jobFunctions })
        ? await runJob(job, env)
        : { result: 'skipped', outputs: {}, runs: [] }
    } catch (error) {
      if (error instanceof UnsupportedError) throw error
      outcome = { result: 'failure', outputs: {}, runs: [], error: (error as Error).message }
    }
    run.jobs[id] = outcome
    if (outcome.result === 'failure') run.result = 'failure'
  }
}
