// Shared by the figures: logging, rounding, scratch directory, access logs, mirror paths.
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'

export const MB = 1e6

export const log = message =>
  console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}`)
export const round = (n, digits = 0) => (n === undefined ? undefined : Number(n.toFixed(digits)))
export const median = values => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

/** A scratch directory for the run, removed when the process exits. */
export function scratchDir() {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'image-mirror-bench-'))
  process.once('exit', () => fs.rmSync(work, { recursive: true, force: true }))
  // Ctrl-C and kill end through exit(), so the directory goes then too.
  process.once('SIGINT', () => process.exit(130))
  process.once('SIGTERM', () => process.exit(143))
  return work
}

/** Wait until a registry's access log stops growing (its lines arrive just after the answers). */
export async function settled(registry) {
  let count = -1
  while (registry.requests().length !== count) {
    count = registry.requests().length
    await new Promise(resolve => setTimeout(resolve, 250))
  }
  return registry.requests()
}

/** The action's log lines as text (workflow commands left out), for error messages. */
export const logText = run =>
  run.lines
    .map(l => l.line)
    .filter(l => !l.startsWith('::'))
    .slice(-20)
    .join('\n')

/** The baseline copy: `skopeo copy --all --preserve-digests` of one image into its mirror path. */
export function skopeoCopyArgs(sourceHost, targetHost, image) {
  return [
    'copy',
    '--all',
    '--preserve-digests',
    '--retry-times',
    '0',
    '--src-tls-verify=false',
    '--dest-tls-verify=false',
    `docker://${sourceHost}/${image.repository}:${image.tag}`,
    `docker://${targetHost}/${mirrorPath(sourceHost, image.repository)}:${image.tag}`
  ]
}

export function mirrorPath(sourceHost, repository) {
  return `mirror/${sourceHost.replace(':', '_')}/${repository}`
}
