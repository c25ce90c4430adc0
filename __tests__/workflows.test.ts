/**
 * Every workflow users copy from this repository, the reusable workflow, the
 * CI workflow, the workflows in the README, CONTRIBUTING.md and docs/*.md, and
 * action.yml are parsed and validated with GitHub's own parser
 * (@actions/workflow-parser: schema, expressions and the contexts each key
 * allows), then checked against the action's contract: every `with:` names a
 * real input, every output read exists, callers of the reusable workflow pass
 * what it declares and grant the permissions its jobs ask for, and no `run:`
 * script expands an expression (text from issues and lists must reach scripts
 * through `env:`).
 * A broken example cannot land.
 */
import { describe, expect, it } from '@jest/globals'
import {
  convertWorkflowTemplate,
  NoOperationTraceWriter,
  parseWorkflow
} from '@actions/workflow-parser'
import { parseAction } from '@actions/workflow-parser/actions/action-parser'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { parse as parseYaml } from 'yaml'
import { ROOT } from '../__fixtures__/action-runner.js'

type Map = Record<string, unknown>

interface Step {
  id?: string
  uses?: string
  run?: string
  with?: Map
}

interface Job {
  uses?: string
  with?: Map
  secrets?: Map | 'inherit'
  steps?: Step[]
  outputs?: Record<string, string>
  permissions?: Record<string, string> | string
  needs?: string | string[]
}

interface Workflow {
  on?: unknown
  concurrency?: unknown
  permissions?: Record<string, string> | string
  jobs: Record<string, Job>
}

const read = (file: string) => fs.readFileSync(path.join(ROOT, file), 'utf8')
const yamlFiles = (dir: string) =>
  fs
    .readdirSync(path.join(ROOT, dir))
    .filter(name => /\.ya?ml$/.test(name))
    .map(name => path.posix.join(dir, name))

const ACTION = parseYaml(read('action.yml')) as {
  inputs: Record<string, { default?: string }>
  outputs: Record<string, unknown>
}
const REUSABLE_FILE = '.github/workflows/mirror.yml'
const REUSABLE = parseYaml(read(REUSABLE_FILE)) as Workflow & {
  on: {
    workflow_call: {
      inputs: Record<string, { required?: boolean; type: string; default?: unknown }>
      secrets: Record<string, unknown>
      outputs: Record<string, { value: string }>
    }
  }
}
const CALL = REUSABLE.on.workflow_call
const MODES = ['sync', 'plan', 'copy', 'report', 'lint-allowlist']

/** This action, as users (`OWNER/image-mirror@ref`) or this repository (`./`) refer to it. */
const isThisAction = (uses: string) =>
  /^OWNER\/image-mirror@/.test(uses) || uses === './' || uses === './.image-mirror-action'
const isReusable = (uses: string) =>
  /^OWNER\/image-mirror\/\.github\/workflows\/mirror\.yml@/.test(uses) ||
  uses === `./${REUSABLE_FILE}`

/** Every string in a YAML tree. */
function strings(node: unknown): string[] {
  if (typeof node === 'string') return [node]
  if (Array.isArray(node)) return node.flatMap(strings)
  if (node && typeof node === 'object') return Object.values(node).flatMap(strings)
  return []
}

/** `context.name` (or `context.id.outputs.name`) references inside `${{ }}` expressions. */
function references(node: unknown, pattern: RegExp): string[][] {
  const found: string[][] = []
  for (const text of strings(node)) {
    for (const expression of text.matchAll(/\$\{\{([\s\S]*?)\}\}/g)) {
      for (const match of (expression[1] as string).matchAll(pattern)) found.push(match.slice(1))
    }
  }
  return found
}

const LEVELS: Record<string, number> = { none: 0, read: 1, write: 2 }
function permissionLevel(permissions: Job['permissions'], scope: string): number {
  if (permissions === undefined) return -1
  if (typeof permissions === 'string') return permissions === 'write-all' ? 2 : 1
  return LEVELS[permissions[scope] ?? 'none'] as number
}

/** `owner/name@vN` → [owner/name, N]. */
const majorOf = (uses: string) =>
  /^([\w.-]+\/[\w.-]+)@v(\d+)$/.exec(uses)?.slice(1) as [string, string] | undefined

/**
 * The major of each action the repository's own workflows use: dependabot keeps
 * those current, and examples and docs must follow them.
 */
const CURRENT_MAJORS = new Map<string, Set<string>>()
for (const file of yamlFiles('.github/workflows')) {
  for (const text of strings(parseYaml(read(file)))) {
    const found = majorOf(text)
    if (!found || found[0].startsWith('OWNER/')) continue
    CURRENT_MAJORS.set(found[0], (CURRENT_MAJORS.get(found[0]) ?? new Set()).add(found[1]))
  }
}

/** What is wrong with one workflow, beyond what GitHub's parser says. */
function contractProblems(workflow: Workflow): string[] {
  const problems: string[] = []
  if (workflow.permissions === undefined) {
    const open = Object.entries(workflow.jobs).filter(([, job]) => job.permissions === undefined)
    if (
      open.length > 0 &&
      !(workflow.on && typeof workflow.on === 'object' && 'workflow_call' in workflow.on)
    ) {
      problems.push(`no permissions: at the top or on job(s) ${open.map(([id]) => id).join(', ')}`)
    }
  }
  for (const [jobId, job] of Object.entries(workflow.jobs)) {
    const ourSteps = new Set<string>()
    // A job that holds a secret must not leave the checkout's token in .git/config for it.
    const holdsSecrets = strings(job).some(text => /\$\{\{[^}]*\bsecrets\./.test(text))
    for (const step of job.steps ?? []) {
      const major = step.uses ? majorOf(step.uses) : undefined
      const current = major && CURRENT_MAJORS.get(major[0])
      if (major && current && !current.has(major[1])) {
        problems.push(`${jobId}: ${step.uses} is not at the current v${[...current].join('/v')}`)
      }
      if (
        holdsSecrets &&
        step.uses?.startsWith('actions/checkout@') &&
        step.with?.['persist-credentials'] !== false
      ) {
        problems.push(
          `${jobId}: checks out leaving the token in .git/config in a job that holds secrets; set persist-credentials: false`
        )
      }
      if (typeof step.with?.username === 'string' && step.with.username.includes('github.actor')) {
        problems.push(
          `${jobId}: username is github.actor, whoever triggered the run (on an issue, a stranger); name the registry's account, e.g. github.repository_owner`
        )
      }
      if (step.run && step.run.includes('${{')) {
        problems.push(`${jobId}: a run: script expands an expression; pass it through env:`)
      }
      if (!step.uses) continue
      if (!isThisAction(step.uses) && !/@[\w.-]+$/.test(step.uses) && !step.uses.startsWith('./')) {
        problems.push(`${jobId}: ${step.uses} is not pinned to a ref`)
      }
      if (!isThisAction(step.uses)) continue
      if (step.id) ourSteps.add(step.id)
      for (const key of Object.keys(step.with ?? {})) {
        if (!(key in ACTION.inputs)) problems.push(`${jobId}: input "${key}" is not in action.yml`)
      }
      const mode = step.with?.mode
      if (typeof mode === 'string' && !mode.includes('${{') && !MODES.includes(mode)) {
        problems.push(`${jobId}: mode "${mode}" is not one of ${MODES.join(', ')}`)
      }
    }
    for (const [id, name] of references(job, /\bsteps\.([\w-]+)\.outputs\.([\w-]+)/g)) {
      if (ourSteps.has(id as string) && !((name as string) in ACTION.outputs)) {
        problems.push(`${jobId}: output "${name}" of step ${id} is not in action.yml`)
      }
    }
    if (job.uses && isReusable(job.uses)) {
      for (const key of Object.keys(job.with ?? {})) {
        if (!(key in CALL.inputs)) problems.push(`${jobId}: "${key}" is not an input of mirror.yml`)
      }
      for (const [name, input] of Object.entries(CALL.inputs)) {
        if (input.required && !(name in (job.with ?? {}))) {
          problems.push(`${jobId}: mirror.yml's required input "${name}" is not given`)
        }
      }
      if (job.secrets && job.secrets !== 'inherit') {
        for (const key of Object.keys(job.secrets)) {
          if (!(key in CALL.secrets))
            problems.push(`${jobId}: "${key}" is not a secret of mirror.yml`)
        }
      }
      // GitHub refuses to start a run whose called jobs ask for more than the caller grants.
      const granted = job.permissions ?? workflow.permissions
      for (const called of Object.values(REUSABLE.jobs)) {
        for (const scope of Object.keys(called.permissions as object)) {
          const asked = permissionLevel(called.permissions, scope)
          if (granted !== undefined && permissionLevel(granted, scope) < asked) {
            problems.push(
              `${jobId}: mirror.yml's jobs ask for ${scope}: ${Object.keys(LEVELS)[asked]}, not granted`
            )
          }
        }
      }
    }
  }
  for (const [jobId, name] of references(workflow.jobs, /\bneeds\.([\w-]+)\.outputs\.([\w-]+)/g)) {
    const job = workflow.jobs[jobId as string]
    const declared = job?.uses && isReusable(job.uses) ? CALL.outputs : (job?.outputs ?? {})
    if (!((name as string) in declared))
      problems.push(`needs.${jobId}.outputs.${name} is never set`)
  }
  return problems
}

async function parserErrors(name: string, content: string): Promise<string[]> {
  const parsed = parseWorkflow({ name, content }, new NoOperationTraceWriter())
  const errors = parsed.context.errors.getErrors().map(e => e.message)
  if (errors.length > 0 || !parsed.value) return errors.length > 0 ? errors : ['nothing parsed']
  const template = await convertWorkflowTemplate(parsed.context, parsed.value)
  return (template.errors ?? []).map(e => e.Message)
}

async function problemsOf(name: string, content: string): Promise<string[]> {
  const errors = await parserErrors(name, content)
  if (errors.length > 0) return errors
  return contractProblems(parseYaml(content) as Workflow)
}

/** The Markdown files whose workflows users copy: the README, CONTRIBUTING.md and docs/. */
const DOCUMENTS = [
  'README.md',
  'CONTRIBUTING.md',
  ...fs
    .readdirSync(path.join(ROOT, 'docs'))
    .filter(name => name.endsWith('.md'))
    .sort()
    .map(name => path.posix.join('docs', name))
]

/** A document's complete workflows: ```yaml blocks with both `on:` and `jobs:`. */
function documentedWorkflows(file: string): [string, string][] {
  const blocks = [...read(file).matchAll(/```ya?ml\n([\s\S]*?)```/g)].map(m => m[1] as string)
  return blocks
    .filter(block => /^on:/m.test(block) && /^jobs:/m.test(block))
    .map((block, i) => [`${file} workflow ${i + 1}`, block])
}

const DOCUMENTED_WORKFLOWS = DOCUMENTS.flatMap(documentedWorkflows)

const WORKFLOWS = [...yamlFiles('.github/workflows'), ...yamlFiles('examples')]

describe('workflows users copy', () => {
  it('include the reusable workflow and an example of each kind of use', () => {
    expect(WORKFLOWS).toEqual(
      expect.arrayContaining([
        REUSABLE_FILE,
        '.github/workflows/ci.yml',
        'examples/scheduled-sync.yml',
        'examples/sync-image-issue.yml',
        'examples/call-reusable-workflow.yml',
        'examples/build-step.yml'
      ])
    )
    expect(documentedWorkflows('README.md').length).toBeGreaterThanOrEqual(3)
    // docs/ holds workflows of its own, and they are found.
    expect(DOCUMENTED_WORKFLOWS.length).toBeGreaterThan(documentedWorkflows('README.md').length)
  })

  it("the repository's own workflows use one major of each action (dependabot keeps them current)", () => {
    const split = [...CURRENT_MAJORS].filter(([, majors]) => majors.size > 1)
    expect(split).toEqual([])
    expect(CURRENT_MAJORS.get('actions/checkout')?.size).toBe(1)
  })

  it('catch a stale action major, a persisted token beside secrets and github.actor as username', async () => {
    const stale = read('examples/sync-image-issue.yml')
      .replace('actions/checkout@v6', 'actions/checkout@v2')
      .replace('          persist-credentials: false\n', '          fetch-depth: 1\n')
      .replace(
        'github.repository_owner }}\n          password',
        'github.actor }}\n          password'
      )
    const problems = await problemsOf('stale.yml', stale)
    expect(problems).toEqual([
      `sync: actions/checkout@v2 is not at the current v${[...(CURRENT_MAJORS.get('actions/checkout') ?? [])].join('')}`,
      'sync: checks out leaving the token in .git/config in a job that holds secrets; set persist-credentials: false',
      "sync: username is github.actor, whoever triggered the run (on an issue, a stranger); name the registry's account, e.g. github.repository_owner"
    ])
  })

  it.each(WORKFLOWS)('%s is valid and keeps to the action contract', async file => {
    expect(await problemsOf(file, read(file))).toEqual([])
  })

  it.each(DOCUMENTED_WORKFLOWS)(
    '%s is valid and keeps to the action contract',
    async (name, yaml) => {
      expect(await problemsOf(name, yaml)).toEqual([])
    }
  )

  it('action.yml is a valid node24 action', () => {
    const parsed = parseAction(
      { name: 'action.yml', content: read('action.yml') },
      new NoOperationTraceWriter()
    )
    expect(parsed.context.errors.getErrors().map(e => e.message)).toEqual([])
    expect(parseYaml(read('action.yml'))).toMatchObject({
      runs: { using: 'node24', main: 'dist/index.js' }
    })
  })

  it('action.yml can be published on the Marketplace: a short description, branding, a license', () => {
    const action = parseYaml(read('action.yml')) as {
      name: string
      description: string
      branding?: { icon?: string; color?: string }
    }
    // The Marketplace refuses a description of 125 characters or more.
    expect(action.description.length).toBeLessThan(125)
    expect(action.name.length).toBeGreaterThan(0)
    expect(action.branding?.icon).toBeTruthy()
    expect([
      'white',
      'black',
      'yellow',
      'blue',
      'green',
      'orange',
      'red',
      'purple',
      'gray-dark'
    ]).toContain(action.branding?.color)
    expect(read('LICENSE')).toMatch(/Apache License\s+Version 2\.0, January 2004/)
    expect((JSON.parse(read('package.json')) as { license: string }).license).toBe('Apache-2.0')
  })
})

describe('the reusable workflow', () => {
  const jobs = REUSABLE.jobs as Record<string, Job & Map>

  it('passes to the action only inputs and secrets it declares', () => {
    const inputs = references(jobs, /\binputs\.([\w-]+)/g).map(([name]) => name)
    expect(inputs.filter(name => !((name as string) in CALL.inputs))).toEqual([])
    const secrets = references(jobs, /\bsecrets\.([\w-]+)/g).map(([name]) => name)
    expect(secrets.filter(name => !((name as string) in CALL.secrets))).toEqual([])
  })

  it('declares every input the action has that a caller may need, with the same defaults', () => {
    // Set per job by the workflow itself; `fix` belongs to mode lint-allowlist, which it does
    // not run; `config-dir` is the input `client-configs` (the report writes, then uploads).
    const perJob = ['mode', 'leg', 'results-dir', 'github-token', 'password', 'from-issue', 'fix']
    const forwarded = Object.keys(ACTION.inputs).filter(
      name => !perJob.includes(name) && name !== 'config-dir'
    )
    expect(forwarded.filter(name => !(name in CALL.inputs))).toEqual([])
    // An empty default leaves the action's own (the pinned crane, for one).
    const differing = forwarded.filter(name => {
      const ours = CALL.inputs[name]?.default
      return ours !== undefined && ours !== '' && String(ours) !== ACTION.inputs[name]?.default
    })
    expect(differing).toEqual([])
  })

  it('gives the plan and the report every issue input, so the answer follows the caller', () => {
    const issueInputs = [
      'from-issue',
      'allowlist',
      'open-mirror',
      'issue-platforms',
      'issue-max-images',
      'dry-run',
      'label-succeeded',
      'label-failed',
      'label-partial'
    ]
    for (const id of ['plan', 'report']) {
      const step = jobs[id]?.steps?.find(s => s.uses === './.image-mirror-action')
      const given = Object.keys(step?.with ?? {})
      expect([id, issueInputs.filter(name => !given.includes(name))]).toEqual([id, []])
      for (const name of issueInputs) {
        expect([id, step?.with?.[name]]).toEqual([id, `\${{ inputs.${name} }}`])
      }
    }
  })

  it('runs plan → copy legs → report with artifacts, least permissions and no overlap', () => {
    expect(Object.keys(jobs)).toEqual(['plan', 'copy', 'report'])
    const copy = jobs.copy as Map
    expect(copy).toMatchObject({
      needs: 'plan',
      if: "needs.plan.outputs.legs != '0'",
      strategy: { 'fail-fast': false, matrix: '${{ fromJSON(needs.plan.outputs.matrix) }}' }
    })
    expect(jobs.report).toMatchObject({
      needs: ['plan', 'copy'],
      if: "always() && needs.plan.result == 'success'"
    })
    const modes = Object.fromEntries(
      Object.entries(jobs).map(([id, job]) => [
        id,
        job.steps?.find(s => s.uses === './.image-mirror-action')?.with?.mode
      ])
    )
    expect(modes).toEqual({ plan: 'plan', copy: 'copy', report: 'report' })
    const uses = (id: string) => (jobs[id]?.steps ?? []).map(s => s.uses?.replace(/@.*/, ''))
    expect(uses('plan')).toContain('actions/upload-artifact')
    expect(uses('copy')).toEqual(
      expect.arrayContaining(['actions/download-artifact', 'actions/upload-artifact'])
    )
    expect(uses('report')).toContain('actions/download-artifact')
    // Only the legs push; nothing may write contents.
    expect(jobs.plan?.permissions).toEqual({ contents: 'read', issues: 'write', packages: 'read' })
    expect(jobs.copy?.permissions).toEqual({ contents: 'read', packages: 'write' })
    expect(jobs.report?.permissions).toEqual({ contents: 'read', issues: 'write' })
    expect(REUSABLE.concurrency).toMatchObject({ 'cancel-in-progress': false })
    // Its outputs come from the report job.
    for (const [name, output] of Object.entries(CALL.outputs)) {
      expect(output.value).toBe(`\${{ jobs.report.outputs.${name} }}`)
      expect(jobs.report?.outputs?.[name]).toBe(`\${{ steps.report.outputs.${name} }}`)
    }
    // Every output of the action is passed on to callers, but the plan's own and other modes'.
    const notReported = ['matrix', 'legs', 'planned', 'configs', 'findings', 'normalized', 'fixed']
    for (const name of Object.keys(ACTION.outputs).filter(n => !notReported.includes(n))) {
      expect([name, CALL.outputs[name]?.value]).toEqual([
        name,
        `\${{ jobs.report.outputs.${name} }}`
      ])
    }
  })

  it('uploads with overwrite, so a re-run job (the same run) can upload its name again', () => {
    const uploads = Object.values(jobs).flatMap(job =>
      (job.steps ?? []).filter(s => s.uses?.startsWith('actions/upload-artifact@'))
    )
    expect(uploads.length).toBe(3)
    expect(uploads.map(s => s.with?.overwrite)).toEqual([true, true, true])
  })

  it('sends GITHUB_TOKEN to no registry but ghcr.io', () => {
    const passwords = Object.values(jobs).flatMap(job =>
      (job.steps ?? []).map(s => s.with?.password).filter((p): p is string => typeof p === 'string')
    )
    expect(passwords.length).toBe(2)
    for (const password of passwords) {
      expect(password).toBe(
        "${{ secrets.password || (startsWith(inputs.target, 'ghcr.io/') && github.token || '') }}"
      )
    }
  })
})

describe('the checks bite', () => {
  const example = read('examples/scheduled-sync.yml')

  it('a misspelt input, an unknown mode or output, an expression in run: are each caught', async () => {
    const broken = example
      .replace('images-file: images.txt', 'images_file: images.txt')
      .replace('mode: report', 'mode: reprot')
      .replace('steps.report.outputs.failed', 'steps.report.outputs.failures')
      .replace(
        'run: echo "$COPIED copied',
        'run: echo "${{ github.event.issue.title }} $COPIED copied'
      )
    expect(await problemsOf('broken.yml', broken)).toEqual([
      'plan: input "images_file" is not in action.yml',
      'report: mode "reprot" is not one of sync, plan, copy, report, lint-allowlist',
      'report: a run: script expands an expression; pass it through env:',
      'report: output "failures" of step report is not in action.yml'
    ])
  })

  it("GitHub's parser catches schema and expression errors", async () => {
    const errors = await problemsOf(
      'broken.yml',
      example
        .replace('timeout-minutes: 30', 'timeout-minute: 30')
        .replace('fromJSON(', 'fromJSONX(')
    )
    expect(errors.join('\n')).toMatch(/Unexpected value 'timeout-minute'/)
    expect(errors.join('\n')).toMatch(/Unrecognized function: 'fromJSONX'/)
  })

  it('a caller that grants too little, forgets a required input or names an unknown one is caught', async () => {
    const caller = read('examples/call-reusable-workflow.yml')
      .replace('      issues: write\n', '')
      .replace('      action-ref: v1\n', '      action-rev: v1\n')
    expect(await problemsOf('caller.yml', caller)).toEqual([
      'mirror: "action-rev" is not an input of mirror.yml',
      `mirror: mirror.yml's required input "action-ref" is not given`,
      "mirror: mirror.yml's jobs ask for issues: write, not granted",
      "mirror: mirror.yml's jobs ask for issues: write, not granted"
    ])
  })
})
