// Run the bundled action (`node dist/index.js`) the way the GitHub runner
// does, as __fixtures__/action-runner.ts does for the tests (inputs as
// INPUT_<NAME>, GITHUB_OUTPUT, GITHUB_STEP_SUMMARY, RUNNER_TEMP,
// RUNNER_TOOL_CACHE, a clean environment), for scripts that cannot import
// TypeScript: each stdout line is timed on arrival, and the process's peak
// memory is sampled. Types in run-action.d.mts.
import { spawn } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')
export const DIST = path.join(ROOT, 'dist', 'index.js')

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

/** Peak resident memory (VmHWM) of a live process in KiB, or undefined once it is gone. */
function peakRss(pid) {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8')
    const match = /^VmHWM:\s+(\d+) kB/m.exec(status)
    return match ? Number(match[1]) : undefined
  } catch {
    return undefined
  }
}

const TICK_MS = 10 // USER_HZ is 100 on Linux

/** CPU time (user + system) a live process has used, in ms, or undefined once it is gone. */
function cpuMs(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
    // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) * TICK_MS
  } catch {
    return undefined
  }
}

/**
 * Run the action (`options.dist`, default dist/index.js); resolves with its exit code, stdout lines timed in ms from
 * the spawn, with the CPU time the process had used by then ({ t, cpu, line };
 * cpu from /proc, in 10 ms ticks), stderr, outputs, summary, wall time and peak RSS
 * (KiB, sampled every 20 ms from /proc; undefined where /proc is missing).
 */
export function runAction(inputs, options = {}) {
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
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? workdir,
    GITHUB_WORKSPACE: workdir,
    GITHUB_OUTPUT: outputFile,
    GITHUB_STEP_SUMMARY: summaryFile,
    RUNNER_TEMP: path.join(workdir, 'temp'),
    RUNNER_TOOL_CACHE: path.join(workdir, 'tool-cache'),
    GITHUB_ACTIONS: 'true',
    ...options.env
  }
  for (const [name, value] of Object.entries(inputs)) {
    env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] = value
  }
  const nodeArgs = options.nodeArgs ?? []

  return new Promise((resolve, reject) => {
    const started = performance.now()
    const child = spawn(process.execPath, [...nodeArgs, options.dist ?? DIST], {
      cwd: workdir,
      env
    })
    const lines = []
    let pending = ''
    let stderr = ''
    let peak
    const sample = () => {
      const now = peakRss(child.pid)
      if (now !== undefined) peak = Math.max(peak ?? 0, now)
    }
    const sampler = setInterval(sample, 20)
    child.stdout.setEncoding('utf8').on('data', chunk => {
      const t = performance.now() - started
      const cpu = cpuMs(child.pid)
      pending += chunk
      const parts = pending.split('\n')
      pending = parts.pop()
      for (const line of parts) lines.push({ t, cpu, line })
    })
    child.stderr.setEncoding('utf8').on('data', chunk => (stderr += chunk))
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30 * 60_000)
    child.once('exit', sample)
    child.on('error', error => {
      clearInterval(sampler)
      clearTimeout(timer)
      reject(error)
    })
    child.on('close', code => {
      const wallMs = performance.now() - started
      clearInterval(sampler)
      clearTimeout(timer)
      if (pending) lines.push({ t: wallMs, cpu: undefined, line: pending })
      resolve({
        code,
        lines,
        stderr,
        wallMs,
        peakRssKiB: peak,
        outputs: parseOutputFile(fs.readFileSync(outputFile, 'utf8')),
        summary: fs.readFileSync(summaryFile, 'utf8'),
        workdir
      })
    })
  })
}
