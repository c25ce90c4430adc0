#!/usr/bin/env node
// `npm run package` runs this after ncc: dist/licenses.txt from the bundle's source maps
// (see scripts/lib/licenses.mjs for why not ncc's --license).
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'
import { writeLicenses } from './lib/licenses.mjs'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const count = writeLicenses(path.join(root, 'dist'), root)
console.log(`dist/licenses.txt: ${count} packages`)
