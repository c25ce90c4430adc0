/**
 * What a run of the workflow runner double takes and gives back, and the
 * errors it throws instead of running a workflow.
 */
import type { ArtifactStore } from './artifacts.js'

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json }
export type InputValue = string | number | boolean
export type Result = 'success' | 'failure' | 'skipped' | 'cancelled'

/** Valid workflow syntax this double does not model: thrown rather than skipped. */
export class UnsupportedError extends Error {
  constructor(what: string) {
    super(`workflow-runner: unsupported: ${what}`)
  }
}

/** What @actions/workflow-parser reports about a workflow file: GitHub would not run it. */
export class InvalidWorkflowError extends Error {
  constructor(
    file: string,
    readonly errors: string[]
  ) {
    super(`workflow-runner: ${file} is not a valid workflow:\n${errors.join('\n')}`)
  }
}

export interface GitHubContext {
  token: string
  actor: string
  repository: string
  repository_owner: string
  event_name: string
  run_id: string
  run_attempt: string
  ref: string
  sha: string
  server_url: string
  api_url: string
  workflow: string
  [key: string]: unknown
}

export interface StepHookContext {
  job: string
  matrix?: Record<string, Json>
  step: { id?: string; name?: string; uses?: string }
}

export interface WorkflowRunOptions {
  /** `workflow_call` inputs, typed as the caller's `with:` would give them. */
  inputs?: Record<string, InputValue>
  secrets?: Record<string, string>
  /** The `github` context (the caller's, in a reusable workflow); `event` is read from eventPath. */
  github?: Partial<GitHubContext>
  /** The event payload file (GITHUB_EVENT_PATH) and `github.event`. */
  eventPath?: string
  /** The caller repository's files: what `actions/checkout` without `repository` checks out. */
  files?: Record<string, string>
  /**
   * Repositories a checkout or a `uses: owner/name@ref` may name, as `owner/name@ref` →
   * a directory holding action.yml and dist/ (linked, not copied).
   */
  repositories?: Record<string, string>
  /** Extra environment for every action (e.g. GITHUB_API_URL of a stand-in). */
  env?: Record<string, string>
  /** The run's artifacts; pass one store to several calls to model one run calling twice. */
  artifacts?: ArtifactStore
  /** Called around each step (e.g. to break something for one leg). */
  beforeStep?: (context: StepHookContext) => Promise<void> | void
  afterStep?: (context: StepHookContext) => Promise<void> | void
  /** Matrix legs run at once (default 1: one after the other). */
  parallelLegs?: number
  /** Limit of one action step (default 120 s, or the job's timeout-minutes when smaller). */
  stepTimeoutMs?: number
}

export interface StepRun {
  name: string
  id?: string
  uses: string
  /** The `with:` inputs as evaluated (what the action received). */
  inputs: Record<string, string>
  outcome: 'success' | 'failure' | 'skipped'
  outputs: Record<string, string>
  stdout: string
  stderr: string
  summary: string
  /** Why the step failed when it was not the action's exit code (an artifact missing...). */
  error?: string
  /** What the runner or a built-in action would warn about. */
  warnings: string[]
  /** How long the step took. */
  ms: number
}

export interface JobRun {
  /** The job's name as shown, with expressions evaluated. */
  name: string
  matrix?: Record<string, Json>
  result: Result
  outputs: Record<string, string>
  steps: StepRun[]
  workspace: string
  temp: string
  error?: string
}

export interface JobResult {
  result: Result
  outputs: Record<string, string>
  /** One per matrix leg; none when the job was skipped. */
  runs: JobRun[]
  error?: string
}

export interface WorkflowRun {
  result: 'success' | 'failure'
  /** Holds every job's workspace; removeRun() deletes it. */
  dir: string
  jobs: Record<string, JobResult>
  /** The workflow_call outputs. */
  outputs: Record<string, string>
  /** The evaluated top-level `concurrency.group`. */
  concurrency?: string
  artifacts: ArtifactStore
  /** Every step of every job, in the order run. */
  steps: (StepRun & { job: string; matrix?: Record<string, Json> })[]
}
