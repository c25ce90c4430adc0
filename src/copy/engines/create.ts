/** Pick the copy engine the inputs name and make it ready (crane is installed first). */
import * as core from '@actions/core'
import { safeLog } from '../../action/escape.js'
import { installCrane } from './installer.js'
import type { EngineSettings } from '../../action/inputs.js'
import { CraneEngine } from './crane.js'
import type { CopyEngine } from './engine.js'
import { SkopeoEngine } from './skopeo.js'

export async function createEngine(inputs: EngineSettings, configDir: string): Promise<CopyEngine> {
  if (inputs.engine === 'skopeo') return SkopeoEngine.create(configDir)
  const binary = await installCrane({ version: inputs.craneVersion, baseUrl: inputs.craneUrl })
  return new CraneEngine(binary, configDir, message => core.warning(safeLog(message)))
}
