/**
 * actions/checkout, actions/upload-artifact and actions/download-artifact
 * (v4 and later), as far as a workflow here uses them.
 */
import * as fs from 'node:fs'
import * as path from 'node:path'
import { globMatcher } from './artifacts.js'
import { resolvePath, type StepPlace } from './environment.js'
import { UnsupportedError, type StepRun } from './types.js'

export function checkout(step: StepRun, place: StepPlace): void {
  const options = place.job.options
  const repository = step.inputs.repository || place.github.repository
  const ref = step.inputs.ref
  const into = resolvePath(place, step.inputs.path || '.')
  if (path.relative(place.workspace, into).startsWith('..')) {
    throw new Error(`Repository path '${into}' is not under '${place.workspace}'`)
  }
  fs.mkdirSync(into, { recursive: true })
  if (
    repository === place.github.repository &&
    (!ref || ref === place.github.ref || ref === place.github.sha)
  ) {
    for (const [name, content] of Object.entries(options.files ?? {})) {
      const file = path.join(into, name)
      fs.mkdirSync(path.dirname(file), { recursive: true })
      fs.writeFileSync(file, content)
    }
    return
  }
  const source = options.repositories?.[`${repository}@${ref || 'HEAD'}`]
  if (!source)
    throw new Error(
      `Not Found: the repository '${repository}' at ref '${ref}' cannot be checked out`
    )
  // What an action checkout needs: its metadata and the committed bundle.
  for (const name of ['action.yml', 'dist'])
    fs.symlinkSync(path.join(source, name), path.join(into, name))
}

export function uploadArtifact(step: StepRun, place: StepPlace): void {
  const name = step.inputs.name || 'artifact'
  const given = step.inputs.path ?? ''
  if (given.trim() === '') throw new Error('Input required and not supplied: path')
  if (given.includes('\n') || /[*?[]/.test(given))
    throw new UnsupportedError(`upload-artifact path ${given}`)
  const mode = step.inputs['if-no-files-found'] || 'warn'
  if (!['warn', 'error', 'ignore'].includes(mode))
    throw new Error(`Unrecognized if-no-files-found input: ${mode}`)
  const target = resolvePath(place, given)
  let root = path.dirname(target)
  let files: string[] = []
  if (fs.existsSync(target) && fs.statSync(target).isDirectory()) {
    root = target
    files = (fs.readdirSync(target, { recursive: true, encoding: 'utf8' }) as string[])
      .map(f => path.join(target, f))
      // include-hidden-files defaults to false
      .filter(
        f =>
          fs.statSync(f).isFile() &&
          !path
            .relative(target, f)
            .split(path.sep)
            .some(p => p.startsWith('.'))
      )
  } else if (fs.existsSync(target)) {
    files = [target]
  }
  if (files.length === 0) {
    const message = `No files were found with the provided path: ${given}. No artifacts will be uploaded.`
    if (mode === 'error') throw new Error(message)
    if (mode === 'warn') step.warnings.push(message)
    return
  }
  place.job.artifacts.upload(name, root, files)
}

export function downloadArtifact(step: StepRun, place: StepPlace): void {
  const store = place.job.artifacts
  const into = resolvePath(place, step.inputs.path || '.')
  if (step.inputs.name) {
    // By name: extracted straight into path.
    store.download(step.inputs.name, into)
  } else {
    const matches = step.inputs.pattern ? globMatcher(step.inputs.pattern) : () => true
    const merge = step.inputs['merge-multiple'] === 'true'
    // By pattern (or all): each into path/<artifact name>/ unless merge-multiple; none found is no error.
    for (const name of store.names().filter(matches)) {
      store.download(name, merge ? into : path.join(into, name))
    }
  }
  step.outputs['download-path'] = into
}
