/**
 * The copy engines' one small interface: copy one image from a source
 * reference to a target reference, or throw an EngineError saying why.
 */
import * as exec from '@actions/exec'

export interface CopyRequest {
  /** Source pinned by digest (`registry/repo@sha256:...`), so what is verified is what was copied. */
  source: string
  /** Target with a tag, or with a digest when the request had only a digest. */
  target: string
  /** `all`: the whole index, digest kept; otherwise exactly these platforms. */
  platforms: 'all' | readonly string[]
  insecureSource: boolean
  insecureTarget: boolean
}

export interface CopyEngine {
  readonly name: string
  copy(request: CopyRequest): Promise<void>
}

export class EngineError extends Error {
  constructor(
    message: string,
    /** Retrying will not help (credentials refused, image missing). */
    readonly permanent: boolean
  ) {
    super(message)
  }
}

/** Failures no retry cures, as the tools word them. */
const PERMANENT =
  /unauthorized|authentication required|denied|manifest unknown|name unknown|not found|no image found|no matching manifest|invalid reference/i

/** The last lines a tool printed on stderr, one line, bounded: the reason users read. */
export function lastLines(stderr: string, count = 3): string {
  const lines = stderr
    .split('\n')
    .map(l => l.trim())
    .filter(l => l.length > 0)
  return lines.slice(-count).join(' | ').slice(0, 600)
}

/** Run a tool with an argument array (never a shell); throw EngineError on a non-zero exit. */
export async function runTool(
  name: string,
  tool: string,
  args: string[],
  env: Record<string, string>
): Promise<void> {
  let result: exec.ExecOutput
  try {
    result = await exec.getExecOutput(tool, args, {
      silent: true,
      ignoreReturnCode: true,
      env: { ...(process.env as Record<string, string>), ...env }
    })
  } catch (error) {
    throw new EngineError(
      `${name} could not be started: ${error instanceof Error ? error.message : String(error)}`,
      true
    )
  }
  if (result.exitCode !== 0) {
    const why = lastLines(result.stderr) || lastLines(result.stdout) || 'no message'
    throw new EngineError(`${name} exited with ${result.exitCode}: ${why}`, PERMANENT.test(why))
  }
}
