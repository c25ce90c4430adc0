/**
 * Runs the bundled action (`node dist/index.js`) the way the GitHub runner
 * does: inputs as INPUT_<NAME> variables, GITHUB_OUTPUT and
 * GITHUB_STEP_SUMMARY files, RUNNER_TEMP and RUNNER_TOOL_CACHE set.
 */
import { spawn, spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import {
  DIST,
  prepareRun,
  readRunFiles,
  ROOT,
  type PreparedRun
} from '../scripts/lib/runner-env.mjs'

import type { MirrorResult } from '../src/image/results.js'

export { DIST, inputVariable, parseOutputFile, ROOT } from '../scripts/lib/runner-env.mjs'

export interface ActionRun {
  code: number | null
  stdout: string
  stderr: string
  outputs: Record<string, string>
  summary: string
  workdir: string
}

export interface RunOptions {
  env?: Record<string, string>
  files?: Record<string, string>
  summary?: boolean
  /** Reuse a workdir (and so its RUNNER_TOOL_CACHE) from an earlier run. */
  workdir?: string
  timeoutMs?: number
}

function collect(p: PreparedRun, code: number | null, stdout: string, stderr: string): ActionRun {
  return { code, stdout, stderr, ...readRunFiles(p), workdir: p.workdir }
}

export function runAction(inputs: Record<string, string>, options: RunOptions = {}): ActionRun {
  const p = prepareRun(inputs, options)
  const child = spawnSync(process.execPath, [DIST], {
    cwd: p.workdir,
    env: p.env,
    encoding: 'utf8',
    timeout: options.timeoutMs ?? 60_000
  })
  return collect(p, child.status, child.stdout, child.stderr)
}

/** The same, without blocking this process (for tests that serve or watch something meanwhile). */
export function runActionAsync(
  inputs: Record<string, string>,
  options: RunOptions = {}
): Promise<ActionRun> {
  const p = prepareRun(inputs, options)
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [DIST], { cwd: p.workdir, env: p.env })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000)
    child.on('error', reject)
    child.on('close', code => {
      clearTimeout(timer)
      resolve(collect(p, code, stdout, stderr))
    })
  })
}

export function readFixture(name: string): string {
  return fs.readFileSync(path.join(ROOT, '__fixtures__', name), 'utf8')
}

/** The `results` output as the action (or a workflow's report job) set it: one object per image. */
export function resultsOf(run: { outputs: Record<string, string | undefined> }): MirrorResult[] {
  return JSON.parse(run.outputs.results || '[]') as MirrorResult[]
}
