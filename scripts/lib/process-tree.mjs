// Resident memory of a process and everything it started, sampled from /proc:
// the action's own node process, and the crane or skopeo processes it runs, or
// a peer tool. Each command's largest single process and the tree's total are
// kept at their peaks. Without /proc (not Linux) nothing is measured.
import * as fs from 'node:fs'

const PAGE_KIB = 4

/** Every process now: pid, parent, command name, resident KiB. */
function processes() {
  let names
  try {
    names = fs.readdirSync('/proc').filter(n => /^\d+$/.test(n))
  } catch {
    return []
  }
  const list = []
  for (const name of names) {
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8')
      const open = stat.indexOf('(')
      const close = stat.lastIndexOf(')')
      const fields = stat.slice(close + 2).split(' ')
      list.push({
        pid: Number(name),
        ppid: Number(fields[1]),
        command: stat.slice(open + 1, close),
        rssKiB: Number(fields[21]) * PAGE_KIB
      })
    } catch {
      // Gone between the listing and the read.
    }
  }
  return list
}

/**
 * Watch the tree under `pid` every `everyMs`; `stop()` ends the watch and
 * returns `{ peakTotalKiB, peakByCommand: { command: KiB } }` (undefined
 * figures where /proc is missing).
 */
export function watchTree(pid, everyMs = 25) {
  const peakByCommand = {}
  let peakTotalKiB
  const sample = () => {
    const all = processes()
    if (all.length === 0) return
    const children = new Map()
    for (const p of all) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p])
    const root = all.find(p => p.pid === pid)
    if (!root) return
    let total = 0
    for (const stack = [root]; stack.length > 0;) {
      const p = stack.pop()
      total += p.rssKiB
      peakByCommand[p.command] = Math.max(peakByCommand[p.command] ?? 0, p.rssKiB)
      stack.push(...(children.get(p.pid) ?? []))
    }
    peakTotalKiB = Math.max(peakTotalKiB ?? 0, total)
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
