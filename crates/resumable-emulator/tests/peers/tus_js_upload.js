// Uploads a file to the emulator's tus endpoint with tus-js-client on
// Node.js; prints what happened as JSON.
//
// Usage: node tus_js_upload.js ENDPOINT FILE CHUNK_SIZE MODE [PROTOCOL]
// (NODE_PATH names the node_modules holding tus-js-client; PROTOCOL is
// tus-js-client's `protocol` option, `tus-v1` by default, `ietf-draft-05`
// for the IETF draft at interop version 6)
//
// MODE "whole": one upload, to its end. MODE "resume": an upload without
// retries meets the emulator's scripted fault and stops with an error; a
// second upload, given only the first one's URL, asks the server for the
// offset (HEAD) and finishes from there.
'use strict'

const fs = require('fs')
const tus = require('tus-js-client')

const [endpoint, path, chunkSize, mode, protocol = 'tus-v1'] = process.argv.slice(2)
const file = fs.readFileSync(path)

function run(options) {
  return new Promise((resolve, reject) => {
    const upload = new tus.Upload(file, {
      chunkSize: Number(chunkSize),
      metadata: { filename: 'tus-js.bin', filetype: 'application/octet-stream' },
      storeFingerprintForResuming: false,
      retryDelays: null,
      protocol,
      ...options,
      onError: (error) => reject(Object.assign(error, { upload })),
      onSuccess: () => resolve(upload),
    })
    upload.start()
  })
}

async function main() {
  const out = { failed: null }
  if (mode === 'whole') {
    out.url = (await run({ endpoint })).url
  } else if (mode === 'resume') {
    try {
      await run({ endpoint })
      throw new Error('the scripted fault did not interrupt the upload')
    } catch (error) {
      if (!error.upload) throw error
      out.failed = String(error.message).split('\n')[0]
      out.url = error.upload.url
    }
    await run({ endpoint, uploadUrl: out.url })
  } else {
    throw new Error(`unknown mode ${mode}`)
  }
  console.log(JSON.stringify(out))
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})
