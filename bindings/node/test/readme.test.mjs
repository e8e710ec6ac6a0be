// The README's Node snippets run as written (importing 'mws-gateway' by name).
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { after, describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

const packageDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const readme = fs.readFileSync(path.join(packageDir, '..', '..', 'README.md'), 'utf8')
// Inside the package, so 'mws-gateway' resolves to it and the SDKs to its devDependencies.
const dir = path.join(packageDir, '.snippets')

function nodeSection(text) {
  const start = text.indexOf('\n## Node\n')
  assert.ok(start >= 0, 'README.md has a "## Node" section')
  const end = text.indexOf('\n## ', start + 1)
  return text.slice(start, end < 0 ? undefined : end)
}

describe('README "## Node" snippets', () => {
  const snippets = [...nodeSection(readme).matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1])
  after(() => fs.rmSync(dir, { recursive: true, force: true }))

  test('there are snippets to run', () => assert.ok(snippets.length >= 4, `${snippets.length} snippets`))

  snippets.forEach((code, i) => {
    const title = code.split('\n').find((l) => l.trim() && !l.startsWith('import')) ?? ''
    test(`snippet ${i + 1}: ${title.trim()}`, async () => {
      fs.mkdirSync(dir, { recursive: true })
      const file = path.join(dir, `snippet-${i + 1}.mjs`)
      fs.writeFileSync(file, code)
      const { stdout } = await promisify(execFile)(process.execPath, [file], { timeout: 60_000 })
      assert.ok(stdout.length > 0, 'the snippet prints something')
    })
  })
})
