/**
 * The action's inputs, read and validated in one place before any work, with
 * messages that name the input and what it accepts.
 */
import * as core from '@actions/core'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { parseRepositoryName } from '../image/references.js'
import { DEFAULT_TEMPLATE, checkTemplate, isOneToOne } from '../image/rewrite.js'

export const MODES = ['sync', 'plan', 'copy', 'report', 'lint-allowlist'] as const
export type Mode = (typeof MODES)[number]
export const ENGINES = ['crane', 'skopeo'] as const
export type Engine = (typeof ENGINES)[number]
export const DEFAULT_CRANE_VERSION = 'v0.21.9'
export const DEFAULT_CRANE_URL = 'https://github.com/google/go-containerregistry/releases/download'
/** GitHub allows at most 256 jobs in one matrix. */
export const MAX_LEGS = 256

export interface Inputs {
  mode: Mode
  images: string
  imagesFile?: string
  allowlist?: string
  fromIssue: boolean
  /** Normalised `host[:port][/path]`, no trailing slash. */
  target: string
  rewrite: string
  /** `all`, or the distinct platforms asked for, e.g. `['linux/amd64']`. */
  platforms: 'all' | string[]
  engine: Engine
  craneVersion: string
  craneUrl: string
  concurrency: number
  maxLegs: number
  skipUnchanged: boolean
  dryRun: boolean
  retries: number
  insecureRegistries: string[]
  username?: string
  password?: string
  githubToken?: string
  resultsDir: string
  configDir?: string
  /** More source registries to write client configs for (`host[:port]`, normalised). */
  configRegistries?: string[]
  /** Mode copy: which leg of the plan this job copies (1-based). */
  leg?: number
  /** Most images one issue may ask for (from-issue). */
  issueMaxImages: number
  /** Platform choices an issue may make: any, none (the `platforms` input always), or these. */
  issuePlatforms: 'any' | 'none' | string[]
  /** Outcome labels put on an issue request. */
  labels: { succeeded: string; failed: string; partial: string }
  /** Mode lint-allowlist: rewrite the allowlist in normal form instead of failing. */
  fix?: boolean
  /**
   * from-issue without an allowlist: any public image may be asked for. Sources are then read
   * anonymously, and none on the target's registry is served.
   */
  openMirror: boolean
}

export class InputError extends Error {}

function fail(name: string, message: string): never {
  throw new InputError(`Input "${name}": ${message}`)
}

function text(name: string): string {
  return core.getInput(name).trim()
}

function oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
  const value = text(name).toLowerCase() || fallback
  if (!(allowed as readonly string[]).includes(value)) {
    fail(name, `"${core.getInput(name).trim()}" is not one of ${allowed.join(', ')}`)
  }
  return value as T
}

function bool(name: string, fallback: boolean): boolean {
  const value = text(name).toLowerCase()
  if (value === '') return fallback
  if (value === 'true') return true
  if (value === 'false') return false
  return fail(name, `"${text(name)}" is not a boolean; use true or false`)
}

function integer(name: string, fallback: number, min: number, max: number): number {
  const value = text(name)
  if (value === '') return fallback
  if (!/^-?\d+$/.test(value) || Number(value) < min || Number(value) > max) {
    fail(name, `"${value}" is not a whole number from ${min} to ${max}`)
  }
  return Number(value)
}

export function workspace(): string {
  return process.env.GITHUB_WORKSPACE || process.cwd()
}

/** A file's path relative to the workspace, or undefined when it lies outside. */
export function workspacePath(file: string): string | undefined {
  const relative = path.relative(workspace(), file)
  return relative.startsWith('..') || path.isAbsolute(relative) ? undefined : relative
}

/** How a file is named in messages: relative to the workspace when inside it. */
export function displayPath(file: string): string {
  return workspacePath(file) ?? file
}

/** A path to an existing file, relative to the workspace. */
function existingFile(name: string): string | undefined {
  const value = text(name)
  if (value === '') return undefined
  const resolved = path.resolve(workspace(), value)
  let stat: fs.Stats
  try {
    stat = fs.statSync(resolved)
  } catch {
    return fail(name, `file "${value}" does not exist (looked in ${path.dirname(resolved)})`)
  }
  if (!stat.isFile()) fail(name, `"${value}" is not a file`)
  return resolved
}

/** Items separated by commas or new lines. */
function list(name: string): string[] {
  return text(name)
    .split(/[,\n]/)
    .map(s => s.trim())
    .filter(s => s.length > 0)
}

function parseTarget(name: string, required: boolean): string {
  const value = text(name).replace(/\/+$/, '')
  if (value === '') {
    if (required)
      fail(
        name,
        'is required: the registry (and optional path) images are mirrored to, e.g. registry.example.com/mirror'
      )
    return ''
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) {
    fail(
      name,
      `"${value}" has a URL scheme; give the registry without one, e.g. ${value.replace(/^[^:]*:\/\//, '')}`
    )
  }
  const first = value.split('/')[0] as string
  if (!/[.:]/.test(first) && first !== 'localhost') {
    fail(
      name,
      `"${value}" does not start with a registry host (a name with a "." or a port, or localhost), e.g. ghcr.io/acme/mirror`
    )
  }
  // A target with only a host is checked through a placeholder path segment.
  const parsed = parseRepositoryName(value.includes('/') ? value : `${value}/x`)
  if (!parsed.ok) fail(name, `"${value}" is not a registry path: ${parsed.reason}`)
  return value.includes('/')
    ? `${parsed.ref.registry}/${parsed.ref.repository}`
    : parsed.ref.registry
}

function parsePlatforms(name: string): 'all' | string[] {
  const value = text(name).toLowerCase()
  if (value === '' || value === 'all') return 'all'
  const platforms = list(name).map(p => p.toLowerCase())
  for (const p of platforms) {
    if (!/^[a-z0-9_]+\/[a-z0-9_]+(\/[a-z0-9_.]+)?$/.test(p)) {
      fail(name, `"${p}" is not os/arch[/variant] (e.g. linux/amd64, linux/arm/v7); or use all`)
    }
  }
  return [...new Set(platforms)]
}

function parseIssuePlatforms(name: string): Inputs['issuePlatforms'] {
  const value = text(name).toLowerCase()
  if (value === '' || value === 'any') return 'any'
  if (value === 'none') return 'none'
  const platforms = parsePlatforms(name)
  return platforms === 'all' ? 'any' : platforms
}

function parseHosts(name: string): string[] {
  return list(name).map(host => {
    const parsed = parseRepositoryName(`${host}/x`)
    if (!parsed.ok || host.includes('/') || !/[.:]|^localhost/.test(host)) {
      fail(name, `"${host}" is not a registry host[:port] (e.g. localhost:5000)`)
    }
    return parsed.ref.registry
  })
}

function parseUrl(name: string, fallback: string): string {
  const value = text(name) || fallback
  let url: URL
  try {
    url = new URL(value)
  } catch {
    return fail(name, `"${value}" is not a URL`)
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    fail(name, `"${value}" is not an http(s) URL`)
  return value.replace(/\/+$/, '')
}

/** A label name: GitHub allows at most 50 characters. */
function label(name: string, fallback: string): string {
  const value = text(name) || fallback
  // eslint-disable-next-line no-control-regex -- control characters are what is refused
  if (value.length > 50 || /[\u0000-\u001f]/.test(value)) {
    fail(name, `"${value}" is not a label name (at most 50 characters, one line)`)
  }
  return value
}

/** Read and validate every input. Throws InputError naming the first bad one. */
export function getInputs(): Inputs {
  const mode = oneOf('mode', MODES, 'sync')
  const images = core.getInput('images')
  // Only sync and plan read the request (the report answers from what the plan read):
  // a copy leg needs no checkout.
  const reads = mode === 'sync' || mode === 'plan'
  const imagesFile = reads ? existingFile('images-file') : undefined
  const fromIssue = bool('from-issue', false)
  // Linting an allowlist reads nothing but the allowlist: no images, no target, no issue.
  const lint = mode === 'lint-allowlist'
  if (fromIssue && lint) fail('from-issue', 'true does not work with mode lint-allowlist')
  if (fromIssue && mode === 'copy') {
    fail(
      'from-issue',
      'true works with modes sync, plan and report; a copy leg does not read the issue'
    )
  }
  if (reads && !images.trim() && !imagesFile && !fromIssue) {
    fail('images', 'no images to mirror: set "images", "images-file" or "from-issue: true"')
  }

  const rewrite = text('rewrite') || DEFAULT_TEMPLATE
  const templateProblem = checkTemplate(rewrite)
  if (templateProblem) fail('rewrite', `"${rewrite}" ${templateProblem}`)

  const version = text('crane-version') || DEFAULT_CRANE_VERSION
  // A pre-release or build label (v0.21.9-internal.1) is allowed for internal mirrors of releases.
  if (!/^v\d+\.\d+\.\d+(?:-[0-9A-Za-z][0-9A-Za-z.-]{0,63})?$/.test(version))
    fail('crane-version', `"${version}" is not a release tag like ${DEFAULT_CRANE_VERSION}`)

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

  const inputs: Inputs = {
    mode,
    images,
    fromIssue,
    target: parseTarget('target', mode !== 'report' && !lint),
    rewrite,
    platforms: parsePlatforms('platforms'),
    engine: oneOf('engine', ENGINES, 'crane'),
    craneVersion: version,
    craneUrl: parseUrl('crane-url', DEFAULT_CRANE_URL),
    concurrency: integer('concurrency', 4, 1, 64),
    maxLegs: integer('max-legs', 16, 1, MAX_LEGS),
    skipUnchanged: bool('skip-unchanged', true),
    dryRun: bool('dry-run', false),
    retries: integer('retries', 3, 0, 10),
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
  if (
    inputs.engine === 'skopeo' &&
    Array.isArray(inputs.platforms) &&
    inputs.platforms.length > 1
  ) {
    fail(
      'platforms',
      `engine skopeo copies all platforms or exactly one, not ${inputs.platforms.join(', ')}; use engine: crane for several`
    )
  }
  // The report answers from the plan, which names the allowlist: its job needs no checkout.
  const allowlist = reads || lint ? existingFile('allowlist') : undefined
  if (allowlist) inputs.allowlist = allowlist
  else if (lint) fail('allowlist', 'mode lint-allowlist needs the allowlist file to check')
  // Strangers choose what an issue asks for: the mirror's integrity must not depend on them.
  if (fromIssue && reads) {
    if (!allowlist && !inputs.openMirror) {
      fail(
        'allowlist',
        'from-issue: true needs an allowlist of the images strangers may ask for (DaoCloud allows.txt format); to serve any public image instead, set open-mirror: true'
      )
    }
    if (!isOneToOne(rewrite)) {
      fail(
        'rewrite',
        `"${rewrite}" can map two source repositories to one mirrored name, so one issue could overwrite the tags another issue mirrored; with from-issue: true use a template that keeps {registry} and {repository} as path segments, such as ${DEFAULT_TEMPLATE}`
      )
    }
  }
  if (inputs.openMirror && !fromIssue) fail('open-mirror', 'true works with from-issue: true')
  if (lint) inputs.fix = bool('fix', false)
  if (imagesFile) inputs.imagesFile = imagesFile
  if (username) inputs.username = username
  if (password) inputs.password = password
  if (githubToken) inputs.githubToken = githubToken
  if (mode === 'copy') {
    if (!text('leg')) fail('leg', 'mode copy needs the leg to copy: leg: ${{ matrix.leg }}')
    inputs.leg = integer('leg', 1, 1, MAX_LEGS)
  }
  const configDir = text('config-dir')
  if (configDir) inputs.configDir = configDir
  const configRegistries = parseHosts('config-registries')
  if (configRegistries.length > 0) {
    if (!configDir)
      fail('config-registries', 'names registries for client configs; set config-dir too')
    inputs.configRegistries = configRegistries
  }
  return inputs
}
