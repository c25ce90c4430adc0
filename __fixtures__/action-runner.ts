/**
 * Runs the bundled action (`node dist/index.js`) the way the GitHub runner
 * does: inputs as INPUT_<NAME> variables, GITHUB_OUTPUT and
 * GITHUB_STEP_SUMMARY files, RUNNER_TEMP and RUNNER_TOOL_CACHE set.
 */
import { spawn, spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
export const DIST = path.join(ROOT, 'dist', 'index.js')

export interface ActionRun {
  code: number | null
  stdout: string
  stderr: string
  outputs: Record<string, string>
  summary: string
  workdir: string
}

/** Parse GITHUB_OUTPUT: `name<<DELIM` ... `DELIM` blocks (and plain name=value lines). */
export function parseOutputFile(text: string): Record<string, string> {
  const outputs: Record<string, string> = {}
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string
    const heredoc = /^([^=<]+)<<(.+)$/.exec(line)
    if (heredoc) {
      const [, name, delimiter] = heredoc as unknown as [string, string, string]
      const value: string[] = []
      while (++i < lines.length && lines[i] !== delimiter) value.push(lines[i] as string)
      outputs[name] = value.join('\n')
    } else if (line.includes('=')) {
      outputs[line.slice(0, line.indexOf('='))] = line.slice(line.indexOf('=') + 1)
    }
  }
  return outputs
}

/** The runner's name for an input: upper case, spaces to `_`, hyphens kept. */
export function inputVariable(name: string): string {
  return `INPUT_${name.replace(/ /g, '_').toUpperCase()}`
}

export interface RunOptions {
  env?: Record<string, string>
  files?: Record<string, string>
  summary?: boolean
  /** Reuse a workdir (and so its RUNNER_TOOL_CACHE) from an earlier run. */
  workdir?: string
  timeoutMs?: number
}

interface Prepared {
  workdir: string
  env: Record<string, string>
  outputFile: string
  summaryFile: string
}

function prepare(inputs: Record<string, string>, options: RunOptions): Prepared {
  const workdir = options.workdir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'image-mirror-run-'))
  for (const [name, content] of Object.entries(options.files ?? {})) {
    fs.mkdirSync(path.dirname(path.join(workdir, name)), { recursive: true })
    fs.writeFileSync(path.join(workdir, name), content)
  }
  const outputFile = path.join(workdir, 'github_output')
  const summaryFile = path.join(workdir, 'step_summary')
  fs.writeFileSync(outputFile, '')
  fs.writeFileSync(summaryFile, '')
  fs.mkdirSync(path.join(workdir, 'temp'), { recursive: true })
  fs.mkdirSync(path.join(workdir, 'tool-cache'), { recursive: true })

  // Start from a clean environment so nothing of this process leaks in.
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? workdir,
    GITHUB_WORKSPACE: workdir,
    GITHUB_OUTPUT: outputFile,
    RUNNER_TEMP: path.join(workdir, 'temp'),
    RUNNER_TOOL_CACHE: path.join(workdir, 'tool-cache'),
    GITHUB_ACTIONS: 'true',
    ...(options.summary === false ? {} : { GITHUB_STEP_SUMMARY: summaryFile }),
    ...options.env
  }
  for (const [name, value] of Object.entries(inputs)) env[inputVariable(name)] = value
  return { workdir, env, outputFile, summaryFile }
}

function collect(p: Prepared, code: number | null, stdout: string, stderr: string): ActionRun {
  return {
    code,
    stdout,
    stderr,
    outputs: parseOutputFile(fs.readFileSync(p.outputFile, 'utf8')),
    summary: fs.readFileSync(p.summaryFile, 'utf8'),
    workdir: p.workdir
  }
}

export function runAction(inputs: Record<string, string>, options: RunOptions = {}): ActionRun {
  const p = prepare(inputs, options)
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
  const p = prepare(inputs, options)
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
