import { afterEach, beforeEach, describe, expect, jest, test } from '@jest/globals'
import * as core from '@actions/core'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {
  MAX_SUMMARY_ROWS,
  buildSummary,
  mirroredReferences,
  totalsLine,
  writeSummary
} from '../src/report.js'
import type { MirrorResult } from '../src/results.js'

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
    buildSummary([planned, rejected, filter], { dryRun: true })
    const html = core.summary.stringify()
    expect(html).not.toContain('<b>x</b>')
    expect(html).toContain('&lt;b&gt;x&lt;/b&gt;&#124;y')
    expect(html.indexOf('rejected</td>')).toBeLessThan(html.indexOf('planned</td>'))
    expect(html).toContain('docker pull m.example.com/docker.io/library/nginx:latest')
    expect(html.match(/<td>/g)?.length).toBe(html.match(/<\/td>/g)?.length)
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
