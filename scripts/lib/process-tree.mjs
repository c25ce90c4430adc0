// Resident memory of a process and everything it started, sampled from /proc:
// the action's own node process, and the crane or skopeo processes it runs, or
// a peer tool. Each command's largest single process and the tree's total are
// kept at their peaks. Without /proc (not Linux) nothing is measured.
import * as fs from 'node:fs'

const PAGE_KIB = 4

/** A process's command name and resident KiB, or undefined once it is gone. */
function processInfo(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return {
      command: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')),
      rssKiB: Number(fields[21]) * PAGE_KIB
    }
  } catch {
    return undefined
  }
}

/** The children of a process (each of its threads' children), from /proc. */
function childrenOf(pid) {
  const children = []
  try {
    for (const task of fs.readdirSync(`/proc/${pid}/task`)) {
      const text = fs.readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim()
      if (text) children.push(...text.split(' ').map(Number))
    }
  } catch {
    // Gone, or a kernel without the children file: the process alone is counted.
  }
  return children
}

/**
 * Watch the tree under `pid` every `everyMs`; `stop()` ends the watch and
 * returns `{ peakTotalKiB, peakByCommand: { command: KiB } }` (undefined
 * figures where /proc is missing).
 */
export function watchTree(pid, everyMs = 50) {
  const peakByCommand = {}
  let peakTotalKiB
  // Only the watched tree is read (not every process on the machine): sampling is cheap.
  const sample = () => {
    let total = 0
    let seen = 0
    for (const stack = [pid]; stack.length > 0 && seen < 256; seen++) {
      const at = stack.pop()
      const info = processInfo(at)
      if (!info) continue
      total += info.rssKiB
      peakByCommand[info.command] = Math.max(peakByCommand[info.command] ?? 0, info.rssKiB)
      stack.push(...childrenOf(at))
    }
    if (total > 0) peakTotalKiB = Math.max(peakTotalKiB ?? 0, total)
  }
  const timer = setInterval(sample, everyMs)
  sample()
  return {
    stop() {
      clearInterval(timer)
      return { peakTotalKiB, peakByCommand }
    }
  }
}
