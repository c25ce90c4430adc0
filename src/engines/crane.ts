/** The crane engine: `crane copy` keeps the digest; platform subsets through `--platform`. */
import * as path from 'node:path'
import { namesCredentialHelper, runTool, type CopyEngine, type CopyRequest } from './engine.js'

/**
 * How often crane tries a request before it gives up (go-containerregistry's
 * default backoff: 1 s, then 3 s; Retry-After is not read). A failure it
 * already retried is marked (EngineError.retried) and given fewer attempts
 * by the copy's retry (ENGINE_RETRIED_ATTEMPTS in copy.ts).
 */
export const CRANE_TRIES = 3

/** crane's argument list for one copy. */
export function craneArgs(request: CopyRequest): string[] {
  const insecure = request.insecureSource || request.insecureTarget ? ['--insecure'] : []
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

/** The registry host of `host[:port]/repo...` (the engines get normalised references). */
function registryOf(reference: string): string {
  return reference.slice(0, reference.indexOf('/'))
}

export class CraneEngine implements CopyEngine {
  readonly name = 'crane'

  /** Registries already warned about (crane's --insecure reaching a registry not listed). */
  private readonly widened = new Set<string>()

  constructor(
    private readonly binary: string,
    /** Private DOCKER_CONFIG holding the target's credentials. */
    private readonly configDir: string,
    private readonly warn: (message: string) => void = () => {}
  ) {}

  async copy(request: CopyRequest): Promise<void> {
    if (request.insecureSource !== request.insecureTarget) {
      // crane has one --insecure for both registries (plain HTTP allowed, certificates not
      // checked); there is no per-side flag. Said once per registry it reaches.
      const listed = registryOf(request.insecureSource ? request.source : request.target)
      const other = registryOf(request.insecureSource ? request.target : request.source)
      if (!this.widened.has(other)) {
        this.widened.add(other)
        this.warn(
          `engine crane: ${listed} is in insecure-registries, and crane's --insecure covers both registries of a copy, so ${other}'s TLS certificate is not checked either when copying between them. Use engine: skopeo to keep it checked (it sets TLS per side), or list ${other} in insecure-registries to say it is meant.`
        )
      }
    }
    // The config is written before the engine runs; read per copy, it is one small file.
    const credentialHelpers = namesCredentialHelper(path.join(this.configDir, 'config.json'))
    await runTool(
      'crane',
      this.binary,
      craneArgs(request),
      { DOCKER_CONFIG: this.configDir },
      { credentialHelpers }
    )
  }
}
