/** Pick the copy engine the inputs name and make it ready (crane is installed first). */
import * as core from '@actions/core'
import { safeLog } from '../../action/escape.js'
import { installCrane } from './installer.js'
import type { EngineSettings } from '../../action/inputs.js'
import type { RegistryClient } from '../../registry/client.js'
import { CraneEngine } from './crane.js'
import { errorMessage } from '../../common/errors.js'
import { EngineError, explain, type CopyEngine, type CopyRequest } from './engine.js'
import { NativeEngine } from './native.js'
import { SkopeoEngine } from './skopeo.js'

export interface EngineContext {
  /** Private DOCKER_CONFIG for the tools, holding the target's credentials. */
  configDir: string
  /** A registry client with the run's credentials and insecure registries (the native engine's). */
  newClient: (options: { userAgent: string; onRetry: RetryLine }) => RegistryClient
}

type RetryLine = (what: string, waitMs: number, why: string) => void

/** A retried request's reason, with its plain cause first when there is one. */
function explainRetry(why: string): string {
  const cause = explain(why)
  return cause ? `${cause} (${why})` : why
}

export async function createEngine(
  inputs: EngineSettings,
  context: EngineContext
): Promise<CopyEngine> {
  if (inputs.engine === 'skopeo') return SkopeoEngine.create(context.configDir)
  if (inputs.engine === 'native') {
    const info = (line: string) => core.info(safeLog(line))
    return new NativeEngine({
      client: context.newClient({
        userAgent: 'image-mirror (native engine)',
        // A request the engine tries again is said in the log, like a blob it tries again.
        onRetry: (what, waitMs, why) =>
          info(`native: retrying ${what} in ${(waitMs / 1000).toFixed(1)} s: ${explainRetry(why)}`)
      }),
      info
    })
  }
  const binary = await installCrane({ version: inputs.craneVersion, baseUrl: inputs.craneUrl })
  return new CraneEngine(binary, context.configDir, message => core.warning(safeLog(message)))
}

/**
 * An engine made on its first copy, once, by `make`: what only compares never
 * installs one. An engine that cannot be made fails every copy that needs it,
 * for good, saying why; images already up to date are not touched by it.
 */
export function lazyEngine(name: string, make: () => Promise<CopyEngine>): CopyEngine {
  let made: Promise<CopyEngine> | undefined
  let ready: CopyEngine | undefined
  const get = () =>
    (made ??= make().then(
      engine => (ready = engine),
      (error: unknown) => {
        throw new EngineError(`engine ${name} is not available: ${errorMessage(error)}`, true)
      }
    ))
  return {
    name,
    copy: async (request: CopyRequest) => (await get()).copy(request),
    report: () => ready?.report?.(),
    dispose: () => ready?.dispose?.()
  }
}
