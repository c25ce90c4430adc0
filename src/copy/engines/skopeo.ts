/** The skopeo engine, found on PATH: `skopeo copy --all --preserve-digests`, or one platform. */
import * as io from '@actions/io'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {
  EngineError,
  namesCredentialHelper,
  runTool,
  type CopyEngine,
  type CopyRequest
} from './engine.js'

/** skopeo's argument list for one copy. */
export function skopeoArgs(request: CopyRequest, authfile: string, policy?: string): string[] {
  const args = ['copy', '--authfile', authfile, '--retry-times', '0']
  if (policy) args.push('--policy', policy)
  if (request.insecureSource) args.push('--src-tls-verify=false')
  if (request.insecureTarget) args.push('--dest-tls-verify=false')
  const { platforms } = request
  if (platforms === 'all') {
    args.push('--all', '--preserve-digests')
  } else if (platforms.length === 1) {
    // Without --all skopeo copies the one instance matching these overrides, unchanged.
    const [os, arch, variant] = platforms[0]!.split('/')
    args.push('--override-os', os!, '--override-arch', arch!)
    if (variant) args.push('--override-variant', variant)
    args.push('--preserve-digests')
  } else {
    throw new EngineError(
      'skopeo copies all platforms or exactly one; use engine: crane or native for several',
      true
    )
  }
  args.push(`docker://${request.source}`, `docker://${request.target}`)
  return args
}

/** Where skopeo looks for its signature policy; without one it refuses to copy. */
function systemPolicy(): string | undefined {
  const candidates = [
    path.join(os.homedir(), '.config', 'containers', 'policy.json'),
    '/etc/containers/policy.json'
  ]
  return candidates.find(f => fs.existsSync(f))
}

export class SkopeoEngine implements CopyEngine {
  readonly name = 'skopeo'

  /** The auth file names a credential helper, whose environment skopeo then needs. */
  private readonly credentialHelpers: boolean

  private constructor(
    private readonly binary: string,
    /** Written before the engine is made. */
    private readonly authfile: string,
    private readonly policy: string | undefined
  ) {
    this.credentialHelpers = namesCredentialHelper(authfile)
  }

  /** Find skopeo on PATH; a machine without a policy gets one that accepts any image, as Debian's does. */
  static async create(configDir: string): Promise<SkopeoEngine> {
    const binary = await io.which('skopeo', false)
    if (!binary) {
      throw new Error(
        'engine skopeo: skopeo is not on PATH. It is preinstalled on GitHub-hosted Ubuntu runners; elsewhere install it (apt-get install skopeo) or use engine: crane'
      )
    }
    let policy: string | undefined
    if (!systemPolicy()) {
      policy = path.join(configDir, 'policy.json')
      fs.writeFileSync(policy, JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }))
    }
    return new SkopeoEngine(binary, path.join(configDir, 'config.json'), policy)
  }

  async copy(request: CopyRequest): Promise<void> {
    await runTool(
      'skopeo',
      this.binary,
      skopeoArgs(request, this.authfile, this.policy),
      {},
      { credentialHelpers: this.credentialHelpers }
    )
  }
}
