/**
 * One input each: read, checked, normalised, or refused with a message that
 * names the input and says what it accepts. inputs.ts composes them.
 */
import * as core from '@actions/core'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { parseRepositoryName } from '../image/references.js'
import { REFERRER_KINDS } from '../image/results.js'
import { workspace } from './paths.js'

export class InputError extends Error {}

export function fail(name: string, message: string): never {
  throw new InputError(`Input "${name}": ${message}`)
}

export function text(name: string): string {
  return core.getInput(name).trim()
}

export function oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
  const value = text(name).toLowerCase() || fallback
  if (!(allowed as readonly string[]).includes(value)) {
    fail(name, `"${core.getInput(name).trim()}" is not one of ${allowed.join(', ')}`)
  }
  return value as T
}

export function bool(name: string, fallback: boolean): boolean {
  const value = text(name).toLowerCase()
  if (value === '') return fallback
  if (value === 'true') return true
  if (value === 'false') return false
  return fail(name, `"${text(name)}" is not a boolean; use true or false`)
}

export function integer(name: string, fallback: number, min: number, max: number): number {
  const value = text(name)
  if (value === '') return fallback
  if (!/^-?\d+$/.test(value) || Number(value) < min || Number(value) > max) {
    fail(name, `"${value}" is not a whole number from ${min} to ${max}`)
  }
  return Number(value)
}

/** A path to an existing file, relative to the workspace. */
export function existingFile(name: string): string | undefined {
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

export function parseTarget(name: string, required: boolean): string {
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

export function parsePlatforms(name: string): 'all' | string[] {
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

export function parseIssuePlatforms(name: string): 'any' | 'none' | string[] {
  const value = text(name).toLowerCase()
  if (value === '' || value === 'any') return 'any'
  if (value === 'none') return 'none'
  const platforms = parsePlatforms(name)
  return platforms === 'all' ? 'any' : platforms
}

/**
 * Which referrers travel: kinds (`signature, sbom`) or artifactTypes (`application/spdx+json`);
 * empty: all of them.
 */
export function parseReferrerTypes(name: string): string[] {
  return list(name).map(item => {
    const kind = item.toLowerCase().replace(/s$/, '')
    if ((REFERRER_KINDS as readonly string[]).includes(kind)) return kind
    if (/^[\w.+-]{1,127}\/[\w.+-]{1,127}$/.test(item)) return item
    return fail(
      name,
      `"${item}" is neither a kind (${REFERRER_KINDS.join(', ')}) nor a media type like application/spdx+json`
    )
  })
}

export function parseHosts(name: string): string[] {
  return list(name).map(host => {
    const parsed = parseRepositoryName(`${host}/x`)
    if (!parsed.ok || host.includes('/') || !/[.:]|^localhost/.test(host)) {
      fail(name, `"${host}" is not a registry host[:port] (e.g. localhost:5000)`)
    }
    return parsed.ref.registry
  })
}

export function parseUrl(name: string, fallback: string): string {
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
export function label(name: string, fallback: string): string {
  const value = text(name) || fallback
  // eslint-disable-next-line no-control-regex -- control characters are what is refused
  if (value.length > 50 || /[\u0000-\u001f]/.test(value)) {
    fail(name, `"${value}" is not a label name (at most 50 characters, one line)`)
  }
  return value
}
