/**
 * Sends an .eml file to a running router over SMTP and prints the server's answer, the way a
 * mail server would hand it over:
 *   npm run example:send -- FILE.eml --to ADDR [--from ADDR] [--server HOST:PORT] [--source-ip IP]
 * `--source-ip 127.0.0.2` connects from another loopback address: a server that acme.example's
 * SPF record does not list, i.e. a spoofer's.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { createTransport } from 'nodemailer';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { to: { type: 'string' }, from: { type: 'string', default: 'alice@acme.example' }, server: { type: 'string', default: '127.0.0.1:2525' }, 'source-ip': { type: 'string' } },
});
const file = positionals[0];
if (!file || !values.to) {
  process.stderr.write('usage: npm run example:send -- FILE.eml --to ADDR [--from ADDR] [--server HOST:PORT] [--source-ip IP]\n');
  process.exit(2);
}
const [host, port] = values.server.split(':');
const raw = readFileSync(file, 'latin1').replace(/\r?\n/g, '\r\n');
const transport = createTransport({ host, port: Number(port ?? 2525), secure: false, ignoreTLS: true, name: 'sender.example', localAddress: values['source-ip'] });
try {
  const info = await transport.sendMail({ envelope: { from: values.from, to: [values.to] }, raw });
  process.stdout.write(`accepted: ${info.response}\n`);
} catch (err) {
  const e = err as { response?: string; message: string };
  process.stdout.write(`refused: ${e.response ?? e.message}\n`);
  process.exitCode = 1;
}
