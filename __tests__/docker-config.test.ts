/** Credentials from the user's docker config, and the private copy the engines read. */
import { describe, expect, it } from '@jest/globals'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {
  credentialsFrom,
  dockerConfigPath,
  readDockerConfig,
  registryOfKey,
  writePrivateConfig,
  type DockerConfig
} from '../src/registry/docker-config.js'

const b64 = (s: string) => Buffer.from(s).toString('base64')

describe('reading', () => {
  it('looks in DOCKER_CONFIG, else ~/.docker', () => {
    expect(dockerConfigPath({ DOCKER_CONFIG: '/x' })).toBe('/x/config.json')
    expect(dockerConfigPath({})).toBe(path.join(os.homedir(), '.docker', 'config.json'))
  })

  it('treats a missing file as empty and warns about broken JSON', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dc-'))
    expect(readDockerConfig(path.join(dir, 'none.json'))).toEqual({})
    fs.writeFileSync(path.join(dir, 'bad.json'), '{nope')
    const warnings: string[] = []
    expect(readDockerConfig(path.join(dir, 'bad.json'), w => warnings.push(w))).toEqual({})
    expect(warnings[0]).toMatch(/not valid JSON/)
  })

  it('maps the keys docker writes to registry hosts', () => {
    expect(registryOfKey('https://index.docker.io/v1/')).toBe('docker.io')
    expect(registryOfKey('registry-1.docker.io')).toBe('docker.io')
    expect(registryOfKey('http://localhost:5000/')).toBe('localhost:5000')
    expect(registryOfKey('GHCR.io')).toBe('ghcr.io')
  })

  it('finds auth (base64 user:pass, password may hold colons) and username/password entries', () => {
    const config: DockerConfig = {
      auths: {
        'https://index.docker.io/v1/': { auth: b64('hubuser:pa:ss') },
        'quay.io': { username: 'q', password: 'w' }
      }
    }
    expect(credentialsFrom(config, 'docker.io')).toEqual({ username: 'hubuser', password: 'pa:ss' })
    expect(credentialsFrom(config, 'quay.io')).toEqual({ username: 'q', password: 'w' })
    expect(credentialsFrom(config, 'ghcr.io')).toBeUndefined()
  })

  it('asks a configured credential helper', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dc-helper-'))
    fs.writeFileSync(
      path.join(dir, 'docker-credential-testhelper'),
      '#!/bin/sh\nread server\n[ "$1" = get ] && [ "$server" = ghcr.io ] && echo \'{"Username":"h","Secret":"s"}\'\n',
      { mode: 0o755 }
    )
    const saved = process.env.PATH
    process.env.PATH = `${dir}:${saved}`
    try {
      expect(credentialsFrom({ credHelpers: { 'ghcr.io': 'testhelper' } }, 'ghcr.io')).toEqual({
        username: 'h',
        password: 's'
      })
    } finally {
      process.env.PATH = saved
    }
  })
})

describe('the private copy', () => {
  it('adds the target, keeps the rest, is private, and leaves the user file alone', () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'dc-user-'))
    const userFile = path.join(home, 'config.json')
    const user: DockerConfig = {
      auths: { 'quay.io': { auth: b64('q:w') }, 'http://localhost:5000': { auth: b64('old:old') } },
      credHelpers: { 'localhost:5000': 'desktop', 'gcr.io': 'gcloud' }
    }
    fs.writeFileSync(userFile, JSON.stringify(user))
    const before = fs.readFileSync(userFile, 'utf8')

    const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'dc-priv-')), 'auth')
    const file = writePrivateConfig(dir, readDockerConfig(userFile), {
      registry: 'localhost:5000',
      credentials: { username: 'me', password: 's3cret' }
    })
    const written = JSON.parse(fs.readFileSync(file, 'utf8')) as DockerConfig
    expect(written.auths?.['localhost:5000']).toEqual({ auth: b64('me:s3cret') })
    expect(written.auths?.['http://localhost:5000']).toBeUndefined()
    expect(written.auths?.['quay.io']).toEqual({ auth: b64('q:w') })
    expect(written.credHelpers).toEqual({ 'gcr.io': 'gcloud' })
    expect(fs.statSync(dir).mode & 0o777).toBe(0o700)
    expect(fs.statSync(file).mode & 0o777).toBe(0o600)
    expect(fs.readFileSync(userFile, 'utf8')).toBe(before)
  })

  it('drops a credsStore that would hide the target login, writing what it held for the sources to auths', () => {
    const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'dc-priv-')), 'auth')
    const user: DockerConfig = {
      credsStore: 'desktop',
      credHelpers: { 'gcr.io': 'gcloud' },
      auths: { 'ghcr.io': {} }
    }
    const file = writePrivateConfig(
      dir,
      user,
      { registry: 'ghcr.io', credentials: { username: 'bot', password: 'pw' } },
      new Map([
        ['docker.io', { username: 'hub', password: 'hubpw' }],
        ['myacr.azurecr.io', { username: '<token>', password: 'refresh-token' }],
        // A registry with its own helper keeps the helper; the target keeps the given login.
        ['gcr.io', { username: 'x', password: 'y' }],
        ['ghcr.io', { username: 'store', password: 'storepw' }]
      ])
    )
    const written = JSON.parse(fs.readFileSync(file, 'utf8')) as DockerConfig
    expect(written.credsStore).toBeUndefined()
    expect(written.credHelpers).toEqual({ 'gcr.io': 'gcloud' })
    expect(written.auths).toEqual({
      'ghcr.io': { auth: b64('bot:pw') },
      'https://index.docker.io/v1/': { auth: b64('hub:hubpw') },
      'myacr.azurecr.io': { identitytoken: 'refresh-token' }
    })
    expect(user.credsStore).toBe('desktop')
  })

  it('keeps a credsStore when no target login is given (it may hold that login)', () => {
    const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'dc-priv-')), 'auth')
    const file = writePrivateConfig(dir, { credsStore: 'desktop' })
    expect((JSON.parse(fs.readFileSync(file, 'utf8')) as DockerConfig).credsStore).toBe('desktop')
  })
})
