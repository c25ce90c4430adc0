/**
 * Mode `lint-allowlist`: check an allowlist against its normal form
 * (allowlist/lint.ts), say what to change as annotations on the file's
 * lines and in the job summary, and rewrite it with `fix: true`. Its lines
 * may come from a stranger's pull request, so everything quoted from them is
 * escaped for the log and for the summary.
 */
import * as core from '@actions/core'
import * as fs from 'node:fs'
import * as nodePath from 'node:path'
import { lintAllowlist, type Finding, type LintResult } from '../allowlist/lint.js'
import { codeCell, escapeHtml, safeLog } from '../action/escape.js'
import type { LintInputs } from '../action/inputs.js'
import { displayPath, workspace } from '../action/paths.js'
import { flushSummary } from '../report/summary.js'

/** GitHub shows only the first few annotations of a step; the rest go to the log and summary. */
export const MAX_ANNOTATIONS = 50
export const MAX_FINDING_ROWS = 1000
/** Keep the summary well under GitHub's 1 MiB limit. */
const MAX_NORMAL_FORM_CHARS = 300_000

function message(f: Finding): string {
  return safeLog(`"${f.text}": ${f.problem}; ${f.action}`)
}

function annotate(result: LintResult, file: string, fixed: boolean): void {
  const shown = result.findings.slice(0, MAX_ANNOTATIONS)
  for (const f of shown) {
    const properties = { file, startLine: f.line, title: `Allowlist: ${f.kind}` }
    if (fixed && f.fixable) core.warning(`fixed: ${message(f)}`, properties)
    else core.error(message(f), properties)
  }
  const rest = result.findings.slice(MAX_ANNOTATIONS)
  if (rest.length === 0) return
  core.startGroup(`${rest.length} more finding(s)`)
  for (const f of rest) core.info(`${safeLog(file)}:${f.line}: ${message(f)}`)
  core.endGroup()
}

function buildLintSummary(result: LintResult, file: string, fixed: boolean): void {
  const summary = core.summary.addHeading('Allowlist check', 2)
  const { findings } = result
  const unfixable = findings.filter(f => !f.fixable).length
  if (findings.length === 0) {
    summary.addRaw(
      `<p>✅ ${codeCell(file)}: ${result.patterns} pattern(s), valid and in normal form.</p>`
    )
    return
  }
  const status = fixed
    ? `🔧 ${codeCell(file)} was rewritten in normal form: ${findings.length} finding(s) fixed${unfixable ? `, ${unfixable} left for you` : ''}.`
    : `❌ ${codeCell(file)} is not in normal form: ${findings.length} finding(s)${unfixable ? `, ${unfixable} the fix cannot repair` : ''}.`
  summary.addRaw(`<p>${status}</p>`)
  const rows = findings.slice(0, MAX_FINDING_ROWS)
  summary.addTable([
    [
      { data: 'Line', header: true },
      { data: 'As written', header: true },
      { data: 'Problem', header: true },
      { data: 'What to do', header: true }
    ],
    ...rows.map(f => [
      String(f.line),
      codeCell(f.text),
      escapeHtml(f.problem),
      escapeHtml(f.fixable ? f.action : `✋ ${f.action}`)
    ])
  ])
  if (findings.length > rows.length) {
    summary.addRaw(`<p>${findings.length - rows.length} more finding(s) are in the log.</p>`)
  }
  if (fixed || findings.every(f => !f.fixable)) return
  summary.addRaw(
    '<p>Run this action with <code>fix: true</code> to rewrite the file, or replace it with its normal form:</p>'
  )
  const lines = result.normalForm.split('\n').length - 1
  // Line by line: escapeHtml shows a line break as \u000a.
  const body = result.normalForm.split('\n').map(escapeHtml).join('\n')
  summary.addRaw(
    body.length <= MAX_NORMAL_FORM_CHARS
      ? `<details><summary>Normal form of ${codeCell(file)} (${lines} line(s))</summary>\n\n<pre>${body}</pre>\n\n</details>`
      : `<p>The normal form (${lines} line(s)) is too long to show here.</p>`
  )
}

async function writeLintSummary(result: LintResult, file: string, fixed: boolean): Promise<void> {
  buildLintSummary(result, file, fixed)
  await flushSummary()
}

/** Read the allowlist as UTF-8 text, refusing what the fix could not write back unchanged. */
function readText(path: string, name: string): string {
  // A pull request could turn the file into a link to another file on the runner, to have it
  // printed in annotations, or to have `fix` write there.
  if (fs.lstatSync(path).isSymbolicLink()) {
    throw new Error(`Allowlist ${name} is a symbolic link; mode lint-allowlist reads a plain file`)
  }
  // A linked folder on the way leads elsewhere just as well: the file must be where it is named.
  const root = workspace()
  const named = nodePath.relative(nodePath.resolve(root), path)
  const real = nodePath.relative(fs.realpathSync(root), fs.realpathSync(path))
  if (named !== real) {
    throw new Error(
      `Allowlist ${name} is reached through a symbolic link; mode lint-allowlist reads a plain file`
    )
  }
  const bytes = fs.readFileSync(path)
  const text = bytes.toString('utf8')
  if (!Buffer.from(text, 'utf8').equals(bytes)) {
    throw new Error(`Allowlist ${name} is not UTF-8 text`)
  }
  return text
}

export async function runLintAllowlist(inputs: LintInputs): Promise<void> {
  const path = inputs.allowlist
  const file = displayPath(path)
  const text = readText(path, safeLog(file))
  const result = lintAllowlist(text, file)
  const repair = inputs.fix
  const fixed = repair && result.normalForm !== text
  if (fixed) fs.writeFileSync(path, result.normalForm)

  const { findings } = result
  core.info(
    `Allowlist ${safeLog(file)}: ${findings.length} finding(s), ${result.patterns} pattern(s) in normal form${fixed ? '; the file was rewritten in normal form' : ''}.`
  )
  annotate(result, file, fixed)
  core.setOutput('findings', String(findings.length))
  core.setOutput('normalized', String(result.normalized))
  core.setOutput('fixed', String(fixed))
  await writeLintSummary(result, file, fixed)

  const left = repair ? findings.filter(f => !f.fixable) : findings
  if (left.length > 0) {
    const what = repair
      ? `${left.length} line(s) the fix cannot repair; correct them by hand`
      : `${left.length} finding(s); see the annotations and the job summary, or run with fix: true`
    core.setFailed(`Allowlist ${safeLog(file)} is not in normal form: ${what}.`)
  }
}
