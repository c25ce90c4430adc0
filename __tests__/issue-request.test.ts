/** Reading an issue's title and body as image requests and platforms. */
import { describe, expect, it } from '@jest/globals'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { formatReference } from '../src/image/references.js'
import {
  candidate,
  parseIssue,
  platformWord,
  readIssueEvent,
  type IssueRequest
} from '../src/issue/request.js'

const limits = { maxImages: 10 }

/** The requests as `normalised reference` or `invalid: reason` strings. */
function read(r: IssueRequest): string[] {
  return r.requests.map(q =>
    q.kind === 'image'
      ? formatReference(q.ref)
      : q.kind === 'invalid'
        ? `invalid: ${q.reason}`
        : q.kind
  )
}

describe('parseIssue', () => {
  it.each([
    [
      "DaoCloud's form: the title is the image, the body a platform",
      'docker.io/library/busybox:latest',
      '### 架构 / Platform\n\nlinux/arm64\n\n### 备注\n\n_No response_',
      ['docker.io/library/busybox:latest'],
      ['linux/arm64']
    ],
    [
      'the older SYNC IMAGE form',
      'SYNC IMAGE',
      'SYNC docker.io/library/nginx:1.27\nSYNC quay.io/prometheus/node-exporter:v1.8.2',
      ['docker.io/library/nginx:1.27', 'quay.io/prometheus/node-exporter:v1.8.2'],
      undefined
    ],
    [
      'a list in a fenced block, prose around it ignored',
      'Please mirror',
      'We need:\n```\nnginx:1.27\n- ghcr.io/dexidp/dex:v2.41.1\n```\nthanks a lot',
      ['docker.io/library/nginx:1.27', 'ghcr.io/dexidp/dex:v2.41.1'],
      undefined
    ],
    [
      'a pasted docker pull with --platform',
      'docker pull --platform=linux/arm/v7 redis',
      '',
      ['docker.io/library/redis:latest'],
      ['linux/arm/v7']
    ],
    [
      'bare architecture words',
      'alpine:3.20',
      'arm64, amd64',
      ['docker.io/library/alpine:3.20'],
      ['linux/arm64', 'linux/amd64']
    ],
    [
      'a Docker Hub URL',
      'https://hub.docker.com/r/bitnami/redis',
      '',
      ['docker.io/bitnami/redis:latest'],
      undefined
    ]
  ])('%s', (_name, title, body, images, platforms) => {
    const r = parseIssue({ title, body }, limits)
    expect(r.problem).toBeUndefined()
    expect(read(r)).toEqual(images)
    expect(r.platforms).toEqual(platforms)
  })

  it("reads this project's issue form as GitHub renders it, every platform option included", () => {
    const form = fs.readFileSync(
      path.join(
        path.dirname(new URL(import.meta.url).pathname),
        '..',
        '.github',
        'ISSUE_TEMPLATE',
        'sync-image.yml'
      ),
      'utf8'
    )
    const options = [...form.matchAll(/^\s+- (all|linux\/\S+)$/gm)].map(m => m[1] as string)
    expect(options.length).toBeGreaterThanOrEqual(8)
    for (const option of options) {
      const body = `### Platform\n\n${option}\n\n### More images (optional)\n\n\`\`\`text\nghcr.io/dexidp/dex:v2.41.1\n\`\`\``
      const r = parseIssue({ title: 'docker.io/library/nginx:1.27', body }, limits)
      expect(read(r)).toEqual(['docker.io/library/nginx:1.27', 'ghcr.io/dexidp/dex:v2.41.1'])
      expect(r.platforms).toEqual(option === 'all' ? 'all' : [option])
    }
    const empty = parseIssue(
      {
        title: 'nginx',
        body: '### Platform\n\nall\n\n### More images (optional)\n\n_No response_'
      },
      limits
    )
    expect(read(empty)).toEqual(['docker.io/library/nginx:latest'])
  })

  it('says when a pull command was read as an image', () => {
    const r = parseIssue({ title: 'docker pull nginx', body: '' }, limits)
    expect(r.notes).toEqual(['read the command "docker pull nginx" as the image nginx'])
  })

  it('counts prose lines it did not read, so the answer can say so', () => {
    expect(parseIssue({ title: 'nginx', body: 'hello there\nplease' }, limits).ignored).toBe(1)
  })

  it.each([
    ['arm64', '', /the title "arm64" is a platform, not an image/],
    ['linux/arm64:latest', '', /is a platform, not an image/],
    ['Please help', 'I need an image', /no image was found in this issue/],
    ['', '', /no image was found/],
    [
      'list',
      Array.from({ length: 11 }, (_, i) => `img${i}`).join('\n'),
      /asks for 11 images; at most 10/
    ],
    ['big', 'x'.repeat(70_000), /the issue is 70003 bytes long; at most 65536 are read/]
  ])('refuses %j as a whole: %s', (title, body, problem) => {
    const r = parseIssue({ title, body }, limits)
    expect(r.problem).toMatch(problem)
    expect(r.requests).toEqual([])
  })

  it('takes a platform title as the platform when the body names images', () => {
    const r = parseIssue({ title: 'arm64', body: 'nginx:1.27' }, limits)
    expect(read(r)).toEqual(['docker.io/library/nginx:1.27'])
    expect(r.platforms).toEqual(['linux/arm64'])
  })

  it('refuses tag filters from issues (a stranger would choose the regex)', () => {
    const [only] = read(parseIssue({ title: 'nginx:/(a+)+$/', body: '' }, limits))
    expect(only).toMatch(/^invalid: tag filters \(\/regex\/\) are not accepted from issues/)
  })

  it('refuses tag policies from issues: an issue never expands into many tags', () => {
    for (const policy of [
      'nginx:semver(>=1.26)',
      'nginx:newest(50)',
      'nginx:/^1/ newest(3)',
      'nginx:newest(0)',
      'nginx:loose semver(>=1)',
      'nginx:prereleases newest(3)'
    ]) {
      const [only] = read(parseIssue({ title: 'mirror please', body: policy }, limits))
      expect({ policy, only }).toEqual({
        policy,
        only: expect.stringMatching(
          /^invalid: tag policies \(.*\) are not accepted from issues, so that one issue asks for a known number of images; name the tags/
        )
      })
    }
  })

  it('refuses a policy unread: a range made to backtrack costs nothing (it is never parsed)', () => {
    // `1.2 1.2 … !` took exponential time in the loose reading's validity regex (41 s at 26
    // repeats) before it was rewritten; an issue must not reach the parser at all.
    const title = `nginx:semver(${'1.2 '.repeat(60)}!) loose`
    const started = performance.now()
    const [only] = read(parseIssue({ title, body: '' }, limits))
    expect(performance.now() - started).toBeLessThan(200)
    expect(only).toMatch(/^invalid: tag policies \(semver\(1\.2 1\.2 .*…\) are not accepted/)
  })

  it('takes quotes off a line in linear time, however many a stranger writes', () => {
    // /[`'"]+$/ retried at each quote of a run was quadratic: 1.7 s for this title.
    const title = `a${'"'.repeat(60_000)}b`
    const started = performance.now()
    parseIssue({ title, body: '' }, { ...limits, maxBytes: 100_000 })
    expect(performance.now() - started).toBeLessThan(500)
    expect(read(parseIssue({ title: '`"nginx:1.27"`', body: '' }, limits))).toEqual([
      'docker.io/library/nginx:1.27'
    ])
  })

  it('rejects, rather than drops, malformed references', () => {
    const r = parseIssue({ title: 'x', body: 'Nginx:latest\n$(id)' }, limits)
    expect(read(r)).toEqual([
      expect.stringMatching(/^invalid: .*upper-case/),
      expect.stringMatching(/^invalid: /)
    ])
  })
})

describe('words and lines', () => {
  it.each([
    ['arm64', 'linux/arm64'],
    ['AMD64', 'linux/amd64'],
    ['armhf', 'linux/arm/v7'],
    ['linux/s390x', 'linux/s390x'],
    ['--platform=linux/arm64', 'linux/arm64'],
    ['all', 'all'],
    ['nginx', undefined],
    ['linux/arm64:latest', undefined]
  ])('platformWord(%j) = %j', (word, platform) => {
    expect(platformWord(word)).toBe(platform)
  })

  it('strips bullets and quotes, and keeps a pull command whole when it is not one image', () => {
    expect(candidate('- `nginx:1.27`')?.text).toBe('nginx:1.27')
    expect(candidate('1. "alpine"')?.text).toBe('alpine')
    expect(candidate('please mirror nginx')).toBeUndefined()
    expect(candidate('docker pull a b')?.text).toBe('docker pull a b')
  })
})

describe('readIssueEvent', () => {
  const write = (payload: unknown) => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'event-')), 'e.json')
    fs.writeFileSync(file, JSON.stringify(payload))
    return file
  }

  it('reads the fixture modelled on a real event', () => {
    const event = readIssueEvent(
      'issues',
      path.join(
        path.dirname(new URL(import.meta.url).pathname),
        '..',
        '__fixtures__',
        'events',
        'issues-opened.json'
      )
    )
    expect(event).toMatchObject({
      action: 'opened',
      number: 42,
      title: 'docker.io/library/busybox:latest',
      labels: ['sync image'],
      state: 'open',
      author: 'octocat'
    })
  })

  it('refuses other events and payloads without an issue, saying what to do', () => {
    expect(() => readIssueEvent('push', write({}))).toThrow(/needs an "issues" event .* "push"/)
    expect(() => readIssueEvent('issues', write({ action: 'opened' }))).toThrow(/has no issue/)
    expect(() => readIssueEvent('issues', undefined)).toThrow(/GITHUB_EVENT_PATH/)
  })

  it('treats a null body as empty', () => {
    expect(
      readIssueEvent(
        'issues',
        write({ action: 'opened', issue: { number: 1, title: 't', body: null } })
      ).body
    ).toBe('')
  })
})
