/**
 * The engines' argument lists (checked exactly; the end-to-end suites run
 * real crane and skopeo), how a tool's failure is reported, and how often
 * crane is run again for a failure it had already retried itself.
 */
import { describe, expect, it } from '@jest/globals'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { craneArgs, CraneEngine, craneInsecurity, CRANE_TRIES } from '../src/copy/engines/crane.js'
import {
  EngineError,
  lastLines,
  namesCredentialHelper,
  runTool,
  toolEnvironment,
  type CopyRequest
} from '../src/copy/engines/engine.js'
import { skopeoArgs } from '../src/copy/engines/skopeo.js'
import { lazyEngine } from '../src/copy/engines/create.js'

const D = `sha256:${'b'.repeat(64)}`
const base: CopyRequest = {
  source: `docker.io/library/nginx@${D}`,
  target: 'registry.example.com/mirror/docker.io/library/nginx:1.27',
  platforms: 'all',
  insecureSource: false,
  insecureTarget: false
}

describe('crane arguments', () => {
  it('copies the whole index for platforms: all', () => {
    expect(craneArgs(base)).toEqual(['copy', base.source, base.target])
  })
  it('copies one platform with --platform', () => {
    expect(craneArgs({ ...base, platforms: ['linux/arm64'] })).toEqual([
      'copy',
      base.source,
      base.target,
      '--platform',
      'linux/arm64'
    ])
  })
  it('filters an index for several platforms and tags the result on the target', () => {
    expect(craneArgs({ ...base, platforms: ['linux/amd64', 'linux/arm/v7'] })).toEqual([
      'index',
      'filter',
      base.source,
      '--platform',
      'linux/amd64',
      '--platform',
      'linux/arm/v7',
      '--tag',
      base.target
    ])
  })
  it('adds --insecure when both sides are listed, or only the source is and crane needs it', () => {
    expect(craneArgs({ ...base, insecureSource: true, insecureTarget: true })).toContain(
      '--insecure'
    )
    // The target listed, the source a public registry: crane's one flag reaches the source.
    expect(craneArgs({ ...base, insecureTarget: true })).toContain('--insecure')
    expect(craneArgs(base)).not.toContain('--insecure')
  })

  it('needs no --insecure for a listed registry crane speaks plain HTTP to on its own', () => {
    const local = (host: string): CopyRequest => ({
      ...base,
      source: `${host}/team/app@${D}`,
      insecureSource: true
    })
    for (const host of [
      '127.0.0.1:5000',
      'localhost:5000',
      'registry.localhost',
      '10.1.2.3:5000',
      '172.16.0.1',
      '172.31.255.1:443',
      '192.168.1.10:5000',
      '[::1]:5000'
    ]) {
      expect([host, craneInsecurity(local(host))]).toEqual([host, { flag: false }])
    }
    for (const host of [
      '172.32.0.1:5000',
      '127.0.0.2:5000',
      'registry.internal:5000',
      '11.0.0.1'
    ]) {
      expect([host, craneInsecurity(local(host)).refuse]).toEqual([host, expect.any(String)])
    }
  })
})

describe('skopeo arguments', () => {
  it('copies all platforms keeping digests, with the private authfile', () => {
    expect(skopeoArgs(base, '/tmp/auth/config.json')).toEqual([
      'copy',
      '--authfile',
      '/tmp/auth/config.json',
      '--retry-times',
      '0',
      '--all',
      '--preserve-digests',
      `docker://${base.source}`,
      `docker://${base.target}`
    ])
  })
  it('picks one platform with --override-os/arch/variant', () => {
    const args = skopeoArgs({ ...base, platforms: ['linux/arm/v7'] }, '/a')
    expect(args).toEqual(
      expect.arrayContaining([
        '--override-os',
        'linux',
        '--override-arch',
        'arm',
        '--override-variant',
        'v7'
      ])
    )
    expect(args).not.toContain('--all')
  })
  it('turns TLS verification off only for insecure sides, and passes a policy when given', () => {
    const args = skopeoArgs({ ...base, insecureTarget: true }, '/a', '/p/policy.json')
    expect(args).toContain('--dest-tls-verify=false')
    expect(args).not.toContain('--src-tls-verify=false')
    expect(args).toEqual(expect.arrayContaining(['--policy', '/p/policy.json']))
  })
  it('refuses several platforms (skopeo cannot filter an index)', () => {
    expect(() => skopeoArgs({ ...base, platforms: ['linux/amd64', 'linux/arm64'] }, '/a')).toThrow(
      /engine: crane/
    )
  })
})

describe('runTool', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'engine-test-'))
  const tool = path.join(dir, 'tool.sh')
  fs.writeFileSync(
    tool,
    '#!/bin/sh\necho "progress line" >&2\necho "$1" >&2\necho "MANIFEST_UNKNOWN: manifest unknown" >&2\nexit 1\n',
    { mode: 0o755 }
  )

  it('passes arguments as an array (no shell) and reports the last stderr lines as permanent', async () => {
    const error = await runTool('tool', tool, ['$(touch /tmp/pwned); `id`'], {}).catch(
      (e: unknown) => e
    )
    expect(error).toBeInstanceOf(EngineError)
    expect((error as EngineError).message).toContain('$(touch /tmp/pwned); `id`')
    expect((error as EngineError).message).toMatch(/exited with 1/)
    expect((error as EngineError).permanent).toBe(true)
  })

  it('calls a transient failure transient', async () => {
    const flaky = path.join(dir, 'flaky.sh')
    fs.writeFileSync(flaky, '#!/bin/sh\necho "connection reset by peer" >&2\nexit 1\n', {
      mode: 0o755
    })
    const error = (await runTool('flaky', flaky, [], {}).catch((e: unknown) => e)) as EngineError
    expect(error.permanent).toBe(false)
  })

  it('says when the tool cannot be started', async () => {
    await expect(runTool('x', path.join(dir, 'missing'), [], {})).rejects.toThrow(
      /could not be started/
    )
  })

  it('keeps the last lines, bounded', () => {
    expect(lastLines('a\n\nb\nc\nd\n')).toBe('b | c | d')
    expect(lastLines('x'.repeat(2000)).length).toBe(600)
  })
})

describe('toolEnvironment', () => {
  const job = {
    PATH: '/usr/bin:/bin',
    HOME: '/home/runner',
    LANG: 'C.UTF-8',
    HTTPS_PROXY: 'http://proxy:3128',
    https_proxy: 'http://proxy:3128',
    no_proxy: 'localhost',
    ALL_PROXY: 'socks5://proxy:1080',
    SSL_CERT_FILE: '/etc/ssl/corp.pem',
    XDG_RUNTIME_DIR: '/run/user/1001',
    CONTAINERS_REGISTRIES_CONF: '/etc/containers/registries.conf',
    INPUT_PASSWORD: 'hunter2',
    'INPUT_GITHUB-TOKEN': 'ghs_input',
    GITHUB_TOKEN: 'ghs_env',
    ACTIONS_RUNTIME_TOKEN: 'runtime',
    ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'oidc',
    RUNNER_TEMP: '/home/runner/work/_temp',
    AWS_SECRET_ACCESS_KEY: 'aws-secret',
    GOOGLE_APPLICATION_CREDENTIALS: '/tmp/gcp.json',
    NPM_TOKEN: 'npm',
    UNSET: undefined
  }

  it('keeps what the tools need, drops the job secrets, and adds what the engine passes', () => {
    expect(toolEnvironment({ DOCKER_CONFIG: '/tmp/private' }, job)).toEqual({
      PATH: '/usr/bin:/bin',
      HOME: '/home/runner',
      LANG: 'C.UTF-8',
      HTTPS_PROXY: 'http://proxy:3128',
      https_proxy: 'http://proxy:3128',
      no_proxy: 'localhost',
      ALL_PROXY: 'socks5://proxy:1080',
      SSL_CERT_FILE: '/etc/ssl/corp.pem',
      XDG_RUNTIME_DIR: '/run/user/1001',
      CONTAINERS_REGISTRIES_CONF: '/etc/containers/registries.conf',
      DOCKER_CONFIG: '/tmp/private'
    })
  })

  it("passes the clouds' variables only when the docker config names a credential helper", () => {
    const env = toolEnvironment({}, job, { credentialHelpers: true })
    expect(env).toMatchObject({
      AWS_SECRET_ACCESS_KEY: 'aws-secret',
      GOOGLE_APPLICATION_CREDENTIALS: '/tmp/gcp.json'
    })
    for (const name of Object.keys(env))
      expect(name).not.toMatch(/^(INPUT_|GITHUB_|ACTIONS_|RUNNER_)/)
    expect(env.NPM_TOKEN).toBeUndefined()
  })

  it('matches names as Windows spells them', () => {
    expect(
      toolEnvironment({}, { Path: 'C:\\bin', SystemRoot: 'C:\\Windows', GITHUB_TOKEN: 'x' })
    ).toEqual({ Path: 'C:\\bin', SystemRoot: 'C:\\Windows' })
  })

  it('reads whether a docker config names a helper', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'engine-env-'))
    const file = path.join(dir, 'config.json')
    fs.writeFileSync(file, JSON.stringify({ auths: { 'ghcr.io': { auth: 'eDp5' } } }))
    expect(namesCredentialHelper(file)).toBe(false)
    fs.writeFileSync(
      file,
      JSON.stringify({ credHelpers: { '1.dkr.ecr.us-east-1.amazonaws.com': 'ecr-login' } })
    )
    expect(namesCredentialHelper(file)).toBe(true)
    fs.writeFileSync(file, JSON.stringify({ credsStore: 'desktop' }))
    expect(namesCredentialHelper(file)).toBe(true)
    expect(namesCredentialHelper(path.join(dir, 'missing.json'))).toBe(false)
  })

  it('is what runTool gives the tool', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'engine-env-'))
    const tool = path.join(dir, 'env.sh')
    const out = path.join(dir, 'env.txt')
    fs.writeFileSync(tool, '#!/bin/sh\nenv > "$1"\n', { mode: 0o755 })
    const saved = { ...process.env }
    Object.assign(process.env, {
      INPUT_PASSWORD: 'hunter2',
      ACTIONS_RUNTIME_TOKEN: 'runtime',
      GITHUB_TOKEN: 'ghs_env',
      HTTPS_PROXY: 'http://proxy.example:3128'
    })
    try {
      await runTool('env', tool, [out], { DOCKER_CONFIG: '/tmp/private' })
    } finally {
      for (const name of [
        'INPUT_PASSWORD',
        'ACTIONS_RUNTIME_TOKEN',
        'GITHUB_TOKEN',
        'HTTPS_PROXY'
      ]) {
        if (saved[name] === undefined) delete process.env[name]
        else process.env[name] = saved[name]
      }
    }
    const seen = fs.readFileSync(out, 'utf8')
    expect(seen).toContain('HTTPS_PROXY=http://proxy.example:3128')
    expect(seen).toContain('DOCKER_CONFIG=/tmp/private')
    expect(seen).toContain(`PATH=${process.env.PATH}`)
    expect(seen).not.toMatch(/hunter2|runtime|ghs_env/)
    expect(seen).not.toMatch(/^(INPUT_|GITHUB_|ACTIONS_|RUNNER_)/m)
  })
})

describe('a failure crane had retried itself', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'crane-engine-'))
  const T = '2026/12/01 02:32:36'
  const URL = `http://127.0.0.1:44843/v2/library/nginx/manifests/${D}`
  /** As crane v0.21.9 ended on a manifest rate limited every time (faults.e2e). */
  const RATE_LIMITED = [
    `${T} Copying from docker.io/library/nginx@${D} to registry.example.com/mirror/nginx:1.27`,
    ...Array.from(
      { length: CRANE_TRIES },
      () => `${T} retrying GET ${URL}: TOOMANYREQUESTS: slow down`
    ),
    `Error: fetching "docker.io/library/nginx@${D}": GET ${URL}: TOOMANYREQUESTS: slow down`
  ].join('\n')
  const REFUSED = `Error: Head "${URL}": dial tcp 127.0.0.1:44843: connect: connection refused`

  /** A stand-in crane: prints `stderr` and fails, or succeeds while the file `ok` exists. */
  function fakeCrane(name: string, stderr: string): { binary: string; ok: (ok: boolean) => void } {
    const home = fs.mkdtempSync(path.join(dir, `${name}-`))
    fs.writeFileSync(path.join(home, 'stderr'), `${stderr}\n`)
    const binary = path.join(home, 'crane')
    fs.writeFileSync(
      binary,
      `#!/bin/sh\n[ -e "${home}/ok" ] && exit 0\ncat "${home}/stderr" >&2\nexit 1\n`,
      { mode: 0o755 }
    )
    return {
      binary,
      ok: ok =>
        ok ? fs.writeFileSync(path.join(home, 'ok'), '') : fs.rmSync(path.join(home, 'ok'))
    }
  }

  const copy = (engine: CraneEngine, request: CopyRequest) =>
    engine.copy(request).then(
      () => undefined,
      (e: unknown) => e as EngineError
    )

  it('refuses a copy whose listed source would give up the target, and warns once about a source given up', async () => {
    const crane = fakeCrane('ok', '')
    crane.ok(true)
    const warnings: string[] = []
    const engine = new CraneEngine(crane.binary, dir, m => warnings.push(m))
    const internal = { ...base, source: `registry.internal:5000/team/app@${D}` }
    const refused = await copy(engine, { ...internal, insecureSource: true })
    expect(refused?.permanent).toBe(true)
    expect(refused?.message).toBe(
      "engine crane cannot copy to registry.example.com this way: registry.internal:5000 is in insecure-registries, and crane's --insecure covers both registries of a copy: it would allow plain HTTP to registry.example.com and not check its TLS certificate, and registry.example.com receives the credentials. Use engine: skopeo (it sets TLS per side), or list registry.example.com in insecure-registries too if that is meant"
    )
    expect(await copy(engine, { ...internal, insecureSource: true, insecureTarget: true })).toBe(
      undefined
    )
    await engine.copy({ ...base, insecureTarget: true })
    await engine.copy({ ...base, insecureTarget: true, target: `${base.target}-2` })
    expect(warnings).toEqual([
      "engine crane: registry.example.com is in insecure-registries, and crane's --insecure covers both registries of a copy: it would allow plain HTTP to docker.io and not check its TLS certificate either. What is read is still checked against its digest, but a login for docker.io in the docker config could be sent over plain HTTP. Use engine: skopeo to keep docker.io checked (it sets TLS per side), or list it in insecure-registries too if that is meant."
    ])
  })

  it('marks a failure crane had already retried itself, and only that', async () => {
    const limited = await copy(
      new CraneEngine(fakeCrane('limited', RATE_LIMITED).binary, dir),
      base
    )
    expect(limited).toBeInstanceOf(EngineError)
    expect(limited?.message).toMatch(
      /^a registry refused with 429 Too Many Requests \(rate limited\) \(crane exited with 1: fetching/
    )
    expect([limited?.permanent, limited?.retried]).toEqual([false, true])
    const refused = await copy(new CraneEngine(fakeCrane('refused', REFUSED).binary, dir), base)
    expect(refused?.message).toMatch(/^a registry could not be reached \(connection refused\)/)
    expect([refused?.permanent, refused?.retried]).toEqual([false, false])
  })
})

describe('lazyEngine', () => {
  const request: CopyRequest = {
    source: 'src.io/a@sha256:' + 'a'.repeat(64),
    target: 'dst.io/m/a:1',
    platforms: 'all',
    insecureSource: false,
    insecureTarget: false
  }

  it('makes the engine on the first copy, once, and passes report and dispose on', async () => {
    let made = 0
    let disposed = 0
    const copied: string[] = []
    const engine = lazyEngine('fake', async () => {
      made++
      return {
        name: 'fake',
        copy: async (r: CopyRequest) => void copied.push(r.target),
        report: () => 'moved',
        dispose: () => void disposed++
      }
    })
    expect(made).toBe(0)
    expect(engine.report?.()).toBeUndefined()
    await Promise.all([engine.copy(request), engine.copy(request)])
    expect(made).toBe(1)
    expect(copied).toEqual(['dst.io/m/a:1', 'dst.io/m/a:1'])
    expect(engine.report?.()).toBe('moved')
    engine.dispose?.()
    expect(disposed).toBe(1)
  })

  it('an engine that cannot be made fails every copy for good, saying why, and is tried once', async () => {
    let tries = 0
    const engine = lazyEngine('crane', async () => {
      tries++
      throw new Error('checksum mismatch')
    })
    for (let i = 0; i < 2; i++) {
      const error = await engine.copy(request).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(EngineError)
      expect((error as EngineError).message).toBe(
        'engine crane is not available: checksum mismatch'
      )
      expect((error as EngineError).permanent).toBe(true)
    }
    expect(tries).toBe(1)
  })
})
