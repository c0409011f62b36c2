// @tus/server with @tus/file-store: every extension they have (creation,
// creation-with-upload, creation-defer-length, expiration, termination),
// uploads stored as DIR/<id> beside a DIR/<id>.json sidecar.
// Run as `node --input-type=module -e "$(cat this)" PORT DIR` from the
// directory whose node_modules holds the packages.
import { Server } from '@tus/server'
import { FileStore } from '@tus/file-store'

const [port, directory] = process.argv.slice(-2)
const server = new Server({
  path: '/files',
  datastore: new FileStore({ directory, expirationPeriodInMilliseconds: 3600 * 1000 }),
})
server.listen({ host: '127.0.0.1', port: Number(port) }, () => {
  console.log(`listening on ${port}`)
})
