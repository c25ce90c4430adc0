/**
 * A test double of the GitHub Actions runner for the subset of workflow syntax
 * this repository's workflows use, so a reusable workflow can be run as
 * written: the workflow read and checked by GitHub's own parser
 * (@actions/workflow-parser), jobs in `needs` order, `${{ }}` expressions
 * evaluated by GitHub's own evaluator (@actions/expressions) with the contexts
 * each key allows, status functions as GitHub defines them, matrix legs each
 * in their own workspace and RUNNER_TEMP (sharing nothing but artifacts), and
 * the steps `actions/checkout`, `actions/upload-artifact`,
 * `actions/download-artifact` and this action (the bundle, through
 * action-runner.ts). What the parser reports throws InvalidWorkflowError;
 * valid syntax not modelled here throws UnsupportedError, so a test cannot
 * silently skip part of a workflow. `startGitHubDownloads` gives the runner
 * github.com's release downloads (for the crane the action installs) through
 * a TLS-intercepting proxy.
 *
 * The double lives in workflow-runner/, one file per concern:
 * - load.ts: the workflow (and action.yml) through the parser; what is not modelled
 * - call.ts: a caller's inputs and secrets
 * - expressions.ts: evaluating what the parser read; status functions
 * - matrix.ts: matrix expansion and a job's strategy
 * - run.ts, job.ts: the run, its jobs in `needs` order, a job's legs and steps
 * - step.ts, builtin-actions.ts, node-action.ts: what a step's `uses:` runs
 * - environment.ts: the `github` context, each job's machine, an action's env
 * - artifacts.ts: the run's artifacts
 * - network.ts: the runner's network (startGitHubDownloads)
 * - types.ts: options, results and errors
 */
export { ArtifactStore } from './workflow-runner/artifacts.js'
export { fromData, toData } from './workflow-runner/expressions.js'
export {
  loadWorkflow,
  type CallInput,
  type LoadedJob,
  type LoadedStep,
  type LoadedWorkflow
} from './workflow-runner/load.js'
export { expandMatrix } from './workflow-runner/matrix.js'
export { startGitHubDownloads, type GitHubDownloads } from './workflow-runner/network.js'
export { removeRun, runWorkflow } from './workflow-runner/run.js'
export {
  InvalidWorkflowError,
  UnsupportedError,
  type GitHubContext,
  type InputValue,
  type JobResult,
  type JobRun,
  type Json,
  type Result,
  type StepHookContext,
  type StepRun,
  type WorkflowRun,
  type WorkflowRunOptions
} from './workflow-runner/types.js'
