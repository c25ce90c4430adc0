import { afterEach, beforeEach, describe, expect, jest, test } from '@jest/globals'
import * as core from '@actions/core'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { HOSTILE_PROSE, githubLinks, proseOf } from '../__fixtures__/github-api.js'
import { WORD_JOINER } from '../src/action/escape.js'
import {
  MAX_CELL_CHARS,
  MAX_SUMMARY_BYTES,
  MAX_SUMMARY_ROWS,
  buildSummary,
  isPasteableReference,
  logResults,
  mirroredReferences,
  totalsLine,
  writeSummary
} from '../src/report/summary.js'
import type { MirrorResult } from '../src/image/results.js'

const planned: MirrorResult = {
  request: 'nginx',
  origin: 'images line 1',
  source: 'docker.io/library/nginx:latest',
  target: 'm.example.com/docker.io/library/nginx:latest',
  status: 'planned'
}
const rejected: MirrorResult = {
  request: '<b>x</b>|y',
  origin: 'images line 2',
  source: '',
  target: '',
  status: 'rejected',
  reason: 'invalid image reference: "<b>x</b>|y" ...'
}
const filter: MirrorResult = {
  request: 'alpine:/^3/',
  origin: 'images line 3',
  source: 'docker.io/library/alpine',
  target: 'm.example.com/docker.io/library/alpine',
  status: 'planned',
  tagFilter: '/^3/'
}

let written: string[]
beforeEach(() => {
  core.summary.emptyBuffer()
  written = []
  jest.spyOn(process.stdout, 'write').mockImplementation(chunk => {
    written.push(String(chunk))
    return true
  })
})
afterEach(() => {
  jest.restoreAllMocks()
  delete process.env.GITHUB_STEP_SUMMARY
})

describe('report', () => {
  test('mirrored references leave out rejected, failed and tag filters', () => {
    expect(mirroredReferences([planned, rejected, filter])).toEqual([planned.target])
  })

  test('totals name every status present', () => {
    expect(totalsLine([planned, rejected, filter])).toBe('3 image(s): 2 planned, 1 rejected')
    expect(totalsLine([])).toBe('0 image(s): none')
  })

  test('the summary escapes what users wrote and puts problems first', () => {
    buildSummary([planned, rejected, filter], { dryRun: false })
    const html = core.summary.stringify()
    expect(html).not.toContain('<b>x</b>')
    expect(html).toContain('&lt;b&gt;x&lt;/b&gt;&#124;y')
    expect(html.indexOf('rejected</td>')).toBeLessThan(html.indexOf('planned</td>'))
    expect(html).toContain('docker pull m.example.com/docker.io/library/nginx:latest')
    expect(html.match(/<td>/g)?.length).toBe(html.match(/<\/td>/g)?.length)
  })

  test('what went wrong first, as a list with status, image and reason; then the table, status first', () => {
    buildSummary([planned, rejected], { dryRun: false })
    const html = core.summary.stringify()
    expect(html).toMatch(/<tr><th>Status<\/th><th>Image<\/th>/)
    expect(html).not.toContain('<th>Reason</th>')
    // Right under the totals, on the first screen, before the table however long it is.
    const before = html.slice(0, html.indexOf('<table>')).replaceAll('<wbr>', '')
    expect(before).toContain(
      '<p>2 image(s): 1 planned, 1 rejected</p><h3>Needs attention</h3>\n<ul>\n<li>⛔ rejected <code>&lt;b&gt;x&lt;/b&gt;&#124;y</code> <sub>images line 2</sub>: invalid image reference:'
    )
  })

  test('deferred images: said under the totals (nothing failed, the next run takes them), listed with their reasons, counted in the outputs', () => {
    const deferred: MirrorResult = {
      ...planned,
      status: 'deferred',
      reason:
        'docker.io/library/nginx:latest needs 3 pull(s) from docker.io and 1 can be spent (1 of 100 pulls left per 6 h); not attempted, pulls come back within 6 h (the window docker.io gives); the next run takes it'
    }
    buildSummary([deferred, { ...planned, status: 'copied' }], { dryRun: false })
    const html = core.summary.stringify()
    expect(html).toContain(
      "<p>2 image(s): 1 copied, 1 deferred</p><p>⏳ <b>1 image(s) deferred</b>: a source registry's pull budget would not allow them now"
    )
    expect(html).toContain('⏳ deferred <code>')
    expect(html).toContain('the next run takes it')
    expect(html).toContain('Nothing failed; the next run takes them.')
  })

  test('deferred beside a failure: the line does not say nothing failed', () => {
    const deferred: MirrorResult = { ...planned, status: 'deferred', reason: 'needs 3 pull(s)' }
    buildSummary([deferred, { ...planned, status: 'failed', reason: 'HTTP 500' }], {
      dryRun: false
    })
    const html = core.summary.stringify()
    expect(html).toContain('They are not failures; the next run takes them.')
    expect(html).not.toContain('Nothing failed')
  })

  test('each tag policy says what it selected and, by reason, what it left out (first few, counted)', () => {
    const selection = {
      policy: 'semver(>=1.26) newest(2)',
      seen: 1258,
      selected: 2,
      first: ['1.31.2', '1.31.3'],
      leftOut: [
        {
          reason: 'not a version',
          count: 400,
          first: ['1.27', 'mainline', 'stable', 'latest', '1']
        },
        { reason: 'older than the newest 2', count: 30, first: ['1.31.1'] }
      ]
    }
    const chosen: MirrorResult = {
      ...planned,
      source: 'docker.io/library/nginx:1.31.2',
      status: 'copied',
      selection
    }
    buildSummary(
      [chosen, { ...chosen, source: 'docker.io/library/nginx:1.31.3', selection: undefined }],
      {
        dryRun: false
      }
    )
    const html = core.summary.stringify()
    expect(html).toContain('<h3>Tag policies</h3>')
    const line = /<li>(.*semver.*)<\/li>/.exec(html)?.[1] ?? ''
    expect(line.replace(/<wbr>/g, '')).toBe(
      '<code>docker.io/library/nginx</code> <code>semver(&gt;=1.26) newest(2)</code>: 2 of 1258 tag(s) selected: <code>1.31.2</code>, <code>1.31.3</code>; left out 400 not a version (<code>1.27</code>, <code>mainline</code>, <code>stable</code>, <code>latest</code>, <code>1</code>, …); 30 older than the newest 2 (<code>1.31.1</code>, …)'
    )
    expect(html.match(/<h3>Tag policies<\/h3>/g)).toHaveLength(1)
  })

  test('no results (a request refused as a whole): no empty table', () => {
    buildSummary([], { dryRun: false, problem: 'too many images' })
    const html = core.summary.stringify()
    expect(html).not.toContain('<table>')
    expect(html).toContain('0 image(s): none')
  })

  test('a long tag or a cosign tag wraps too: no run of 13 characters without a break', () => {
    const sha = '3f2a9c1e8b7d6f5a4c3b2a190f8e7d6c5b4a3921'
    const long: MirrorResult = {
      ...planned,
      request: `ghcr.io/acme/app:${sha}`,
      source: `ghcr.io/acme/app:sha256-${'e'.repeat(64)}.sig`,
      target: `m.example.com/ghcr.io/acme/app:${sha}`
    }
    buildSummary([long], { dryRun: false })
    const html = core.summary.stringify()
    const table = html
      .slice(html.indexOf('<table>'), html.indexOf('</table>'))
      .replace(/ title="[^"]*"/g, '')
    const codes = table.match(/<code>[^]*?<\/code>/g) ?? []
    expect(codes.length).toBeGreaterThan(2)
    for (const code of codes) {
      for (const run of code.slice(6, -7).split('<wbr>')) expect(run.length).toBeLessThanOrEqual(12)
    }
    expect(codes.join('').replaceAll('<wbr>', '')).toContain(`ghcr.io/acme/app:${sha}`)
  })

  test('columns empty for the whole run are left out; a dry run has no pull lines', () => {
    // A dry run that contacts no registry: no digest, platforms, size or time anywhere.
    buildSummary([planned, rejected, filter], { dryRun: true })
    const html = core.summary.stringify()
    expect(html.match(/<th>[^<]*<\/th>/g)).toEqual([
      '<th>Status</th>',
      '<th>Image</th>',
      '<th>Mirrored address</th>'
    ])
    expect(html).not.toContain('docker pull')
    expect(html).not.toContain('How to use')
    core.summary.emptyBuffer()
    // Nothing but rejections: not even a mirrored address.
    buildSummary([rejected], { dryRun: false })
    expect(core.summary.stringify().match(/<th>[^<]*<\/th>/g)).toEqual([
      '<th>Status</th>',
      '<th>Image</th>'
    ])
  })

  test('one vocabulary: unchanged reads "up to date" in the table, the totals and the log', () => {
    const upToDate: MirrorResult = {
      ...planned,
      status: 'unchanged',
      digest: `sha256:${'c'.repeat(64)}`
    }
    buildSummary([upToDate], { dryRun: false })
    const html = core.summary.stringify()
    expect(html).toContain('<td>✅ up to date</td>')
    expect(html).toContain('1 image(s): 1 up to date')
    expect(html).not.toContain('unchanged')
    logResults([upToDate])
    expect(written.join('')).toContain('up to date docker.io/library/nginx:latest')
  })

  test('a digest-pinned request stays narrow: its digest shortened, the results output has it whole', () => {
    const digest = `sha256:${'d'.repeat(64)}`
    const pinned: MirrorResult = {
      ...planned,
      request: `nginx@${digest}`,
      source: `docker.io/library/nginx@${digest}`,
      target: `m.example.com/docker.io/library/nginx@${digest}`,
      status: 'copied',
      digest
    }
    buildSummary([pinned], { dryRun: false })
    const html = core.summary.stringify()
    const table = html
      .slice(html.indexOf('<table>'), html.indexOf('</table>'))
      .replaceAll('<wbr>', '')
    expect(table.replace(/ title="[^"]*"/g, '')).not.toContain('d'.repeat(13))
    expect(table).toContain(`<code>nginx&#64;sha256:${'d'.repeat(12)}…</code>`)
    // The title keeps the full digest for a reader who hovers; the pull line is whole.
    expect(table).toContain(`title="${digest}"`)
    expect(html).toContain(`docker pull m.example.com/docker.io/library/nginx@${digest}`)
  })

  test('a long run shows at most MAX_SUMMARY_ROWS rows and says how many more', () => {
    const many = Array.from({ length: MAX_SUMMARY_ROWS + 5 }, () => planned)
    buildSummary(many, { dryRun: false })
    const html = core.summary.stringify()
    expect(html.match(/<tr>/g)).toHaveLength(MAX_SUMMARY_ROWS + 1)
    expect(html).toContain('5 more row(s) not shown')
  })

  test('without GITHUB_STEP_SUMMARY nothing fails', async () => {
    await expect(writeSummary([planned], { dryRun: true })).resolves.toBeUndefined()
    expect(written.join('')).toContain('GITHUB_STEP_SUMMARY is not set')
  })

  test('an unwritable summary file is a warning, not a failure', async () => {
    process.env.GITHUB_STEP_SUMMARY = path.join(os.tmpdir(), 'no-such-dir', 'summary')
    await expect(writeSummary([planned], { dryRun: true })).resolves.toBeUndefined()
    expect(written.join('')).toMatch(/::warning::Could not write the job summary/)
  })

  test('the summary is appended to the file', async () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'summary-')), 'summary.md')
    fs.writeFileSync(file, '')
    process.env.GITHUB_STEP_SUMMARY = file
    await writeSummary([planned, rejected], { dryRun: true })
    expect(fs.readFileSync(file, 'utf8')).toContain('2 image(s): 1 planned, 1 rejected')
  })
})

describe('user text in the summary', () => {
  const results: MirrorResult[] = HOSTILE_PROSE.map((text, i) => ({
    ...rejected,
    request: `bad${i}`,
    origin: text,
    reason: text,
    note: text
  }))

  test('no mention, reference or autolink survives outside <code>, and the text reads the same', () => {
    buildSummary([planned, ...results], {
      dryRun: false,
      problem: HOSTILE_PROSE.join(' '),
      remarks: HOSTILE_PROSE
    })
    const html = core.summary.stringify()
    expect(githubLinks(html)).toEqual([])
    const read = proseOf(html).replaceAll(WORD_JOINER, '')
    expect(read).toContain(`⛔ ${HOSTILE_PROSE.join(' ')}`)
    // In the problem, a remark, the origin (in the table and beside the reason), the reason
    // and the note.
    for (const text of HOSTILE_PROSE) expect(read.split(text).length - 1).toBe(6)
    const tags = new Set(html.replace(/<pre[\s\S]*?<\/pre>/g, '').match(/<[^>]*>/g))
    for (const tag of tags) {
      expect(tag).toMatch(/^<\/?(h2|h3|p|b|table|tr|th|td|code|br|sub|ul|li|wbr)>$/)
    }
    expect(html).not.toMatch(/&amp;#|&amp;(amp|lt|gt|quot);/)
  })

  test('code text stays copyable: no joiner inside <code> or <pre>', () => {
    buildSummary([{ ...planned, request: 'www.example.com/a/b:1' }, ...results], { dryRun: false })
    // <wbr> marks where a long reference may wrap; a copy leaves it out.
    const html = core.summary.stringify().replaceAll('<wbr>', '')
    const code = html.match(/<code[^>]*>[^<]*<\/code>|<pre[\s\S]*?<\/pre>/g) ?? []
    expect(code.join('')).toContain('www.example.com/a/b:1')
    for (const text of code) expect(text).not.toContain(WORD_JOINER)
  })
})

describe('the summary stays under GitHub’s 1 MiB', () => {
  const many = (n: number, reason: string): MirrorResult[] =>
    Array.from({ length: n }, (_, i) => ({
      ...rejected,
      request: `registry.example/team/image-${i}:1`,
      reason: `${i} ${reason}`,
      note: `${i} ${reason}`
    }))

  test('20,000 results with 500-character reasons: bounded, fast, and says how many more', () => {
    const results = many(20_000, 'r'.repeat(495))
    const started = performance.now()
    buildSummary(results, { dryRun: false })
    const html = core.summary.stringify()
    expect(performance.now() - started).toBeLessThan(500)
    expect(Buffer.byteLength(html)).toBeLessThan(MAX_SUMMARY_BYTES)
    const rows = (html.match(/<tr>/g)?.length ?? 0) - 1
    expect(rows).toBeGreaterThan(500)
    expect(rows).toBeLessThanOrEqual(MAX_SUMMARY_ROWS)
    expect(html).toContain(`${20_000 - rows} more row(s) not shown`)
  })

  test('rows whose escaping multiplies their size stop at the byte bound, not the row count', () => {
    const results = many(20_000, '@#|<'.repeat(124))
    buildSummary(results, { dryRun: false, remarks: ['leg 1 of 1'] })
    const html = core.summary.stringify()
    expect(Buffer.byteLength(html)).toBeLessThan(MAX_SUMMARY_BYTES)
    const rows = (html.match(/<tr>/g)?.length ?? 0) - 1
    expect(rows).toBeLessThan(MAX_SUMMARY_ROWS)
    expect(rows).toBeGreaterThan(50)
    expect(html).toContain(`${20_000 - rows} more row(s) not shown`)
    expect(html.match(/<td>/g)?.length).toBe(html.match(/<\/td>/g)?.length)
  })

  test('one long reason or note is cut with an ellipsis', () => {
    buildSummary([{ ...rejected, reason: 'x'.repeat(100_000), note: 'y'.repeat(100_000) }], {
      dryRun: false
    })
    const html = core.summary.stringify()
    expect(html.length).toBeLessThan(MAX_CELL_CHARS * 4)
    expect(html).toContain(`: ${'x'.repeat(MAX_CELL_CHARS - 1)}…</li>`)
    expect(html).toContain(`: ${'y'.repeat(MAX_CELL_CHARS - 1)}…</li>`)
  })
})

describe('results from elsewhere', () => {
  const odd = ['constructor', '__proto__', 'toString'].map(
    status => ({ ...planned, status }) as unknown as MirrorResult
  )

  test('an unknown status renders as ❔ unknown, is counted as such, and is not mirrored', () => {
    buildSummary([rejected, ...odd], { dryRun: false })
    const html = core.summary.stringify()
    expect(html.match(/<td>❔ unknown<\/td>/g)).toHaveLength(3)
    expect(html).not.toMatch(/function|\[native code\]|NaN|undefined/)
    expect(html).not.toContain('docker pull')
    expect(totalsLine([rejected, ...odd])).toBe('4 image(s): 1 rejected, 3 unknown')
    expect(mirroredReferences(odd)).toEqual([])
  })

  test('fields of the wrong type render as empty cells, and nothing throws', () => {
    const broken = {
      ...planned,
      request: 7,
      origin: undefined,
      platforms: 'linux/amd64',
      seconds: '3',
      size: '10',
      digest: { x: 1 },
      reason: ['@octocat']
    } as unknown as MirrorResult
    expect(() => buildSummary([broken], { dryRun: false })).not.toThrow()
    expect(core.summary.stringify()).not.toMatch(/octocat|object Object|NaN|undefined/)
    expect(() =>
      logResults([broken, { ...broken, status: 5 } as unknown as MirrorResult])
    ).not.toThrow()
  })

  test('the pull example is a plain reference, never a target that could break out of the block', () => {
    const hostile = { ...planned, target: 'm.example.com/x:1</code></pre><img src=x>' }
    buildSummary([hostile, planned], { dryRun: false })
    const html = core.summary.stringify()
    expect(html).not.toContain('<img')
    expect(html).toContain(`docker pull ${planned.target}`)
    expect(isPasteableReference(planned.target)).toBe(true)
    expect(isPasteableReference(`${planned.target}@sha256:${'a'.repeat(64)}`)).toBe(true)
    for (const bad of [hostile.target, 'a b', 'x\ny', '`x`', '', 'a'.repeat(600), '-x']) {
      expect(isPasteableReference(bad)).toBe(false)
    }
  })
})
