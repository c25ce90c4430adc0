/**
 * Docker daemon.json: registry-mirrors, for Docker Hub at a registry root
 * only; every other layout gets a note saying why there is no file.
 */
import { CONFIG_PATHS } from './model.js'
import { joinName, type Layout } from './layout.js'
import type { Context, Rendered } from './renderer.js'
import { DOCKER_HUB } from '../image/references.js'

const DOCKER_EXPLANATION =
  "Docker: daemon.json's registry-mirrors applies to Docker Hub only, and takes a mirror URL as a registry root (Docker asks it for /v2/library/nginx/...), so it cannot use a mirror under a path prefix, nor mirror other registries."

/** Docker always gets one note: what its file does, or why there is none. */
function noFile(text: string): Rendered {
  return { files: [], notes: [{ client: 'docker', text }] }
}

export function renderDocker(layouts: readonly Layout[], c: Context): Rendered {
  const hub = layouts.find(l => l.registry === DOCKER_HUB)
  const rewritten =
    'Pull the mirrored names instead (the `mirrored` output), e.g. docker pull ' +
    `${c.request.target}/...; docker tag gives an image its usual name back.`
  if (!hub) {
    return noFile(
      `${DOCKER_EXPLANATION} Docker Hub is not among the registries, so no daemon.json is written. ${rewritten}`
    )
  }
  if (hub.kind !== 'prefix' || hub.mirror.path !== '' || hub.mirror.host === DOCKER_HUB) {
    const where =
      hub.kind === 'prefix'
        ? `Docker Hub images are mirrored under ${joinName(hub.mirror)}/, not at a registry root`
        : 'the rewrite template maps Docker Hub repositories one by one'
    return noFile(`${DOCKER_EXPLANATION} Here ${where}, so no daemon.json is written. ${rewritten}`)
  }
  const host = hub.mirror.host
  const config: Record<string, string[]> = {
    'registry-mirrors': [`${c.scheme(host)}://${host}`]
  }
  if (c.insecure(host)) config['insecure-registries'] = [host]
  const others = layouts.filter(l => l !== hub).map(l => l.registry)
  return {
    files: [
      {
        client: 'docker',
        path: CONFIG_PATHS.docker,
        content: `${JSON.stringify(config, null, 2)}\n`
      }
    ],
    notes: [
      {
        client: 'docker',
        text:
          `daemon.json makes Docker try ${host} for Docker Hub images; merge it into /etc/docker/daemon.json and restart Docker.` +
          (others.length > 0
            ? ` Docker cannot mirror other registries (${others.join(', ')}): pull their mirrored names.`
            : '')
      }
    ]
  }
}
