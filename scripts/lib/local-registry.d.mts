/** One line of the registry's access log. */
export interface AccessEntry {
  method: string
  /** Request URI as sent: path plus query string. */
  path: string
  status: number
  /** The client's User-Agent ('' when none was sent). */
  userAgent?: string
}

export interface LocalRegistry {
  /** `127.0.0.1:PORT` */
  host: string
  port: number
  /** Storage root, kept across restart(). */
  dir: string
  /** Access-log entries since start or the last clearLog() (the harness's own probes left out). */
  requests(): AccessEntry[]
  clearLog(): void
  /**
   * Resolves when a logged request matches (rejects after timeoutMs, default 30 s).
   * Each entry is offered to the predicate at most once.
   */
  waitForRequest(predicate: (entry: AccessEntry) => boolean, timeoutMs?: number): Promise<void>
  /** SIGTERM and wait for the exit (SIGKILL after 10 s). */
  stop(): Promise<void>
  /** SIGKILL now, without waiting: an outage in the middle of a run. */
  kill(): void
  /** Stop if running, then start again on the same port and storage. */
  restart(): Promise<void>
  /** Everything the process printed (stdout and stderr). */
  rawLog(): string
}

/**
 * Make sure docker-registry and skopeo are on PATH. When missing, installs them
 * with apt-get if allowed (root or password-less sudo, and install !== false);
 * otherwise throws an Error naming the command to run.
 */
export function ensureTools(options?: { install?: boolean }): Promise<void>

/**
 * Make sure Debian packages are installed: `commands` (default: the package
 * names) must be on PATH. Installs with apt-get like ensureTools, or throws
 * an Error naming the command to run.
 */
export function ensurePackages(
  packages: string[],
  options?: { install?: boolean; commands?: string[] }
): Promise<void>

/** Start a docker-registry on 127.0.0.1; resolves once GET /v2/ answers. */
export function startRegistry(options?: {
  /** Storage root (default: a fresh temporary directory). */
  dir?: string
  /** Default: a free port (never 5000). */
  port?: number
  /** Require htpasswd Basic auth with these credentials. */
  auth?: { username: string; password: string }
}): Promise<LocalRegistry>

/** Parse one access-log line (Apache combined format); undefined if it is not one. */
export function parseAccessLine(line: string): Required<AccessEntry> | undefined

/** Build the referrers registry (cached in .tools/); throws with GO_HELP without Go. */
export function buildReferrersRegistry(options?: { log?: (line: string) => void }): string
/** Whether the referrers registry is built (the tests that need it can run). */
export function referrersRegistryBuilt(): boolean
/** A registry with the OCI referrers API (__fixtures__/refreg), built with Go on first use; in memory. */
export function startReferrersRegistry(options?: { log?: (line: string) => void }): Promise<{
  /** `127.0.0.1:PORT` */
  host: string
  port: number
  stop(): Promise<void>
}>
