/**
 * Workflow files (and actions' metadata) read by GitHub's own parser,
 * @actions/workflow-parser: the schema (unknown keys, wrong types), ids,
 * `needs` (unknown jobs, cycles), a step's uses/run, the expressions and the
 * contexts each key allows are its checks; what it reports is thrown as an
 * InvalidWorkflowError before anything runs. Its converted template gives the
 * structure (events, env, concurrency; jobs: name, needs, if with the implicit
 * `success() &&`, strategy, env, outputs, runs-on; steps: uses, if, env), and
 * what the converter leaves out is read from the same validated token tree
 * (`name`, a job's `timeout-minutes`, a step's `with` and id as written,
 * `workflow_call` outputs and `type: number` inputs).
 *
 * What is left here is this double's own limit: valid syntax it does not
 * model is refused with an UnsupportedError, up front, so a test cannot
 * silently skip part of a workflow.
 */
import {
  convertWorkflowTemplate,
  isBasicExpression,
  isBoolean,
  isMapping,
  isNumber,
  isSequence,
  isString,
  NoOperationTraceWriter,
  parseWorkflow
} from '@actions/workflow-parser'
import { parseAction } from '@actions/workflow-parser/actions/action-parser'
import {
  convertActionTemplate,
  type ActionTemplate
} from '@actions/workflow-parser/actions/action-template'
import { isActionStep, isJob, isRunStep } from '@actions/workflow-parser/model/type-guards'
import type {
  ActionStep,
  Job,
  SecretConfig,
  WorkflowJob,
  WorkflowTemplate
} from '@actions/workflow-parser/model/workflow-template'
import type { TemplateContext } from '@actions/workflow-parser/templates/template-context'
import type { MappingToken, ScalarToken } from '@actions/workflow-parser/templates/tokens/index'
import { TemplateToken } from '@actions/workflow-parser/templates/tokens/template-token'
import * as fs from 'node:fs'
import { InvalidWorkflowError, UnsupportedError, type InputValue } from './types.js'

/** A `workflow_call` input as declared. */
export interface CallInput {
  type: 'string' | 'number' | 'boolean'
  required?: boolean
  default?: InputValue
}

export interface LoadedStep {
  /** The converted step: uses, if (implicit `success() &&` added), env. */
  step: ActionStep
  /** The id as written (the converter names the others `__…`; the `steps` context has none of those). */
  id?: string
  /** The name as written, not evaluated. */
  name?: string
  /** `with:` (the converter leaves it out). */
  with?: MappingToken
}

export interface LoadedJob {
  id: string
  /** The converted job: name (the id when none), if, strategy, env, outputs, runs-on. */
  job: Job
  needs: string[]
  /** `timeout-minutes` (the converter leaves it out). */
  timeoutMinutes?: TemplateToken
  steps: LoadedStep[]
}

export interface LoadedWorkflow {
  file: string
  /** The workflow's `name:` (the converter leaves it out). */
  name?: string
  /** The converted workflow: events, env, concurrency. */
  template: WorkflowTemplate
  /** `on.workflow_call`, when the workflow has it. */
  call?: {
    inputs: Record<string, CallInput>
    secrets: Record<string, SecretConfig>
    /** name → its `value` (the converter leaves workflow_call outputs out). */
    outputs: Record<string, TemplateToken>
  }
  /** In the order written. */
  jobs: LoadedJob[]
}

// The keys this double models, a subset of what the parser accepts (it has
// already refused every key it does not know). The others are refused here:
// the workflow's defaults; a job's container, services, environment,
// concurrency, continue-on-error, defaults, and a reusable workflow job's
// uses/with/secrets; a step's working-directory, shell, continue-on-error and
// timeout-minutes (and run, which the parser accepts as a step of its own).
const WORKFLOW_KEYS = new Set([
  'name',
  'run-name',
  'on',
  'env',
  'concurrency',
  'permissions',
  'jobs'
])
const JOB_KEYS = new Set([
  'name',
  'needs',
  'if',
  'runs-on',
  'timeout-minutes',
  'permissions',
  'strategy',
  'outputs',
  'env',
  'steps'
])
const STEP_KEYS = new Set(['name', 'id', 'uses', 'run', 'with', 'env', 'if'])

/** What the parser reported (parsing, then converting). */
function errorsOf(context: TemplateContext): string[] {
  return context.errors.getErrors().map(e => e.message)
}

function mapping(token: TemplateToken | undefined): MappingToken | undefined {
  return token && isMapping(token) ? token : undefined
}

function keysOf(token: MappingToken): string[] {
  return [...token].map(p => p.key.toString())
}

/**
 * The parser reads a string of more than one line (a block scalar, a quoted
 * string broken over lines) with an expression in it from its YAML source,
 * indentation and all: `format()` of that text is not the string's value.
 */
function refuseMultiLineExpressions(root: TemplateToken): void {
  for (const [, token] of TemplateToken.traverse(root)) {
    if (!isBasicExpression(token)) continue
    const range = token.range
    if (token.blockScalarHeader !== undefined || (range && range.start.line !== range.end.line))
      throw new UnsupportedError(`an expression in a multi-line string: ${token.source}`)
  }
}

/** An `if:` the parser turned into `format()` of text around an expression (always true). */
function refuseTextAroundExpression(token: TemplateToken | undefined): void {
  if (token && isBasicExpression(token) && token.originalExpressions !== undefined)
    throw new UnsupportedError(`if: with text around an expression: ${token.source}`)
}

/** A step's name as written: an expression name as its text, not evaluated. */
function writtenText(token: ScalarToken | undefined): string | undefined {
  if (token === undefined) return undefined
  if (isString(token)) return token.value
  if (isBasicExpression(token))
    return token.originalExpressions ? token.source : `\${{ ${token.expression} }}`
  return token.toString()
}

/** A literal's value; an expression there is not modelled. */
function literal(token: TemplateToken | undefined, what: string): InputValue | undefined {
  if (token === undefined) return undefined
  if (isString(token) || isNumber(token) || isBoolean(token)) return token.value
  if (isBasicExpression(token)) throw new UnsupportedError(`an expression as ${what}`)
  return undefined
}

function loadCall(
  template: WorkflowTemplate,
  on: MappingToken | undefined
): LoadedWorkflow['call'] {
  const config = template.events.workflow_call
  if (!config) return undefined
  const raw = mapping(on?.find('workflow_call'))
  const inputs: Record<string, CallInput> = {}
  for (const [name, input] of Object.entries(config.inputs ?? {})) {
    // The converter's input types have no `number`: such an input comes back
    // without its type and default, so those are read from its token.
    const token = mapping(mapping(raw?.find('inputs'))?.find(name))
    const type = input.type ?? literal(token?.find('type'), `the type of input ${name}`)
    const given =
      input.default === undefined || typeof input.default === 'object'
        ? literal(token?.find('default'), `the default of input ${name}`)
        : input.default
    inputs[name] = {
      type: type as CallInput['type'],
      ...(input.required !== undefined ? { required: input.required } : {}),
      ...(given !== undefined ? { default: given } : {})
    }
  }
  const outputs: Record<string, TemplateToken> = {}
  for (const pair of mapping(raw?.find('outputs')) ?? []) {
    const value = mapping(pair.value)?.find('value')
    if (value) outputs[pair.key.toString()] = value
  }
  return { inputs, secrets: config.secrets ?? {}, outputs }
}

function loadJob(job: WorkflowJob, raw: MappingToken): LoadedJob {
  const id = job.id.value
  for (const key of keysOf(raw))
    if (!JOB_KEYS.has(key)) throw new UnsupportedError(`jobs.${id}.${key}`)
  // A job calling a reusable workflow (uses:) has been refused by its keys.
  if (!isJob(job)) throw new UnsupportedError(`jobs.${id} calling a workflow`)
  refuseTextAroundExpression(raw.find('if'))
  const rawSteps = raw.find('steps')
  const steps = job.steps.map((step, i): LoadedStep => {
    // The parser reported no error, so every step was converted: they pair by index.
    const written = rawSteps && isSequence(rawSteps) ? mapping(rawSteps.get(i)) : undefined
    if (!written) throw new Error(`workflow-runner: jobs.${id}.steps[${i}] not found as written`)
    for (const key of keysOf(written))
      if (!STEP_KEYS.has(key)) throw new UnsupportedError(`a step's ${key}`)
    const name = writtenText(step.name)
    if (isRunStep(step)) throw new UnsupportedError(`run: steps (${name ?? 'run'})`)
    if (!isActionStep(step)) throw new UnsupportedError(`a step that is neither uses: nor run:`)
    refuseTextAroundExpression(written.find('if'))
    const stepId = written.find('id')
    const withToken = written.find('with')
    const withMapping = mapping(withToken)
    if (withToken && !withMapping)
      throw new UnsupportedError(`a step's with: that is not a mapping`)
    return {
      step,
      ...(stepId && isString(stepId) ? { id: stepId.value } : {}),
      ...(name !== undefined ? { name } : {}),
      ...(withMapping ? { with: withMapping } : {})
    }
  })
  const timeout = raw.find('timeout-minutes')
  return {
    id,
    job,
    needs: (job.needs ?? []).map(n => n.value),
    ...(timeout ? { timeoutMinutes: timeout } : {}),
    steps
  }
}

/** A workflow file, validated and converted by @actions/workflow-parser. */
export async function loadWorkflow(file: string): Promise<LoadedWorkflow> {
  const parsed = parseWorkflow(
    { name: file, content: fs.readFileSync(file, 'utf8') },
    new NoOperationTraceWriter()
  )
  const root = parsed.value
  // Conversion stops at parse errors; it reports its own (needs, ids, steps) to the same context.
  const template = root && (await convertWorkflowTemplate(parsed.context, root))
  const errors = errorsOf(parsed.context)
  if (errors.length > 0 || !root || !template) throw new InvalidWorkflowError(file, errors)

  const top = root.assertMapping('workflow')
  for (const key of keysOf(top))
    if (!WORKFLOW_KEYS.has(key)) throw new UnsupportedError(`the workflow's ${key}`)
  const rawJobs = mapping(top.find('jobs'))
  const jobs = template.jobs.map(job => {
    const raw = mapping(rawJobs?.find(job.id.value))
    if (!raw) throw new Error(`workflow-runner: jobs.${job.id.value} not found as written`)
    return loadJob(job, raw)
  })
  refuseMultiLineExpressions(root)
  const name = top.find('name')
  const call = loadCall(template, mapping(top.find('on')))
  return {
    file,
    ...(name && isString(name) ? { name: name.value } : {}),
    template,
    ...(call ? { call } : {}),
    jobs
  }
}

/** An action's metadata (action.yml), validated and converted by the same parser. */
export function loadAction(file: string): ActionTemplate {
  const parsed = parseAction(
    { name: file, content: fs.readFileSync(file, 'utf8') },
    new NoOperationTraceWriter()
  )
  const root = parsed.value
  const action = root && convertActionTemplate(parsed.context, root)
  const errors = errorsOf(parsed.context)
  // On a runner a broken action.yml fails its step, not the workflow.
  if (errors.length > 0 || !root || !action)
    throw new Error(`Failed to load ${file}: ${errors.join('; ')}`)
  refuseMultiLineExpressions(root)
  return action
}
