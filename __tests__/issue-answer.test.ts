/** The answers given on an issue: outcome, rows, reasons, notes, escaping. */
import { describe, expect, it } from '@jest/globals'
import { acceptedComment, outcomeOf, resultComment } from '../src/issue-answer.js'
import type { MirrorResult } from '../src/results.js'

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
})

describe('resultComment', () => {
  const text = resultComment([copied, rejected], { notes: ['read x as y'], ignored: 2, run })

  it('has one row per image with status, request, how it was read, address and short digest', () => {
    expect(text).toContain(
      '| ✅ copied | <code>nginx</code><br>read as <code>docker.io/library/nginx:latest</code> | <code>r.example.com/m/docker.io/library/nginx:latest</code> | <code>sha256:cccccccccccc</code> |'
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
