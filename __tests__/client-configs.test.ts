/**
 * Client configs, generated from the target, the rewrite template and the
 * run's repositories. What the real clients make of these files is checked
 * in client-configs.e2e.test.ts (skopeo and ctr against local registries).
 */
import { describe, expect, it } from '@jest/globals'
import fc from 'fast-check'
import { parse as parseYaml } from 'yaml'
import {
  clientConfigs,
  installCommands,
  mirrorPrefix,
  type ClientConfigs,
  type ConfigRequest,
  type Repo
} from '../src/client-configs/render.js'
import { renderTarget } from '../src/image/rewrite.js'

const TARGET = 'registry.example.com/mirror'

/** The run's mappings as the plan makes them: through the real renderer. */
function request(
  repos: Repo[],
  extra: Partial<ConfigRequest> = {},
  template = extra.template ?? '{target}/{registry}/{repository}'
): ConfigRequest {
  const target = extra.target ?? TARGET
  return {
    target,
    template,
    insecureRegistries: [],
    registries: [],
    ...extra,
    mappings: repos.map(source => {
      const rendered = renderTarget(template, target, source)
      if (!rendered.ok) throw new Error(rendered.reason)
      return { source, target: rendered.name }
    })
  }
}

function file(configs: ClientConfigs, path: string): string {
  const found = configs.files.find(f => f.path === path)
  if (!found) throw new Error(`no ${path} in ${configs.files.map(f => f.path).join(', ')}`)
  return found.content
}

/** TOML lines without comments and blank lines, enough to compare structure. */
function body(toml: string): string[] {
  return toml.split('\n').filter(l => l.trim() !== '' && !l.startsWith('#'))
}

const NGINX = { registry: 'docker.io', repository: 'library/nginx' }
const NODE_EXPORTER = { registry: 'quay.io', repository: 'prometheus/node-exporter' }
const LOCAL = { registry: 'localhost:5000', repository: 'team/app' }

describe('mirror layout of a template', () => {
  it('finds the per-registry prefix of the default template', () => {
    expect(mirrorPrefix('{target}/{registry}/{repository}', TARGET, 'docker.io')).toEqual({
      host: 'registry.example.com',
      path: 'mirror/docker.io'
    })
    expect(mirrorPrefix('{target}/{registry}/{repository}', TARGET, 'localhost:5000')).toEqual({
      host: 'registry.example.com',
      path: 'mirror/localhost_5000'
    })
  })

  it('reads {namespace}/{name} as the repository, and a bare host as the registry root', () => {
    expect(
      mirrorPrefix('{target}/{namespace}/{name}', 'mirror.example.com:5000', 'quay.io')
    ).toEqual({ host: 'mirror.example.com:5000', path: '' })
  })

  it('finds no prefix where a template drops or merges path segments', () => {
    for (const template of [
      '{target}/{name}',
      '{target}/{namespace}-{name}',
      '{target}/{registry}-{repository}',
      '{target}/{repository}-{registry}',
      '{repository}'
    ]) {
      expect(mirrorPrefix(template, TARGET, 'docker.io')).toBeUndefined()
    }
  })

  it('agrees with the renderer for every repository whenever it finds a prefix', () => {
    const segment = fc.stringMatching(/^[a-z0-9]+(?:[._-][a-z0-9]+)?$/).filter(s => s.length <= 20)
    const repository = fc.array(segment, { minLength: 1, maxLength: 4 }).map(s => s.join('/'))
    const template = fc.constantFrom(
      '{target}/{registry}/{repository}',
      '{target}/{repository}',
      '{target}/{namespace}/{name}',
      '{target}/x/{registry}/{namespace}/{name}',
      '{target}/{name}',
      '{target}/{registry}-{repository}'
    )
    const registry = fc.constantFrom('docker.io', 'quay.io', 'localhost:5000', '127.0.0.1:5001')
    const target = fc.constantFrom(TARGET, 'localhost:5000', 'ghcr.io/acme/mirror')
    fc.assert(
      fc.property(template, target, registry, repository, (t, tg, reg, repo) => {
        const prefix = mirrorPrefix(t, tg, reg)
        const rendered = renderTarget(t, tg, { registry: reg, repository: repo })
        if (!prefix || !rendered.ok) return
        expect([prefix.host, prefix.path, repo].filter(Boolean).join('/')).toBe(rendered.name)
      })
    )
  })
})

describe('default template: a mirror under a path prefix', () => {
  const configs = clientConfigs(
    request([NGINX, NODE_EXPORTER, LOCAL], {
      registries: ['ghcr.io', 'docker.io'],
      insecureRegistries: ['localhost:5000']
    })
  )

  it('covers the run registries and the extra ones, once each, sorted', () => {
    expect(configs.registries).toEqual(['docker.io', 'ghcr.io', 'localhost:5000', 'quay.io'])
    expect(configs.files.map(f => f.path)).toEqual([
      'registries.conf',
      'containerd/certs.d/docker.io/hosts.toml',
      'containerd/certs.d/ghcr.io/hosts.toml',
      'containerd/certs.d/localhost:5000/hosts.toml',
      'containerd/certs.d/quay.io/hosts.toml',
      'k3s/registries.yaml'
    ])
  })

  it('registries.conf: one [[registry]] per source with the mirror first, insecure where plain HTTP', () => {
    expect(body(file(configs, 'registries.conf'))).toEqual([
      '[[registry]]',
      'prefix = "docker.io"',
      'location = "docker.io"',
      '[[registry.mirror]]',
      'location = "registry.example.com/mirror/docker.io"',
      '[[registry]]',
      'prefix = "ghcr.io"',
      'location = "ghcr.io"',
      '[[registry.mirror]]',
      'location = "registry.example.com/mirror/ghcr.io"',
      '[[registry]]',
      'prefix = "localhost:5000"',
      'location = "localhost:5000"',
      'insecure = true',
      '[[registry.mirror]]',
      'location = "registry.example.com/mirror/localhost_5000"',
      '[[registry]]',
      'prefix = "quay.io"',
      'location = "quay.io"',
      '[[registry.mirror]]',
      'location = "registry.example.com/mirror/quay.io"'
    ])
  })

  it('hosts.toml: the real upstream as server, the prefixed mirror with /v2/ and override_path', () => {
    expect(body(file(configs, 'containerd/certs.d/docker.io/hosts.toml'))).toEqual([
      'server = "https://registry-1.docker.io"',
      '[host."https://registry.example.com/v2/mirror/docker.io"]',
      '  capabilities = ["pull", "resolve"]',
      '  override_path = true'
    ])
    expect(body(file(configs, 'containerd/certs.d/localhost:5000/hosts.toml'))).toEqual([
      'server = "http://localhost:5000"',
      '[host."https://registry.example.com/v2/mirror/localhost_5000"]',
      '  capabilities = ["pull", "resolve"]',
      '  override_path = true'
    ])
  })

  it('registries.yaml: an endpoint per registry with a rewrite into its prefix', () => {
    const yaml = parseYaml(file(configs, 'k3s/registries.yaml')) as {
      mirrors: Record<string, { endpoint: string[]; rewrite?: Record<string, string> }>
    }
    expect(yaml.mirrors['docker.io']).toEqual({
      endpoint: ['https://registry.example.com'],
      rewrite: { '^(.*)$': 'mirror/docker.io/${1}' }
    })
    expect(yaml.mirrors['localhost:5000']?.rewrite).toEqual({
      '^(.*)$': 'mirror/localhost_5000/${1}'
    })
    expect(Object.keys(yaml.mirrors)).toEqual(configs.registries)
    // k3s's fallback is its own default endpoint, over HTTPS: said for a plain-HTTP source.
    expect(configs.notes.filter(n => n.client === 'k3s').map(n => n.text)).toEqual([
      expect.stringMatching(/^k3s falls back to localhost:5000 through its default endpoint/)
    ])
  })

  it('no daemon.json, and says why Docker cannot use a path-prefixed mirror', () => {
    expect(configs.files.some(f => f.client === 'docker')).toBe(false)
    const docker = configs.notes.filter(n => n.client === 'docker').map(n => n.text)
    expect(docker).toHaveLength(1)
    expect(docker[0]).toMatch(/registry-mirrors applies to Docker Hub only/)
    expect(docker[0]).toMatch(/mirrored under registry\.example\.com\/mirror\/docker\.io\//)
    expect(docker[0]).toMatch(/Pull the mirrored names instead/)
  })
})

describe('a mirror at a registry root', () => {
  const configs = clientConfigs(
    request([NGINX, NODE_EXPORTER], {
      target: 'mirror.internal:5000',
      template: '{target}/{repository}',
      insecureRegistries: ['mirror.internal:5000']
    })
  )

  it('daemon.json points Docker at it for Docker Hub, over plain HTTP when insecure', () => {
    expect(JSON.parse(file(configs, 'docker/daemon.json'))).toEqual({
      'registry-mirrors': ['http://mirror.internal:5000'],
      'insecure-registries': ['mirror.internal:5000']
    })
    const note = configs.notes.find(n => n.client === 'docker')?.text
    expect(note).toMatch(/Docker cannot mirror other registries \(quay\.io\)/)
  })

  it('hosts.toml needs no path; registries.yaml no rewrite; registries.conf marks the mirror insecure', () => {
    expect(body(file(configs, 'containerd/certs.d/quay.io/hosts.toml'))).toEqual([
      'server = "https://quay.io"',
      '[host."http://mirror.internal:5000"]',
      '  capabilities = ["pull", "resolve"]'
    ])
    const yaml = parseYaml(file(configs, 'k3s/registries.yaml')) as {
      mirrors: Record<string, unknown>
    }
    expect(yaml.mirrors['quay.io']).toEqual({ endpoint: ['http://mirror.internal:5000'] })
    expect(body(file(configs, 'registries.conf')).slice(0, 6)).toEqual([
      '[[registry]]',
      'prefix = "docker.io"',
      'location = "docker.io"',
      '[[registry.mirror]]',
      'location = "mirror.internal:5000"',
      'insecure = true'
    ])
  })
})

describe('a template that maps repositories one by one', () => {
  const dotted = { registry: 'registry.k8s.io', repository: 'sig.storage/csi-node' }
  const configs = clientConfigs(
    request([NGINX, dotted, { registry: 'registry.k8s.io', repository: 'pause' }], {
      template: '{target}/{name}',
      registries: ['quay.io']
    })
  )

  it('registries.conf lists each repository of the run with its mirrored name', () => {
    expect(body(file(configs, 'registries.conf'))).toEqual([
      '[[registry]]',
      'prefix = "docker.io/library/nginx"',
      'location = "docker.io/library/nginx"',
      '[[registry.mirror]]',
      'location = "registry.example.com/mirror/nginx"',
      '[[registry]]',
      'prefix = "registry.k8s.io/pause"',
      'location = "registry.k8s.io/pause"',
      '[[registry.mirror]]',
      'location = "registry.example.com/mirror/pause"',
      '[[registry]]',
      'prefix = "registry.k8s.io/sig.storage/csi-node"',
      'location = "registry.k8s.io/sig.storage/csi-node"',
      '[[registry.mirror]]',
      'location = "registry.example.com/mirror/csi-node"'
    ])
  })

  it('registries.yaml rewrites each repository by an anchored, escaped regex', () => {
    const yaml = parseYaml(file(configs, 'k3s/registries.yaml')) as {
      mirrors: Record<string, { endpoint: string[]; rewrite: Record<string, string> }>
    }
    expect(yaml.mirrors['registry.k8s.io']?.rewrite).toEqual({
      '^pause$': 'mirror/pause',
      '^sig\\.storage/csi-node$': 'mirror/csi-node'
    })
    const pattern = Object.keys(yaml.mirrors['registry.k8s.io']?.rewrite ?? {})[1] as string
    expect(new RegExp(pattern).test('sig.storage/csi-node')).toBe(true)
    expect(new RegExp(pattern).test('sigXstorage/csi-node')).toBe(false)
    expect(yaml.mirrors['quay.io']).toBeUndefined()
  })

  it('writes no hosts.toml and no daemon.json, and says so plainly', () => {
    expect(configs.files.map(f => f.client)).toEqual(['containers', 'k3s'])
    const texts = configs.notes.map(n => `${n.client}: ${n.text}`)
    expect(texts).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          /^containerd: No hosts\.toml for docker\.io, quay\.io, registry\.k8s\.io/
        ),
        expect.stringMatching(/^docker: .*maps Docker Hub repositories one by one/),
        expect.stringMatching(
          /^all: .*list the 3 repositories of this run one by one.*Nothing is listed for quay\.io/
        )
      ])
    )
  })
})

describe('when nothing can be written', () => {
  it('says so when there is no registry at all', () => {
    const configs = clientConfigs(request([]))
    expect(configs.files).toEqual([])
    expect(configs.notes[0]?.text).toMatch(/no image of this run was mirrored/)
  })

  it('refuses a template that does not match what the run did (a report job given another rewrite)', () => {
    const configs = clientConfigs({
      ...request([NGINX]),
      template: '{target}/{name}'
    })
    expect(configs.files).toEqual([])
    expect(configs.notes[0]?.text).toMatch(
      /docker\.io\/library\/nginx was mirrored to registry\.example\.com\/mirror\/docker\.io\/library\/nginx, but .* gives registry\.example\.com\/mirror\/nginx/
    )
  })
})

describe('install commands', () => {
  it('quote config-dir for the shell', () => {
    const configs = clientConfigs(request([NGINX]))
    const [install] = installCommands('containers', "/tmp/it's here/", configs)
    expect(install).toBe(
      "sudo install -D -m 644 '/tmp/it'\\''s here/registries.conf' /etc/containers/registries.conf.d/50-image-mirror.conf"
    )
    expect(installCommands('containerd', 'cfg', configs).join('\n')).toMatch(
      /ctr images pull --hosts-dir \/etc\/containerd\/certs\.d docker\.io\/library\/busybox:latest/
    )
  })
})
