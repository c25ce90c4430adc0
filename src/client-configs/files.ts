/**
 * Client config files: the run's results → render.ts → files under
 * config-dir, the `configs` output and what the summary says about them.
 */
import * as core from '@actions/core'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { CLIENTS, clientConfigs, type Client, type ClientConfigs, type Mapping } from './render.js'
import { safeLog } from '../action/escape.js'
import { workspace } from '../action/paths.js'
import { parseReference } from '../image/references.js'
import type { MirrorResult } from '../image/results.js'

export interface WrittenConfigs {
  /** config-dir as given. */
  dir: string
  configs: ClientConfigs
  /** Absolute paths of the files written, per client. */
  written: Partial<Record<Client, string[]>>
  /** Why the files could not be written. */
  error?: string
}

export interface ConfigOptions {
  configDir: string
  target: string
  rewrite: string
  insecureRegistries: readonly string[]
  /** More source registries than the run's (the `config-registries` input). */
  configRegistries?: readonly string[]
}

/** Source and mirrored repository of every image that was not rejected. */
export function mappingsOf(results: readonly MirrorResult[]): Mapping[] {
  const mappings: Mapping[] = []
  for (const r of results) {
    if (r.status === 'rejected' || !r.source || !r.target) continue
    const source = parseReference(r.source)
    const target = parseReference(r.target)
    if (!source.ok || !target.ok) continue
    mappings.push({
      source: { registry: source.ref.registry, repository: source.ref.repository },
      target: `${target.ref.registry}/${target.ref.repository}`
    })
  }
  return mappings
}

/**
 * Write the client configs for the run's registries (and config-registries)
 * into config-dir and set the `configs` output: `{"containers": [file], ...}`.
 * A file that cannot be written fails the job; the images are reported anyway.
 */
export function emitClientConfigs(
  options: ConfigOptions,
  results: readonly MirrorResult[]
): WrittenConfigs {
  const configs = clientConfigs({
    target: options.target,
    template: options.rewrite,
    insecureRegistries: options.insecureRegistries,
    mappings: mappingsOf(results),
    registries: options.configRegistries ?? []
  })
  const root = path.resolve(workspace(), options.configDir)
  const written: Partial<Record<Client, string[]>> = {}
  const done: WrittenConfigs = { dir: options.configDir, configs, written }
  try {
    for (const file of configs.files) {
      const full = path.join(root, ...file.path.split('/'))
      fs.mkdirSync(path.dirname(full), { recursive: true })
      fs.writeFileSync(full, file.content)
      ;(written[file.client] ??= []).push(full)
    }
  } catch (error) {
    done.error = `Could not write the client configs to ${options.configDir}: ${(error as Error).message}`
    core.setFailed(safeLog(done.error))
  }
  const ordered = Object.fromEntries(
    CLIENTS.filter(c => written[c]).map(c => [c, written[c] as string[]])
  )
  core.setOutput('configs', JSON.stringify(ordered))
  core.startGroup(`Client configs for ${configs.registries.join(', ') || 'no registry'}`)
  for (const file of Object.values(ordered).flat()) core.info(safeLog(`wrote ${file}`))
  for (const note of configs.notes) core.info(safeLog(note.text))
  core.endGroup()
  return done
}
