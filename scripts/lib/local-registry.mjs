// Real registries for the end-to-end tests and `npm run demo`: Debian's
// docker-registry (CNCF distribution 2.8) on a free loopback port, with an
// optional htpasswd Basic auth and its access log parsed. Plain JavaScript so
// the demo runs it without a build step; types in local-registry.d.mts.
import { execFileSync, spawn, spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as net from 'node:net'
import * as os from 'node:os'
import * as path from 'node:path'
import bcrypt from 'bcryptjs'

const TOOLS = ['docker-registry', 'skopeo']
const INSTALL = 'apt-get install -y --no-install-recommends docker-registry skopeo'

function onPath(tool) {
  return spawnSync('sh', ['-c', 'command -v "$1"', 'sh', tool], { stdio: 'ignore' }).status === 0
}

/** Make sure docker-registry and skopeo are installed; install them with apt-get when we may. */
export async function ensureTools(options = {}) {
  const missing = TOOLS.filter(t => !onPath(t))
  if (missing.length === 0) return
  const root = process.getuid?.() === 0
  const sudo = !root && spawnSync('sudo', ['-n', 'true'], { stdio: 'ignore' }).status === 0
  if (options.install === false || !onPath('apt-get') || (!root && !sudo)) {
    throw new Error(
      `${missing.join(' and ')} not found on PATH; install them first: sudo ${INSTALL}`
    )
  }
  console.log(`Installing ${missing.join(' and ')} with apt-get (needed to run local registries)...`)
  const run = args =>
    execFileSync(root ? args[0] : 'sudo', root ? args.slice(1) : args, {
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
    })
  run(['apt-get', 'update', '-qq'])
  run(['apt-get', 'install', '-y', '-qq', '--no-install-recommends', ...TOOLS])
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address()
      server.close(() => resolve(port))
    })
  })
}

const live = new Set()
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL')
})

// Combined log format: 127.0.0.1 - user [date] "HEAD /v2/x/manifests/1 HTTP/1.1" 200 0 "" "ua"
const ACCESS = /^\S+ \S+ \S+ \[[^\]]+\] "([A-Z]+) (\S+) HTTP\/[\d.]+" (\d{3}) /

/** Start a registry on 127.0.0.1; resolves once it answers /v2/. */
export async function startRegistry(options = {}) {
  const port = options.port ?? (await freePort())
  const dir = options.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'image-mirror-registry-'))
  const configDir = fs.mkdtempSync(path.join(os.tmpdir(), 'image-mirror-registry-config-'))
  const lines = [
    'version: 0.1',
    'log:',
    '  level: warn',
    '  accesslog:',
    '    disabled: false',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${JSON.stringify(path.join(dir, 'data'))}`,
    '  delete:',
    '    enabled: true',
    'http:',
    `  addr: 127.0.0.1:${port}`,
    `  secret: ${JSON.stringify(`local-${port}`)}`
  ]
  if (options.auth) {
    // distribution reads bcrypt entries only.
    const htpasswd = path.join(configDir, 'htpasswd')
    const hash = bcrypt.hashSync(options.auth.password, 8)
    fs.writeFileSync(htpasswd, `${options.auth.username}:${hash}\n`)
    lines.push('auth:', '  htpasswd:', '    realm: image-mirror-test', `    path: ${JSON.stringify(htpasswd)}`)
  }
  const config = path.join(configDir, 'config.yml')
  fs.writeFileSync(config, `${lines.join('\n')}\n`)

  let child
  let log = ''
  let entries = []
  let waiters = []
  const record = text => {
    log += text
    for (const line of text.split('\n')) {
      const m = ACCESS.exec(line)
      if (!m) continue
      const entry = { method: m[1], path: m[2], status: Number(m[3]) }
      entries.push(entry)
      waiters = waiters.filter(w => !w(entry))
    }
  }

  async function launch() {
    child = spawn('docker-registry', ['serve', config], { stdio: ['ignore', 'pipe', 'pipe'] })
    live.add(child)
    let pending = ''
    const onData = chunk => {
      pending += chunk.toString()
      const cut = pending.lastIndexOf('\n')
      if (cut >= 0) {
        record(pending.slice(0, cut + 1))
        pending = pending.slice(cut + 1)
      }
    }
    child.stdout.on('data', onData)
    child.stderr.on('data', onData)
    const exited = new Promise(resolve => child.once('exit', resolve))
    child.exited = exited
    exited.then(() => live.delete(child))
    const deadline = Date.now() + 15_000
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`docker-registry exited at start:\n${log}`)
      try {
        const res = await fetch(`http://127.0.0.1:${port}/v2/`)
        if (res.status === 200 || res.status === 401) return
      } catch {
        // not listening yet
      }
      await new Promise(r => setTimeout(r, 50))
    }
    child.kill('SIGKILL')
    throw new Error(`docker-registry did not answer on 127.0.0.1:${port} within 15 s:\n${log}`)
  }

  await launch()
  return {
    host: `127.0.0.1:${port}`,
    port,
    dir,
    requests: () => entries.slice(),
    clearLog: () => {
      entries = []
    },
    waitForRequest: (predicate, timeoutMs = 30_000) =>
      new Promise((resolve, reject) => {
        if (entries.some(e => predicate(e))) return resolve()
        const timer = setTimeout(
          () => reject(new Error(`no matching request within ${timeoutMs} ms`)),
          timeoutMs
        )
        waiters.push(entry => {
          if (!predicate(entry)) return false
          clearTimeout(timer)
          resolve()
          return true
        })
      }),
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return
      child.kill('SIGTERM')
      await child.exited
    },
    kill: () => {
      child.kill('SIGKILL')
    },
    restart: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM')
        await child.exited
      }
      await launch()
    },
    rawLog: () => log
  }
}
