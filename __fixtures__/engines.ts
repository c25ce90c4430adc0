/**
 * The copy engines every end-to-end path runs with. A suite is written once
 * and run per engine with `describeEngines`; crane is installed by the
 * bundled action from a loopback release server (crane built from its Go
 * module by the jest global set-up), exactly as on a runner.
 *
 * On a machine without Go the crane suites are skipped, and the closing lines
 * of `npm test` say so loudly (__fixtures__/crane-reporter.mjs); CI builds
 * crane first and fails when it cannot.
 */
import { afterAll, beforeAll, describe } from '@jest/globals'
import {
  builtCrane,
  startReleaseServer,
  type ReleaseServer
} from '../scripts/lib/crane-release.mjs'

export type EngineName = 'crane' | 'skopeo' | 'native'
export const ENGINES: readonly EngineName[] = ['crane', 'skopeo', 'native']

/** crane was built by the global set-up (or earlier): its suites can run. */
export const craneAvailable = builtCrane() !== undefined

export interface EngineUnderTest {
  readonly name: EngineName
  /** The action's inputs that select this engine (and, for crane, install it from the local release). */
  inputs(): Record<string, string>
  /** crane's release server (started in beforeAll); undefined for the others. */
  release(): ReleaseServer | undefined
}

/**
 * Start what an engine needs for the enclosing describe block: for crane, a
 * release server for the action to install it from.
 */
export function useEngine(name: EngineName): EngineUnderTest {
  let server: ReleaseServer | undefined
  if (name === 'crane') {
    beforeAll(async () => {
      server = await startReleaseServer()
    })
    afterAll(async () => {
      await server?.close()
    })
  }
  return {
    name,
    inputs: () => {
      if (name !== 'crane') return { engine: name }
      if (!server) throw new Error('the crane release server is not started (call inside a test)')
      return { ...server.inputs }
    },
    release: () => server
  }
}

/** Whether an engine's suites run on this machine. */
export function engineAvailable(name: EngineName): boolean {
  return name !== 'crane' || craneAvailable
}

let running: EngineUnderTest | undefined

/**
 * The engine of the describeEngines block whose hooks and tests are running,
 * for a suite's module-level helpers (set before the block's own hooks).
 */
export const engine: EngineUnderTest = {
  get name() {
    return current().name
  },
  inputs: () => current().inputs(),
  release: () => current().release()
}

function current(): EngineUnderTest {
  if (!running) throw new Error('no engine yet: use `engine` inside a describeEngines block')
  return running
}

/**
 * `describe` once per engine, titled `<title> (engine <name>)`; the body gets
 * the engine (also `engine` above while the block runs). A crane block on a
 * machine without crane is skipped (and reported as left out).
 */
export function describeEngines(
  title: string,
  body: (engine: EngineUnderTest) => void,
  engines: readonly EngineName[] = ENGINES
): void {
  for (const name of engines) {
    const block = engineAvailable(name) ? describe : describe.skip
    block(`${title} (engine ${name})`, () => {
      const under = useEngine(name)
      beforeAll(() => {
        running = under
      })
      body(under)
    })
  }
}

/**
 * The inputs of a run from a source to a target registry on loopback with the engine under
 * test: the target (under `mirror`), the engine, the target's login, and
 * both registries spoken to over plain HTTP. `extra` adds inputs or overrides these.
 */
export function mirrorInputs(
  between: {
    source: { host: string }
    target: { host: string }
    auth: { username: string; password: string }
  },
  extra: Record<string, string> = {}
): Record<string, string> {
  return {
    target: `${between.target.host}/mirror`,
    ...engine.inputs(),
    username: between.auth.username,
    password: between.auth.password,
    'insecure-registries': `${between.source.host},${between.target.host}`,
    ...extra
  }
}
