/**
 * End to end, with real parts only: the bundled action writes client configs
 * for a mirror on a local docker-registry, and real clients are given nothing
 * but those files: skopeo (`--registries-conf`) and containerd's ctr
 * (`--hosts-dir`, against a containerd daemon of our own, stopped at the end).
 *
 * Docker Hub and quay.io cannot be reached here, so what a sync from them
 * would have put in the mirror is pushed there directly; a third source
 * registry is a local one, really synced by the action, and it also shows the
 * fallback: an image the mirror lacks comes from the source.
 *
 * All of it once per engine (crane installed by the action from a loopback
 * release, and skopeo), each with fresh registries and its own containerd.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { runActionAsync, type ActionRun } from '../__fixtures__/action-runner.js'
import { describeEngines, engine } from '../__fixtures__/engines.js'
import {
  ensurePackages,
  ensureTools,
  startRegistry,
  type AccessEntry,
  type LocalRegistry
} from '../scripts/lib/local-registry.mjs'
import { pushImage, type PushedImage } from '../scripts/lib/seed-images.mjs'

const PLATFORMS = ['linux/amd64', 'linux/arm64']

let mirror: LocalRegistry
let source: LocalRegistry
let sync: ActionRun
let configDir: string
const images: Record<string, PushedImage> = {}

/** Where the mirror keeps a source registry's repositories under the default template. */
const prefixOf = (registry: string) => `mirror/${registry.replace(':', '_')}`

function manifestRequests(registry: LocalRegistry, repository: string): AccessEntry[] {
  return registry.requests().filter(e => e.path.startsWith(`/v2/${repository}/manifests/`))
}

/**
 * A registry logs a request after answering it: send a marker request and
 * wait for its line, so every request a client made before is in the log.
 */
async function settle(...registries: LocalRegistry[]): Promise<void> {
  for (const registry of registries) {
    const marker = `/v2/settle-${randomBytes(4).toString('hex')}/tags/list`
    await (await fetch(`http://${registry.host}${marker}`)).arrayBuffer()
    await registry.waitForRequest(e => e.path === marker, 5_000)
  }
}

/** Run a client without blocking the event loop (the registries' logs are read meanwhile). */
function execute(
  command: string,
  args: string[]
): Promise<{ ok: boolean; stdout: string; stderr: string }> {
  return new Promise(resolve => {
    execFile(command, args, { encoding: 'utf8', timeout: 60_000 }, (error, stdout, stderr) =>
      resolve({ ok: !error, stdout, stderr })
    )
  })
}

/** Summary HTML as a reader sees it: tags kept, entities decoded. */
function readable(html: string): string {
  const named: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"' }
  return html
    .replace(/&#(\d+);/g, (_, code: string) => String.fromCodePoint(Number(code)))
    .replace(/&(amp|lt|gt|quot);/g, (_, name: string) => named[name] as string)
}

// ---- containerd: a private daemon (own root, state and socket), stopped in afterAll ----

let containerd: ChildProcess | undefined
let containerdDir: string
let containerdLog = ''

function ctr(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const run = spawnSync(
    'ctr',
    [
      '--address',
      path.join(containerdDir, 'containerd.sock'),
      '--namespace',
      'image-mirror-test',
      ...args
    ],
    { encoding: 'utf8', timeout: 60_000 }
  )
  return { status: run.status, stdout: run.stdout, stderr: run.stderr }
}

async function startContainerd(): Promise<void> {
  if (process.getuid?.() !== 0) {
    throw new Error('these tests start a containerd daemon of their own, which needs root')
  }
  containerdDir = fs.mkdtempSync(path.join(os.tmpdir(), 'image-mirror-containerd-'))
  const config = path.join(containerdDir, 'config.toml')
  fs.writeFileSync(
    config,
    [
      'version = 2',
      `root = ${JSON.stringify(path.join(containerdDir, 'root'))}`,
      `state = ${JSON.stringify(path.join(containerdDir, 'state'))}`,
      // Only the image service is needed: no CRI, no kubelet plumbing.
      'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
      '[grpc]',
      `  address = ${JSON.stringify(path.join(containerdDir, 'containerd.sock'))}`,
      '[ttrpc]',
      `  address = ${JSON.stringify(path.join(containerdDir, 'containerd.sock.ttrpc'))}`,
      '[debug]',
      '  address = ""',
      '[metrics]',
      '  address = ""'
    ].join('\n')
  )
  // Dies with us whatever happens (pdeathsig), like the registries of the harness.
  containerd = spawn('setpriv', ['--pdeathsig', 'KILL', '--', 'containerd', '--config', config], {
    stdio: ['ignore', 'pipe', 'pipe']
  })
  containerd.stdout?.on('data', (d: Buffer) => (containerdLog += d.toString()))
  containerd.stderr?.on('data', (d: Buffer) => (containerdLog += d.toString()))
  const deadline = Date.now() + 15_000
  while (Date.now() < deadline) {
    if (containerd.exitCode !== null) break
    if (ctr('version').status === 0) return
    await new Promise(resolve => setTimeout(resolve, 100))
  }
  throw new Error(`containerd did not start:\n${containerdLog}`)
}

async function stopContainerd(): Promise<void> {
  const child = containerd
  if (child && child.exitCode === null && child.signalCode === null) {
    const exited = new Promise(resolve => child.once('exit', resolve))
    child.kill('SIGTERM')
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
    await exited
    clearTimeout(timer)
  }
  if (containerdDir) fs.rmSync(containerdDir, { recursive: true, force: true })
}

/** ctr pull with nothing but the generated hosts directory; the image's digest as containerd lists it. */
async function ctrPull(reference: string): Promise<{ digest?: string; log: string }> {
  const hostsDir = path.join(configDir, 'containerd', 'certs.d')
  const pull = await execute('ctr', [
    '--address',
    path.join(containerdDir, 'containerd.sock'),
    '--namespace',
    'image-mirror-test',
    'images',
    'pull',
    '--snapshotter',
    'native',
    '--hosts-dir',
    hostsDir,
    reference
  ])
  await settle(mirror, source)
  const log = `${pull.stdout}\n${pull.stderr}`
  if (!pull.ok) return { log }
  const row = ctr('images', 'ls')
    .stdout.split('\n')
    .map(line => line.trim().split(/\s+/))
    .find(cells => cells[0] === reference)
  return row?.[2] ? { digest: row[2], log } : { log }
}

/** The references skopeo tried, in order, from its debug log (quotes in it are escaped). */
function triedBySkopeo(log: string): string[] {
  return [...log.matchAll(/Trying to access \\"([^"\\]+)\\"/g)].map(m => m[1] as string)
}

/** skopeo given nothing but the generated registries.conf; the digest it resolves. */
async function skopeoDigest(
  reference: string,
  conf = path.join(configDir, 'registries.conf')
): Promise<{ digest?: string; log: string }> {
  const run = await execute('skopeo', [
    '--debug',
    '--registries-conf',
    conf,
    'inspect',
    // Listing tags asks the source registry, mirror or not; the digest is all we need.
    '--no-tags',
    '--format',
    '{{.Digest}}',
    `docker://${reference}`
  ])
  await settle(mirror, source)
  return run.ok ? { digest: run.stdout.trim(), log: run.stderr } : { log: run.stderr }
}

describeEngines('client configs', () => {
  beforeAll(async () => {
    await ensureTools()
    await ensurePackages(['containerd'], { commands: ['containerd', 'ctr'] })
    mirror = await startRegistry()
    source = await startRegistry()
    images.app = await pushImage(source.host, 'team/app', 'v1', {
      seed: 'app',
      platforms: PLATFORMS
    })
    images.other = await pushImage(source.host, 'team/other', 'v2', {
      seed: 'other',
      platforms: PLATFORMS
    })
    // What syncing docker.io and quay.io into this mirror would have written.
    images.alpine = await pushImage(
      mirror.host,
      `${prefixOf('docker.io')}/library/alpine`,
      '3.20',
      {
        seed: 'alpine',
        platforms: PLATFORMS
      }
    )
    images.nodeExporter = await pushImage(
      mirror.host,
      `${prefixOf('quay.io')}/prometheus/node-exporter`,
      'v1.8.2',
      { seed: 'node-exporter', platforms: PLATFORMS }
    )

    sync = await runActionAsync(
      {
        images: `${source.host}/team/app:v1`,
        target: `${mirror.host}/mirror`,
        ...engine.inputs(),
        'insecure-registries': `${source.host}, ${mirror.host}`,
        'config-dir': 'client-configs',
        'config-registries': 'docker.io\nquay.io',
        retries: '0'
      },
      { timeoutMs: 60_000 }
    )
    configDir = path.join(sync.workdir, 'client-configs')
    await startContainerd()
  }, 180_000)

  afterAll(async () => {
    await stopContainerd()
    await mirror?.stop()
    await source?.stop()
    if (sync?.workdir) fs.rmSync(sync.workdir, { recursive: true, force: true })
  })

  describe('the action writes client configs', () => {
    it('copies the image, writes a file per client for the run registry and config-registries, and names them in `configs`', () => {
      expect(sync.stderr).toBe('')
      expect(sync.code).toBe(0)
      expect(sync.outputs.copied).toBe('1')
      const configs = JSON.parse(sync.outputs.configs ?? '{}') as Record<string, string[]>
      const hosts = (registry: string) =>
        path.join(configDir, 'containerd', 'certs.d', registry, 'hosts.toml')
      expect(configs).toEqual({
        containers: [path.join(configDir, 'registries.conf')],
        containerd: [hosts(source.host), hosts('docker.io'), hosts('quay.io')],
        k3s: [path.join(configDir, 'k3s', 'registries.yaml')]
      })
      for (const file of Object.values(configs).flat()) expect(fs.existsSync(file)).toBe(true)
      expect(fs.readFileSync(hosts('docker.io'), 'utf8')).toContain(
        `server = "https://registry-1.docker.io"\n\n[host."http://${mirror.host}/v2/mirror/docker.io"]`
      )
    })

    it('the summary shows how to install each file and why Docker gets no daemon.json', () => {
      const summary = readable(sync.summary)
      expect(summary).toContain('<h3>Client configuration</h3>')
      expect(summary).toMatch(
        /pull <code>127\.0\.0\.1:\d+<\/code>, <code>docker\.io<\/code>, <code>quay\.io<\/code> from the mirror first/
      )
      expect(summary).toContain(
        "sudo install -D -m 644 'client-configs/registries.conf' /etc/containers/registries.conf.d/50-image-mirror.conf"
      )
      expect(summary).toContain(
        "sudo cp -R 'client-configs/containerd/certs.d'/. /etc/containerd/certs.d/"
      )
      expect(summary).toContain(
        "sudo install -D -m 600 'client-configs/k3s/registries.yaml' /etc/rancher/k3s/registries.yaml"
      )
      expect(summary).toMatch(
        /registry-mirrors applies to Docker Hub only.*Here Docker Hub images are mirrored under 127\.0\.0\.1:\d+\/mirror\/docker\.io\/, not at a registry root, so no daemon\.json is written/
      )
    })
  })

  describe('skopeo with only the generated registries.conf', () => {
    it.each([
      ['docker.io/library/alpine:3.20', 'alpine', `${prefixOf('docker.io')}/library/alpine`],
      ['alpine:3.20', 'alpine', `${prefixOf('docker.io')}/library/alpine`],
      [
        'quay.io/prometheus/node-exporter:v1.8.2',
        'nodeExporter',
        `${prefixOf('quay.io')}/prometheus/node-exporter`
      ]
    ])('resolves %s from the mirror', async (reference, key, mirrored) => {
      mirror.clearLog()
      const { digest, log } = await skopeoDigest(reference)
      expect({ digest, log: digest ? '' : log }).toEqual({ digest: images[key]?.digest, log: '' })
      expect(manifestRequests(mirror, mirrored).map(e => e.status)).toContain(200)
      // The mirror answered first: the upstream was never tried.
      expect(triedBySkopeo(log)).toEqual([`${mirror.host}/${mirrored}:${reference.split(':')[1]}`])
    })

    it('resolves an image the action synced from the mirror, without asking its source', async () => {
      mirror.clearLog()
      source.clearLog()
      const { digest } = await skopeoDigest(`${source.host}/team/app:v1`)
      expect(digest).toBe(images.app?.digest)
      expect(
        manifestRequests(mirror, `${prefixOf(source.host)}/team/app`).map(e => e.status)
      ).toContain(200)
      expect(manifestRequests(source, 'team/app')).toEqual([])
    })

    it('falls back to the source for an image the mirror lacks', async () => {
      mirror.clearLog()
      source.clearLog()
      const { digest, log } = await skopeoDigest(`${source.host}/team/other:v2`)
      expect(digest).toBe(images.other?.digest)
      expect(
        manifestRequests(mirror, `${prefixOf(source.host)}/team/other`).map(e => e.status)
      ).toEqual([404])
      expect(manifestRequests(source, 'team/other').map(e => e.status)).toContain(200)
      // skopeo's own account of the order: mirror first, then the source.
      const tried = triedBySkopeo(log)
      expect(tried).toEqual([
        `${mirror.host}/${prefixOf(source.host)}/team/other:v2`,
        `${source.host}/team/other:v2`
      ])
    })
  })

  describe('ctr with only the generated hosts.toml files', () => {
    it.each([
      ['docker.io/library/alpine:3.20', 'alpine', `${prefixOf('docker.io')}/library/alpine`],
      [
        'quay.io/prometheus/node-exporter:v1.8.2',
        'nodeExporter',
        `${prefixOf('quay.io')}/prometheus/node-exporter`
      ]
    ])(
      'pulls %s through the mirror',
      async (reference, key, mirrored) => {
        mirror.clearLog()
        const { digest, log } = await ctrPull(reference)
        expect({ digest, log: digest ? '' : log }).toEqual({ digest: images[key]?.digest, log: '' })
        expect(manifestRequests(mirror, mirrored).map(e => e.status)).toContain(200)
        expect(mirror.requests().some(e => e.path.startsWith(`/v2/${mirrored}/blobs/`))).toBe(true)
        // The mirror answered first: no other host was tried.
        expect(log).not.toMatch(/trying next host/)
      },
      60_000
    )

    it('pulls an image the action synced from the mirror, without asking its source', async () => {
      mirror.clearLog()
      source.clearLog()
      const { digest } = await ctrPull(`${source.host}/team/app:v1`)
      expect(digest).toBe(images.app?.digest)
      expect(
        manifestRequests(mirror, `${prefixOf(source.host)}/team/app`).map(e => e.status)
      ).toContain(200)
      expect(manifestRequests(source, 'team/app')).toEqual([])
    }, 60_000)

    it('falls back to the source for an image the mirror lacks', async () => {
      mirror.clearLog()
      source.clearLog()
      const { digest, log } = await ctrPull(`${source.host}/team/other:v2`)
      expect(digest).toBe(images.other?.digest)
      expect(
        manifestRequests(mirror, `${prefixOf(source.host)}/team/other`).map(e => e.status)
      ).toEqual(expect.arrayContaining([404]))
      expect(
        manifestRequests(mirror, `${prefixOf(source.host)}/team/other`).filter(
          e => e.status !== 404
        )
      ).toEqual([])
      expect(manifestRequests(source, 'team/other').map(e => e.status)).toContain(200)
      expect(log).toMatch(/trying next host - response was http\.StatusNotFound/)
    }, 60_000)
  })

  describe('a template that maps repositories one by one', () => {
    let run: ActionRun

    beforeAll(async () => {
      // Planned only (dry run, no comparison): the configs depend on the plan, not on a copy.
      run = await runActionAsync({
        images: 'docker.io/library/busybox:1.36\nquay.io/prometheus/prometheus:v3.0.0',
        target: `${mirror.host}/flat`,
        ...engine.inputs(),
        rewrite: '{target}/{name}',
        'dry-run': 'true',
        'skip-unchanged': 'false',
        'insecure-registries': mirror.host,
        'config-dir': 'flat-configs'
      })
      await pushImage(mirror.host, 'flat/busybox', '1.36', {
        seed: 'busybox',
        platforms: PLATFORMS
      }).then(pushed => (images.busybox = pushed))
    }, 60_000)

    afterAll(() => {
      if (run?.workdir) fs.rmSync(run.workdir, { recursive: true, force: true })
    })

    it('writes registries.conf and registries.yaml, and says plainly why there is no hosts.toml', () => {
      expect(run.code).toBe(0)
      expect(run.outputs.planned).toBe('2')
      const configs = JSON.parse(run.outputs.configs ?? '{}') as Record<string, string[]>
      expect(Object.keys(configs)).toEqual(['containers', 'k3s'])
      expect(fs.existsSync(path.join(run.workdir, 'flat-configs', 'containerd'))).toBe(false)
      expect(readable(run.summary)).toContain(
        'No hosts.toml for docker.io, quay.io: containerd can only put one path prefix in front of every repository of a registry'
      )
      expect(run.summary).toContain('list the 2 repositories of this run one by one')
    })

    it('and skopeo given that registries.conf resolves the listed repository from the mirror', async () => {
      mirror.clearLog()
      const conf = path.join(run.workdir, 'flat-configs', 'registries.conf')
      const { digest, log } = await skopeoDigest('busybox:1.36', conf)
      expect({ digest, log: digest ? '' : log }).toEqual({
        digest: images.busybox?.digest,
        log: ''
      })
      expect(manifestRequests(mirror, 'flat/busybox').map(e => e.status)).toContain(200)
      expect(triedBySkopeo(log)).toEqual([`${mirror.host}/flat/busybox:1.36`])
    })
  })

  describe('the report job of a matrix run', () => {
    let resultsDir: string
    let report: ActionRun

    beforeAll(async () => {
      images.matrix = await pushImage(source.host, 'team/matrix', 'v1', {
        seed: 'matrix',
        platforms: PLATFORMS
      })
      resultsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'image-mirror-client-configs-results-'))
      const common = {
        target: `${mirror.host}/mirror`,
        ...engine.inputs(),
        'insecure-registries': `${source.host}, ${mirror.host}`,
        'results-dir': resultsDir,
        retries: '0'
      }
      const runs: ActionRun[] = []
      runs.push(
        await runActionAsync({ ...common, mode: 'plan', images: `${source.host}/team/matrix:v1` })
      )
      runs.push(await runActionAsync({ ...common, mode: 'copy', leg: '1' }))
      // The report job is given no target: the plan's is used.
      report = await runActionAsync({
        mode: 'report',
        'results-dir': resultsDir,
        'insecure-registries': `${source.host}, ${mirror.host}`,
        'config-dir': 'configs',
        'config-registries': 'docker.io'
      })
      for (const run of runs) {
        expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' })
        fs.rmSync(run.workdir, { recursive: true, force: true })
      }
    }, 120_000)

    afterAll(() => {
      fs.rmSync(resultsDir, { recursive: true, force: true })
      if (report?.workdir) fs.rmSync(report.workdir, { recursive: true, force: true })
    })

    it('writes the configs for the merged results, and ctr pulls the copied image through them', async () => {
      expect(report.code).toBe(0)
      expect(report.outputs.copied).toBe('1')
      const configs = JSON.parse(report.outputs.configs ?? '{}') as Record<string, string[]>
      const hostsDir = path.join(report.workdir, 'configs', 'containerd', 'certs.d')
      expect(configs.containerd).toEqual([
        path.join(hostsDir, source.host, 'hosts.toml'),
        path.join(hostsDir, 'docker.io', 'hosts.toml')
      ])
      expect(report.summary).toContain('<h3>Client configuration</h3>')

      configDir = path.join(report.workdir, 'configs')
      mirror.clearLog()
      source.clearLog()
      const { digest } = await ctrPull(`${source.host}/team/matrix:v1`)
      expect(digest).toBe(images.matrix?.digest)
      expect(
        manifestRequests(mirror, `${prefixOf(source.host)}/team/matrix`).map(e => e.status)
      ).toContain(200)
      expect(manifestRequests(source, 'team/matrix')).toEqual([])
    }, 60_000)
  })
})
