/**
 * A private directory for secrets (the engines' docker config with the
 * target's password), removed when the work is done and also when the job is
 * cancelled or times out: the runner sends SIGINT, then SIGTERM, and a
 * `finally` never runs after a signal ends the process.
 */
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'

const live = new Set<string>()
const SIGNALS = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 } as const

function removeAll(): void {
  for (const dir of live) fs.rmSync(dir, { recursive: true, force: true })
  live.clear()
}

function onSignal(signal: keyof typeof SIGNALS): void {
  removeAll()
  // The default action of the signal, which a listener replaces: end now, as the runner expects.
  process.exit(SIGNALS[signal])
}

let installed = false

export interface PrivateDir {
  path: string
  remove(): void
}

/** A new directory only this user can read, under RUNNER_TEMP, removed on remove() or a signal. */
export function makePrivateDir(prefix: string): PrivateDir {
  const dir = fs.mkdtempSync(path.join(process.env.RUNNER_TEMP || os.tmpdir(), prefix))
  fs.chmodSync(dir, 0o700)
  live.add(dir)
  if (!installed) {
    installed = true
    for (const signal of Object.keys(SIGNALS) as (keyof typeof SIGNALS)[]) {
      process.on(signal, onSignal)
    }
    // Any other way out (an uncaught error, process.exit) still removes it.
    process.on('exit', removeAll)
  }
  return {
    path: dir,
    remove: () => {
      fs.rmSync(dir, { recursive: true, force: true })
      live.delete(dir)
      // Nothing left to protect: the signals go back to Node's own handling.
      if (live.size === 0 && installed) {
        installed = false
        for (const signal of Object.keys(SIGNALS) as (keyof typeof SIGNALS)[]) {
          process.off(signal, onSignal)
        }
        process.off('exit', removeAll)
      }
    }
  }
}
