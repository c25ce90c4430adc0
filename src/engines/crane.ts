/** The crane engine: `crane copy` keeps the digest; platform subsets through `--platform`. */
import * as path from 'node:path'
import { namesCredentialHelper, runTool, type CopyEngine, type CopyRequest } from './engine.js'

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

  constructor(
    private readonly binary: string,
    /** Private DOCKER_CONFIG holding the target's credentials. */
    private readonly configDir: string
  ) {}

  async copy(request: CopyRequest): Promise<void> {
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
