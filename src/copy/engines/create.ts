/** Pick the copy engine the inputs name and make it ready (crane is installed first). */
import * as core from '@actions/core'
import { safeLog } from '../../action/escape.js'
import { installCrane } from './installer.js'
import type { EngineSettings } from '../../action/inputs.js'
import type { RegistryClient } from '../../registry/client.js'
import { CraneEngine } from './crane.js'
import type { CopyEngine } from './engine.js'
import { NativeEngine } from './native.js'
import { SkopeoEngine } from './skopeo.js'

export interface EngineContext {
  /** Private DOCKER_CONFIG for the tools, holding the target's credentials. */
  configDir: string
  /** A registry client with the run's credentials and insecure registries (the native engine's). */
  newClient: (userAgent: string) => RegistryClient
}

export async function createEngine(
  inputs: EngineSettings,
  context: EngineContext
): Promise<CopyEngine> {
  if (inputs.engine === 'skopeo') return SkopeoEngine.create(context.configDir)
  if (inputs.engine === 'native') {
    return new NativeEngine({
      client: context.newClient('image-mirror (native engine)'),
      info: line => core.info(safeLog(line))
    })
  }
  const binary = await installCrane({ version: inputs.craneVersion, baseUrl: inputs.craneUrl })
  return new CraneEngine(binary, context.configDir, message => core.warning(safeLog(message)))
}
