#!/usr/bin/env node
// Builds the addon with cargo for this machine and puts it where binding.js
// looks for it (mws-gateway.<platform>.node). It is the package's `install`
// script, so it needs nothing but Node and Rust: `npm install ./bindings/node`
// links the folder without installing its dependencies.
//
//   node scripts/build.js [--release | --debug] [--typegen [--out-dir DIR]]
//
// The profile defaults to $MWS_NODE_PROFILE, else release. --typegen (for
// development; needs the devDependencies) also regenerates binding.js and
// binding.d.ts through @napi-rs/cli's own generators, into the package or DIR. We call cargo ourselves
// rather than `napi build` because that always passes `--target`, which gives
// a second build tree that shares nothing with the rest of the workspace.
'use strict'

const { execFileSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const CRATE = 'mws-node'
const BINARY_NAME = 'mws-gateway'
const packageDir = path.resolve(__dirname, '..')

function profileFromArgs(args) {
  if (args.includes('--release')) return 'release'
  if (args.includes('--debug')) return 'debug'
  const fromEnv = process.env.MWS_NODE_PROFILE || 'release'
  if (fromEnv !== 'release' && fromEnv !== 'debug') {
    throw new Error(`MWS_NODE_PROFILE must be release or debug, got ${JSON.stringify(fromEnv)}`)
  }
  return fromEnv
}

// The suffix napi-rs gives a platform's addon, from the Rust host triple.
function platformSuffix(triple) {
  const [cpu, , system, abi] = triple.split('-')
  const arch = { x86_64: 'x64', aarch64: 'arm64', i686: 'ia32', armv7: 'arm' }[cpu]
  if (system === 'linux' && arch) {
    return `linux-${arch}-${abi === 'gnueabihf' ? 'gnueabihf' : abi}`
  }
  if (triple.endsWith('apple-darwin') && arch) return `darwin-${arch}`
  if (system === 'windows' && arch) return `win32-${arch}-${abi}`
  throw new Error(`no addon name known for the Rust host ${triple}`)
}

// The file cargo writes for a cdylib on this host.
function cdylibName(triple) {
  const stem = CRATE.replace(/-/g, '_')
  if (triple.includes('windows')) return `${stem}.dll`
  if (triple.includes('apple')) return `lib${stem}.dylib`
  return `lib${stem}.so`
}

function run(cmd, args, env) {
  return execFileSync(cmd, args, { cwd: packageDir, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] })
}

async function main() {
  const args = process.argv.slice(2)
  const profile = profileFromArgs(args)
  const typegen = args.includes('--typegen')
  const outDirAt = args.indexOf('--out-dir')
  const outDir = outDirAt >= 0 ? path.resolve(args[outDirAt + 1]) : packageDir
  const host = /^host: (.+)$/m.exec(run('rustc', ['-vV'], process.env))[1].trim()
  const targetDir = JSON.parse(run('cargo', ['metadata', '--format-version', '1', '--no-deps'], process.env)).target_directory

  const env = { ...process.env }
  let typeDefDir = null
  if (typegen) {
    // napi-derive writes each exported item's types here while it expands the
    // macros; forcing a rebuild of this crate makes sure it expands them.
    typeDefDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mws-node-typedef-'))
    env.NAPI_TYPE_DEF_TMP_FOLDER = typeDefDir
    env[`NAPI_FORCE_BUILD_${CRATE.replace(/-/g, '_').toUpperCase()}`] = String(Date.now())
  }
  // --locked: the versions in the workspace's Cargo.lock, the ones tested.
  const cargoArgs = ['build', '--locked', '-p', CRATE, ...(profile === 'release' ? ['--release'] : [])]
  console.log(`building the addon: cargo ${cargoArgs.join(' ')}`)
  execFileSync('cargo', cargoArgs, { cwd: packageDir, env, stdio: 'inherit' })

  // Copy, then rename: a process that has the old addon loaded keeps its file.
  const built = path.join(targetDir, profile, cdylibName(host))
  const dest = path.join(packageDir, `${BINARY_NAME}.${platformSuffix(host)}.node`)
  fs.copyFileSync(built, `${dest}.tmp`)
  fs.renameSync(`${dest}.tmp`, dest)
  console.log(`wrote ${path.relative(process.cwd(), dest) || dest}`)

  if (typegen) {
    await generateBinding(typeDefDir, outDir)
    fs.rmSync(typeDefDir, { recursive: true, force: true })
  }
}

// binding.d.ts and binding.js, as `napi build --platform --no-const-enum
// --js binding.js --dts binding.d.ts` writes them.
async function generateBinding(typeDefDir, outDir) {
  const napi = await import('@napi-rs/cli')
  const { version } = JSON.parse(fs.readFileSync(path.join(packageDir, 'package.json'), 'utf8'))
  const { dts, exports } = await napi.generateTypeDef({
    typeDefDir,
    cwd: packageDir,
    constEnum: false,
    declareBindingTarget: true,
  })
  fs.mkdirSync(outDir, { recursive: true })
  fs.writeFileSync(path.join(outDir, 'binding.d.ts'), dts)
  await napi.writeJsBinding({
    platform: true,
    idents: exports,
    jsBinding: 'binding.js',
    binaryName: BINARY_NAME,
    packageName: BINARY_NAME,
    version,
    outputDir: outDir,
  })
  console.log(`wrote binding.js and binding.d.ts to ${outDir}`)
}

main().catch((e) => {
  console.error(`mws-gateway: building the addon failed: ${e.message}`)
  process.exit(1)
})
