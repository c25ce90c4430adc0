/**
 * Docker config: read the user's credentials for any registry, and write a
 * private copy with the target's credentials added for the copy engines.
 * The user's own config is never written.
 */
import { spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { DOCKER_HUB, isDockerHubHost } from '../image/references.js'
import type { Credentials } from './client.js'

/** The key docker and crane use for Docker Hub in `auths`. */
const DOCKER_HUB_KEY = 'https://index.docker.io/v1/'

export interface DockerConfig {
  auths?: Record<
    string,
    { auth?: string; username?: string; password?: string; identitytoken?: string }
  >
  credHelpers?: Record<string, string>
  credsStore?: string
  [key: string]: unknown
}

/** `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`. */
export function dockerConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(env.DOCKER_CONFIG || path.join(os.homedir(), '.docker'), 'config.json')
}

/** The user's docker config; empty when there is none. Unreadable JSON is reported, not fatal. */
export function readDockerConfig(
  file = dockerConfigPath(),
  warn: (message: string) => void = () => {}
): DockerConfig {
  let text: string
  try {
    text = fs.readFileSync(file, 'utf8')
  } catch {
    return {}
  }
  try {
    const parsed = JSON.parse(text) as unknown
    return parsed && typeof parsed === 'object' ? (parsed as DockerConfig) : {}
  } catch {
    warn(`${file} is not valid JSON; its credentials are not used`)
    return {}
  }
}

/** `https://index.docker.io/v1/`, `ghcr.io`, `http://localhost:5000/` → the registry host docker means. */
export function registryOfKey(key: string): string {
  const host = key
    .replace(/^[a-z]+:\/\//i, '')
    .split('/')[0]!
    .toLowerCase()
  return isDockerHubHost(host) ? DOCKER_HUB : host
}

/** The key a registry is written under in `auths`. */
export function keyOfRegistry(registry: string): string {
  return registry === DOCKER_HUB ? DOCKER_HUB_KEY : registry
}

/** Credentials for a registry: a credential helper's when one is configured, else `auths`. */
export function credentialsFrom(config: DockerConfig, registry: string): Credentials | undefined {
  const helperKey = Object.keys(config.credHelpers ?? {}).find(k => registryOfKey(k) === registry)
  const helper = helperKey !== undefined ? config.credHelpers?.[helperKey] : config.credsStore
  if (helper) {
    const fromHelper = askHelper(helper, helperKey ?? keyOfRegistry(registry))
    if (fromHelper) return fromHelper
  }
  for (const [key, entry] of Object.entries(config.auths ?? {})) {
    if (registryOfKey(key) !== registry) continue
    if (entry.username && entry.password)
      return { username: entry.username, password: entry.password }
    if (entry.auth) {
      const decoded = Buffer.from(entry.auth, 'base64').toString('utf8')
      const colon = decoded.indexOf(':')
      if (colon > 0)
        return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) }
    }
  }
  return undefined
}

/** `docker-credential-<helper> get`, the server on stdin; nothing on any failure. */
function askHelper(helper: string, server: string): Credentials | undefined {
  if (!/^[\w.-]+$/.test(helper)) return undefined
  const result = spawnSync(`docker-credential-${helper}`, ['get'], {
    input: server,
    encoding: 'utf8',
    env: process.env,
    timeout: 30_000
  })
  if (result.status !== 0 || !result.stdout) return undefined
  try {
    const answer = JSON.parse(result.stdout) as { Username?: string; Secret?: string }
    return answer.Username && answer.Secret
      ? { username: answer.Username, password: answer.Secret }
      : undefined
  } catch {
    return undefined
  }
}

/**
 * Write `<dir>/config.json`: the user's config with the target's credentials
 * added, readable only by this user. Both engines read it (crane through
 * DOCKER_CONFIG, skopeo through --authfile).
 *
 * A `credsStore` answers for every registry without a `credHelpers` entry,
 * `auths` included (docker's and crane's rule), so it would hide the target's
 * credentials written to `auths`. When a target login is given it is dropped
 * from the copy, and `storeCredentials` (what that store holds for the run's
 * other registries, looked up beforehand) is written to `auths` instead.
 */
export function writePrivateConfig(
  dir: string,
  userConfig: DockerConfig,
  target?: { registry: string; credentials: Credentials },
  storeCredentials: ReadonlyMap<string, Credentials> = new Map()
): string {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 })
  fs.chmodSync(dir, 0o700)
  const config: DockerConfig = structuredClone(userConfig)
  if (target) {
    const key = keyOfRegistry(target.registry)
    const auths = Object.fromEntries(
      Object.entries(config.auths ?? {}).filter(([k]) => registryOfKey(k) !== target.registry)
    )
    auths[key] = {
      auth: Buffer.from(
        `${target.credentials.username}:${target.credentials.password}`,
        'utf8'
      ).toString('base64')
    }
    config.auths = auths
    // A helper configured for the target would win over `auths`; drop it in this copy.
    if (config.credHelpers) {
      config.credHelpers = Object.fromEntries(
        Object.entries(config.credHelpers).filter(([k]) => registryOfKey(k) !== target.registry)
      )
    }
    if (config.credsStore) {
      delete config.credsStore
      const helped = new Set(Object.keys(config.credHelpers ?? {}).map(registryOfKey))
      for (const [registry, credentials] of storeCredentials) {
        if (registry === target.registry || helped.has(registry)) continue
        // A store answers `<token>` for a refresh-token login (ACR, say): docker writes it as one.
        auths[keyOfRegistry(registry)] =
          credentials.username === '<token>'
            ? { identitytoken: credentials.password }
            : {
                auth: Buffer.from(
                  `${credentials.username}:${credentials.password}`,
                  'utf8'
                ).toString('base64')
              }
      }
    }
  }
  const file = path.join(dir, 'config.json')
  fs.writeFileSync(file, JSON.stringify(config, null, 2), { mode: 0o600 })
  return file
}

/**
 * The config with only one registry's credentials (its `auths` entries and credential helper):
 * an open mirror reads sources anonymously, yet the target may have been logged in to.
 */
export function onlyRegistry(config: DockerConfig, registry: string): DockerConfig {
  const auths = Object.fromEntries(
    Object.entries(config.auths ?? {}).filter(([key]) => registryOfKey(key) === registry)
  )
  const credHelpers = Object.fromEntries(
    Object.entries(config.credHelpers ?? {}).filter(([key]) => registryOfKey(key) === registry)
  )
  return {
    ...(Object.keys(auths).length > 0 ? { auths } : {}),
    ...(Object.keys(credHelpers).length > 0 ? { credHelpers } : {})
  }
}
