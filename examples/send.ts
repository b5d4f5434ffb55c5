/**
 * Sends an .eml file to a running router over SMTP and prints the server's answer, the way a
 * mail server would hand it over: `npm run example:send -- FILE.eml TO [FROM] [HOST:PORT]`.
 */
import { readFileSync } from 'node:fs';
import { createTransport } from 'nodemailer';

const [file, to, from = 'alice@acme.example', server = '127.0.0.1:2525'] = process.argv.slice(2);
if (!file || !to) {
  process.stderr.write('usage: npm run example:send -- FILE.eml TO [FROM] [HOST:PORT]\n');
  process.exit(2);
}
const [host, port] = server.split(':');
const raw = readFileSync(file, 'latin1').replace(/\r?\n/g, '\r\n');
const transport = createTransport({ host, port: Number(port ?? 2525), secure: false, ignoreTLS: true, name: 'sender.acme.example' });
try {
  const info = await transport.sendMail({ envelope: { from, to: [to] }, raw });
  process.stdout.write(`accepted: ${info.response}\n`);
} catch (err) {
  const e = err as { response?: string; message: string };
  process.stdout.write(`refused: ${e.response ?? e.message}\n`);
  process.exitCode = 1;
}
