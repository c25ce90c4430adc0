/** Where the job's files are, and how they are named in messages. */
import * as path from 'node:path'

export function workspace(): string {
  return process.env.GITHUB_WORKSPACE || process.cwd()
}

/** A file's path relative to the workspace, or undefined when it lies outside. */
export function workspacePath(file: string): string | undefined {
  const relative = path.relative(workspace(), file)
  return relative.startsWith('..') || path.isAbsolute(relative) ? undefined : relative
}

/** How a file is named in messages: relative to the workspace when inside it. */
export function displayPath(file: string): string {
  return workspacePath(file) ?? file
}
