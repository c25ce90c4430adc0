/**
 * End to end: the bundled action in mode lint-allowlist, run as the runner
 * runs it, on DaoCloud's real allows.txt (passes), on broken copies holding
 * hostile lines (fails, with annotations on the file's lines and nothing
 * injected into the log or the summary) and with `fix: true` (rewritten to
 * the normal form, and a second run finds nothing).
 */
import { afterAll, describe, expect, test } from '@jest/globals'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { compareBytes, lintAllowlist } from '../src/allowlist/lint.js'
import {
  readFixture,
  runAction,
  type ActionRun,
  type RunOptions
} from '../__fixtures__/action-runner.js'

const TEXT = readFixture('allowlist-daocloud.txt')
const workdirs: string[] = []
afterAll(() => {
  for (const dir of workdirs) fs.rmSync(dir, { recursive: true, force: true })
})

/** Run the bundle and remember its workdir for cleaning up. */
function lint(inputs: Record<string, string>, options: RunOptions = {}): ActionRun {
  const done = runAction(inputs, options)
  if (!workdirs.includes(done.workdir)) workdirs.push(done.workdir)
  return done
}
const LINES = TEXT.split('\n').slice(0, -1)
const LINT = { mode: 'lint-allowlist', allowlist: 'allows.txt' }

interface Annotation {
  level: string
  properties: Record<string, string>
  message: string
}

/** Annotations as the runner reads them: `::level key=value,...::message`, values unescaped. */
function annotations(stdout: string): Annotation[] {
  const unescape = (v: string) =>
    v.replace(/%3A/g, ':').replace(/%2C/g, ',').replace(/%0D/g, '\r').replace(/%0A/g, '\n')
  return stdout.split('\n').flatMap(line => {
    const m = /^::(error|warning|notice) ([^:]+)::(.*)$/.exec(line)
    if (!m) return []
    const properties = Object.fromEntries(
      (m[2] as string).split(',').map(p => {
        const eq = p.indexOf('=')
        return [p.slice(0, eq), unescape(p.slice(eq + 1)).replace(/%25/g, '%')]
      })
    )
    return [{ level: m[1] as string, properties, message: m[3] as string }]
  })
}

/** Workflow commands the action itself may issue; anything else starting a line is injected. */
const OWN_COMMANDS = /^::(group|endgroup|warning|error|notice|debug|set-output)( [^:]*)?::/

function expectNothingInjected(run: ActionRun): void {
  const lines = run.stdout.split('\n')
  expect(lines.filter(l => /^\s*::/.test(l) && !OWN_COMMANDS.test(l))).toEqual([])
  expect(lines.filter(l => /^\s*##\[/.test(l))).toEqual([])
  // A hostile line is quoted only in its neutralised form.
  expect(run.stdout).not.toMatch(/::error::x|::warning::y|##\[error\]/)
  // The summary is HTML, where only markup can do harm.
  expect(run.summary).not.toMatch(/<img|<script/)
}

const read = (run: ActionRun) => fs.readFileSync(path.join(run.workdir, 'allows.txt'), 'utf8')

/**
 * A copy of DaoCloud's file broken in every fixable way, and holding hostile
 * lines: three malformed patterns and a comment (`#` starts one) that moves
 * with the pattern below it.
 */
const HOSTILE = ['::error::x', '<img src=x onerror=alert(1)>', '##[error]y', '%0A::warning::y']
const MALFORMED = HOSTILE.filter(l => !l.startsWith('#'))
function brokenCopy(withHostile: boolean): string {
  const lines = LINES.filter(l => l !== 'quay.io/prometheus/*')
  lines.unshift('quay.io/prometheus/*') // out of order
  lines.splice(lines.indexOf('gcr.io/**') + 1, 0, 'gcr.io/distroless/static') // covered
  lines.splice(lines.indexOf('docker.io/library/nginx') + 1, 0, 'nginx') // duplicate, short
  lines.splice(lines.indexOf('docker.io/alpine/*') + 1, 0, 'docker.io/alpine/git   ') // covered, spaces
  if (withHostile) lines.splice(20, 0, ...HOSTILE)
  return lines.join('\n') + '\n'
}

describe("DaoCloud's real allows.txt", () => {
  const run = lint(LINT, { files: { 'allows.txt': TEXT } })

  test('passes with no target, no images and nothing to change', () => {
    expect(run.stderr).toBe('')
    expect(run.code).toBe(0)
    expect(run.outputs).toMatchObject({ findings: '0', normalized: 'true', fixed: 'false' })
    expect(annotations(run.stdout)).toEqual([])
    expect(read(run)).toBe(TEXT)
  })

  test('the summary says so', () => {
    expect(run.summary).toContain('Allowlist check')
    expect(run.summary).toContain(
      '✅ <code>allows.txt</code>: 1321 pattern(s), valid and in normal form.'
    )
  })
})

describe('a broken copy with hostile lines', () => {
  const text = brokenCopy(true)
  const expected = lintAllowlist(text, 'allows.txt').findings
  const run = lint(LINT, { files: { 'allows.txt': text } })
  const found = annotations(run.stdout)

  test('fails, naming how many findings and what to do', () => {
    expect(run.code).toBe(1)
    expect(run.outputs).toMatchObject({
      findings: String(expected.length),
      normalized: 'false',
      fixed: 'false'
    })
    expect(run.stdout).toContain(
      `::error::Allowlist allows.txt is not in normal form: ${expected.length} finding(s); see the annotations and the job summary, or run with fix: true.`
    )
    expect(read(run)).toBe(text)
  })

  test('every finding is an error annotation on its file and line', () => {
    const errors = found.filter(a => a.properties.file === 'allows.txt')
    expect(errors.map(a => [a.level, a.properties.line, a.properties.title])).toEqual(
      expected.map(f => ['error', String(f.line), `Allowlist: ${f.kind}`])
    )
    const lines = text.split('\n')
    const at = (line: string) => String(lines.indexOf(line) + 1)
    const byLine = (line: string) => errors.filter(a => a.properties.line === at(line))
    expect(byLine('quay.io/prometheus/*').map(a => a.properties.title)).toEqual([
      'Allowlist: order'
    ])
    expect(byLine('gcr.io/distroless/static')[0]?.message).toBe(
      `"gcr.io/distroless/static": "gcr.io/distroless/static" is already covered by "gcr.io/**" on line ${at('gcr.io/**')}; remove it`
    )
    expect(byLine('nginx').map(a => a.properties.title)).toEqual([
      'Allowlist: spelling',
      'Allowlist: duplicate'
    ])
    expect(byLine('docker.io/alpine/git   ').map(a => a.properties.title)).toEqual([
      'Allowlist: whitespace',
      'Allowlist: covered'
    ])
    for (const hostile of MALFORMED) {
      expect(byLine(hostile).map(a => a.properties.title)).toContain('Allowlist: invalid')
    }
    // The comment is in order where it is: it belongs to the line below it.
    expect(byLine('##[error]y')).toEqual([])
  })

  test('hostile lines are neutralised in the log and the summary', () => {
    expectNothingInjected(run)
    const invalid = found.filter(a => a.properties.title === 'Allowlist: invalid')
    expect(invalid[0]?.message).toMatch(/^":\\u003aerror:\\u003ax": not a valid pattern/)
    expect(run.summary).toContain('<code>&lt;img src=x onerror=alert(1)&gt;</code>')
    expect(run.summary).not.toContain('##[')
  })

  test('the summary lists every finding and gives the normal form', () => {
    expect(run.summary).toContain(
      `❌ <code>allows.txt</code> is not in normal form: ${expected.length} finding(s), ${MALFORMED.length} the fix cannot repair.`
    )
    // One header row and one row per finding.
    expect(run.summary.match(/<tr>/g)).toHaveLength(expected.length + 1)
    expect(run.summary).toContain('Run this action with <code>fix: true</code>')
    expect(run.summary).toMatch(
      /<details><summary>Normal form of <code>allows.txt<\/code> \(1325 line\(s\)\)/
    )
    // Line by line, escaped, the comment above the pattern it belongs to, then DaoCloud's lines.
    expect(run.summary).toContain(
      [
        '<pre>&#35;&#35;&#91;error&#93;y',
        '%0A::warning::y',
        '::error::x',
        '&lt;img src=x onerror=alert(1)&gt;',
        'code.forgejo.org/forgejo/forgejo',
        ''
      ].join('\n')
    )
    expect(run.summary).toContain('us.gcr.io/k8s-artifacts-prod/&#42;&#42;\n</pre>')
  })
})

describe('fix: true', () => {
  test('rewrites a shuffled, redundant copy into exactly the normal form; a second run finds nothing', () => {
    const text = brokenCopy(false).replace(/\n/g, '\r\n')
    const expected = lintAllowlist(text, 'allows.txt').findings
    const run = lint({ ...LINT, fix: 'true' }, { files: { 'allows.txt': text } })
    expect(run.stderr).toBe('')
    expect(run.code).toBe(0)
    expect(read(run)).toBe(TEXT)
    expect(run.outputs).toMatchObject({
      findings: String(expected.length),
      normalized: 'false',
      fixed: 'true'
    })
    const found = annotations(run.stdout)
    expect(found.map(a => a.level)).toEqual(expected.map(() => 'warning'))
    expect(found.every(a => a.message.startsWith('fixed: '))).toBe(true)
    expect(run.summary).toContain(
      `🔧 <code>allows.txt</code> was rewritten in normal form: ${expected.length} finding(s) fixed.`
    )
    expectNothingInjected(run)

    const again = lint({ ...LINT, fix: 'true' }, { workdir: run.workdir })
    expect(again.code).toBe(0)
    expect(again.outputs).toMatchObject({ findings: '0', normalized: 'true', fixed: 'false' })
    expect(read(again)).toBe(TEXT)
  })

  test('repairs what it can and fails on malformed lines, which it keeps as written', () => {
    const text = brokenCopy(true)
    const result = lintAllowlist(text, 'allows.txt')
    const run = lint({ ...LINT, fix: 'TRUE' }, { files: { 'allows.txt': text } })
    expect(run.code).toBe(1)
    expect(run.outputs).toMatchObject({ normalized: 'false', fixed: 'true' })
    expect(read(run)).toBe(result.normalForm)
    const after = read(run).split('\n')
    for (const hostile of HOSTILE) expect(after).toContain(hostile)
    expect(after.slice(HOSTILE.length, -1)).toEqual(LINES)
    const found = annotations(run.stdout)
    expect(found.filter(a => a.level === 'error').map(a => a.properties.title)).toEqual(
      Array(MALFORMED.length).fill('Allowlist: invalid')
    )
    expect(run.stdout).toContain(
      `::error::Allowlist allows.txt is not in normal form: ${MALFORMED.length} line(s) the fix cannot repair; correct them by hand.`
    )
    expectNothingInjected(run)
  })
})

describe('many findings', () => {
  test('at most 50 annotations; the rest in the log, all of them in the summary', () => {
    const text = [...LINES].sort((a, b) => compareBytes(b, a)).join('\n') + '\n'
    const count = lintAllowlist(text, 'allows.txt').findings.length
    expect(count).toBeGreaterThan(1000)
    const run = lint(LINT, { files: { 'allows.txt': text } })
    expect(run.code).toBe(1)
    expect(annotations(run.stdout).filter(a => a.properties.file === 'allows.txt')).toHaveLength(50)
    expect(run.stdout).toContain(`::group::${count - 50} more finding(s)`)
    expect(run.stdout.match(/^allows\.txt:\d+: "/gm)).toHaveLength(count - 50)
    expect(run.summary.match(/<tr>/g)).toHaveLength(Math.min(count, 1000) + 1)
    expect(run.summary).toContain(`${count - 1000} more finding(s) are in the log.`)
  })
})

describe('inputs of mode lint-allowlist', () => {
  test('the allowlist is required', () => {
    const run = lint({ mode: 'lint-allowlist' })
    expect(run.code).toBe(1)
    expect(run.stdout).toContain(
      '::error::Input "allowlist": mode lint-allowlist needs the allowlist file to check'
    )
  })

  test('from-issue is refused', () => {
    const run = lint({ ...LINT, 'from-issue': 'true' }, { files: { 'allows.txt': TEXT } })
    expect(run.code).toBe(1)
    expect(run.stdout).toContain(
      '::error::Input "from-issue": true does not work with mode lint-allowlist'
    )
  })

  test('a bad fix value is refused', () => {
    const run = lint({ ...LINT, fix: 'yes' }, { files: { 'allows.txt': TEXT } })
    expect(run.code).toBe(1)
    expect(run.stdout).toContain('::error::Input "fix": "yes" is not a boolean; use true or false')
  })

  test('a symbolic link is neither read nor written through', () => {
    const outside = fs.mkdtempSync(path.join(os.tmpdir(), 'lint-outside-'))
    try {
      const secret = path.join(outside, 'secret.txt')
      fs.writeFileSync(secret, 'TOP-SECRET-VALUE\n')
      const workdir = fs.mkdtempSync(path.join(os.tmpdir(), 'lint-link-'))
      fs.symlinkSync(secret, path.join(workdir, 'allows.txt'))
      const run = lint({ ...LINT, fix: 'true' }, { workdir })
      expect(run.code).toBe(1)
      expect(run.stdout).toContain(
        '::error::Allowlist allows.txt is a symbolic link; mode lint-allowlist reads a plain file'
      )
      expect(run.stdout + run.summary).not.toContain('TOP-SECRET-VALUE')
      expect(fs.readFileSync(secret, 'utf8')).toBe('TOP-SECRET-VALUE\n')
    } finally {
      fs.rmSync(outside, { recursive: true, force: true })
    }
  })

  test('nor is a file reached through a linked folder', () => {
    const outside = fs.mkdtempSync(path.join(os.tmpdir(), 'lint-outside-'))
    try {
      fs.writeFileSync(path.join(outside, 'allows.txt'), 'TOP-SECRET-VALUE\n')
      const workdir = fs.mkdtempSync(path.join(os.tmpdir(), 'lint-link-'))
      fs.symlinkSync(outside, path.join(workdir, 'lists'))
      const run = lint({ ...LINT, allowlist: 'lists/allows.txt', fix: 'true' }, { workdir })
      expect(run.code).toBe(1)
      expect(run.stdout).toContain(
        '::error::Allowlist lists/allows.txt is reached through a symbolic link; mode lint-allowlist reads a plain file'
      )
      expect(run.stdout + run.summary).not.toContain('TOP-SECRET-VALUE')
      expect(fs.readFileSync(path.join(outside, 'allows.txt'), 'utf8')).toBe('TOP-SECRET-VALUE\n')
    } finally {
      fs.rmSync(outside, { recursive: true, force: true })
    }
  })

  test('a file that is not UTF-8 is refused rather than rewritten', () => {
    const workdir = fs.mkdtempSync(path.join(os.tmpdir(), 'lint-bytes-'))
    const bytes = Buffer.concat([Buffer.from('gcr.io/**\n'), Buffer.from([0xff, 0xfe, 0x0a])])
    fs.writeFileSync(path.join(workdir, 'allows.txt'), bytes)
    const run = lint({ ...LINT, fix: 'true' }, { workdir })
    expect(run.code).toBe(1)
    expect(run.stdout).toContain('::error::Allowlist allows.txt is not UTF-8 text')
    expect(fs.readFileSync(path.join(workdir, 'allows.txt'))).toEqual(bytes)
  })
})
