#!/usr/bin/env node
// The release: `vX.Y.Z` tagged at the checked commit, and the major tag `vX`
// moved to it, so `uses: OWNER/image-mirror@v1` gets the release. Run by
// .github/workflows/release.yml after dist/ is checked; `--dry-run` (the
// default locally, `npm run release:dry`) prints what it would do and changes
// nothing. The version must be package.json's, have a dated section in
// CHANGELOG.md, and not be tagged yet. Tags are made through GitHub's API with
// `gh` (GH_TOKEN), so no git credentials are kept on the runner.
import { execFileSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')

/**
 * What a release of `version` makes, or the problems that stop it. Pure, so it
 * is tested: `existing` are the tags the repository has.
 */
export function releasePlan({ version, packageVersion, changelog, existing, sha }) {
  const problems = []
  if (!/^\d+\.\d+\.\d+$/.test(version)) {
    problems.push(`"${version}" is not a version X.Y.Z (no "v", no pre-release label)`)
  }
  if (version !== packageVersion) {
    problems.push(
      `package.json says ${packageVersion}, not ${version}; bump it in the release's pull request`
    )
  }
  const heading = new RegExp(
    `^## \\[${version.replace(/\./g, '\\.')}\\] - (\\d{4}-\\d{2}-\\d{2})$`,
    'm'
  )
  const section = heading.exec(changelog)
  if (!section) {
    problems.push(
      `CHANGELOG.md has no section "## [${version}] - YYYY-MM-DD"; move the Unreleased notes there`
    )
  }
  const tag = `v${version}`
  if (existing.includes(tag)) problems.push(`${tag} is already tagged; releases are never moved`)
  const major = `v${version.split('.')[0]}`
  // The section's text, without the link definitions that close the file.
  const notes = section
    ? changelog
        .slice(section.index + section[0].length)
        .split(/^## /m)[0]
        .replace(/^\[[^\]]+\]: .*$/gm, '')
        .trim()
    : ''
  return {
    problems,
    tag,
    major,
    sha,
    moves: existing.includes(major) ? `moves ${major} to it` : `creates ${major} at it`,
    notes
  }
}

function git(...args) {
  return execFileSync('git', args, { cwd: ROOT, encoding: 'utf8' }).trim()
}

function gh(args, input) {
  return execFileSync('gh', args, {
    cwd: ROOT,
    encoding: 'utf8',
    input,
    stdio: ['pipe', 'pipe', 'inherit']
  })
}

async function main() {
  const args = process.argv.slice(2)
  const at = args.indexOf('--version')
  const packageVersion = JSON.parse(
    fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')
  ).version
  const version = at >= 0 ? (args[at + 1] ?? '') : packageVersion
  const dryRun = !args.includes('--publish')
  const plan = releasePlan({
    version,
    packageVersion,
    changelog: fs.readFileSync(path.join(ROOT, 'CHANGELOG.md'), 'utf8'),
    existing: git('tag', '--list', 'v*').split('\n').filter(Boolean),
    sha: git('rev-parse', 'HEAD')
  })
  console.log(`Release ${plan.tag} at ${plan.sha}; ${plan.moves}.`)
  console.log(`Notes:\n${plan.notes.replace(/^/gm, '  ')}`)
  if (plan.problems.length > 0) {
    for (const problem of plan.problems) console.error(`error: ${problem}`)
    process.exitCode = 1
    return
  }
  if (dryRun) {
    console.log('Dry run: nothing tagged (pass --publish to release).')
    return
  }
  const repository = process.env.GITHUB_REPOSITORY
  if (!repository) throw new Error('GITHUB_REPOSITORY (owner/repo) is not set')
  gh(
    ['release', 'create', plan.tag, '--target', plan.sha, '--title', plan.tag, '--notes-file', '-'],
    plan.notes
  )
  const ref = `repos/${repository}/git/refs`
  if (plan.moves.startsWith('moves')) {
    gh([
      'api',
      '-X',
      'PATCH',
      `${ref}/tags/${plan.major}`,
      '-f',
      `sha=${plan.sha}`,
      '-F',
      'force=true'
    ])
  } else {
    gh(['api', '-X', 'POST', ref, '-f', `ref=refs/tags/${plan.major}`, '-f', `sha=${plan.sha}`])
  }
  console.log(`Released ${plan.tag}; ${plan.major} now points at ${plan.sha}.`)
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url))
  await main()
