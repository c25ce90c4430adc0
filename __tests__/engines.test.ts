/**
 * The engines' argument lists (crane cannot be downloaded here, so its
 * command lines are checked exactly), and how a tool's failure is reported.
 */
import { describe, expect, it } from '@jest/globals'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { craneArgs } from '../src/engines/crane.js'
import { EngineError, lastLines, runTool, type CopyRequest } from '../src/engines/engine.js'
import { skopeoArgs } from '../src/engines/skopeo.js'

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
  it('adds --insecure when either side is spoken to over HTTP', () => {
    expect(craneArgs({ ...base, insecureTarget: true })).toContain('--insecure')
    expect(craneArgs({ ...base, insecureSource: true })).toContain('--insecure')
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
