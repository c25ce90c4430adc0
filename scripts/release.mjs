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

/** `v1.2.3` → [1, 2, 3]; undefined for anything else. */
function parts(tag) {
  const m = /^v(\d+)\.(\d+)\.(\d+)$/.exec(tag)
  return m ? m.slice(1).map(Number) : undefined
}

const newer = (a, b) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2]

/**
 * What a release of `version` makes, or the problems that stop it. Pure, so it is tested:
 * `existing` maps the repository's tags to the commits they point at. A release already
 * tagged at this very commit is not made again (a run that tagged it and then failed to move
 * the major tag can be run again); the major tag is moved only forward.
 */
export function releasePlan({ version, packageVersion, changelog, existing, sha }) {
  const problems = []
  const tag = `v${version}`
  const wanted = parts(tag)
  if (!wanted) {
    problems.push(`"${version}" is not a version X.Y.Z (no "v", no pre-release label)`)
    return { problems, tag, major: '', sha, release: false, moves: '', notes: '' }
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
  const at = existing[tag]
  if (at !== undefined && at !== sha) {
    problems.push(`${tag} is already tagged at ${at.slice(0, 12)}; releases are never moved`)
  }
  const major = `v${wanted[0]}`
  // The newest release of this major already tagged: the major tag never goes back from it.
  const newest = Object.keys(existing)
    .map(t => [t, parts(t)])
    .filter(([, p]) => p && p[0] === wanted[0] && newer(p, wanted) > 0)
    .sort((a, b) => newer(b[1], a[1]))[0]
  const moves = newest
    ? `leaves ${major} at ${newest[0]}, which is newer`
    : existing[major] === undefined
      ? `creates ${major} at it`
      : existing[major] === sha
        ? `${major} already points at it`
        : `moves ${major} to it`
  // The section's text, without the link definitions that close the file.
  const notes = section
    ? changelog
        .slice(section.index + section[0].length)
        .split(/^## /m)[0]
        .replace(/^\[[^\]]+\]: .*$/gm, '')
        .trim()
    : ''
  return { problems, tag, major, sha, release: at === undefined, moves, notes }
}

/** Every v* tag and the commit it points at (an annotated tag's commit, not the tag object). */
function tagsAt() {
  const lines = git(
    'tag',
    '--list',
    'v*',
    '--format=%(refname:short) %(if)%(*objectname)%(then)%(*objectname)%(else)%(objectname)%(end)'
  )
  return Object.fromEntries(
    lines
      .split('\n')
      .filter(Boolean)
      .map(line => line.split(' '))
  )
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
    existing: tagsAt(),
    sha: git('rev-parse', 'HEAD')
  })
  if (plan.major) {
    console.log(
      `${plan.release ? 'Release' : 'Already released:'} ${plan.tag} at ${plan.sha}; ${plan.moves}.`
    )
    console.log(`Notes:\n${plan.notes.replace(/^/gm, '  ')}`)
  }
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
  if (plan.release) {
    gh(
      [
        'release',
        'create',
        plan.tag,
        '--target',
        plan.sha,
        '--title',
        plan.tag,
        '--notes-file',
        '-'
      ],
      plan.notes
    )
  }
  const ref = `repos/${repository}/git/refs`
  const move = plan.moves.startsWith('moves')
    ? [
        'api',
        '-X',
        'PATCH',
        `${ref}/tags/${plan.major}`,
        '-f',
        `sha=${plan.sha}`,
        '-F',
        'force=true'
      ]
    : plan.moves.startsWith('creates')
      ? ['api', '-X', 'POST', ref, '-f', `ref=refs/tags/${plan.major}`, '-f', `sha=${plan.sha}`]
      : undefined
  if (move) {
    try {
      gh(move)
    } catch (error) {
      // The release stands; running the workflow again moves the major tag (the release is kept).
      console.error(
        `error: ${plan.tag} is released, but ${plan.major} could not be moved (${error.message.split('\n')[0]}); run the release again, or: git tag -f ${plan.major} ${plan.sha} && git push -f origin ${plan.major}`
      )
      process.exitCode = 1
      return
    }
  }
  console.log(`Released ${plan.tag}; ${plan.major}: ${plan.moves}.`)
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url))
  await main()
