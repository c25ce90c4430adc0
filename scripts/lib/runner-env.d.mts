export const ROOT: string
export const DIST: string

/** The runner's name for an input: upper case, spaces to `_`, hyphens kept. */
export function inputVariable(name: string): string

/** Parse GITHUB_OUTPUT: `name<<DELIM` ... `DELIM` blocks and plain name=value lines. */
export function parseOutputFile(text: string): Record<string, string>

export interface PrepareOptions {
  /** Reuse a work directory (and so its RUNNER_TOOL_CACHE) from an earlier run. */
  workdir?: string
  /** Files written into the work directory, by relative path. */
  files?: Record<string, string>
  /** More environment, over the runner's. */
  env?: Record<string, string>
  /** false: no GITHUB_STEP_SUMMARY, as outside the runner. */
  summary?: boolean
}

export interface PreparedRun {
  workdir: string
  env: Record<string, string>
  outputFile: string
  summaryFile: string
}

/** Lay out a work directory and build the environment the runner would give the action. */
export function prepareRun(inputs: Record<string, string>, options?: PrepareOptions): PreparedRun

/** What the action left: its outputs and its job summary. */
export function readRunFiles(prepared: PreparedRun): {
  outputs: Record<string, string>
  summary: string
}
