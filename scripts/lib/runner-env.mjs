// The runner's side of running the bundled action (`node dist/index.js`):
// a work directory with GITHUB_OUTPUT, GITHUB_STEP_SUMMARY, RUNNER_TEMP and
// RUNNER_TOOL_CACHE, inputs as INPUT_<NAME>, and a clean environment. Shared by
// the tests (__fixtures__/action-runner.ts), the demo and the bench, which
// each spawn the process their own way. Types in runner-env.d.mts.
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')
export const DIST = path.join(ROOT, 'dist', 'index.js')

/** The runner's name for an input: upper case, spaces to `_`, hyphens kept. */
export function inputVariable(name) {
  return `INPUT_${name.replace(/ /g, '_').toUpperCase()}`
}

/** Parse GITHUB_OUTPUT: `name<<DELIM` ... `DELIM` blocks and plain name=value lines. */
export function parseOutputFile(text) {
  const outputs = {}
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const heredoc = /^([^=<]+)<<(.+)$/.exec(lines[i])
    if (heredoc) {
      const value = []
      while (++i < lines.length && lines[i] !== heredoc[2]) value.push(lines[i])
      outputs[heredoc[1]] = value.join('\n')
    } else if (lines[i].includes('=')) {
      const at = lines[i].indexOf('=')
      outputs[lines[i].slice(0, at)] = lines[i].slice(at + 1)
    }
  }
  return outputs
}

/**
 * Lay out a work directory (a new one unless `options.workdir`), write
 * `options.files` into it, empty the output and summary files, and build the
 * environment the runner would give the action.
 */
export function prepareRun(inputs, options = {}) {
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
  // Start from a clean environment so nothing of the calling process leaks in.
  const env = {
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

/** What the action left: its outputs and its job summary. */
export function readRunFiles(prepared) {
  return {
    outputs: parseOutputFile(fs.readFileSync(prepared.outputFile, 'utf8')),
    summary: fs.readFileSync(prepared.summaryFile, 'utf8')
  }
}
