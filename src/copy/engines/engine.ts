/**
 * The copy engines' one small interface: copy one image from a source
 * reference to a target reference, or throw an EngineError saying why.
 */
import * as exec from '@actions/exec'
import * as fs from 'node:fs'
import { errorMessage, MirrorError } from '../../common/errors.js'
import type { Manifest } from '../../registry/manifest.js'

export interface CopyRequest {
  /** Source pinned by digest (`registry/repo@sha256:...`), so what is verified is what was copied. */
  source: string
  /** Target with a tag, or with a digest when the request had only a digest. */
  target: string
  /** `all`: the whole index, digest kept; otherwise exactly these platforms. */
  platforms: 'all' | readonly string[]
  insecureSource: boolean
  insecureTarget: boolean
  /**
   * A reason to refuse the manifest read from the source, before anything is written (the
   * native engine's, which copies referrers: an upstream artifact posing as a mirror record).
   */
  vet?: (manifest: Manifest) => string | undefined
}

export interface CopyEngine {
  readonly name: string
  copy(request: CopyRequest): Promise<void>
  /** What the engine moved in the run, one line for the log (the native engine counts). */
  report?(): string | undefined
  /** Release what the engine holds (connections). */
  dispose?(): void
}

export class EngineError extends MirrorError {
  constructor(
    message: string,
    /** Retrying will not help (credentials refused, image missing). */
    permanent: boolean,
    /**
     * The tool had already retried the request that failed, on its own
     * (crane: 3 tries a request, 1 s then 3 s apart, without reading
     * Retry-After), so running it again repeats those tries.
     */
    readonly retried = false
  ) {
    super(message, permanent)
  }
}

/**
 * Failures no retry cures, as the tools word them. crane adds a platform the
 * index lacks (`no child with platform linux/s390x in index ...`) and a
 * reference it cannot read (`could not parse reference: ...`).
 */
const PERMANENT =
  /unauthorized|authentication required|denied|manifest unknown|name unknown|not found|no image found|no matching manifest|no child with platform|invalid reference|could not parse reference|\b(?:NAME_UNKNOWN|MANIFEST_UNKNOWN|NAME_INVALID|TAG_INVALID|MANIFEST_INVALID|UNSUPPORTED|DENIED|UNAUTHORIZED): |to be an index/i

/** Whether a tool's failure is one no retry cures; URLs are left out (a path may say "denied"). */
function isPermanentFailure(message: string): boolean {
  return PERMANENT.test(message.replace(/\b[a-z][a-z0-9+.-]*:\/\/\S*/gi, ' '))
}

/** The plain words for a target that failed to store what it was sent. */
const TARGET_STORAGE = "its storage may be full or failing: the registry's own log says which"

/**
 * What happened, in plain words, for the failures a copy meets on the way
 * (the tools' own wording names a URL and a Go error, not the cause). Tried
 * in order; the first match wins.
 *
 * crane words a registry's answer as `<METHOD> <url>: <CODE>: <message>` or
 * `<METHOD> <url>: unexpected status code <NNN> <text>` (method upper-case,
 * URL unquoted; the status of a coded answer is not shown, so UNKNOWN and
 * UNAVAILABLE, what registries send with a 500 and a 503, stand for it), and
 * a connection that failed as Go does, `Patch "<url>": <error>`.
 */
const EXPLANATIONS: readonly [RegExp, string][] = [
  [
    /provided digest did not match uploaded content|digest invalid/i,
    'the target refused a blob whose content did not match its digest (corrupted on the way); it was not stored'
  ],
  [
    // skopeo: "Digest did not match"; crane: "error verifying sha256 checksum after reading N
    // bytes" (corrupted) and "Content-Length header N does not match expected size M" (truncated).
    /digest did not match|size mismatch|unexpected blob size|error verifying sha256 checksum|does not match expected size/i,
    'a blob read from the source did not match its digest (corrupted or truncated on the way); it was not stored'
  ],
  [/connection refused|ECONNREFUSED/i, 'a registry could not be reached (connection refused)'],
  [
    // crane: `unexpected status code 401 Unauthorized` (a HEAD) or `UNAUTHORIZED: ...`; skopeo:
    // `unauthorized: authentication required`. Which registry is in the URL of what follows.
    /unexpected status code 401\b|\bUNAUTHORIZED: |unauthorized: authentication required/,
    'a registry refused the credentials given for it, or asked for some (401 Unauthorized); check the username and password, or the docker config login for that registry'
  ],
  [
    /unexpected status code 403\b|\bDENIED: |denied: requested access to the resource is denied/,
    'a registry denied access (403 Forbidden): the credentials given have no right to push or pull that repository'
  ],
  [
    // skopeo's "happened during read" is the source's side of a blob copy; crane streams the
    // source blob into the upload, so the source ending early is an upload whose read from
    // it ended short ("readfrom tcp ...: unexpected EOF"; the target's side is a write error).
    // native: `reading blob <where>: <error>`.
    /happened during read: (?:unexpected EOF|EOF|.*connection reset)|(?:Patch|Put|Post) "[^"]*": readfrom tcp \S+: unexpected EOF|^reading blob \S+: /i,
    'the connection to the source was closed in the middle of a blob'
  ],
  [
    // An upload (PATCH/PUT/POST to the target) that lost its connection.
    /(?:Patch|Put|Post) "[^"]*": (?:EOF|.*connection reset|.*broken pipe|.*ECONNRESET|.*EPIPE|.*socket hang up)/i,
    'the connection to the target was closed in the middle of an upload'
  ],
  [
    /unexpected EOF|connection reset|broken pipe|ECONNRESET|socket hang up|: EOF(?:$|[^\w])/i,
    'the connection was closed in the middle of a transfer'
  ],
  [
    /too many requests|toomanyrequests|\b429\b/i,
    'a registry refused with 429 Too Many Requests (rate limited)'
  ],
  [
    /(?:initiating layer upload|uploading (?:layer|manifest|blob))[\s\S]*?\b5\d\d\b/i,
    `the target failed to store the image (it answered a server error on an upload); ${TARGET_STORAGE}`
  ],
  [
    // crane: an upload (POST/PATCH/PUT of a blob, PUT of a manifest) answered with a server error.
    /\b(?:POST|PATCH|PUT) https?:\/\/\S+\/(?:blobs\/uploads\/|manifests\/)\S*: (?:UNKNOWN: |unexpected status code 50[0-2]\b)/,
    `the target failed to store the image (it answered a server error on an upload); ${TARGET_STORAGE}`
  ],
  [
    // Asking the target whether it already holds a blob: crane does it with HEAD only (it reads
    // the source with GET), skopeo says "at destination". A registry whose storage failed (a
    // blob linked empty when its disk filled up) answers it with a 500 from then on.
    // native: `checking for a blob in <registry>/<repository>: HTTP 500`.
    /\bHEAD https?:\/\/\S+: unexpected status code 5\d\d\b|failed to read from destination repository \S+: 5\d\d\b|checking for a blob in \S+: HTTP 5\d\d\b/,
    `the target failed to store the image (it answered a server error while the image was being written); ${TARGET_STORAGE}`
  ],
  [
    /\b5\d\d\b[ (]*(?:Internal Server Error|Bad Gateway|Service Unavailable|Gateway Timeout)/i,
    'a registry answered with a server error'
  ],
  [
    // crane: 503 on an upload; overload or maintenance more often than storage.
    /\b(?:POST|PATCH|PUT) https?:\/\/\S+\/(?:blobs\/uploads\/|manifests\/)\S*: (?:UNAVAILABLE: |unexpected status code 503\b)/,
    'the target answered 503 Service Unavailable on an upload (overloaded or in maintenance)'
  ],
  // crane, a coded answer: the codes as registries send them with a 500 and a 503.
  [/: (?:UNKNOWN|UNAVAILABLE):/, 'a registry answered with a server error'],
  // native: the registry client's own wording.
  [/: HTTP 5\d\d\b/, 'a registry answered with a server error']
]

/** The plain-words cause of a tool's failure, when it is one we know. */
export function explain(detail: string): string | undefined {
  return EXPLANATIONS.find(([pattern]) => pattern.test(detail))?.[1]
}

/** A line of Go's `log` package, as crane prints progress and retries: `2026/12/01 02:00:00 retrying EOF`. */
const GO_LOG_LINE = /^\d{4}\/\d{2}\/\d{2} \d{2}:\d{2}:\d{2}(?:\.\d+)? /

/**
 * The message a tool ended with. skopeo logs through logrus
 * (`time=... level=fatal msg="..."`): the message alone is kept, unquoted.
 * crane (cobra) ends with `Error: ...` after its log lines (`retrying ...`,
 * `pushed blob: ...`): that message is kept, without the prefix and without
 * any log line around it. Query strings are cut from URLs: upload URLs carry
 * long opaque state.
 */
export function toolMessage(output: string): string {
  const lines = output
    .split('\n')
    .map(l => l.trim())
    .filter(l => l.length > 0)
  let text: string | undefined
  for (let i = lines.length - 1; i >= 0 && text === undefined; i--) {
    const line = lines[i] as string
    const logged = /\blevel=(?:fatal|error)\s+msg="((?:[^"\\]|\\.)*)"/.exec(line)
    if (logged) text = (logged[1] as string).replace(/\\(.)/g, '$1')
    else if (line.startsWith('Error: ')) {
      // A registry's error body may go on over lines; crane's own log lines are not the message.
      const rest = lines.slice(i + 1).filter(l => !GO_LOG_LINE.test(l))
      text = [line.slice('Error: '.length), ...rest].join(' | ')
    }
  }
  return lastLines(
    (text ?? lines.slice(-3).join(' | ')).replace(
      /(https?:\/\/[^\s"?]+)\?[^\s"]*?(?=:?(?:\s|$)|")/g,
      '$1'
    )
  )
}

/**
 * What crane retries on its own (go-containerregistry's transport and upload
 * retries): the statuses 408, 429, 499, 500, 502, 503, 504 and 522, the codes
 * registries send with them, and a connection that ended (EOF, reset, broken pipe).
 */
const TOOL_RETRIES =
  /\b(?:TOOMANYREQUESTS|UNAVAILABLE|UNKNOWN|BLOB_UPLOAD_INVALID): |unexpected status code (?:408|429|499|50[0234]|522)\b|: (?:unexpected )?EOF$|connection reset|broken pipe|use of closed network connection/

/** crane's log line for each error its retry takes (`retrying without mount` is another thing). */
const RETRY_LOG_LINE = new RegExp(`${GO_LOG_LINE.source}retrying (?!without mount)`)

/**
 * Whether the tool had already retried the failure it ended with (`message`,
 * from toolMessage): the failure is one crane retries, and crane logged a
 * retry of that same kind (`retrying GET ...: TOOMANYREQUESTS: ...` before
 * `Error: fetching ...: GET ...: TOOMANYREQUESTS: ...`).
 */
export function retriedByTool(output: string, message: string): boolean {
  const kind = TOOL_RETRIES.exec(message)?.[0]
  if (kind === undefined) return false
  return output
    .split('\n')
    .some(line => RETRY_LOG_LINE.test(line.trim()) && line.trimEnd().includes(kind))
}

/** The last lines a tool printed on stderr, one line, bounded: the reason users read. */
export function lastLines(stderr: string, count = 3): string {
  const lines = stderr
    .split('\n')
    .map(l => l.trim())
    .filter(l => l.length > 0)
  return lines.slice(-count).join(' | ').slice(0, 600)
}

/**
 * The environment variables a copy tool may see from the job's, by name
 * (matched case-insensitively, as Windows names them). The job's own carry
 * secrets (INPUT_PASSWORD, INPUT_GITHUB-TOKEN, GITHUB_TOKEN,
 * ACTIONS_RUNTIME_TOKEN, ...) that crane and skopeo have no use for; what
 * they need is passed explicitly (DOCKER_CONFIG, --authfile).
 */
const TOOL_ENVIRONMENT = new Set(
  [
    'PATH',
    'HOME',
    'TMPDIR',
    'USER',
    'LANG',
    'LC_ALL',
    // Go's net/http reads these (both cases); ALL_PROXY for tools that honour it.
    'HTTP_PROXY',
    'HTTPS_PROXY',
    'NO_PROXY',
    'ALL_PROXY',
    // A runner's own CA bundle, for registries behind a corporate TLS proxy.
    'SSL_CERT_FILE',
    'SSL_CERT_DIR',
    // containers/image (skopeo): registries.conf, containers.conf, and where per-user config lives.
    'XDG_RUNTIME_DIR',
    'XDG_CONFIG_HOME',
    'CONTAINERS_REGISTRIES_CONF',
    'REGISTRIES_CONFIG_PATH',
    'CONTAINERS_CONF',
    // Windows: Go's networking needs SystemRoot; the rest locate home and temp.
    'SYSTEMROOT',
    'SYSTEMDRIVE',
    'WINDIR',
    'TEMP',
    'TMP',
    'USERPROFILE',
    'APPDATA',
    'LOCALAPPDATA',
    'PATHEXT'
  ].map(name => name.toUpperCase())
)

/**
 * What a docker credential helper (ecr-login, gcloud, acr-env, pass,
 * secretservice) reads: it runs as the tool's child, so these are passed
 * only when the tool's docker config names a helper.
 */
const HELPER_ENVIRONMENT =
  /^(?:AWS_|AZURE_|GOOGLE_|CLOUDSDK_)|^(?:DBUS_SESSION_BUS_ADDRESS|GNUPGHOME|PASSWORD_STORE_DIR)$/i

export interface ToolEnvironmentOptions {
  /** The docker config the tool reads names a credential helper (credHelpers or credsStore). */
  credentialHelpers?: boolean
}

/**
 * The minimal environment a copy tool runs with: the allowed variables that
 * are set in `from`, then `extra` (what the engine passes on purpose).
 */
export function toolEnvironment(
  extra: Record<string, string>,
  from: NodeJS.ProcessEnv = process.env,
  options: ToolEnvironmentOptions = {}
): Record<string, string> {
  const env: Record<string, string> = {}
  for (const [name, value] of Object.entries(from)) {
    if (value === undefined) continue
    if (
      TOOL_ENVIRONMENT.has(name.toUpperCase()) ||
      (options.credentialHelpers && HELPER_ENVIRONMENT.test(name))
    ) {
      env[name] = value
    }
  }
  return { ...env, ...extra }
}

/** Whether a docker config file names a credential helper; false when it cannot be read. */
export function namesCredentialHelper(configFile: string): boolean {
  try {
    const config = JSON.parse(fs.readFileSync(configFile, 'utf8')) as {
      credHelpers?: Record<string, unknown>
      credsStore?: unknown
    }
    return Boolean(config.credsStore) || Object.keys(config.credHelpers ?? {}).length > 0
  } catch {
    return false
  }
}

/** Run a tool with an argument array (never a shell); throw EngineError on a non-zero exit. */
export async function runTool(
  name: string,
  tool: string,
  args: string[],
  env: Record<string, string>,
  options: ToolEnvironmentOptions = {}
): Promise<void> {
  let result: exec.ExecOutput
  try {
    result = await exec.getExecOutput(tool, args, {
      silent: true,
      ignoreReturnCode: true,
      env: toolEnvironment(env, process.env, options)
    })
  } catch (error) {
    throw new EngineError(`${name} could not be started: ${errorMessage(error)}`, true)
  }
  if (result.exitCode !== 0) {
    const why = toolMessage(result.stderr) || toolMessage(result.stdout) || 'no message'
    const said = `${name} exited with ${result.exitCode}: ${why}`
    const cause = explain(why)
    const permanent = isPermanentFailure(why)
    throw new EngineError(
      cause ? `${cause} (${said})` : said,
      permanent,
      !permanent && retriedByTool(result.stderr, why)
    )
  }
}
