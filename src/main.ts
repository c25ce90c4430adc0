/**
 * The main job: inputs → requests → allowed references → targets → plan →
 * results → outputs and summary.
 */
import * as core from '@actions/core'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { parseAllowlist } from './allowlist.js'
import { parseEntries, type ImageRequest } from './entries.js'
import { getInputs, type Inputs } from './inputs.js'
import { buildPlan } from './plan.js'
import { logResults, setOutputs, writeSummary } from './report.js'
import { countByStatus, type MirrorResult } from './results.js'

/** How a file is named in messages: relative to the workspace when inside it. */
function displayPath(file: string): string {
  const relative = path.relative(process.env.GITHUB_WORKSPACE || process.cwd(), file)
  return relative.startsWith('..') || path.isAbsolute(relative) ? file : relative
}

function readRequests(inputs: Inputs): ImageRequest[] {
  const requests = parseEntries(inputs.images, 'images')
  if (inputs.imagesFile) {
    requests.push(
      ...parseEntries(fs.readFileSync(inputs.imagesFile, 'utf8'), displayPath(inputs.imagesFile))
    )
  }
  return requests
}

/** Why the job fails, or undefined: any failure, or nothing but rejections. */
export function failureMessage(results: readonly MirrorResult[]): string | undefined {
  const counts = countByStatus(results)
  if (counts.failed > 0) return `${counts.failed} image(s) failed; see the summary for why.`
  if (results.length > 0 && counts.rejected === results.length) {
    return `Every requested image (${counts.rejected}) was rejected; see the summary for why.`
  }
  return undefined
}

export async function run(): Promise<void> {
  try {
    const inputs = getInputs()
    if (inputs.mode !== 'sync') {
      throw new Error(
        `mode "${inputs.mode}" is not available in this version of the action; use mode: sync`
      )
    }
    if (inputs.fromIssue) {
      throw new Error('from-issue is not available in this version of the action')
    }

    const allowlist = inputs.allowlist
      ? parseAllowlist(fs.readFileSync(inputs.allowlist, 'utf8'), displayPath(inputs.allowlist))
      : undefined
    if (allowlist)
      core.info(`Allowlist ${allowlist.source}: ${allowlist.patterns.length} pattern(s)`)

    const requests = readRequests(inputs)
    if (requests.length === 0) {
      throw new Error(
        'No image entries found in "images" or "images-file" (only blank lines and comments).'
      )
    }
    const results = buildPlan(requests, {
      target: inputs.target,
      template: inputs.rewrite,
      ...(allowlist ? { allowlist } : {})
    })

    if (!inputs.dryRun) {
      // Copying arrives with the registry client and copy engines; until then
      // a real run says so rather than pretending to have copied.
      for (const r of results) {
        if (r.status === 'planned') {
          r.status = 'failed'
          r.reason =
            'copying is not available in this version of the action; run with dry-run: true'
        }
      }
    } else if (inputs.skipUnchanged) {
      core.info(
        'dry-run: the comparison with the target (skip-unchanged) is not made; every allowed image is planned.'
      )
    }

    logResults(results)
    setOutputs(results)
    await writeSummary(results, { dryRun: inputs.dryRun })
    const failure = failureMessage(results)
    if (failure) core.setFailed(failure)
  } catch (error) {
    // setFailed escapes the message into one ::error:: command; nothing in it can start another.
    core.setFailed(error instanceof Error ? error.message : String(error))
  }
}
