/** The crane engine: `crane copy` keeps the digest; platform subsets through `--platform`. */
import * as path from 'node:path'
import {
  EngineError,
  namesCredentialHelper,
  runTool,
  type CopyEngine,
  type CopyRequest
} from './engine.js'

/** How often crane tries a request before it gives up (go-containerregistry's default backoff). */
export const CRANE_TRIES = 3

/**
 * Copies of one image that may end in a failure crane had already retried
 * itself before the image is given up for this run. crane tries each request
 * 3 times (1 s, then 3 s apart) and an upload 3 times over that, without
 * reading Retry-After: under the action's own attempts (4 by default) a
 * registry that keeps answering 429 or 5xx would be asked 12 times for a
 * manifest and 36 times for a blob. Two copies keep a second chance after the
 * action's backoff and halve that.
 */
export const RETRIED_COPIES = 2

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

export class CraneEngine implements CopyEngine {
  readonly name = 'crane'

  /** Per image (source and target): copies that ended in a failure crane had retried itself. */
  private readonly retriedCopies = new Map<string, number>()

  constructor(
    private readonly binary: string,
    /** Private DOCKER_CONFIG holding the target's credentials. */
    private readonly configDir: string
  ) {}

  async copy(request: CopyRequest): Promise<void> {
    // The config is written before the engine runs; read per copy, it is one small file.
    const credentialHelpers = namesCredentialHelper(path.join(this.configDir, 'config.json'))
    const image = `${request.source} ${request.target}`
    try {
      await runTool(
        'crane',
        this.binary,
        craneArgs(request),
        { DOCKER_CONFIG: this.configDir },
        { credentialHelpers }
      )
      this.retriedCopies.delete(image)
    } catch (error) {
      if (!(error instanceof EngineError) || !error.retried) throw error
      const copies = (this.retriedCopies.get(image) ?? 0) + 1
      if (copies < RETRIED_COPIES) {
        this.retriedCopies.set(image, copies)
        throw error
      }
      this.retriedCopies.delete(image)
      // Final for this run: another copy would only ask the registry CRANE_TRIES times more.
      throw new EngineError(
        `${error.message} (crane had already retried it itself, ${CRANE_TRIES} tries a request, on each of ${copies} attempts; not tried again in this run)`,
        true,
        true
      )
    }
  }
}
