/**
 * The runner's environment: the `github` context of a run, each job's own
 * machine (workspace, RUNNER_TEMP, `runner` context), where a step runs, and
 * the environment variables an action gets.
 */
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import type { ArtifactStore } from './artifacts.js'
import type { GitHubContext, WorkflowRun, WorkflowRunOptions } from './types.js'

/** The `github` context of a run: stand-in values, the caller's options over them, the event. */
export function githubContext(options: WorkflowRunOptions, workflow: string): GitHubContext {
  const event = options.eventPath
    ? (JSON.parse(fs.readFileSync(options.eventPath, 'utf8')) as unknown)
    : {}
  const repository = options.github?.repository ?? 'acme/mirror'
  return {
    token: 'ghs_workflowRunnerStandIn0000000000000',
    actor: 'octocat',
    repository,
    repository_owner: repository.split('/')[0] as string,
    event_name: 'workflow_dispatch',
    run_id: String(4_000_000_000 + Math.floor(Math.random() * 1_000_000)),
    run_attempt: '1',
    ref: 'refs/heads/main',
    sha: 'ffac537e6cbbf934b08745a378932722df287a53',
    server_url: 'https://github.com',
    api_url: 'https://api.github.com',
    workflow,
    ...options.github,
    event
  }
}

/** What every job of a run is given. */
export interface JobEnvironment {
  /** The contexts of the job's header: github, needs, vars, inputs. */
  base: Record<string, unknown>
  secrets: Record<string, string>
  workflowEnv: Record<string, string>
  artifacts: ArtifactStore
  options: WorkflowRunOptions
  run: WorkflowRun
}

/** A job's own machine: its workspace (also action-runner's workdir), RUNNER_TEMP and `runner` context. */
export function machine(runDir: string, job: string) {
  const workspace = fs.mkdtempSync(path.join(runDir, `${job}-`))
  const temp = path.join(workspace, 'temp')
  fs.mkdirSync(temp, { recursive: true })
  const runner = {
    temp,
    os: 'Linux',
    arch: 'X64',
    name: 'workflow-runner',
    tool_cache: path.join(workspace, 'tool-cache')
  }
  return { workspace, temp, runner }
}

/** Where a step runs. */
export interface StepPlace {
  workspace: string
  temp: string
  env: Record<string, string>
  timeoutMs: number
  github: GitHubContext
  job: JobEnvironment
}

/** Resolve `path` inputs as the actions do: relative to the workspace, `~` to HOME. */
export function resolvePath(place: StepPlace, p: string): string {
  const expanded = p.startsWith('~') ? p.replace('~', os.homedir()) : p
  return path.resolve(place.workspace, expanded)
}

/** The environment variables of an action: the runner's, the run's extra ones, the step's env. */
export function actionEnv(place: StepPlace, actionDir: string): Record<string, string> {
  const github = place.github
  return {
    GITHUB_REPOSITORY: github.repository,
    GITHUB_REPOSITORY_OWNER: github.repository_owner,
    GITHUB_ACTOR: github.actor,
    GITHUB_EVENT_NAME: github.event_name,
    GITHUB_RUN_ID: github.run_id,
    GITHUB_RUN_ATTEMPT: github.run_attempt,
    GITHUB_REF: github.ref,
    GITHUB_SHA: github.sha,
    GITHUB_SERVER_URL: github.server_url,
    GITHUB_API_URL: github.api_url,
    GITHUB_WORKFLOW: github.workflow,
    GITHUB_ACTION_PATH: actionDir,
    RUNNER_TEMP: place.temp,
    ...(place.job.options.eventPath ? { GITHUB_EVENT_PATH: place.job.options.eventPath } : {}),
    ...place.job.options.env,
    ...place.env
  }
}
