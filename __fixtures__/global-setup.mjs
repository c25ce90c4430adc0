// Jest global set-up: build crane from its Go module once (cached in .tools/),
// so the end-to-end suites can run every path with the action's default engine,
// the tests' registry with the referrers API (__fixtures__/refreg), cosign, regsync and
// Masterminds/semver as skopeo sync calls it (tools/masterminds-semver).
// Without Go the crane suites are skipped and crane-reporter.mjs says so in
// npm test's closing lines; with IMAGE_MIRROR_REQUIRE_CRANE=1 (CI) a missing
// crane fails the run instead.
import { buildCrane, CRANE_VERSION } from '../scripts/lib/crane-release.mjs'
import { buildCosign, buildMastermindsSemver, buildRegsync } from '../scripts/lib/go-tools.mjs'
import { buildReferrersRegistry } from '../scripts/lib/local-registry.mjs'

export default function globalSetup() {
  try {
    const log = line => process.stderr.write(`\n${line}\n`)
    buildCrane({ log })
    // The tests' registry with the referrers API (__fixtures__/refreg): Go, like crane.
    buildReferrersRegistry({ log })
    // cosign signs the tests' images and verifies the mirrored copies (issue 19).
    buildCosign({ log })
    // regsync reads its own sync file beside the action reading it (issue 20).
    buildRegsync({ log })
    // What skopeo sync's images-by-semver selects, for the loose tag policy (masterminds-semver.test).
    buildMastermindsSemver({ log })
    delete process.env.IMAGE_MIRROR_CRANE_MISSING
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error)
    if (process.env.IMAGE_MIRROR_REQUIRE_CRANE === '1') {
      throw new Error(`crane ${CRANE_VERSION} is required (IMAGE_MIRROR_REQUIRE_CRANE=1): ${why}`, {
        cause: error
      })
    }
    // Read by the reporter, in this same process, for the closing lines.
    process.env.IMAGE_MIRROR_CRANE_MISSING = why
  }
}
