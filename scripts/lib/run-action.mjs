// Run the bundled action (`node dist/index.js`) the way the GitHub runner
// does, as __fixtures__/action-runner.ts does for the tests (inputs as
// INPUT_<NAME>, GITHUB_OUTPUT, GITHUB_STEP_SUMMARY, RUNNER_TEMP,
// RUNNER_TOOL_CACHE, a clean environment), for scripts that cannot import
// TypeScript: each stdout line is timed on arrival, and the process's peak
// memory is sampled. Types in run-action.d.mts.
import { spawn } from 'node:child_process'
import * as fs from 'node:fs'
import { watchTree } from './process-tree.mjs'
import { DIST, prepareRun, readRunFiles } from './runner-env.mjs'

export { DIST, ROOT, parseOutputFile } from './runner-env.mjs'

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
 * (KiB, sampled every 20 ms from /proc; undefined where /proc is missing), and `memory`:
 * the peaks of the process tree, by command (lib/process-tree.mjs).
 */
export function runAction(inputs, options = {}) {
  const prepared = prepareRun(inputs, options)
  const { workdir, env } = prepared
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
    // The tools it runs (crane, skopeo) are processes of their own: their memory is theirs.
    const tree = watchTree(child.pid)
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
      tree.stop()
      clearInterval(sampler)
      clearTimeout(timer)
      reject(error)
    })
    child.on('close', code => {
      const wallMs = performance.now() - started
      const memory = tree.stop()
      clearInterval(sampler)
      clearTimeout(timer)
      if (pending) lines.push({ t: wallMs, cpu: undefined, line: pending })
      resolve({
        code,
        lines,
        stderr,
        wallMs,
        peakRssKiB: peak,
        memory,
        ...readRunFiles(prepared),
        workdir
      })
    })
  })
}
