export interface AccessEntry {
  method: string
  path: string
  status: number
}

export interface LocalRegistry {
  /** `127.0.0.1:PORT` */
  host: string
  port: number
  /** Storage root, kept across restart(). */
  dir: string
  /** Access-log entries since start or the last clearLog(). */
  requests(): AccessEntry[]
  clearLog(): void
  /** Resolves when a logged request matches (rejects after timeoutMs). */
  waitForRequest(predicate: (entry: AccessEntry) => boolean, timeoutMs?: number): Promise<void>
  stop(): Promise<void>
  /** SIGKILL now: an outage in the middle of a run. */
  kill(): void
  /** Start again on the same port and storage. */
  restart(): Promise<void>
  rawLog(): string
}

export function ensureTools(options?: { install?: boolean }): Promise<void>

export function startRegistry(options?: {
  dir?: string
  port?: number
  auth?: { username: string; password: string }
}): Promise<LocalRegistry>
