/**
 * Mirror: compare planned results with the target and copy them (in a dry
 * run, compare only), with the credentials, engine and registry client this
 * needs, all released at the end.
 */
import * as core from '@actions/core'
import { copyImages, expandTagFilters } from './copy.js'
import {
  credentialsFrom,
  onlyRegistry,
  readDockerConfig,
  writePrivateConfig
} from '../registry/docker-config.js'
import { createEngine, lazyEngine } from './engines/create.js'
import type { CopyEngine } from './engines/engine.js'
import { NativeEngine } from './engines/native.js'
import { safeLog } from '../action/escape.js'
import type { CopySettings } from '../action/inputs.js'
import { makePrivateDir } from '../action/private-dir.js'
import { parseReference, parseRepositoryName } from '../image/references.js'
import { RegistryClient, type Credentials, type RegistryClientOptions } from '../registry/client.js'
import { PullBudgets } from '../registry/pull-budget.js'
import type { MirrorResult } from '../image/results.js'
import { statusWord } from '../image/status-words.js'

/** The registry host of the target (`registry.example.com/mirror` → `registry.example.com`). */
export function targetRegistry(target: string): string {
  const parsed = parseRepositoryName(target.includes('/') ? target : `${target}/x`)
  return parsed.ok ? parsed.ref.registry : target
}

export interface Mirrored {
  /** The planned results with tag filters expanded, before comparison: what a copy starts from. */
  expanded: MirrorResult[]
  /** The same images, index for index, after comparison (and copying, unless a dry run). */
  results: MirrorResult[]
}

export interface MirrorOptions {
  /**
   * Read every source anonymously: neither the runner's docker config nor the target's
   * credentials may read a source no allowlist vetted (an open mirror's issue requests).
   */
  anonymousSources?: boolean
  /** A dry run whose legs copy: a subset found current without a record is marked for a leg. */
  leaveUnrecorded?: boolean
}

/** The registries the planned images are read from, each once. */
function sourceRegistries(results: readonly MirrorResult[]): Set<string> {
  const registries = new Set<string>()
  for (const r of results) {
    if (r.status !== 'planned') continue
    const parsed = parseReference(r.source)
    if (parsed.ok) registries.add(parsed.ref.registry)
  }
  return registries
}

/** Compare with the target and copy; in a dry run, compare only. */
export async function mirror(
  results: readonly MirrorResult[],
  inputs: CopySettings,
  options: MirrorOptions = {}
): Promise<Mirrored> {
  const target = targetRegistry(inputs.target)
  if (options.anonymousSources) {
    core.info(
      "Open mirror: sources are read anonymously; of the docker config only the target's login is used."
    )
  }
  const dockerConfig = readDockerConfig(undefined, m => core.warning(m))
  // An open mirror keeps only the target's own login (a docker/login-action step, say).
  const userConfig = options.anonymousSources ? onlyRegistry(dockerConfig, target) : dockerConfig
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
  // One budget per metered registry for the run, read by every client's answers.
  const budgets = new PullBudgets(inputs.pullReserve)
  const newClient = (
    extra: Pick<RegistryClientOptions, 'userAgent' | 'onRetry' | 'takesPulls'> = {}
  ) =>
    new RegistryClient({
      insecure: inputs.insecureRegistries,
      credentials,
      warn: m => core.warning(safeLog(m)),
      budgets,
      ...extra
    })
  const client = newClient({ takesPulls: true })
  // The engines' credentials live in a private directory, removed at the end (or on a
  // cancellation's signal); ~/.docker is never written.
  const privateDir = makePrivateDir('image-mirror-auth-')
  let engine: CopyEngine | undefined
  const configDir = privateDir.path
  core.debug(`Private docker config for the engines: ${configDir}`)
  try {
    // A credsStore would hide the target login in `auths`; what it holds for the sources is
    // asked now and written beside it (see writePrivateConfig).
    const storeCredentials = new Map<string, Credentials>()
    if (given && userConfig.credsStore) {
      for (const registry of sourceRegistries(results)) {
        const found = credentials(registry)
        if (found) storeCredentials.set(registry, found)
      }
    }
    writePrivateConfig(
      configDir,
      userConfig,
      given ? { registry: target, credentials: given } : undefined,
      storeCredentials
    )
    const expanded = await expandTagFilters(results, client)
    // Made when the first image needs a copy: a run where everything is up to date installs
    // nothing (no crane download on a fresh runner).
    if (!inputs.dryRun)
      engine = lazyEngine(inputs.engine, () => createEngine(inputs, { configDir, newClient }))
    core.info(
      `${inputs.dryRun ? 'Comparing' : 'Mirroring'} ${expanded.filter(r => r.status === 'planned').length} image(s) with ${engine ? `${engine.name}, ` : ''}concurrency ${inputs.concurrency}`
    )
    const done = await copyImages(expanded, {
      client,
      ...(engine ? { engine } : {}),
      platforms: inputs.platforms,
      severalPlatforms: inputs.engine !== 'skopeo',
      skipUnchanged: inputs.skipUnchanged,
      retries: inputs.retries,
      concurrency: inputs.concurrency,
      insecure: new Set(inputs.insecureRegistries),
      secrets: inputs.password ? [inputs.password] : [],
      warn: m => core.warning(safeLog(m)),
      budgets,
      ...(inputs.policy ? { policy: inputs.policy } : {}),
      ...(options.leaveUnrecorded ? { leaveUnrecorded: true } : {}),
      // Signatures and the like go by the action's own transfer (over the run's client, so
      // their pulls are counted), whatever engine copies the images.
      ...(inputs.referrers && !inputs.dryRun
        ? { referrers: { transfer: new NativeEngine({ client }), filter: inputs.referrerTypes } }
        : {}),
      // A plan whose legs copy: an image up to date with new referrers upstream goes to a leg.
      ...(inputs.referrers && options.leaveUnrecorded
        ? { referrers: { filter: inputs.referrerTypes } }
        : {}),
      onRetry: (r, retry) =>
        core.info(
          safeLog(
            `retrying ${r.source} -> ${r.target} in ${(retry.waitMs / 1000).toFixed(1)} s (attempt ${retry.attempt} of ${retry.attempts}${retry.lastIfRetriedAgain ? `, the last if ${inputs.engine} has to retry it itself again` : ''}): ${retry.reason}`
          )
        ),
      onResult: r =>
        core.info(
          safeLog(
            `${statusWord(r.status).padEnd(10)} ${r.source} -> ${r.target}${r.reason ? `: ${r.reason}` : ''}`
          )
        )
    })
    const moved = engine?.report?.()
    if (moved) core.info(safeLog(moved))
    return { expanded, results: done }
  } finally {
    // The private config holds the target's credentials: removed whatever else goes wrong.
    try {
      engine?.dispose?.()
      client.dispose()
    } finally {
      privateDir.remove()
    }
  }
}
