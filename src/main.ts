/**
 * The main job: inputs → requests → allowed references → targets → plan →
 * copy → results → outputs and summary.
 */
import * as core from '@actions/core'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { parseAllowlist } from './allowlist.js'
import { copyImages, expandTagFilters } from './copy.js'
import { credentialsFrom, readDockerConfig, writePrivateConfig } from './docker-config.js'
import { createEngine } from './engines/create.js'
import type { CopyEngine } from './engines/engine.js'
import { parseEntries, type ImageRequest } from './entries.js'
import { safeLog } from './escape.js'
import { getInputs, type Inputs } from './inputs.js'
import { buildPlan } from './plan.js'
import { parseRepositoryName } from './references.js'
import { RegistryClient, type Credentials } from './registry.js'
import { logResults, setOutputs, writeSummary } from './report.js'
import { countByStatus, type MirrorResult } from './results.js'

/** How a file is named in messages: relative to the workspace when inside it. */
function displayPath(file: string): string {
  const relative = path.relative(process.env.GITHUB_WORKSPACE || process.cwd(), file)
  return relative.startsWith('..') || path.isAbsolute(relative) ? file : relative
}

function readRequests(inputs: Inputs): ImageRequest[] {
  const requests = parseEntries(inputs.images, 'images')
  if (inputs.imagesFile) {
    requests.push(
      ...parseEntries(fs.readFileSync(inputs.imagesFile, 'utf8'), displayPath(inputs.imagesFile))
    )
  }
  return requests
}

/** Why the job fails, or undefined: any failure, or nothing but rejections. */
export function failureMessage(results: readonly MirrorResult[]): string | undefined {
  const counts = countByStatus(results)
  if (counts.failed > 0) {
    const failed = results.filter(r => r.status === 'failed')
    const lines = failed.slice(0, 10).map(r => `  ${r.source || r.request}: ${r.reason ?? ''}`)
    const more = failed.length > 10 ? [`  ... and ${failed.length - 10} more in the summary`] : []
    return safeLog(
      [`${counts.failed} image(s) failed; see the summary for why.`, ...lines, ...more].join('\n')
    )
  }
  if (results.length > 0 && counts.rejected === results.length) {
    return `Every requested image (${counts.rejected}) was rejected; see the summary for why.`
  }
  return undefined
}

/** The registry host of the target (`registry.example.com/mirror` → `registry.example.com`). */
function targetRegistry(target: string): string {
  const parsed = parseRepositoryName(target.includes('/') ? target : `${target}/x`)
  return parsed.ok ? parsed.ref.registry : target
}

/** Compare with the target and copy; in a dry run, compare only. */
async function mirror(results: MirrorResult[], inputs: Inputs): Promise<MirrorResult[]> {
  const target = targetRegistry(inputs.target)
  const userConfig = readDockerConfig(undefined, m => core.warning(m))
  const given: Credentials | undefined =
    inputs.username && inputs.password
      ? { username: inputs.username, password: inputs.password }
      : undefined
  // Looked up once per registry (a credential helper is a process), and masked like inputs are.
  const known = new Map<string, Credentials | undefined>()
  const credentials = (registry: string): Credentials | undefined => {
    if (registry === target && given) return given
    if (!known.has(registry)) {
      const found = credentialsFrom(userConfig, registry)
      if (found) core.setSecret(found.password)
      known.set(registry, found)
    }
    return known.get(registry)
  }
  const client = new RegistryClient({
    insecure: inputs.insecureRegistries,
    credentials,
    warn: m => core.warning(safeLog(m))
  })
  // The engines' credentials live in a private directory, removed at the end; ~/.docker is never written.
  const configDir = fs.mkdtempSync(
    path.join(process.env.RUNNER_TEMP || os.tmpdir(), 'image-mirror-auth-')
  )
  try {
    writePrivateConfig(
      configDir,
      userConfig,
      given ? { registry: target, credentials: given } : undefined
    )
    let engine: CopyEngine | undefined
    let expanded = await expandTagFilters(results, client)
    if (!inputs.dryRun && expanded.some(r => r.status === 'planned')) {
      try {
        engine = await createEngine(inputs, configDir)
      } catch (error) {
        // Without an engine nothing can be copied, but every image is still reported.
        const why = `engine ${inputs.engine} is not available: ${error instanceof Error ? error.message : String(error)}`
        expanded = expanded.map(r =>
          r.status === 'planned' ? { ...r, status: 'failed', reason: why } : r
        )
        return expanded
      }
    }
    core.info(
      `${inputs.dryRun ? 'Comparing' : 'Mirroring'} ${expanded.filter(r => r.status === 'planned').length} image(s) with ${engine ? `${engine.name}, ` : ''}concurrency ${inputs.concurrency}`
    )
    return await copyImages(expanded, {
      client,
      ...(engine ? { engine } : {}),
      platforms: inputs.platforms,
      skipUnchanged: inputs.skipUnchanged,
      retries: inputs.retries,
      concurrency: inputs.concurrency,
      insecure: new Set(inputs.insecureRegistries),
      secrets: inputs.password ? [inputs.password] : [],
      onResult: r =>
        core.info(
          safeLog(
            `${r.status.padEnd(9)} ${r.source} -> ${r.target}${r.reason ? `: ${r.reason}` : ''}`
          )
        )
    })
  } finally {
    client.dispose()
    fs.rmSync(configDir, { recursive: true, force: true })
  }
}

export async function run(): Promise<void> {
  try {
    const inputs = getInputs()
    if (inputs.mode !== 'sync') {
      throw new Error(
        `mode "${inputs.mode}" is not available in this version of the action; use mode: sync`
      )
    }
    if (inputs.fromIssue) {
      throw new Error('from-issue is not available in this version of the action')
    }

    const allowlist = inputs.allowlist
      ? parseAllowlist(fs.readFileSync(inputs.allowlist, 'utf8'), displayPath(inputs.allowlist))
      : undefined
    if (allowlist)
      core.info(`Allowlist ${allowlist.source}: ${allowlist.patterns.length} pattern(s)`)

    const requests = readRequests(inputs)
    if (requests.length === 0) {
      throw new Error(
        'No image entries found in "images" or "images-file" (only blank lines and comments).'
      )
    }
    let results = buildPlan(requests, {
      target: inputs.target,
      template: inputs.rewrite,
      ...(allowlist ? { allowlist } : {})
    })
    logResults(results)

    if (inputs.dryRun && !inputs.skipUnchanged) {
      core.info('dry-run with skip-unchanged: false: no registry is contacted.')
    } else if (results.some(r => r.status === 'planned')) {
      core.startGroup(inputs.dryRun ? 'Compare with the target (dry run)' : 'Copy')
      try {
        results = await mirror(results, inputs)
      } finally {
        core.endGroup()
      }
    }

    setOutputs(results)
    await writeSummary(results, { dryRun: inputs.dryRun })
    const failure = failureMessage(results)
    if (failure) core.setFailed(failure)
  } catch (error) {
    // setFailed escapes the message into one ::error:: command; nothing in it can start another.
    core.setFailed(error instanceof Error ? error.message : String(error))
  }
}
