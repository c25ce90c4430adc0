// Peers: what the action's users would run instead, on the same images and registries in the
// same run: crane copy with its own --jobs, skopeo sync, regclient's regsync at each parallel.
import { spawn } from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { watchTree } from '../lib/process-tree.mjs'
import { mirrorPath } from './common.mjs'

/** The settings each peer is run at; the table shows each, and the best marks the peer. */
export const PEER_SETTINGS = { craneJobs: [4, 8], regsyncParallel: [2, 4, 8] }

/**
 * Run a peer tool to its end; resolves with its peak memory (KiB, its process
 * tree, lib/process-tree.mjs), rejects with what it printed when it fails.
 */
export function runPeer(command, argv, options = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, argv, { stdio: ['ignore', 'ignore', 'pipe'], ...options })
    const tree = watchTree(child.pid)
    let stderr = ''
    child.stderr.on('data', d => (stderr += d))
    child.on('error', error => {
      tree.stop()
      reject(error)
    })
    child.on('close', code => {
      const { peakTotalKiB } = tree.stop()
      if (code === 0) resolve(peakTotalKiB)
      else reject(new Error(`${path.basename(command)} ${argv.join(' ')}: ${stderr.slice(-2000)}`))
    })
  })
}

const mib = kib => (kib === undefined ? undefined : Math.round(kib / 102.4) / 10)

/** `skopeo sync` (not --scoped) keeps only a repository's last path component. */
export const syncLayout = (sourceHost, repository) =>
  `${mirrorPath(sourceHost, '').replace(/\/$/, '')}/${repository.split('/').pop()}`

/**
 * The peers, as `fresh(name, copy, layout)` runs of the bench's copying part: each copies the
 * whole set into a fresh target and is verified there by digest like the action. Returns
 * each peer's configuration, by run name, for the table.
 */
export async function runPeers({ fresh, source, set, crane, regsync, work }) {
  const configs = {}
  const images = set.images
  if (crane) {
    for (const jobs of PEER_SETTINGS.craneJobs) {
      const name = `peer-crane-jobs-${jobs}`
      configs[name] = `\`crane copy --jobs ${jobs}\`, one image after another`
      await fresh(
        name,
        async target => {
          let peak = 0
          for (const image of images) {
            const kib = await runPeer(crane, [
              'copy',
              `${source.host}/${image.repository}:${image.tag}`,
              `${target.host}/${mirrorPath(source.host, image.repository)}:${image.tag}`,
              '--insecure',
              '--jobs',
              String(jobs)
            ])
            peak = Math.max(peak, kib ?? 0)
          }
          return { peakMiB: mib(peak) }
        },
        mirrorPath,
        { rerun: jobs === 4 }
      )
    }
  }
  // skopeo sync: one run over a YAML list of the set, all platforms, digests kept.
  {
    const name = 'peer-skopeo-sync'
    configs[name] = '`skopeo sync --src yaml --all --preserve-digests`, one run for the set'
    await fresh(
      name,
      async target => {
        const byRepository = new Map()
        for (const image of images) {
          byRepository.set(image.repository, [
            ...(byRepository.get(image.repository) ?? []),
            image.tag
          ])
        }
        const file = path.join(work, 'skopeo-sync.yaml')
        const lines = [`${source.host}:`, '  tls-verify: false', '  images:']
        for (const [repository, tags] of byRepository)
          lines.push(`    ${repository}: [${tags.join(', ')}]`)
        fs.writeFileSync(file, `${lines.join('\n')}\n`)
        const kib = await runPeer('skopeo', [
          'sync',
          '--all',
          '--preserve-digests',
          '--src',
          'yaml',
          '--dest',
          'docker',
          '--dest-tls-verify=false',
          file,
          `${target.host}/${mirrorPath(source.host, '').replace(/\/$/, '')}`
        ])
        return { peakMiB: mib(kib) }
      },
      syncLayout,
      { rerun: true }
    )
  }
  if (regsync) {
    for (const parallel of PEER_SETTINGS.regsyncParallel) {
      const name = `peer-regsync-${parallel}`
      configs[name] =
        `\`regsync once\`, one \`type: image\` entry per image, \`parallel: ${parallel}\``
      const copy = async target => {
        const file = path.join(work, `regsync-${parallel}.yaml`)
        const entries = images.flatMap(image => [
          `  - source: ${source.host}/${image.repository}:${image.tag}`,
          `    target: ${target.host}/${mirrorPath(source.host, image.repository)}:${image.tag}`,
          '    type: image'
        ])
        fs.writeFileSync(
          file,
          [
            'version: 1',
            'creds:',
            `  - registry: ${source.host}`,
            '    tls: disabled',
            `  - registry: ${target.host}`,
            '    tls: disabled',
            'defaults:',
            `  parallel: ${parallel}`,
            'sync:',
            ...entries,
            ''
          ].join('\n')
        )
        // regsync keeps a cache and its logs quiet; a private HOME keeps the user's config out.
        const kib = await runPeer(regsync, ['once', '-c', file, '-v', 'warn'], {
          env: { ...process.env, HOME: fs.mkdtempSync(path.join(work, 'regsync-home-')) }
        })
        return { peakMiB: mib(kib) }
      }
      await fresh(name, copy, mirrorPath, { rerun: parallel === 4 })
    }
  }
  return configs
}
