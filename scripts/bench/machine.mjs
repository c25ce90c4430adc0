// The machine measured on (CPU, cores, memory, tool versions, load), for heading and JSON.
import { spawnSync } from 'node:child_process'
import * as os from 'node:os'
import { round } from './common.mjs'

function version(command, argv, pattern) {
  const run = spawnSync(command, argv, { encoding: 'utf8' })
  const match = pattern.exec(`${run.stdout}${run.stderr}`)
  return match ? match[1] : 'unknown'
}

/** The machine as the results record it; `label` (--machine) replaces the label made from it. */
export function machine(label) {
  const cpus = os.cpus()
  const model = cpus[0]?.model.trim() ?? 'unknown CPU'
  const memory = `${Math.round(os.totalmem() / 2 ** 30)} GiB`
  return {
    label: label ?? `${model}, ${cpus.length} cores, ${memory}, ${os.type()} ${os.release()}`,
    cpu: model,
    cores: cpus.length,
    memory,
    os: `${os.type()} ${os.release()}`,
    node: process.version,
    skopeo: version('skopeo', ['--version'], /version (\S+)/),
    registry: version('dpkg-query', ['-W', 'docker-registry'], /docker-registry\s+(\S+)/),
    loadAverage: os.loadavg().map(n => round(n, 2))
  }
}
