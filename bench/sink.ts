/**
 * The ceiling for the benchmark: a bare smtp-server that accepts every message and discards it,
 * run as its own process like the router, so both compete for the same cores in the same way.
 * Prints `listening PORT` when ready.
 */
import { SMTPServer } from 'smtp-server';

const server = new SMTPServer({
  authOptional: true,
  disabledCommands: ['STARTTLS', 'AUTH'],
  logger: false,
  maxClients: 1000,
  onData(stream, _session, cb) {
    stream.on('data', () => {});
    stream.on('end', () => cb());
  },
});
server.listen(0, '127.0.0.1', () => {
  const addr = (server as unknown as { server: { address(): { port: number } } }).server.address();
  process.stdout.write(`listening ${addr.port}\n`);
});
process.once('SIGTERM', () => server.close(() => process.exit(0)));
