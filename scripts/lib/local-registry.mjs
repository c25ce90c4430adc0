// Real registries for the end-to-end tests and `npm run demo`: Debian's
// docker-registry (CNCF distribution 2.8) on a free loopback port, with an
// optional htpasswd Basic auth and its access log parsed. Plain JavaScript so
// the demo runs it without a build step; types in local-registry.d.mts.
//
// distribution 2.8 writes its access log to stdout in Apache combined format
//   127.0.0.1 - - [23/Nov/2026:02:44:37 +0000] "HEAD /v2/x/manifests/1?a=b HTTP/1.1" 404 96 "" "curl/7.88.1"
// (one line per request, after the response, 401s included) and everything
// else (logrus key=value lines) to stderr.
import { execFileSync, spawn, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import * as fs from 'node:fs'
import * as net from 'node:net'
import * as os from 'node:os'
import * as path from 'node:path'
import { StringDecoder } from 'node:string_decoder'
import bcrypt from 'bcryptjs'
import { buildLocalGoTool, builtLocalGoTool } from './go-tools.mjs'
import { ROOT } from './runner-env.mjs'

const TOOLS = ['docker-registry', 'skopeo']
const START_TIMEOUT_MS = 15_000
const STOP_TIMEOUT_MS = 10_000

function onPath(tool) {
  return spawnSync('sh', ['-c', 'command -v "$1"', 'sh', tool], { stdio: 'ignore' }).status === 0
}

/**
 * Make sure docker-registry and skopeo are on PATH; install them with apt-get
 * when missing and we may (root, or password-less sudo), else throw with the
 * command to run.
 */
export async function ensureTools(options = {}) {
  await ensurePackages(TOOLS, options)
}

/**
 * The same for any Debian packages: `commands` (default: the package names)
 * must be on PATH afterwards, e.g. ensurePackages(['containerd'], { commands:
 * ['containerd', 'ctr'] }).
 */
export async function ensurePackages(packages, options = {}) {
  const commands = options.commands ?? packages
  const installArgs = ['install', '-y', '--no-install-recommends', ...packages]
  const installCommand = `sudo apt-get update && sudo apt-get ${installArgs.join(' ')}`
  const missing = commands.filter(t => !onPath(t))
  if (missing.length === 0) return
  const what = missing.join(' and ')
  const root = process.getuid?.() === 0
  const sudo =
    !root && onPath('sudo') && spawnSync('sudo', ['-n', 'true'], { stdio: 'ignore' }).status === 0
  if (options.install === false || !onPath('apt-get') || (!root && !sudo)) {
    throw new Error(`${what} not found on PATH; install them first: ${installCommand}`)
  }
  console.log(`Installing ${packages.join(' and ')} with apt-get...`)
  const run = args =>
    execFileSync(root ? args[0] : 'sudo', root ? args.slice(1) : ['-n', ...args], {
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
    })
  try {
    run(['apt-get', 'update', '-qq'])
    run(['apt-get', '-qq', ...installArgs])
  } catch (error) {
    throw new Error(`installing ${what} failed (${error.message}); run: ${installCommand}`, {
      cause: error
    })
  }
  const still = commands.filter(t => !onPath(t))
  if (still.length > 0) {
    throw new Error(
      `${still.join(' and ')} still not on PATH after apt-get; run: ${installCommand}`
    )
  }
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.unref()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address()
      server.close(() => resolve(port))
    })
  })
}

// Registries never outlive us: on Linux each one runs under
// `setpriv --pdeathsig KILL`, so the kernel kills it when our process dies for
// whatever reason (a jest worker torn down, SIGKILL, a crash); 'exit' is the
// fallback elsewhere. (Under jest, `process` is a copy whose 'exit' never fires.)
const PDEATHSIG = process.platform === 'linux' && onPath('setpriv')
const live = new Set()
const scratch = new Set()
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL')
  for (const dir of scratch) fs.rmSync(dir, { recursive: true, force: true })
})

const QUOTED = String.raw`"((?:[^"\\]|\\.)*)"`
// host ident user [time] "METHOD URI PROTO" status size ["referer" "user-agent"]
const ACCESS = new RegExp(
  String.raw`^\S+ \S+ (?:\S+|${QUOTED}) \[[^\]]*\] "(\S+) (\S+) [^"]*" (\d{3}) (?:\S+)(?: ${QUOTED} ${QUOTED})?\s*$`
)

/** One access-log line → { method, path, status, userAgent }, or undefined. */
export function parseAccessLine(line) {
  const m = ACCESS.exec(line)
  if (!m) return undefined
  return {
    method: m[2],
    path: m[3],
    status: Number(m[4]),
    userAgent: (m[6] ?? '').replace(/\\(.)/g, '$1')
  }
}

function wait(ms) {
  return new Promise(resolve => setTimeout(resolve, ms))
}

function exited(child) {
  return child.done === true || child.exitCode !== null || child.signalCode !== null
}

/** Start a registry on 127.0.0.1; resolves once it answers GET /v2/. */
export async function startRegistry(options = {}) {
  const configDir = fs.mkdtempSync(path.join(os.tmpdir(), 'image-mirror-registry-config-'))
  scratch.add(configDir)
  let dir = options.dir
  if (dir === undefined) {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'image-mirror-registry-'))
    scratch.add(dir)
  } else {
    fs.mkdirSync(dir, { recursive: true })
  }
  // Temporary directories would outlive a jest worker (no 'exit' there): a
  // janitor, deaf to ^C, removes them once its stdin closes, i.e. when we are gone.
  const owned = options.dir === undefined ? [configDir, dir] : [configDir]
  if (process.platform !== 'win32') {
    const script = 'trap "" INT HUP TERM; cat >/dev/null; rm -rf -- "$@"'
    const janitor = spawn('sh', ['-c', script, 'sh', ...owned], {
      stdio: ['pipe', 'ignore', 'ignore']
    })
    janitor.on('error', () => {})
    janitor.stdin.on('error', () => {})
    janitor.unref()
    janitor.stdin.unref?.()
  }
  let htpasswd
  if (options.auth) {
    // distribution 2.8 accepts bcrypt htpasswd entries only.
    htpasswd = path.join(configDir, 'htpasswd')
    const hash = bcrypt.hashSync(options.auth.password, 8)
    fs.writeFileSync(htpasswd, `${options.auth.username}:${hash}\n`)
  }
  const config = path.join(configDir, 'config.yml')
  const writeConfig = port => {
    const lines = [
      'version: 0.1',
      'log:',
      // warn: no per-request logrus lines; the access log is separate and stays on.
      '  level: warn',
      '  accesslog:',
      '    disabled: false',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${JSON.stringify(dir)}`,
      '  delete:',
      '    enabled: true',
      'http:',
      `  addr: 127.0.0.1:${port}`,
      // Without a secret 2.8 invents one per start and warns; fixed is quieter.
      `  secret: ${JSON.stringify(randomBytes(16).toString('hex'))}`
    ]
    if (htpasswd) {
      lines.push('auth:', '  htpasswd:', '    realm: image-mirror-local')
      lines.push(`    path: ${JSON.stringify(htpasswd)}`)
    }
    fs.writeFileSync(config, `${lines.join('\n')}\n`)
  }

  let port
  let child
  let log = ''
  let entries = []
  let waiters = []
  let probeAgent = ''
  let probeSeen = false

  const onLine = line => {
    const entry = parseAccessLine(line)
    if (!entry) return
    if (entry.userAgent === probeAgent) {
      probeSeen = true
      return
    }
    entries.push(entry)
    for (const waiter of [...waiters]) waiter(entry)
  }
  const lineReader = () => {
    let pending = ''
    return {
      push(chunk) {
        log += chunk
        pending += chunk
        const lines = pending.split('\n')
        pending = lines.pop() ?? ''
        for (const line of lines) onLine(line)
      },
      flush() {
        if (pending) onLine(pending)
        pending = ''
      }
    }
  }

  // The registry writes its log to a file, read here on demand (drain), never to a pipe: a
  // pipe fills while this process's event loop is blocked (spawnSync of the action or of a
  // tool under test), and a registry blocked writing its access log stalls everything.
  let drain = () => {}
  let launches = 0
  async function launch() {
    writeConfig(port)
    const command = PDEATHSIG
      ? ['setpriv', ['--pdeathsig', 'KILL', '--', 'docker-registry', 'serve', config]]
      : ['docker-registry', ['serve', config]]
    const logFile = path.join(configDir, `registry-${++launches}.log`)
    const fd = fs.openSync(logFile, 'a')
    let proc
    try {
      proc = spawn(command[0], command[1], { stdio: ['ignore', fd, fd] })
    } finally {
      fs.closeSync(fd)
    }
    child = proc
    live.add(proc)
    const reader = lineReader()
    const decoder = new StringDecoder('utf8')
    const readFd = fs.openSync(logFile, 'r')
    const buffer = Buffer.alloc(64 * 1024)
    let offset = 0
    drain = () => {
      if (proc.drained) return
      for (;;) {
        const n = fs.readSync(readFd, buffer, 0, buffer.length, offset)
        if (n <= 0) break
        offset += n
        reader.push(decoder.write(buffer.subarray(0, n)))
      }
    }
    proc.exited = new Promise(resolve => {
      const done = () => {
        if (proc.done) return
        proc.done = true
        drain()
        reader.push(decoder.end())
        reader.flush()
        proc.drained = true
        fs.closeSync(readFd)
        live.delete(proc)
        resolve()
      }
      // 'error': could not spawn (or signal); 'close': exited, its log file complete.
      proc.once('error', error => {
        log += `${error.message}\n`
        if (proc.pid === undefined) done()
      })
      proc.once('close', done)
    })
    // Nothing here may keep a script alive on its own; stop() re-refs while it waits.
    proc.unref()

    // Ready when *our* process logs our probe (another process could hold the port).
    probeAgent = `local-registry-probe/${randomBytes(6).toString('hex')}`
    probeSeen = false
    const deadline = Date.now() + START_TIMEOUT_MS
    while (Date.now() < deadline) {
      if (exited(proc)) return false
      try {
        const res = await fetch(`http://127.0.0.1:${port}/v2/`, {
          headers: { 'user-agent': probeAgent },
          // Something else on the port may accept and never answer.
          signal: AbortSignal.timeout(1000)
        })
        await res.arrayBuffer()
        if (res.status === 200 || res.status === 401) {
          for (let i = 0; i < 40 && (drain(), !probeSeen) && !exited(proc); i++) await wait(25)
          if (probeSeen) return true
        }
      } catch {
        // not listening yet
      }
      await wait(50)
    }
    proc.kill('SIGKILL')
    await proc.exited
    throw new Error(`docker-registry did not answer on 127.0.0.1:${port} within 15 s:\n${log}`)
  }

  async function halt(proc, signal) {
    if (!proc || exited(proc)) return proc?.exited
    proc.ref()
    proc.kill(signal)
    const timer = setTimeout(() => proc.kill('SIGKILL'), STOP_TIMEOUT_MS)
    await proc.exited
    clearTimeout(timer)
  }

  // A free port can be taken between probing it and the registry binding it:
  // try a few when the port is ours to choose.
  for (let attempt = 1; ; attempt++) {
    port = options.port ?? (await freePort())
    const mark = log.length
    if (await launch()) break
    await child.exited
    const inUse = /address already in use/i.test(log.slice(mark))
    if (options.port !== undefined || !inUse || attempt >= 5) {
      throw new Error(`docker-registry exited at start (port ${port}):\n${log}`)
    }
    log += `(port ${port} was taken; trying another)\n`
  }
  entries = []

  return {
    host: `127.0.0.1:${port}`,
    port,
    dir,
    requests: () => {
      drain()
      return entries.map(e => ({ ...e }))
    },
    clearLog: () => {
      drain()
      entries = []
    },
    waitForRequest: (predicate, timeoutMs = 30_000) =>
      new Promise((resolve, reject) => {
        // Each entry is offered to the predicate at most once (it may count).
        drain()
        if (entries.some(e => predicate(e))) return resolve()
        const waiter = entry => {
          if (!predicate(entry)) return
          clearTimeout(timer)
          clearInterval(poll)
          waiters = waiters.filter(w => w !== waiter)
          resolve()
        }
        // The log is a file: read what it has gained, often, while someone waits.
        const poll = setInterval(() => drain(), 10)
        const timer = setTimeout(() => {
          clearInterval(poll)
          drain()
          waiters = waiters.filter(w => w !== waiter)
          const seen = entries.map(e => `${e.method} ${e.path} ${e.status}`).join('\n  ')
          reject(new Error(`no matching request within ${timeoutMs} ms; requests seen:\n  ${seen}`))
        }, timeoutMs)
        waiters.push(waiter)
      }),
    stop: () => halt(child, 'SIGTERM'),
    kill: () => {
      if (child && !exited(child)) child.kill('SIGKILL')
    },
    restart: async () => {
      await halt(child, 'SIGTERM')
      if (!(await launch())) {
        throw new Error(`docker-registry exited at restart (port ${port}):\n${log}`)
      }
    },
    rawLog: () => {
      drain()
      return log
    }
  }
}

const REFREG = { name: 'refreg', dir: path.join(ROOT, '__fixtures__', 'refreg') }

/** Build the referrers registry (cached in .tools/); throws with GO_HELP without Go. */
export function buildReferrersRegistry({ log } = {}) {
  return buildLocalGoTool({ ...REFREG, log })
}

/** Whether the referrers registry is built (the tests that need it can run). */
export function referrersRegistryBuilt() {
  return builtLocalGoTool(REFREG) !== undefined
}

/**
 * A registry with the OCI referrers API (__fixtures__/refreg: go-containerregistry's
 * in-memory registry, referrers on), built with Go on first use. docker-registry has no such
 * API, so this is the other kind of target and source. In memory: a stop loses its content.
 */
export async function startReferrersRegistry({ log } = {}) {
  const binary = buildReferrersRegistry({ log })
  const child = spawn(binary, ['-address', '127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  const host = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`refreg did not start: ${output}`)), 30_000)
    const read = chunk => {
      output += chunk.toString()
      const match = /listening on (127\.0\.0\.1:\d+)/.exec(output)
      if (match) {
        clearTimeout(timer)
        resolve(match[1])
      }
    }
    child.stdout.on('data', read)
    child.stderr.on('data', read)
    child.on('exit', code => {
      clearTimeout(timer)
      reject(new Error(`refreg exited (${code}): ${output}`))
    })
  })
  child.removeAllListeners('exit')
  return {
    host,
    port: Number(host.split(':')[1]),
    stop: () =>
      new Promise(resolve => {
        if (child.exitCode !== null) return resolve()
        child.once('exit', () => resolve())
        child.kill('SIGTERM')
      })
  }
}
