/** The crane engine: `crane copy` keeps the digest; platform subsets through `--platform`. */
import { parseReference } from '../../image/references.js'
import * as path from 'node:path'
import {
  EngineError,
  namesCredentialHelper,
  runTool,
  type CopyEngine,
  type CopyRequest
} from './engine.js'

/**
 * How often crane tries a request before it gives up (go-containerregistry's
 * default backoff: 1 s, then 3 s; Retry-After is not read). A failure it
 * already retried is marked (EngineError.retried) and given fewer attempts
 * by the copy's retry (ENGINE_RETRIED_ATTEMPTS in copy.ts).
 */
export const CRANE_TRIES = 3

/**
 * Whether crane speaks plain HTTP to a registry without --insecure: its own
 * rule (go-containerregistry's name.Registry.Scheme) for RFC 1918 addresses,
 * `localhost:PORT`, `*.localhost`, 127.0.0.1 and ::1. It tries HTTPS first,
 * with the certificate checked, then HTTP.
 */
export function craneSpeaksHttpTo(registry: string): boolean {
  if (/^localhost:|\.localhost(?::\d{1,5})?$|^127\.0\.0\.1(?::\d{1,5})?$/.test(registry))
    return true
  if (/^(?:::1|\[::1\](?::\d{1,5})?)$/.test(registry)) return true
  const ip = /^(\d{1,3})\.(\d{1,3})\.\d{1,3}\.\d{1,3}(?::\d{1,5})?$/.exec(registry)
  if (!ip) return false
  const [a, b] = [Number(ip[1]), Number(ip[2])]
  return a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168)
}

/**
 * How crane honours insecure-registries for one copy. crane has a single
 * --insecure for both registries: it allows plain HTTP (an attacker who can
 * block HTTPS can make it fall back) and skips certificate checks. So when
 * only one side is listed:
 * - a side crane speaks HTTP to on its own needs no flag, and the other keeps its checks;
 * - the target, which receives the credentials, is never given up: refused;
 * - the source may be (what is read is pinned by digest and checked), with a warning.
 */
export function craneInsecurity(request: CopyRequest): {
  flag: boolean
  refuse?: string
  warn?: { registry: string; message: string }
} {
  const { insecureSource, insecureTarget } = request
  if (insecureSource === insecureTarget) return { flag: insecureSource }
  const listed = registryOf(insecureSource ? request.source : request.target)
  const other = registryOf(insecureSource ? request.target : request.source)
  if (craneSpeaksHttpTo(listed)) return { flag: false }
  const why = `${listed} is in insecure-registries, and crane's --insecure covers both registries of a copy: it would allow plain HTTP to ${other} and not check its TLS certificate`
  if (insecureSource) {
    return {
      flag: false,
      refuse: `engine crane cannot copy to ${other} this way: ${why}, and ${other} receives the credentials. Use engine: skopeo (it sets TLS per side), or list ${other} in insecure-registries too if that is meant`
    }
  }
  return {
    flag: true,
    warn: {
      registry: other,
      message: `engine crane: ${why} either. What is read is still checked against its digest, but a login for ${other} in the docker config could be sent over plain HTTP. Use engine: skopeo to keep ${other} checked (it sets TLS per side), or list it in insecure-registries too if that is meant.`
    }
  }
}

/** crane's argument list for one copy. */
export function craneArgs(request: CopyRequest): string[] {
  const insecure = craneInsecurity(request).flag ? ['--insecure'] : []
  const { platforms } = request
  if (platforms === 'all') return ['copy', request.source, request.target, ...insecure]
  if (platforms.length === 1) {
    // One platform: its image manifest is pushed byte for byte, so its digest is the source child's.
    return ['copy', request.source, request.target, '--platform', platforms[0]!, ...insecure]
  }
  // Several platforms: a new index holding just those children (its digest is new).
  return [
    'index',
    'filter',
    request.source,
    ...platforms.flatMap(p => ['--platform', p]),
    '--tag',
    request.target,
    ...insecure
  ]
}

/** The registry host of a reference (the engines get normalised ones, so it parses). */
function registryOf(reference: string): string {
  const parsed = parseReference(reference)
  return parsed.ok ? parsed.ref.registry : reference
}

export class CraneEngine implements CopyEngine {
  readonly name = 'crane'

  /** Sources already warned about (crane's --insecure reaching a registry not listed). */
  private readonly widened = new Set<string>()
  /** The config names a credential helper, whose environment crane then needs. */
  private readonly credentialHelpers: boolean

  constructor(
    private readonly binary: string,
    /** Private DOCKER_CONFIG holding the target's credentials, written before the engine is made. */
    private readonly configDir: string,
    private readonly warn: (message: string) => void = () => {}
  ) {
    this.credentialHelpers = namesCredentialHelper(path.join(configDir, 'config.json'))
  }

  async copy(request: CopyRequest): Promise<void> {
    const insecurity = craneInsecurity(request)
    if (insecurity.refuse) throw new EngineError(insecurity.refuse, true)
    if (insecurity.warn && !this.widened.has(insecurity.warn.registry)) {
      this.widened.add(insecurity.warn.registry)
      this.warn(insecurity.warn.message)
    }
    await runTool(
      'crane',
      this.binary,
      craneArgs(request),
      { DOCKER_CONFIG: this.configDir },
      { credentialHelpers: this.credentialHelpers }
    )
  }
}
