// Jest reporter: when crane could not be built (no Go), the last lines of
// `npm test` say so, how to get Go, and which tests were left out, so a green
// run without crane is never mistaken for a full one. The text is printed by
// the global teardown, which runs after jest's own summary.
import { GO_HELP } from '../scripts/lib/crane-release.mjs'
import * as path from 'node:path'

/** Tests left out without Go: crane's, and those needing the tests' own Go programs. */
const CRANE_TITLE = /\(engine crane\)|\(needs Go\)/

export default class CraneReporter {
  onRunComplete(_contexts, results) {
    const missing = process.env.IMAGE_MIRROR_CRANE_MISSING
    if (!missing) return
    const left = new Map()
    for (const file of results.testResults) {
      const skipped = file.testResults.filter(
        t => (t.status === 'pending' || t.status === 'skipped') && CRANE_TITLE.test(t.fullName)
      )
      if (skipped.length > 0)
        left.set(path.relative(process.cwd(), file.testFilePath), skipped.length)
    }
    const total = [...left.values()].reduce((a, b) => a + b, 0)
    if (total === 0) return
    const bar = '!'.repeat(78)
    const lines = [
      '',
      bar,
      `!! crane could not be built: ${total} end-to-end test(s) with the default engine or other Go programs were LEFT OUT.`,
      `!! Why: ${missing}`,
      ...(missing.includes(GO_HELP) ? [] : [`!! ${GO_HELP}.`]),
      '!! Left out, per file:',
      ...[...left.entries()].map(([file, count]) => `!!   ${file}: ${count}`),
      '!! This run is not a full run; CI (.ci/run) builds crane and fails without it.',
      bar,
      ''
    ]
    process.env.IMAGE_MIRROR_CRANE_LEFT_OUT = lines.join('\n') + '\n'
  }
}
