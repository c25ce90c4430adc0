/** The answers given on an issue: outcome, rows, reasons, notes, escaping. */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import * as github from '@actions/github'
import {
  ACTION_BOT,
  HOSTILE_PROSE,
  githubLinks,
  proseOf,
  startGitHubApi,
  type GitHubApi
} from '../__fixtures__/github-api.js'
import { WORD_JOINER } from '../src/action/escape.js'
import {
  IssueAnswerer,
  MAX_COMMENT_CHARS,
  MAX_COMMENT_PAGES,
  MAX_TEXT_CHARS,
  RESULT_MARKER,
  acceptedComment,
  outcomeOf,
  resultComment,
  type IssueTarget
} from '../src/issue/answer.js'
import type { MirrorResult } from '../src/image/results.js'

const D = `sha256:${'c'.repeat(64)}`
const copied: MirrorResult = {
  request: 'nginx',
  origin: 'issue title line 1',
  source: 'docker.io/library/nginx:latest',
  target: 'r.example.com/m/docker.io/library/nginx:latest',
  status: 'copied',
  digest: D
}
const rejected: MirrorResult = {
  request: '<img src=x onerror=alert(1)> @octocat ${{ secrets.X }}',
  origin: 'issue body line 2',
  source: '',
  target: '',
  status: 'rejected',
  reason: 'invalid image reference: "<img" ... [x](http://evil.example)'
}
const run = { url: 'https://github.com/acme/mirror/actions/runs/1', dryRun: false }

describe('outcomeOf', () => {
  it('is succeeded, partial or failed', () => {
    expect(outcomeOf([copied])).toBe('succeeded')
    expect(outcomeOf([copied, rejected])).toBe('partial')
    expect(outcomeOf([rejected])).toBe('failed')
    expect(outcomeOf([], 'too big')).toBe('failed')
    expect(outcomeOf([{ ...copied, status: 'unchanged' }])).toBe('succeeded')
  })

  it('anything deferred leaves the issue open (partial), even when nothing else was asked', () => {
    const deferred: MirrorResult = { ...copied, status: 'deferred', reason: 'needs 3 pull(s)' }
    expect(outcomeOf([deferred])).toBe('partial')
    expect(outcomeOf([copied, deferred])).toBe('partial')
    expect(outcomeOf([deferred], 'too big')).toBe('failed')
    const text = resultComment([copied, deferred], { notes: [], ignored: 0, run })
    expect(text).toContain(
      "⏳ **1 image(s) deferred:** the source registry's pull budget would not allow them now"
    )
    expect(text).toContain('This issue stays open.')
    expect(text).toContain('Nothing failed; re-run this workflow')
    const withFailure = resultComment(
      [deferred, { ...copied, status: 'failed', reason: 'HTTP 500' }],
      { notes: [], ignored: 0, run }
    )
    expect(withFailure).toContain('They are not failures; re-run this workflow')
    expect(withFailure).not.toContain('Nothing failed')
  })
})

/** The text as a reader copies it: without the <wbr> line-break opportunities. */
const plain = (text: string) => text.replaceAll('<wbr>', '')

describe('resultComment', () => {
  const answer = resultComment([copied, rejected], { notes: ['read x as y'], ignored: 2, run })
  const text = plain(answer)

  it('has one row per image with status, request, how it was read, address and short digest', () => {
    expect(text).toContain(
      '| ✅ copied | <code>nginx</code><br>read as <code>docker.io/library/nginx:latest</code> | <code>r.example.com/m/docker.io/library/nginx:latest</code> | <code>sha256:cccccccccccc</code> |'
    )
    // References wrap (<wbr>, which a copy leaves out) after / : @ . _ -, so the table keeps
    // to the page.
    expect(answer).toContain(
      '<code>r.<wbr>example.<wbr>com/<wbr>m/<wbr>docker.<wbr>io/<wbr>library/<wbr>nginx:<wbr>latest</code>'
    )
    expect(text).toContain('| ⛔ rejected |')
  })

  it('gives ready-to-paste pull lines for what was mirrored only', () => {
    expect(text).toContain(
      '```sh\ndocker pull r.example.com/m/docker.io/library/nginx:latest\nctr -n k8s.io images pull r.example.com/m/docker.io/library/nginx:latest\n```'
    )
  })

  it('escapes everything the author wrote: no tag, mention, link or expression survives', () => {
    const outsideCode = text.replace(/```sh[\s\S]*?```/g, '')
    expect(outsideCode).not.toMatch(/<img|@octocat|\$\{\{|\]\(http:\/\/evil/)
    expect(outsideCode).toContain(
      '&lt;img src=x onerror=alert(1)&gt; &#64;octocat &#36;&#123;&#123;'
    )
  })

  it('says what was ignored and what was corrected', () => {
    expect(text).toContain('- read x as y')
    expect(text).toContain('2 line(s) of text were not read as images')
  })

  it('states a refusal with its reason, and a dry run as such', () => {
    const refused = resultComment([], { problem: 'the issue is <big>', notes: [], ignored: 0, run })
    expect(refused).toContain('⛔ **This request cannot be served:** the issue is &lt;big&gt;')
    const dry = resultComment([{ ...copied, status: 'planned' }], {
      notes: [],
      ignored: 0,
      run: { dryRun: true }
    })
    expect(dry).toContain('_Dry run: nothing was written to the mirror._')
    expect(dry).not.toContain('docker pull')
  })
})

describe('the allowlist pointer', () => {
  const refused: MirrorResult = {
    ...copied,
    target: '',
    status: 'rejected',
    reason:
      'docker.io/library/nginx is not in the allowlist allows.txt; ask for a line such as "docker.io/library/nginx" to be added to it'
  }

  it('links the allowlist and says how to ask for an addition when an image is not in it', () => {
    const allowlist = { name: 'allows.txt', url: 'https://github.com/acme/m/blob/abc/allows.txt' }
    expect(
      resultComment([refused], { notes: [], ignored: 0, run: { ...run, allowlist } })
    ).toContain(
      'Only images in the allowlist [allows.txt](https://github.com/acme/m/blob/abc/allows.txt) are mirrored. To ask for an addition, open a pull request'
    )
    expect(
      resultComment([refused], {
        notes: [],
        ignored: 0,
        run: { dryRun: false, allowlist: { name: 'a_b.txt' } }
      })
    ).toContain('Only images in the allowlist <code>a&#95;b.txt</code> are mirrored.')
  })

  it('says nothing of the allowlist when every image was in it', () => {
    const allowlist = { name: 'allows.txt' }
    expect(
      resultComment([copied, rejected], { notes: [], ignored: 0, run: { ...run, allowlist } })
    ).not.toContain('Only images in the allowlist')
  })
})

describe('acceptedComment', () => {
  it('names the count, the platforms and the run', () => {
    expect(acceptedComment(2, ['linux/arm64'], run)).toBe(
      '<!-- image-mirror: accepted -->\nRequest accepted: mirroring 2 image(s) (linux/arm64). Follow it in [the workflow run](https://github.com/acme/mirror/actions/runs/1).'
    )
    expect(acceptedComment(1, 'all', { dryRun: true })).toContain('(all platforms) as a dry run.')
  })
})

describe('user text in the answer', () => {
  const hostile = (text: string, i: number): MirrorResult => ({
    ...rejected,
    request: `bad${i}`,
    reason: text,
    note: text
  })
  const results = HOSTILE_PROSE.map(hostile)
  const answer = resultComment([copied, ...results], { notes: [...HOSTILE_PROSE], ignored: 1, run })
  const refused = (problem: string) =>
    resultComment([], { problem, notes: [problem], ignored: 0, run })

  it('no mention, reference or autolink survives outside <code>', () => {
    expect(githubLinks(answer)).toEqual([])
    for (const text of HOSTILE_PROSE) expect(githubLinks(refused(text))).toEqual([])
  })

  it('every reason and note reads as written once the joiners are taken out', () => {
    const read = proseOf(answer).replaceAll(WORD_JOINER, '')
    for (const text of HOSTILE_PROSE) {
      // Once as the reason, once as the result's note, once as a note of the request.
      expect(read.split(text).length - 1).toBe(3)
      expect(proseOf(refused(text)).replaceAll(WORD_JOINER, '')).toContain(
        `This request cannot be served:** ${text}`
      )
    }
  })

  it('writes only its own tags, and escapes nothing twice', () => {
    const tags = answer.replace(/```sh[\s\S]*?```/g, '').match(/<[^>]*>/g) ?? []
    expect(new Set(tags)).toEqual(
      new Set(['<!-- image-mirror: result -->', '<code>', '</code>', '<br>', '<wbr>'])
    )
    expect(answer).not.toMatch(/&amp;#|&amp;(amp|lt|gt|quot);/)
  })

  it('keeps code text copyable: no joiner in <code> or the pull lines', () => {
    const inCode = [...answer.matchAll(/<code>([^<]*)<\/code>|```sh([\s\S]*?)```/g)].map(
      m => m[1] ?? m[2]
    )
    expect(inCode.length).toBeGreaterThan(HOSTILE_PROSE.length)
    for (const text of inCode) expect(text).not.toContain(WORD_JOINER)
  })
})

describe('the answer stays under GitHub’s 65,536 characters', () => {
  const many = (n: number): MirrorResult[] =>
    Array.from({ length: n }, (_, i) => ({
      ...rejected,
      request: `registry.example/team/image-${i}:1`,
      reason: `${i} ${'r'.repeat(495)}`,
      note: `${i} ${'n'.repeat(495)}`
    }))

  it('20,000 images with long reasons: a bounded table, reasons and notes, and how many more', () => {
    const results = many(20_000)
    const started = performance.now()
    const text = resultComment(results, { notes: [], ignored: 0, run })
    expect(performance.now() - started).toBeLessThan(500)
    expect(text.length).toBeLessThanOrEqual(MAX_COMMENT_CHARS)
    const rows = text.match(/^\| ⛔ rejected \|/gm)?.length ?? 0
    expect(rows).toBeGreaterThan(50)
    expect(text).toContain(
      `_${20_000 - rows} more image(s) are listed in the results output of [the workflow run](${run.url})._`
    )
    expect(text).toMatch(/_\d+ more reason\(s\) are listed in the results output/)
    expect(text).toMatch(/_\d+ more note\(s\) are not shown/)
    // The run link closes the answer, and each section kept some room.
    expect(text.trimEnd().endsWith(`[The workflow run](${run.url})`)).toBe(true)
    expect(text).toContain('**Why**')
    expect(text).toContain('**Notes**')
  })

  it('without a run link it says so in words', () => {
    const text = resultComment(many(2_000), { notes: [], ignored: 0, run: { dryRun: false } })
    expect(text.length).toBeLessThanOrEqual(MAX_COMMENT_CHARS)
    expect(text).toMatch(
      /_\d+ more image\(s\) are listed in the results output of the workflow run\._/
    )
  })

  it('bounds the pull lines too', () => {
    const results = Array.from({ length: 20_000 }, (_, i) => ({
      ...copied,
      request: `nginx:${i}`,
      target: `r.example.com/m/docker.io/library/nginx:${i}`
    }))
    const text = resultComment(results, { notes: [], ignored: 0, run })
    expect(text.length).toBeLessThanOrEqual(MAX_COMMENT_CHARS)
    const pulls = text.match(/^docker pull /gm)?.length ?? 0
    expect(pulls).toBeGreaterThan(10)
    expect(text).toMatch(/```\n\n_\d+ more mirrored image\(s\) are listed/)
  })

  it('cuts one long reason or note, and says so with an ellipsis', () => {
    const text = resultComment(
      [{ ...rejected, reason: 'x'.repeat(100_000), note: 'y'.repeat(100_000) }],
      { problem: undefined, notes: ['z'.repeat(100_000)], ignored: 0, run }
    )
    expect(text.length).toBeLessThan(MAX_TEXT_CHARS * 4)
    expect(text).toContain(`${'x'.repeat(MAX_TEXT_CHARS - 1)}…`)
    expect(text).toContain(`${'y'.repeat(MAX_TEXT_CHARS - 1)}…`)
    expect(text).toContain(`${'z'.repeat(MAX_TEXT_CHARS - 1)}…`)
  })

  it('a list right after the table or a list does not swallow the "more" line', () => {
    const text = resultComment(many(20_000), { notes: [], ignored: 0, run })
    expect(text).toMatch(/\|\n\n_\d+ more image/)
    expect(text).toMatch(/\n\n_\d+ more reason/)
  })
})

describe('results from elsewhere', () => {
  it('an unknown status is ❔ unknown, never an Object property', () => {
    const odd = ['constructor', '__proto__', 'toString', 'hasOwnProperty'].map(
      status => ({ ...copied, status }) as unknown as MirrorResult
    )
    const text = resultComment(odd, { notes: [], ignored: 0, run })
    expect(text.match(/\| ❔ unknown \|/g)).toHaveLength(4)
    expect(text).not.toMatch(/function|\[native code\]|undefined|NaN/)
    expect(text).not.toContain('docker pull')
    expect(outcomeOf(odd)).toBe('failed')
  })

  it('a field that is not a string renders as empty, and a target that is not a plain reference is not pasted', () => {
    const broken = {
      ...copied,
      request: 42,
      source: null,
      reason: { toString: () => '@octocat' },
      digest: ['sha256:x'],
      target: 'r.example.com/x:1\n```\n<img src=x>'
    } as unknown as MirrorResult
    const text = plain(resultComment([broken], { notes: [], ignored: 0, run }))
    expect(text).not.toContain('docker pull')
    expect(text).not.toContain('<img')
    expect(text).not.toContain('@octocat')
    expect(text).toContain(
      '| ✅ copied | – | <code>r.example.com/x:1\\u000a&#96;&#96;&#96;\\u000a&lt;img src=x&gt;</code> | – |'
    )
  })
})

describe('IssueAnswerer against the stand-in', () => {
  const TOKEN = 'ghs_answererStandIn000000000000000'
  const labels = {
    succeeded: 'sync image succeeded',
    failed: 'sync image failure',
    partial: 'sync image partial'
  }
  let api: GitHubApi
  let number = 100
  beforeAll(async () => {
    api = await startGitHubApi()
  })
  afterAll(async () => {
    await api.close()
  })

  /** An answerer for a fresh issue, and the calls it makes from here on. */
  function answerer(action: string, issue: Partial<IssueTarget> = {}) {
    const target: IssueTarget = {
      owner: 'acme',
      repo: 'mirror',
      action,
      labels: [],
      ...issue,
      number: issue.number ?? ++number
    }
    const before = api.calls.length
    const octokit = github.getOctokit(TOKEN, { baseUrl: api.url })
    return {
      target,
      answerer: new IssueAnswerer(octokit, target, labels),
      calls: () =>
        api.calls
          .slice(before)
          .map(c => `${c.method} ${c.path}`.replace(new RegExp(`/${target.number}(?=/|$)`), '/N'))
    }
  }
  const bot = (n: number, body: string) => api.addComment(n, body, { user: ACTION_BOT })

  it('opened: a new comment, nothing listed', async () => {
    const { answerer: a, target, calls } = answerer('opened')
    await a.answer(`${RESULT_MARKER}\nfirst`)
    expect(calls()).toEqual(['POST /repos/acme/mirror/issues/N/comments'])
    expect(api.comments(target.number).map(c => [c.body, c.user])).toEqual([
      [`${RESULT_MARKER}\nfirst`, ACTION_BOT]
    ])
    expect(api.calls.at(-1)?.authorization).toBe(`token ${TOKEN}`)
  })

  it("edited: the bot's newest answer is updated in place; a stranger's look-alike is left alone", async () => {
    const opened = answerer('opened')
    await opened.answerer.comment('<!-- image-mirror: accepted -->\nRequest accepted')
    await opened.answerer.answer(`${RESULT_MARKER}\nolder`)
    const n = opened.target.number
    const newest = bot(n, `${RESULT_MARKER}\nnewer`)
    const stranger = api.addComment(n, `${RESULT_MARKER}\nI wrote this @octocat`)

    const { answerer: a, calls } = answerer('edited', { number: n })
    await a.answer(`${RESULT_MARKER}\nafter the edit`)
    expect(calls()).toEqual([
      'GET /repos/acme/mirror/issues/N/comments?per_page=100',
      `PATCH /repos/acme/mirror/issues/comments/${newest.id}`
    ])
    const bodies = api.comments(n).map(c => c.body)
    expect(bodies).toEqual([
      '<!-- image-mirror: accepted -->\nRequest accepted',
      `${RESULT_MARKER}\nolder`,
      `${RESULT_MARKER}\nafter the edit`,
      stranger.body
    ])
  })

  it("edited with only a stranger's look-alike: a new comment", async () => {
    const { answerer: a, target, calls } = answerer('edited')
    api.addComment(target.number, `${RESULT_MARKER}\nnot the bot`)
    await a.answer(`${RESULT_MARKER}\nanswer`)
    expect(calls()).toEqual([
      'GET /repos/acme/mirror/issues/N/comments?per_page=100',
      'POST /repos/acme/mirror/issues/N/comments'
    ])
    expect(api.comments(target.number).map(c => c.user.type)).toEqual(['User', 'Bot'])
  })

  it('follows the Link header to a later page, and stops after ten pages', async () => {
    const paged = answerer('edited')
    const n = paged.target.number
    bot(n, `${RESULT_MARKER}\nfirst answer`)
    for (let i = 0; i < 150; i++) api.addComment(n, `chatter ${i}`)
    const second = bot(n, `${RESULT_MARKER}\nsecond answer`)
    await paged.answerer.answer(`${RESULT_MARKER}\nupdated`)
    expect(paged.calls()).toEqual([
      'GET /repos/acme/mirror/issues/N/comments?per_page=100',
      'GET /repos/acme/mirror/issues/N/comments?per_page=100&page=2',
      `PATCH /repos/acme/mirror/issues/comments/${second.id}`
    ])

    const long = answerer('edited')
    for (let i = 0; i < 100 * MAX_COMMENT_PAGES; i++) api.addComment(long.target.number, `c${i}`)
    bot(long.target.number, `${RESULT_MARKER}\nbeyond the pages read`)
    await long.answerer.answer(`${RESULT_MARKER}\nnew`)
    const made = long.calls()
    expect(made.filter(c => c.startsWith('GET '))).toHaveLength(MAX_COMMENT_PAGES)
    expect(made.at(-1)).toBe('POST /repos/acme/mirror/issues/N/comments')
  })

  it('reopened: a new comment, even with an earlier answer', async () => {
    const { answerer: a, target, calls } = answerer('reopened')
    bot(target.number, `${RESULT_MARKER}\nearlier`)
    await a.answer(`${RESULT_MARKER}\nagain`)
    expect(calls()).toEqual(['POST /repos/acme/mirror/issues/N/comments'])
  })

  it('settles: labels, closes on success or failure, and never reopens', async () => {
    const partial = answerer('edited', { labels: [labels.failed] })
    await partial.answerer.settle('partial', false)
    expect(partial.calls()).toEqual([
      'DELETE /repos/acme/mirror/issues/N/labels/sync image failure',
      'POST /repos/acme/mirror/issues/N/labels'
    ])
    const done = answerer('edited', { labels: [labels.succeeded] })
    await done.answerer.settle('succeeded', false)
    expect(done.calls()).toEqual(['PATCH /repos/acme/mirror/issues/N'])
    const failed = answerer('opened')
    await failed.answerer.settle('failed', false)
    expect(failed.calls()).toEqual([
      'POST /repos/acme/mirror/issues/N/labels',
      'PATCH /repos/acme/mirror/issues/N'
    ])
    expect(api.calls.at(-1)?.body).toEqual({ state: 'closed', state_reason: 'not_planned' })
    const dry = answerer('opened')
    await dry.answerer.settle('failed', true)
    expect(dry.calls()).toEqual([])
    const states = api.calls.map(c => (c.body as { state?: string } | undefined)?.state)
    expect(states).not.toContain('open')
  })
})
