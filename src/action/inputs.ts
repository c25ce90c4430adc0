/**
 * The action's inputs, read and validated in one place before any work, with
 * messages that name the input and what it accepts (input-readers.ts reads
 * each one). Like docker/login-action: `getInputs()` reads them all once, then
 * `inputsForMode()` narrows them to what the chosen mode uses, so a mode
 * cannot read an input it was never given (a copy leg has its `leg`).
 */
import * as core from '@actions/core'
import * as os from 'node:os'
import * as path from 'node:path'
import { DEFAULT_TEMPLATE, checkTemplate, isOneToOne } from '../image/rewrite.js'
import { readPolicyFile, type SignaturePolicy } from '../verify/policy.js'
import { workspace } from './paths.js'
import {
  bool,
  existingFile,
  fail,
  integer,
  label,
  oneOf,
  parseHosts,
  parseIssuePlatforms,
  parsePlatforms,
  parseReferrerTypes,
  parseTarget,
  parseUrl,
  text
} from './input-readers.js'

export const MODES = ['sync', 'plan', 'copy', 'report', 'lint-allowlist'] as const
export type Mode = (typeof MODES)[number]
export const ENGINES = ['crane', 'skopeo', 'native'] as const
export type Engine = (typeof ENGINES)[number]
export const DEFAULT_CRANE_VERSION = 'v0.21.9'
export const DEFAULT_CRANE_URL = 'https://github.com/google/go-containerregistry/releases/download'
/** GitHub allows at most 256 jobs in one matrix. */
export const MAX_LEGS = 256

/** `all`, or the distinct platforms asked for, e.g. `['linux/amd64']`. */
export type Platforms = 'all' | string[]

/** Which engine copies, and where crane comes from. */
export interface EngineSettings {
  engine: Engine
  craneVersion: string
  craneUrl: string
}

/** Where images go and how registries are spoken to. */
export interface RegistrySettings {
  /** Normalised `host[:port][/path]`, no trailing slash. */
  target: string
  insecureRegistries: string[]
  username?: string
  password?: string
  retries: number
  /** Pulls of a metered registry's budget (Docker Hub's) left to other jobs sharing it. */
  pullReserve: number
}

/** How a job copies: the engine, the registries, and the choices that shape each copy. */
export interface CopySettings extends EngineSettings, RegistrySettings {
  platforms: Platforms
  concurrency: number
  skipUnchanged: boolean
  dryRun: boolean
  /** Images deferred for want of pulls fail the job (default: they wait for the next run). */
  failOnDeferred: boolean
  /** Signatures, attestations and SBOMs copied with each image (issue 19). */
  referrers: boolean
  /** What of them travels: kinds (`signature`, ...) or artifactTypes; empty: all. */
  referrerTypes: string[]
  /** Images that must be signed, and by which keys, before they are copied (verify-policy). */
  policy?: SignaturePolicy
}

/** How issue requests are read and answered. */
export interface IssueSettings {
  fromIssue: boolean
  githubToken?: string
  /** Most images one issue may ask for (from-issue). */
  issueMaxImages: number
  /** Platform choices an issue may make: any, none (the `platforms` input always), or these. */
  issuePlatforms: 'any' | 'none' | string[]
  /** Outcome labels put on an issue request. */
  labels: { succeeded: string; failed: string; partial: string }
}

/** Client configs written for the run's registries (config-dir). */
export interface ClientConfigSettings {
  rewrite: string
  configDir?: string
  /** More source registries to write client configs for (`host[:port]`, normalised). */
  configRegistries?: string[]
}

/** Every input, read and validated once (what `getInputs()` returns). */
export interface ActionInputs extends CopySettings, IssueSettings, ClientConfigSettings {
  mode: Mode
  images: string
  imagesFile?: string
  allowlist?: string
  maxLegs: number
  resultsDir: string
  /** Mode copy: which leg of the plan this job copies (1-based). */
  leg?: number
  /** Mode lint-allowlist: rewrite the allowlist in normal form instead of failing. */
  fix?: boolean
  /**
   * from-issue without an allowlist: any public image may be asked for. Sources are then read
   * anonymously, and none on the target's registry is served.
   */
  openMirror: boolean
}

/** What the modes that read requests (a list or an issue) use: sync and plan. */
export interface RequestInputs extends CopySettings, IssueSettings, ClientConfigSettings {
  images: string
  imagesFile?: string
  allowlist?: string
}

export interface SyncInputs extends RequestInputs {
  mode: 'sync'
}

export interface PlanInputs extends RequestInputs {
  mode: 'plan'
  maxLegs: number
  resultsDir: string
}

export interface CopyInputs extends CopySettings {
  mode: 'copy'
  resultsDir: string
  leg: number
}

export interface ReportInputs extends IssueSettings, ClientConfigSettings {
  mode: 'report'
  resultsDir: string
  /** '' when not given: the plan's target is used. */
  target: string
  insecureRegistries: string[]
  platforms: Platforms
  failOnDeferred: boolean
}

export interface LintInputs {
  mode: 'lint-allowlist'
  allowlist: string
  fix: boolean
}

/** The inputs a mode uses, keyed by mode. */
export type Inputs = SyncInputs | PlanInputs | CopyInputs | ReportInputs | LintInputs

/** Read and validate every input. Throws InputError naming the first bad one. */
export function getInputs(): ActionInputs {
  const mode = oneOf('mode', MODES, 'sync')
  const request = readRequest(mode)
  const rewrite = readRewrite()
  const craneVersion = readCraneVersion()
  const secrets = readSecrets()
  const lint = mode === 'lint-allowlist'
  const inputs: ActionInputs = {
    mode,
    images: request.images,
    fromIssue: request.fromIssue,
    target: parseTarget('target', mode !== 'report' && !lint),
    rewrite,
    platforms: parsePlatforms('platforms'),
    engine: oneOf('engine', ENGINES, 'crane'),
    craneVersion,
    craneUrl: parseUrl('crane-url', DEFAULT_CRANE_URL),
    concurrency: integer('concurrency', 4, 1, 64),
    maxLegs: integer('max-legs', 16, 1, MAX_LEGS),
    skipUnchanged: bool('skip-unchanged', true),
    dryRun: bool('dry-run', false),
    retries: integer('retries', 3, 0, 10),
    pullReserve: integer('pull-reserve', 0, 0, 1_000_000),
    failOnDeferred: bool('fail-on-deferred', false),
    referrers: bool('referrers', true),
    referrerTypes: parseReferrerTypes('referrer-types'),
    insecureRegistries: parseHosts('insecure-registries'),
    resultsDir:
      text('results-dir') || path.join(process.env.RUNNER_TEMP || os.tmpdir(), 'image-mirror'),
    issueMaxImages: integer('issue-max-images', 10, 1, 100),
    issuePlatforms: parseIssuePlatforms('issue-platforms'),
    labels: {
      succeeded: label('label-succeeded', 'sync image succeeded'),
      failed: label('label-failed', 'sync image failure'),
      partial: label('label-partial', 'sync image partial')
    },
    openMirror: bool('open-mirror', false)
  }
  checkEngine(inputs)
  readAllowlist(inputs, request.reads)
  if (lint) inputs.fix = bool('fix', false)
  if (request.imagesFile) inputs.imagesFile = request.imagesFile
  Object.assign(inputs, secrets)
  if (mode === 'copy') inputs.leg = readLeg()
  // Read where images are copied, and by the plan, which carries it to its legs.
  if (mode === 'sync' || mode === 'plan' || mode === 'copy') readPolicy(inputs)
  readClientConfigs(inputs)
  return inputs
}

/** The request: images, images-file and from-issue, and which modes may read them. */
function readRequest(mode: Mode): {
  images: string
  imagesFile?: string
  fromIssue: boolean
  reads: boolean
} {
  const images = core.getInput('images')
  // Only sync and plan read the request (the report answers from what the plan read):
  // a copy leg needs no checkout.
  const reads = mode === 'sync' || mode === 'plan'
  const imagesFile = reads ? existingFile('images-file') : undefined
  const fromIssue = bool('from-issue', false)
  // Linting an allowlist reads nothing but the allowlist: no images, no target, no issue.
  if (fromIssue && mode === 'lint-allowlist')
    fail('from-issue', 'true does not work with mode lint-allowlist')
  if (fromIssue && mode === 'copy') {
    fail(
      'from-issue',
      'true works with modes sync, plan and report; a copy leg does not read the issue'
    )
  }
  if (reads && !images.trim() && !imagesFile && !fromIssue) {
    fail('images', 'no images to mirror: set "images", "images-file" or "from-issue: true"')
  }
  return { images, fromIssue, reads, ...(imagesFile ? { imagesFile } : {}) }
}

function readRewrite(): string {
  const rewrite = text('rewrite') || DEFAULT_TEMPLATE
  const templateProblem = checkTemplate(rewrite)
  if (templateProblem) fail('rewrite', `"${rewrite}" ${templateProblem}`)
  return rewrite
}

function readCraneVersion(): string {
  const version = text('crane-version') || DEFAULT_CRANE_VERSION
  // A pre-release or build label (v0.21.9-internal.1) is allowed for internal mirrors of releases.
  if (!/^v\d+\.\d+\.\d+(?:-[0-9A-Za-z][0-9A-Za-z.-]{0,63})?$/.test(version))
    fail('crane-version', `"${version}" is not a release tag like ${DEFAULT_CRANE_VERSION}`)
  return version
}

/** The target's login and the GitHub token, masked as soon as they are read. */
function readSecrets(): Pick<ActionInputs, 'username' | 'password' | 'githubToken'> {
  const username = text('username') || undefined
  const password = core.getInput('password') || undefined
  if (password) core.setSecret(password)
  if (Boolean(username) !== Boolean(password)) {
    fail(
      username ? 'password' : 'username',
      'username and password are given together or not at all'
    )
  }
  const githubToken = core.getInput('github-token') || undefined
  if (githubToken) core.setSecret(githubToken)
  return {
    ...(username ? { username } : {}),
    ...(password ? { password } : {}),
    ...(githubToken ? { githubToken } : {})
  }
}

function checkEngine(inputs: ActionInputs): void {
  if (
    inputs.engine === 'skopeo' &&
    Array.isArray(inputs.platforms) &&
    inputs.platforms.length > 1
  ) {
    fail(
      'platforms',
      `engine skopeo copies all platforms or exactly one, not ${inputs.platforms.join(', ')}; use engine: crane or native for several`
    )
  }
}

/** The allowlist, and the rules that keep strangers' issues from choosing what the mirror holds. */
function readAllowlist(inputs: ActionInputs, reads: boolean): void {
  const lint = inputs.mode === 'lint-allowlist'
  // The report answers from the plan, which names the allowlist: its job needs no checkout.
  const allowlist = reads || lint ? existingFile('allowlist') : undefined
  if (allowlist) inputs.allowlist = allowlist
  else if (lint) fail('allowlist', 'mode lint-allowlist needs the allowlist file to check')
  // Strangers choose what an issue asks for: the mirror's integrity must not depend on them.
  if (inputs.fromIssue && reads) {
    if (!allowlist && !inputs.openMirror) {
      fail(
        'allowlist',
        'from-issue: true needs an allowlist of the images strangers may ask for (DaoCloud allows.txt format); to serve any public image instead, set open-mirror: true'
      )
    }
    if (!isOneToOne(inputs.rewrite)) {
      fail(
        'rewrite',
        `"${inputs.rewrite}" can map two source repositories to one mirrored name, so one issue could overwrite the tags another issue mirrored; with from-issue: true use a template that keeps {registry} and {repository} as path segments, such as ${DEFAULT_TEMPLATE}`
      )
    }
  }
  if (inputs.openMirror && !inputs.fromIssue)
    fail('open-mirror', 'true works with from-issue: true')
}

function readPolicy(inputs: ActionInputs): void {
  const file = existingFile('verify-policy')
  const root = existingFile('verify-trusted-root')
  if (root && !file) fail('verify-trusted-root', 'it is used with verify-policy: give both')
  if (!file) return
  try {
    const rootName = root ? text('verify-trusted-root') : undefined
    inputs.policy = readPolicyFile(file, text('verify-policy'), workspace(), root, rootName)
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error)
    fail(root && /trusted root/.test(message) ? 'verify-trusted-root' : 'verify-policy', message)
  }
}

function readLeg(): number {
  if (!text('leg')) fail('leg', 'mode copy needs the leg to copy: leg: ${{ matrix.leg }}')
  return integer('leg', 1, 1, MAX_LEGS)
}

function readClientConfigs(inputs: ActionInputs): void {
  const configDir = text('config-dir')
  if (configDir) inputs.configDir = configDir
  const configRegistries = parseHosts('config-registries')
  if (configRegistries.length > 0) {
    if (!configDir)
      fail('config-registries', 'names registries for client configs; set config-dir too')
    inputs.configRegistries = configRegistries
  }
}

/** Optional fields copied only when present (exact optional property types). */
function present<T extends object, K extends keyof T>(from: T, keys: readonly K[]): Pick<T, K> {
  const picked = {} as Pick<T, K>
  for (const key of keys) if (from[key] !== undefined) picked[key] = from[key]
  return picked
}

function copySettings(a: ActionInputs): CopySettings {
  return {
    engine: a.engine,
    craneVersion: a.craneVersion,
    craneUrl: a.craneUrl,
    target: a.target,
    insecureRegistries: a.insecureRegistries,
    ...present(a, ['username', 'password']),
    retries: a.retries,
    pullReserve: a.pullReserve,
    platforms: a.platforms,
    concurrency: a.concurrency,
    skipUnchanged: a.skipUnchanged,
    dryRun: a.dryRun,
    failOnDeferred: a.failOnDeferred,
    referrers: a.referrers,
    referrerTypes: a.referrerTypes,
    ...present(a, ['policy'])
  }
}

function issueSettings(a: ActionInputs): IssueSettings {
  return {
    fromIssue: a.fromIssue,
    ...present(a, ['githubToken']),
    issueMaxImages: a.issueMaxImages,
    issuePlatforms: a.issuePlatforms,
    labels: a.labels
  }
}

function clientConfigSettings(a: ActionInputs): ClientConfigSettings {
  return { rewrite: a.rewrite, ...present(a, ['configDir', 'configRegistries']) }
}

function requestInputs(a: ActionInputs): RequestInputs {
  return {
    ...copySettings(a),
    ...issueSettings(a),
    ...clientConfigSettings(a),
    images: a.images,
    ...present(a, ['imagesFile', 'allowlist'])
  }
}

/** What the chosen mode uses of the inputs, and nothing else. */
export function inputsForMode(a: ActionInputs): Inputs {
  switch (a.mode) {
    case 'sync':
      return { mode: 'sync', ...requestInputs(a) }
    case 'plan':
      return { mode: 'plan', ...requestInputs(a), maxLegs: a.maxLegs, resultsDir: a.resultsDir }
    case 'copy':
      return { mode: 'copy', ...copySettings(a), resultsDir: a.resultsDir, leg: a.leg as number }
    case 'report':
      return {
        mode: 'report',
        ...issueSettings(a),
        ...clientConfigSettings(a),
        resultsDir: a.resultsDir,
        target: a.target,
        insecureRegistries: a.insecureRegistries,
        platforms: a.platforms,
        failOnDeferred: a.failOnDeferred
      }
    case 'lint-allowlist':
      return { mode: 'lint-allowlist', allowlist: a.allowlist as string, fix: a.fix === true }
  }
}
