/**
 * A test double of the GitHub Actions runner for the subset of workflow syntax
 * this repository's workflows use, so a reusable workflow can be run as
 * written: jobs in `needs` order, `${{ }}` expressions evaluated by GitHub's
 * own evaluator (@actions/expressions) with the contexts each key allows,
 * status functions as GitHub defines them, matrix legs each in their own
 * workspace and RUNNER_TEMP (sharing nothing but artifacts), and the steps
 * `actions/checkout`, `actions/upload-artifact`, `actions/download-artifact`
 * and this action (the bundle, through action-runner.ts). Anything else
 * throws "unsupported", so a test cannot silently skip part of a workflow.
 * `startGitHubDownloads` gives the runner github.com's release downloads (for
 * the crane the action installs) through a TLS-intercepting proxy.
 */
import { data, Evaluator, Lexer, Parser } from '@actions/expressions'
import type { FunctionDefinition } from '@actions/expressions/funcs/info'
import { TokenType } from '@actions/expressions/lexer'
import { truthy } from '@actions/expressions/result'
import { spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as http from 'node:http'
import * as https from 'node:https'
import type { AddressInfo, Socket } from 'node:net'
import * as os from 'node:os'
import * as path from 'node:path'
import { parse as parseYaml } from 'yaml'
import { DIST, runActionAsync } from './action-runner.js'

type Json = null | boolean | number | string | Json[] | { [key: string]: Json }
type Data = data.ExpressionData
export type InputValue = string | number | boolean
export type Result = 'success' | 'failure' | 'skipped' | 'cancelled'

export class UnsupportedError extends Error {
  constructor(what: string) {
    super(`workflow-runner: unsupported: ${what}`)
  }
}

// ---------------------------------------------------------------- expressions

/** Status functions; job-level ones look at the ancestor jobs, step-level ones at the job so far. */
const STATUS_FUNCTIONS = ['always', 'success', 'failure', 'cancelled']

function statusFunctions(succeeded: () => boolean, failed: () => boolean) {
  const define = (name: string, value: () => boolean): FunctionDefinition => ({
    name,
    minArgs: 0,
    maxArgs: 0,
    call: () => new data.BooleanData(value())
  })
  return [
    define('always', () => true),
    define('success', succeeded),
    define('failure', failed),
    // Nothing here is ever cancelled by a user.
    define('cancelled', () => false)
  ]
}

/** Plain JSON → the evaluator's data. */
export function toData(value: unknown): Data {
  return JSON.parse(JSON.stringify(value ?? null), data.reviver) as Data
}

/** The evaluator's data → plain JSON. */
export function fromData(value: Data): Json {
  switch (value.kind) {
    case data.Kind.Null:
      return null
    case data.Kind.Boolean:
      return (value as data.BooleanData).value
    case data.Kind.Number:
      return (value as data.NumberData).value
    case data.Kind.String:
      return (value as data.StringData).value
    case data.Kind.Array:
      return (value as data.Array).values().map(fromData)
    default:
      return Object.fromEntries(
        (value as data.Dictionary).pairs().map(p => [p.key, fromData(p.value)])
      )
  }
}

/** What an expression may see: context name → value, and the functions beyond the built-in ones. */
interface Scope {
  contexts: Record<string, unknown>
  functions?: FunctionDefinition[]
}

function evaluate(expression: string, scope: Scope): Data {
  const { tokens } = new Lexer(expression).lex()
  const functions = scope.functions ?? []
  const ast = new Parser(tokens, Object.keys(scope.contexts), functions).parse()
  const dictionary = new data.Dictionary(
    ...Object.entries(scope.contexts).map(([key, value]) => ({ key, value: toData(value) }))
  )
  const map = new Map(functions.map(f => [f.name.toLowerCase(), f]))
  return new Evaluator(ast, dictionary, map).evaluate()
}

/** Does the expression call a status function (else GitHub wraps it in `success() && (...)`)? */
function callsStatusFunction(expression: string): boolean {
  const { tokens } = new Lexer(expression).lex()
  return tokens.some(
    (t, i) =>
      t.type === TokenType.IDENTIFIER &&
      STATUS_FUNCTIONS.includes(t.lexeme.toLowerCase()) &&
      tokens[i + 1]?.type === TokenType.LEFT_PAREN
  )
}

/** `text ${{ expr }} text` → its literal and expression parts (`}}` inside a string literal kept). */
function templateParts(text: string): { literal?: string; expression?: string }[] {
  const parts: { literal?: string; expression?: string }[] = []
  let rest = text
  for (;;) {
    const start = rest.indexOf('${{')
    if (start < 0) break
    let i = start + 3
    let inString = false
    for (; i < rest.length; i++) {
      if (rest[i] === "'") inString = !inString
      else if (!inString && rest.startsWith('}}', i)) break
    }
    if (i >= rest.length) throw new Error(`unclosed expression in ${JSON.stringify(text)}`)
    if (start > 0) parts.push({ literal: rest.slice(0, start) })
    parts.push({ expression: rest.slice(start + 3, i) })
    rest = rest.slice(i + 2)
  }
  if (rest) parts.push({ literal: rest })
  return parts
}

/** A YAML value with `${{ }}` in it: one whole expression keeps its type, anything else is a string. */
function evaluateValue(value: unknown, scope: Scope): Data {
  if (typeof value !== 'string') {
    if (Array.isArray(value)) return new data.Array(...value.map(v => evaluateValue(v, scope)))
    if (value && typeof value === 'object') {
      return new data.Dictionary(
        ...Object.entries(value).map(([key, v]) => ({ key, value: evaluateValue(v, scope) }))
      )
    }
    return toData(value)
  }
  const parts = templateParts(value)
  if (parts.length === 1 && parts[0]?.expression !== undefined) {
    return evaluate(parts[0].expression, scope)
  }
  return new data.StringData(
    parts
      .map(p =>
        p.expression !== undefined ? evaluate(p.expression, scope).coerceString() : p.literal
      )
      .join('')
  )
}

function evaluateString(value: unknown, scope: Scope): string {
  if (value === undefined || value === null) return ''
  return evaluateValue(value, scope).coerceString()
}

/** An `if:` (with or without `${{ }}`), with the implicit `success() &&` when no status function is called. */
function evaluateCondition(condition: unknown, scope: Scope): boolean {
  if (condition === undefined || condition === null) return evaluateCondition('success()', scope)
  let text = String(condition).trim()
  const parts = templateParts(text)
  if (parts.length === 1 && parts[0]?.expression !== undefined) text = parts[0].expression
  else if (text.includes('${{'))
    throw new UnsupportedError(`if: with text around an expression: ${text}`)
  if (!callsStatusFunction(text)) text = `success() && (${text})`
  return truthy(evaluate(text, scope))
}

// ------------------------------------------------------------------ artifacts

const ARTIFACT_NAME_FORBIDDEN = /["':<>|*?\r\n\\/]/

/** A workflow run's artifacts: one directory per name. Share one between calls made by one run. */
export class ArtifactStore {
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'workflow-artifacts-'))
  private readonly stored = new Map<string, string>()

  names(): string[] {
    return [...this.stored.keys()].sort()
  }

  /** The artifact's root directory (its files as uploaded, relative to it). */
  path(name: string): string | undefined {
    return this.stored.get(name)
  }

  /** Files of an artifact, relative to its root. */
  files(name: string): string[] {
    const root = this.stored.get(name)
    if (!root) return []
    return (fs.readdirSync(root, { recursive: true, encoding: 'utf8' }) as string[])
      .filter(f => fs.statSync(path.join(root, f)).isFile())
      .sort()
  }

  upload(name: string, root: string, files: string[]): void {
    if (ARTIFACT_NAME_FORBIDDEN.test(name) || name.trim() === '') {
      throw new Error(`The artifact name is not valid: ${name}`)
    }
    if (this.stored.has(name)) {
      // upload-artifact v4+: names are unique within a run (overwrite: false).
      throw new Error(
        `Failed to CreateArtifact: Received non-retryable error: Failed request: (409) Conflict: an artifact with this name already exists on the workflow run`
      )
    }
    const dir = path.join(this.dir, String(this.stored.size))
    for (const file of files) {
      const to = path.join(dir, path.relative(root, file))
      fs.mkdirSync(path.dirname(to), { recursive: true })
      fs.copyFileSync(file, to)
    }
    fs.mkdirSync(dir, { recursive: true })
    this.stored.set(name, dir)
  }

  download(name: string, into: string): void {
    const root = this.stored.get(name)
    if (!root) throw new Error(`Artifact '${name}' not found`)
    fs.mkdirSync(into, { recursive: true })
    fs.cpSync(root, into, { recursive: true })
  }
}

/** download-artifact's `pattern` (minimatch); only `*` and `?`, which is all artifact names need here. */
function globMatcher(pattern: string): (name: string) => boolean {
  if (/[[\]{}!+@()]/.test(pattern)) throw new UnsupportedError(`artifact pattern ${pattern}`)
  const source = pattern
    .split('')
    .map(c => (c === '*' ? '[^/]*' : c === '?' ? '[^/]' : c.replace(/[.^$|\\]/g, '\\$&')))
    .join('')
  const regex = new RegExp(`^${source}$`)
  return name => regex.test(name)
}

// ---------------------------------------------------------- the runner's network

export interface GitHubDownloads {
  /** For every action (WorkflowRunOptions.env): https_proxy and NODE_EXTRA_CA_CERTS. */
  env: Record<string, string>
  /** What reached the proxy, in order: `CONNECT host:port`, then `GET github.com/<path>` inside. */
  requests(): string[]
  close(): Promise<void>
}

/**
 * github.com's release downloads as a runner behind a corporate TLS proxy
 * reaches them: actions get `https_proxy` (a proxy on loopback) and
 * `NODE_EXTRA_CA_CERTS` (a CA made here with openssl, one day valid); the
 * proxy terminates TLS for github.com with a certificate of that CA and
 * answers `https://github.com/<owner>/<repo>/releases/download/<tag>/<file>`
 * from `releases[<owner>/<repo>]` (`<base>/<tag>/<file>`, e.g. a crane release
 * server). Any other host or path is refused, so nothing leaves the machine.
 * A workflow's `uses:` cannot change an action's download URL, so this is how
 * a workflow run installs crane from a local release.
 */
export async function startGitHubDownloads(
  releases: Record<string, string>
): Promise<GitHubDownloads> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'runner-network-'))
  const openssl = (...args: string[]) => {
    const run = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' })
    if (run.status !== 0) throw new Error(`openssl ${args.join(' ')} failed: ${run.stderr}`)
  }
  const key = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']
  openssl(
    'req',
    '-x509',
    ...key,
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
    '-days',
    '1',
    '-subj',
    '/CN=workflow-runner test CA',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign'
  )
  openssl('req', ...key, '-keyout', 'github.key', '-out', 'github.csr', '-subj', '/CN=github.com')
  fs.writeFileSync(
    path.join(dir, 'github.ext'),
    'subjectAltName=DNS:github.com\nextendedKeyUsage=serverAuth\n'
  )
  openssl(
    'x509',
    '-req',
    '-in',
    'github.csr',
    '-CA',
    'ca.crt',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-days',
    '1',
    '-extfile',
    'github.ext',
    '-out',
    'github.crt'
  )

  const log: string[] = []
  const github = https.createServer(
    {
      key: fs.readFileSync(path.join(dir, 'github.key')),
      cert: fs.readFileSync(path.join(dir, 'github.crt'))
    },
    (req, res) => {
      const pathname = new URL(req.url ?? '/', 'https://github.com').pathname
      log.push(`${req.method} github.com${pathname}`)
      const match = /^\/([^/]+\/[^/]+)\/releases\/download\/(.+)$/.exec(pathname)
      const base = match ? releases[match[1] as string] : undefined
      if (!base || req.method !== 'GET') {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('Not Found')
        return
      }
      fetch(`${base}/${match?.[2]}`).then(
        async upstream => {
          const body = Buffer.from(await upstream.arrayBuffer())
          res.writeHead(upstream.status, {
            'content-type': upstream.headers.get('content-type') ?? 'application/octet-stream',
            'content-length': body.length
          })
          res.end(body)
        },
        (error: Error) => res.writeHead(502, { 'content-type': 'text/plain' }).end(error.message)
      )
    }
  )
  const proxy = http.createServer((req, res) => {
    log.push(`${req.method} ${req.url}`)
    res.writeHead(403, { 'content-type': 'text/plain' }).end('Only github.com over HTTPS here')
  })
  proxy.on('connect', (req: http.IncomingMessage, socket: Socket, head: Buffer) => {
    log.push(`CONNECT ${req.url}`)
    socket.on('error', () => undefined)
    if (req.url !== 'github.com:443') {
      socket.end('HTTP/1.1 403 Forbidden\r\n\r\n')
      return
    }
    socket.write('HTTP/1.1 200 Connection Established\r\n\r\n')
    if (head.length > 0) socket.unshift(head)
    // The TLS server takes the tunnel as one of its own connections.
    github.emit('connection', socket)
  })
  await new Promise<void>(resolve => proxy.listen(0, '127.0.0.1', resolve))
  const port = (proxy.address() as AddressInfo).port
  return {
    env: {
      https_proxy: `http://127.0.0.1:${port}`,
      NODE_EXTRA_CA_CERTS: path.join(dir, 'ca.crt')
    },
    requests: () => [...log],
    close: async () => {
      proxy.closeAllConnections()
      github.closeAllConnections()
      await new Promise(resolve => proxy.close(resolve))
      fs.rmSync(dir, { recursive: true, force: true })
    }
  }
}

// ------------------------------------------------------------------- the run

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

interface StepDef {
  name?: string
  id?: string
  uses?: string
  run?: string
  with?: Record<string, unknown>
  env?: Record<string, unknown>
  if?: unknown
  [key: string]: unknown
}

interface JobDef {
  name?: string
  needs?: string | string[]
  if?: unknown
  'runs-on'?: unknown
  'timeout-minutes'?: unknown
  permissions?: unknown
  strategy?: { matrix?: unknown; 'fail-fast'?: unknown; 'max-parallel'?: unknown }
  outputs?: Record<string, string>
  env?: Record<string, unknown>
  steps?: StepDef[]
  [key: string]: unknown
}

interface CallInput {
  type: 'string' | 'number' | 'boolean'
  required?: boolean
  default?: InputValue
}

interface WorkflowDef {
  name?: string
  on?: unknown
  env?: Record<string, unknown>
  concurrency?: unknown
  permissions?: unknown
  jobs: Record<string, JobDef>
}

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

function needsOf(job: JobDef): string[] {
  if (job.needs === undefined) return []
  return Array.isArray(job.needs) ? job.needs : [job.needs]
}

/** The `inputs` context: declared inputs, type-checked, with their defaults. */
function callInputs(
  declared: Record<string, CallInput>,
  given: Record<string, InputValue>
): Record<string, InputValue> {
  for (const name of Object.keys(given)) {
    if (!(name in declared))
      throw new Error(`Invalid input, ${name} is not defined in the referenced workflow.`)
  }
  const inputs: Record<string, InputValue> = {}
  for (const [name, input] of Object.entries(declared)) {
    const value = given[name]
    if (value === undefined) {
      if (input.required)
        throw new Error(`Input ${name} is required, but not provided while calling.`)
      inputs[name] =
        input.default ?? (input.type === 'boolean' ? false : input.type === 'number' ? 0 : '')
      continue
    }
    if (typeof value !== input.type) {
      throw new Error(
        `The input ${name} of type ${input.type} was given a ${typeof value}: ${JSON.stringify(value)}`
      )
    }
    inputs[name] = value
  }
  return inputs
}

/** GitHub's matrix expansion: the product of the vectors, then `exclude`, then `include`. */
export function expandMatrix(matrix: Json): Record<string, Json>[] {
  if (!matrix || typeof matrix !== 'object' || Array.isArray(matrix)) {
    throw new Error('Unexpected value: a matrix must be a mapping')
  }
  const { include = [], exclude = [], ...vectors } = matrix
  if (!Array.isArray(include) || !Array.isArray(exclude)) {
    throw new Error('Unexpected value: include and exclude must be sequences')
  }
  let combos: Record<string, Json>[] = Object.keys(vectors).length > 0 ? [{}] : []
  for (const [key, values] of Object.entries(vectors)) {
    if (!Array.isArray(values) || values.length === 0) {
      throw new Error(`Matrix vector '${key}' does not contain any values`)
    }
    combos = combos.flatMap(c => values.map(v => ({ ...c, [key]: v })))
  }
  const same = (a: Json | undefined, b: Json | undefined) => JSON.stringify(a) === JSON.stringify(b)
  combos = combos.filter(
    c =>
      !exclude.some(
        e => e && typeof e === 'object' && Object.entries(e).every(([k, v]) => same(c[k], v))
      )
  )
  const original = combos.map(c => ({ ...c }))
  const extra: Record<string, Json>[] = []
  for (const entry of include as Record<string, Json>[]) {
    let added = false
    combos.forEach((combo, i) => {
      const base = original[i] as Record<string, Json>
      if (Object.entries(entry).every(([k, v]) => !(k in base) || same(base[k], v))) {
        Object.assign(combo, entry)
        added = true
      }
    })
    if (!added) extra.push({ ...entry })
  }
  const all = [...combos, ...extra]
  if (all.length === 0) throw new Error('Matrix must define at least one vector')
  if (all.length > 256) throw new Error(`Strategy produced more than 256 jobs (${all.length})`)
  return all
}

/** Delete what a run left on disk: its jobs' workspaces and its artifacts. */
export function removeRun(run: WorkflowRun): void {
  fs.rmSync(run.dir, { recursive: true, force: true })
  fs.rmSync(run.artifacts.dir, { recursive: true, force: true })
}

const WORKFLOW_KEYS = new Set([
  'name',
  'run-name',
  'on',
  'env',
  'concurrency',
  'permissions',
  'jobs'
])

/** The parsed YAML of a workflow file. */
export function readWorkflow(file: string): WorkflowDef {
  return parseYaml(fs.readFileSync(file, 'utf8')) as WorkflowDef
}

/** Run a workflow (a `workflow_call` one with `inputs` and `secrets`) to the end. */
export async function runWorkflow(
  file: string,
  options: WorkflowRunOptions = {}
): Promise<WorkflowRun> {
  const workflow = readWorkflow(file)
  for (const key of Object.keys(workflow)) {
    if (!WORKFLOW_KEYS.has(key)) throw new UnsupportedError(`the workflow's ${key}`)
  }
  const on = (workflow.on ?? {}) as Record<string, unknown>
  const call = (on.workflow_call ?? {}) as {
    inputs?: Record<string, CallInput>
    secrets?: Record<string, { required?: boolean }>
    outputs?: Record<string, { value: string }>
  }
  if (options.inputs && !('workflow_call' in on))
    throw new UnsupportedError('inputs for a workflow that is not workflow_call')
  const inputs = callInputs(call.inputs ?? {}, options.inputs ?? {})
  const secrets: Record<string, string> = {}
  for (const [name, value] of Object.entries(options.secrets ?? {})) {
    if (!(name in (call.secrets ?? {})))
      throw new Error(`Invalid secret, ${name} is not defined in the referenced workflow.`)
    secrets[name] = value
  }
  for (const [name, secret] of Object.entries(call.secrets ?? {})) {
    if (secret.required && !(name in secrets))
      throw new Error(`Secret ${name} is required, but not provided while calling.`)
  }

  const event = options.eventPath
    ? (JSON.parse(fs.readFileSync(options.eventPath, 'utf8')) as unknown)
    : {}
  const repository = options.github?.repository ?? 'acme/mirror'
  const github: GitHubContext = {
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
    workflow: workflow.name ?? path.basename(file),
    ...options.github,
    event
  }
  secrets.GITHUB_TOKEN = github.token
  const vars: Record<string, string> = {}
  const artifacts = options.artifacts ?? new ArtifactStore()
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'workflow-run-'))
  const run: WorkflowRun = { result: 'success', dir, jobs: {}, outputs: {}, artifacts, steps: [] }

  if (workflow.concurrency !== undefined) {
    const group =
      typeof workflow.concurrency === 'object'
        ? (workflow.concurrency as { group?: unknown }).group
        : workflow.concurrency
    run.concurrency = evaluateString(group, { contexts: { github, inputs, vars } })
  }
  const workflowEnv = Object.fromEntries(
    Object.entries(workflow.env ?? {}).map(([k, v]) => [
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
  for (const [name, output] of Object.entries(call.outputs ?? {})) {
    run.outputs[name] = evaluateString(output.value, { contexts: { github, jobs, vars, inputs } })
  }
  return run
}

/** Every job in `needs` order (one after the other: jobs running at once on GitHub share nothing anyway). */
async function runJobs(
  workflow: WorkflowDef,
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
  const pending = new Map(Object.entries(workflow.jobs))
  for (const [id, job] of pending) {
    for (const key of Object.keys(job))
      if (!JOB_KEYS.has(key)) throw new UnsupportedError(`jobs.${id}.${key}`)
    for (const need of needsOf(job))
      if (!(need in workflow.jobs)) throw new Error(`jobs.${id} needs unknown job ${need}`)
  }
  const ancestors = (id: string): string[] => {
    const direct = needsOf(workflow.jobs[id] as JobDef)
    return [...new Set([...direct, ...direct.flatMap(ancestors)])]
  }
  while (pending.size > 0) {
    const ready = [...pending].find(([, job]) => needsOf(job).every(n => n in run.jobs))
    if (!ready) throw new Error(`jobs ${[...pending.keys()].join(', ')} wait on each other`)
    const [id, job] = ready
    pending.delete(id)
    const needs = Object.fromEntries(
      needsOf(job).map(n => [n, { result: run.jobs[n]?.result, outputs: run.jobs[n]?.outputs }])
    )
    const above = ancestors(id).map(a => run.jobs[a]?.result)
    const jobFunctions = statusFunctions(
      () => above.every(r => r === 'success'),
      () => above.some(r => r === 'failure')
    )
    const base = { github, needs, vars, inputs }
    let outcome: JobResult
    try {
      outcome = evaluateCondition(job.if, { contexts: base, functions: jobFunctions })
        ? await runJob(id, job, { base, secrets, workflowEnv, artifacts, options, run })
        : { result: 'skipped', outputs: {}, runs: [] }
    } catch (error) {
      if (error instanceof UnsupportedError) throw error
      outcome = { result: 'failure', outputs: {}, runs: [], error: (error as Error).message }
    }
    run.jobs[id] = outcome
    if (outcome.result === 'failure') run.result = 'failure'
  }
}

interface JobEnvironment {
  base: Record<string, unknown>
  secrets: Record<string, string>
  workflowEnv: Record<string, string>
  artifacts: ArtifactStore
  options: WorkflowRunOptions
  run: WorkflowRun
}

async function runJob(id: string, job: JobDef, env: JobEnvironment): Promise<JobResult> {
  let legs: (Record<string, Json> | undefined)[] = [undefined]
  let failFast = true
  let maxParallel: number | undefined
  if (job.strategy) {
    for (const key of Object.keys(job.strategy)) {
      if (!['matrix', 'fail-fast', 'max-parallel'].includes(key))
        throw new UnsupportedError(`jobs.${id}.strategy.${key}`)
    }
    const scope = { contexts: env.base }
    legs = expandMatrix(fromData(evaluateValue(job.strategy.matrix, scope)))
    if (job.strategy['fail-fast'] !== undefined) {
      failFast = truthy(evaluateValue(job.strategy['fail-fast'], scope))
    }
    if (job.strategy['max-parallel'] !== undefined) {
      maxParallel = evaluateValue(job.strategy['max-parallel'], scope).number()
    }
  }
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
      const leg = cancelled
        ? cancelledLeg(id, matrix)
        : await runLeg(id, job, matrix, strategy, env)
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
  id: string,
  job: JobDef,
  matrix: Record<string, Json> | undefined,
  strategy: Record<string, unknown>,
  env: JobEnvironment
): Promise<JobRun> {
  // The job's own machine: workspace (also action-runner's workdir) and RUNNER_TEMP.
  const workspace = fs.mkdtempSync(path.join(env.run.dir, `${id}-`))
  const temp = path.join(workspace, 'temp')
  fs.mkdirSync(temp, { recursive: true })
  const runner = {
    temp,
    os: 'Linux',
    arch: 'X64',
    name: 'workflow-runner',
    tool_cache: path.join(workspace, 'tool-cache')
  }
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
    leg.name = job.name !== undefined ? evaluateString(job.name, { contexts: header }) : id
    evaluateString(job['runs-on'], { contexts: header })
    const timeout =
      job['timeout-minutes'] !== undefined
        ? Number(evaluateString(job['timeout-minutes'], { contexts: header }))
        : 360
    if (!Number.isFinite(timeout) || timeout <= 0)
      throw new Error(`timeout-minutes is not a positive number: ${timeout}`)
    const stepTimeoutMs = Math.min(env.options.stepTimeoutMs ?? 120_000, timeout * 60_000)
    const jobEnv = {
      ...env.workflowEnv,
      ...Object.fromEntries(
        Object.entries(job.env ?? {}).map(([k, v]) => [
          k,
          evaluateString(v, { contexts: { ...header, secrets: env.secrets } })
        ])
      )
    }
    let failed = false
    for (const def of job.steps ?? []) {
      for (const key of Object.keys(def))
        if (!STEP_KEYS.has(key)) throw new UnsupportedError(`a step's ${key}`)
      const contexts = { ...header, job: jobContext, runner, env: jobEnv, steps }
      const hook: StepHookContext = {
        job: id,
        ...(matrix ? { matrix } : {}),
        step: {
          ...(def.id ? { id: def.id } : {}),
          ...(def.name ? { name: def.name } : {}),
          ...(def.uses ? { uses: def.uses } : {})
        }
      }
      const step: StepRun = {
        name: def.name ?? def.uses ?? 'run',
        ...(def.id ? { id: def.id } : {}),
        uses: def.uses ?? '',
        inputs: {},
        outcome: 'skipped',
        outputs: {},
        stdout: '',
        stderr: '',
        summary: '',
        warnings: [],
        ms: 0
      }
      if (def.run !== undefined) throw new UnsupportedError(`run: steps (${step.name})`)
      if (!def.uses) throw new UnsupportedError(`a step without uses: (${step.name})`)
      // Steps' if: sees no secrets.
      const functions = statusFunctions(
        () => !failed,
        () => failed
      )
      let runIt: boolean
      try {
        runIt = evaluateCondition(def.if, { contexts, functions })
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
          for (const [key, value] of Object.entries(def.with ?? {}))
            step.inputs[key] = evaluateString(value, withScope)
          const stepEnv = {
            ...jobEnv,
            ...Object.fromEntries(
              Object.entries(def.env ?? {}).map(([k, v]) => [k, evaluateString(v, withScope)])
            )
          }
          await runStep(def.uses, step, {
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
    for (const [name, value] of Object.entries(job.outputs ?? {})) {
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

interface StepPlace {
  workspace: string
  temp: string
  env: Record<string, string>
  timeoutMs: number
  github: GitHubContext
  job: JobEnvironment
}

async function runStep(uses: string, step: StepRun, place: StepPlace): Promise<void> {
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

/** Resolve `path` inputs as the actions do: relative to the workspace, `~` to HOME. */
function resolvePath(place: StepPlace, p: string): string {
  const expanded = p.startsWith('~') ? p.replace('~', os.homedir()) : p
  return path.resolve(place.workspace, expanded)
}

function checkout(step: StepRun, place: StepPlace): void {
  const options = place.job.options
  const repository = step.inputs.repository || place.github.repository
  const ref = step.inputs.ref
  const into = resolvePath(place, step.inputs.path || '.')
  if (path.relative(place.workspace, into).startsWith('..')) {
    throw new Error(`Repository path '${into}' is not under '${place.workspace}'`)
  }
  fs.mkdirSync(into, { recursive: true })
  if (
    repository === place.github.repository &&
    (!ref || ref === place.github.ref || ref === place.github.sha)
  ) {
    for (const [name, content] of Object.entries(options.files ?? {})) {
      const file = path.join(into, name)
      fs.mkdirSync(path.dirname(file), { recursive: true })
      fs.writeFileSync(file, content)
    }
    return
  }
  const source = options.repositories?.[`${repository}@${ref || 'HEAD'}`]
  if (!source)
    throw new Error(
      `Not Found: the repository '${repository}' at ref '${ref}' cannot be checked out`
    )
  // What an action checkout needs: its metadata and the committed bundle.
  for (const name of ['action.yml', 'dist'])
    fs.symlinkSync(path.join(source, name), path.join(into, name))
}

function uploadArtifact(step: StepRun, place: StepPlace): void {
  const name = step.inputs.name || 'artifact'
  const given = step.inputs.path ?? ''
  if (given.trim() === '') throw new Error('Input required and not supplied: path')
  if (given.includes('\n') || /[*?[]/.test(given))
    throw new UnsupportedError(`upload-artifact path ${given}`)
  const mode = step.inputs['if-no-files-found'] || 'warn'
  if (!['warn', 'error', 'ignore'].includes(mode))
    throw new Error(`Unrecognized if-no-files-found input: ${mode}`)
  const target = resolvePath(place, given)
  let root = path.dirname(target)
  let files: string[] = []
  if (fs.existsSync(target) && fs.statSync(target).isDirectory()) {
    root = target
    files = (fs.readdirSync(target, { recursive: true, encoding: 'utf8' }) as string[])
      .map(f => path.join(target, f))
      // include-hidden-files defaults to false
      .filter(
        f =>
          fs.statSync(f).isFile() &&
          !path
            .relative(target, f)
            .split(path.sep)
            .some(p => p.startsWith('.'))
      )
  } else if (fs.existsSync(target)) {
    files = [target]
  }
  if (files.length === 0) {
    const message = `No files were found with the provided path: ${given}. No artifacts will be uploaded.`
    if (mode === 'error') throw new Error(message)
    if (mode === 'warn') step.warnings.push(message)
    return
  }
  place.job.artifacts.upload(name, root, files)
}

function downloadArtifact(step: StepRun, place: StepPlace): void {
  const store = place.job.artifacts
  const into = resolvePath(place, step.inputs.path || '.')
  if (step.inputs.name) {
    // By name: extracted straight into path.
    store.download(step.inputs.name, into)
  } else {
    const matches = step.inputs.pattern ? globMatcher(step.inputs.pattern) : () => true
    const merge = step.inputs['merge-multiple'] === 'true'
    // By pattern (or all): each into path/<artifact name>/ unless merge-multiple; none found is no error.
    for (const name of store.names().filter(matches)) {
      store.download(name, merge ? into : path.join(into, name))
    }
  }
  step.outputs['download-path'] = into
}

async function runNodeAction(actionDir: string, step: StepRun, place: StepPlace): Promise<void> {
  const metadataFile = ['action.yml', 'action.yaml']
    .map(f => path.join(actionDir, f))
    .find(f => fs.existsSync(f))
  if (!metadataFile) {
    throw new Error(
      `Can't find 'action.yml' or 'action.yaml' under '${actionDir}'. Did you forget to run actions/checkout before running your local action?`
    )
  }
  const metadata = parseYaml(fs.readFileSync(metadataFile, 'utf8')) as {
    inputs?: Record<string, { default?: unknown }>
    runs: { using: string; main: string }
  }
  if (!/^node\d+$/.test(metadata.runs.using))
    throw new UnsupportedError(`runs.using ${metadata.runs.using}`)
  const main = fs.realpathSync(path.join(actionDir, metadata.runs.main))
  // action-runner runs this repository's bundle; anything else is not what we think it is.
  if (main !== fs.realpathSync(DIST)) throw new UnsupportedError(`an action whose main is ${main}`)

  // The runner fills in the defaults of inputs not given (expressions evaluated), and warns of unknown ones.
  const declared = metadata.inputs ?? {}
  const inputs: Record<string, string> = { ...step.inputs }
  const known = new Set(Object.keys(declared).map(d => d.toLowerCase()))
  const unexpected = Object.keys(step.inputs).filter(k => !known.has(k.toLowerCase()))
  if (unexpected.length > 0) {
    step.warnings.push(
      `Unexpected input(s) '${unexpected.join("', '")}', valid inputs are ['${Object.keys(declared).join("', '")}']`
    )
  }
  for (const [name, input] of Object.entries(declared)) {
    if (name in inputs || input.default === undefined) continue
    inputs[name] = evaluateString(input.default, {
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
  const github = place.github
  const env: Record<string, string> = {
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
  const result = await runActionAsync(inputs, {
    workdir: place.workspace,
    env,
    timeoutMs: place.timeoutMs
  })
  step.stdout = result.stdout
  step.stderr = result.stderr
  step.summary = result.summary
  step.outputs = result.outputs
  step.outcome = result.code === 0 ? 'success' : 'failure'
  if (result.code !== 0) step.error = `node exited with ${String(result.code)}`
}
