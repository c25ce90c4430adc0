/**
 * What a caller passes to a `workflow_call` workflow, checked as GitHub does
 * when the call is made (the parser sees only the workflow, not the call):
 * inputs declared, typed and defaulted; secrets declared and required ones given.
 */
import type { LoadedWorkflow } from './load.js'
import type { InputValue } from './types.js'

type Call = NonNullable<LoadedWorkflow['call']>

/** The `inputs` context: declared inputs, type-checked, with their defaults. */
export function callInputs(
  declared: Call['inputs'],
  given: Record<string, InputValue>
): Record<string, InputValue> {
  for (const name of Object.keys(given)) {
    if (!(name in declared))
      throw new Error(`Invalid input, ${name} is not defined in the referenced workflow.`)
  }
  const inputs: Record<string, InputValue> = {}
  for (const [name, input] of Object.entries(declared)) {
    const value = given[name]
    if (value === undefined) {
      if (input.required)
        throw new Error(`Input ${name} is required, but not provided while calling.`)
      inputs[name] =
        input.default ?? (input.type === 'boolean' ? false : input.type === 'number' ? 0 : '')
      continue
    }
    if (typeof value !== input.type) {
      throw new Error(
        `The input ${name} of type ${input.type} was given a ${typeof value}: ${JSON.stringify(value)}`
      )
    }
    inputs[name] = value
  }
  return inputs
}

/** The `secrets` context (GITHUB_TOKEN added by the run): declared secrets, required ones given. */
export function callSecrets(
  declared: Call['secrets'],
  given: Record<string, string>
): Record<string, string> {
  const secrets: Record<string, string> = {}
  for (const [name, value] of Object.entries(given)) {
    if (!(name in declared))
      throw new Error(`Invalid secret, ${name} is not defined in the referenced workflow.`)
    secrets[name] = value
  }
  for (const [name, secret] of Object.entries(declared)) {
    if (secret.required && !(name in secrets))
      throw new Error(`Secret ${name} is required, but not provided while calling.`)
  }
  return secrets
}
