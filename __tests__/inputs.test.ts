import { afterEach, beforeEach, describe, expect, jest, test } from '@jest/globals'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { inputVariable } from '../__fixtures__/action-runner.js'
import {
  DEFAULT_CRANE_URL,
  DEFAULT_CRANE_VERSION,
  getInputs,
  inputsForMode
} from '../src/action/inputs.js'

let workspace: string
const saved = { ...process.env }

function setInputs(inputs: Record<string, string>): void {
  for (const [name, value] of Object.entries(inputs)) process.env[inputVariable(name)] = value
}

beforeEach(() => {
  workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'inputs-'))
  for (const key of Object.keys(process.env)) if (key.startsWith('INPUT_')) delete process.env[key]
  process.env.GITHUB_WORKSPACE = workspace
  process.env.RUNNER_TEMP = path.join(workspace, 'temp')
  // core.setSecret writes ::add-mask:: to stdout; keep the test output clean.
  jest.spyOn(process.stdout, 'write').mockImplementation(() => true)
})

afterEach(() => {
  process.env = { ...saved }
  jest.restoreAllMocks()
})

describe('getInputs', () => {
  test('defaults', () => {
    setInputs({ images: 'nginx', target: 'registry.example.com/mirror/' })
    expect(getInputs()).toEqual({
      mode: 'sync',
      images: 'nginx',
      fromIssue: false,
      target: 'registry.example.com/mirror',
      rewrite: '{target}/{registry}/{repository}',
      platforms: 'all',
      engine: 'crane',
      craneVersion: DEFAULT_CRANE_VERSION,
      craneUrl: DEFAULT_CRANE_URL,
      concurrency: 4,
      maxLegs: 16,
      skipUnchanged: true,
      dryRun: false,
      retries: 3,
      pullReserve: 0,
      failOnDeferred: false,
      referrers: true,
      referrerTypes: [],
      insecureRegistries: [],
      resultsDir: path.join(workspace, 'temp', 'image-mirror'),
      issueMaxImages: 10,
      issuePlatforms: 'any',
      labels: {
        succeeded: 'sync image succeeded',
        failed: 'sync image failure',
        partial: 'sync image partial'
      },
      openMirror: false
    })
  })

  test('crane-version takes a pre-release label (an internal build of a release)', () => {
    setInputs({ images: 'nginx', target: 'localhost:5000', 'crane-version': 'v0.21.9-local' })
    expect(getInputs().craneVersion).toBe('v0.21.9-local')
  })

  test('every input read and normalised', () => {
    fs.writeFileSync(path.join(workspace, 'images.txt'), 'nginx\n')
    fs.writeFileSync(path.join(workspace, 'allows.txt'), 'docker.io/library/nginx\n')
    setInputs({
      mode: 'SYNC',
      'images-file': 'images.txt',
      allowlist: 'allows.txt',
      target: 'LOCALHOST:5000',
      platforms: 'linux/amd64, linux/arm64,linux/amd64\nlinux/arm/v7',
      engine: 'CRANE',
      'crane-version': 'v0.20.2',
      'crane-url': 'http://127.0.0.1:8080/releases/',
      concurrency: '8',
      'max-legs': '256',
      'skip-unchanged': 'FALSE',
      'dry-run': 'True',
      retries: '0',
      'pull-reserve': '20',
      'fail-on-deferred': 'true',
      'insecure-registries': 'localhost:5000, 127.0.0.1:5001\n[::1]:5002',
      username: 'user',
      password: 'pw',
      'github-token': 'tok',
      'results-dir': '/tmp/results',
      'config-dir': 'configs'
    })
    expect(getInputs()).toMatchObject({
      mode: 'sync',
      imagesFile: path.join(workspace, 'images.txt'),
      allowlist: path.join(workspace, 'allows.txt'),
      target: 'localhost:5000',
      platforms: ['linux/amd64', 'linux/arm64', 'linux/arm/v7'],
      engine: 'crane',
      craneVersion: 'v0.20.2',
      craneUrl: 'http://127.0.0.1:8080/releases',
      concurrency: 8,
      maxLegs: 256,
      skipUnchanged: false,
      dryRun: true,
      retries: 0,
      pullReserve: 20,
      failOnDeferred: true,
      insecureRegistries: ['localhost:5000', '127.0.0.1:5001', '[::1]:5002'],
      username: 'user',
      password: 'pw',
      githubToken: 'tok',
      resultsDir: '/tmp/results',
      configDir: 'configs'
    })
  })

  test('secrets are masked as soon as they are read', () => {
    const write = jest.spyOn(process.stdout, 'write').mockImplementation(() => true)
    setInputs({
      images: 'nginx',
      target: 'r.example.com',
      username: 'u',
      password: 'p@ss',
      'github-token': 'ghs_x'
    })
    getInputs()
    const written = write.mock.calls.map(c => String(c[0])).join('')
    expect(written).toContain('::add-mask::p@ss')
    expect(written).toContain('::add-mask::ghs_x')
  })

  test('report mode needs no target and no images', () => {
    setInputs({ mode: 'report' })
    expect(getInputs()).toMatchObject({ mode: 'report', target: '' })
  })

  test.each([
    [{ mode: 'mirror' }, 'Input "mode": "mirror" is not one of sync, plan, copy, report'],
    [{ target: '' }, 'Input "target": is required'],
    [
      { target: 'https://r.example.com' },
      'Input "target": "https://r.example.com" has a URL scheme'
    ],
    [
      { target: 'mirror/images' },
      'Input "target": "mirror/images" does not start with a registry host'
    ],
    [
      { target: 'r.example.com/Mirror' },
      'Input "target": "r.example.com/Mirror" is not a registry path'
    ],
    [
      { target: 'r.example.com:99999' },
      'Input "target": "r.example.com:99999" is not a registry path'
    ],
    [{ target: 'r..example.com' }, 'is not a registry path'],
    [{ platforms: 'arm64' }, 'Input "platforms": "arm64" is not os/arch[/variant]'],
    [{ platforms: 'linux/amd64,linux/arm64:latest' }, '"linux/arm64:latest" is not os/arch'],
    [{ engine: 'docker' }, 'Input "engine": "docker" is not one of crane, skopeo'],
    [
      { 'issue-max-images': '0' },
      'Input "issue-max-images": "0" is not a whole number from 1 to 100'
    ],
    [
      { 'label-failed': 'x'.repeat(51) },
      'Input "label-failed": "' + 'x'.repeat(51) + '" is not a label name'
    ],
    [
      { 'from-issue': 'true', mode: 'copy', leg: '1' },
      'Input "from-issue": true works with modes sync, plan and report'
    ],
    [
      { 'from-issue': 'true' },
      'Input "allowlist": from-issue: true needs an allowlist of the images strangers may ask for'
    ],
    [
      { 'from-issue': 'true', mode: 'plan' },
      'Input "allowlist": from-issue: true needs an allowlist'
    ],
    [
      { 'from-issue': 'true', 'open-mirror': 'true', rewrite: '{target}/{namespace}-{name}' },
      'Input "rewrite": "{target}/{namespace}-{name}" can map two source repositories to one mirrored name'
    ],
    [{ 'open-mirror': 'true' }, 'Input "open-mirror": true works with from-issue: true'],
    [{ mode: 'copy' }, 'Input "leg": mode copy needs the leg to copy: leg: ${{ matrix.leg }}'],
    [{ mode: 'copy', leg: '0' }, 'Input "leg": "0" is not a whole number from 1 to 256'],
    [{ mode: 'copy', leg: '257' }, 'Input "leg": "257" is not a whole number from 1 to 256'],
    [
      { engine: 'skopeo', platforms: 'linux/amd64,linux/arm64' },
      'Input "platforms": engine skopeo copies all platforms or exactly one'
    ],
    [{ 'crane-version': 'latest' }, 'Input "crane-version": "latest" is not a release tag'],
    [{ 'crane-version': 'v0.21.9-' }, 'Input "crane-version": "v0.21.9-" is not a release tag'],
    [
      { 'crane-version': 'v0.21.9-a/b' },
      'Input "crane-version": "v0.21.9-a/b" is not a release tag'
    ],
    [{ 'crane-url': 'ftp://x' }, 'Input "crane-url": "ftp://x" is not an http(s) URL'],
    [{ 'crane-url': 'not a url' }, 'Input "crane-url": "not a url" is not a URL'],
    [{ concurrency: '-1' }, 'Input "concurrency": "-1" is not a whole number from 1 to 64'],
    [{ concurrency: '0' }, 'Input "concurrency": "0" is not a whole number from 1 to 64'],
    [{ concurrency: '2.5' }, 'Input "concurrency": "2.5" is not a whole number'],
    [{ 'max-legs': '257' }, 'Input "max-legs": "257" is not a whole number from 1 to 256'],
    [{ retries: 'three' }, 'Input "retries": "three" is not a whole number from 0 to 10'],
    [
      { 'pull-reserve': '-1' },
      'Input "pull-reserve": "-1" is not a whole number from 0 to 1000000'
    ],
    [{ 'dry-run': 'yes' }, 'Input "dry-run": "yes" is not a boolean; use true or false'],
    [{ 'skip-unchanged': '1' }, 'Input "skip-unchanged": "1" is not a boolean'],
    [{ 'from-issue': 'on' }, 'Input "from-issue": "on" is not a boolean'],
    [{ 'images-file': 'nope.txt' }, 'Input "images-file": file "nope.txt" does not exist'],
    [{ 'images-file': '.' }, 'Input "images-file": "." is not a file'],
    [{ allowlist: 'allows.txt' }, 'Input "allowlist": file "allows.txt" does not exist'],
    [{ rewrite: '{target}/{tag}' }, 'Input "rewrite": "{target}/{tag}" unknown placeholder {tag}'],
    [
      { 'insecure-registries': 'http://localhost:5000' },
      'Input "insecure-registries": "http://localhost:5000" is not a registry host'
    ],
    [{ 'insecure-registries': 'localhost:5000/path' }, 'is not a registry host'],
    [{ username: 'u' }, 'Input "password": username and password are given together or not at all'],
    [{ password: 'p' }, 'Input "username": username and password are given together or not at all'],
    [{ images: '  ' }, 'Input "images": no images to mirror'],
    [
      { 'referrer-types': 'signature, cosign' },
      'Input "referrer-types": "cosign" is neither a kind (signature, attestation, sbom, other) nor a media type'
    ],
    [{ referrers: 'yes' }, 'Input "referrers": "yes" is not a boolean']
  ])('%j is refused', (override, message) => {
    setInputs({ images: 'nginx', target: 'registry.example.com/mirror', ...override })
    expect(() => getInputs()).toThrow(message)
  })

  test('referrer-types: kinds (singular or plural, any case) and media types', () => {
    setInputs({
      images: 'nginx',
      target: 'registry.example.com/m',
      referrers: 'true',
      'referrer-types': 'Signatures, SBOM\napplication/spdx+json'
    })
    expect(getInputs()).toMatchObject({
      referrers: true,
      referrerTypes: ['signature', 'sbom', 'application/spdx+json']
    })
  })

  test('from-issue: an open mirror is an explicit choice; the report needs no allowlist file', () => {
    setInputs({ 'from-issue': 'true', 'open-mirror': 'true', target: 'registry.example.com/m' })
    expect(getInputs()).toMatchObject({ fromIssue: true, openMirror: true })
    for (const key of Object.keys(process.env))
      if (key.startsWith('INPUT_')) delete process.env[key]
    // The report job checks out only the action: the plan names the allowlist for the answer.
    setInputs({ mode: 'report', 'from-issue': 'true', allowlist: 'not-checked-out.txt' })
    expect(getInputs().allowlist).toBeUndefined()
  })
})

describe('inputsForMode', () => {
  /** Every input a mode could use, credentials and optional ones included. */
  function setEverything(mode: string): void {
    fs.writeFileSync(path.join(workspace, 'images.txt'), 'nginx\n')
    fs.writeFileSync(path.join(workspace, 'allows.txt'), 'docker.io/library/nginx\n')
    setInputs({
      mode,
      images: 'nginx',
      ...(mode === 'sync' || mode === 'plan' || mode === 'lint-allowlist'
        ? { allowlist: 'allows.txt' }
        : {}),
      ...(mode === 'sync' || mode === 'plan' ? { 'images-file': 'images.txt' } : {}),
      target: 'registry.example.com/mirror',
      username: 'user',
      password: 'pw',
      'github-token': 'tok',
      'config-dir': 'configs',
      'config-registries': 'ghcr.io',
      ...(mode === 'copy' ? { leg: '3' } : {}),
      ...(mode === 'lint-allowlist' ? { fix: 'true' } : {})
    })
  }

  const keys = (mode: string) => {
    setEverything(mode)
    return Object.keys(inputsForMode(getInputs())).sort()
  }

  const COPY = [
    'concurrency',
    'craneUrl',
    'craneVersion',
    'dryRun',
    'engine',
    'failOnDeferred',
    'insecureRegistries',
    'password',
    'platforms',
    'pullReserve',
    'referrerTypes',
    'referrers',
    'retries',
    'skipUnchanged',
    'target',
    'username'
  ]
  const ISSUE = ['fromIssue', 'githubToken', 'issueMaxImages', 'issuePlatforms', 'labels']
  const CONFIGS = ['configDir', 'configRegistries', 'rewrite']
  const REQUEST = [...COPY, ...ISSUE, ...CONFIGS, 'allowlist', 'images', 'imagesFile']

  test.each([
    ['sync', [...REQUEST, 'mode']],
    ['plan', [...REQUEST, 'maxLegs', 'mode', 'resultsDir']],
    ['copy', [...COPY, 'leg', 'mode', 'resultsDir']],
    [
      'report',
      [
        ...ISSUE,
        ...CONFIGS,
        'failOnDeferred',
        'insecureRegistries',
        'mode',
        'platforms',
        'resultsDir',
        'target'
      ]
    ],
    ['lint-allowlist', ['allowlist', 'fix', 'mode']]
  ])('mode %s gets what it uses, optional inputs included, and nothing else', (mode, expected) => {
    expect(keys(mode)).toEqual([...expected].sort())
  })

  test('values pass through unchanged: a copy leg has its leg as a number, a lint its fix', () => {
    setEverything('copy')
    expect(inputsForMode(getInputs())).toMatchObject({
      mode: 'copy',
      leg: 3,
      username: 'user',
      password: 'pw',
      target: 'registry.example.com/mirror'
    })
    setEverything('lint-allowlist')
    expect(inputsForMode(getInputs())).toEqual({
      mode: 'lint-allowlist',
      allowlist: path.join(workspace, 'allows.txt'),
      fix: true
    })
  })
})
