/**
 * `npm run bench:secure`: the per-message cost of secure delivery for a 20 KB message with a
 * 1 MB attachment, beside the native tools doing the same work in the same run:
 *   S/MIME sign+encrypt (ours, in-process)  vs  openssl cms -sign | openssl cms -encrypt
 *   PGP sign+encrypt (ours, openpgp)        vs  gpg --sign --encrypt
 *   password PDF container (ours)           vs  qpdf adding the attachment and encrypting AES-256
 * Each is timed over BENCH_ROUNDS messages (default 10) after one warm-up; the median is
 * reported with the ratio ours / native. The native figures include starting the tool, which is
 * what a router shelling out to it per message would pay. Tools that are not installed are skipped.
 */
import { Buffer } from 'node:buffer';
import { spawnSync } from 'node:child_process';
import { createPrivateKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import forge from 'node-forge';
import * as openpgp from 'openpgp';
import { PDFDocument, StandardFonts } from '@cantoo/pdf-lib';
import { splitForProtection } from '../src/secure/mime.ts';
import { buildPdfContainer, containerContentOf, wrapPdfMessage } from '../src/secure/pdf-container.ts';
import { generatePassword } from '../src/secure/passwords.ts';
import { protectPgp } from '../src/secure/pgp.ts';
import { protectSmime } from '../src/secure/smime.ts';
import { parseCertificate, toPem } from '../src/secure/x509.ts';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 10);
const dir = mkdtempSync(join(tmpdir(), 'intentmail-bench-secure-'));
const file = (name: string, data: Uint8Array | string) => {
  const p = join(dir, name);
  writeFileSync(p, data);
  return p;
};
const has = (tool: string) => spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;

/** A 20 KB text body and a 1 MB attachment, as a reply or forward would carry them. */
function message(): Buffer {
  const line = 'The quarterly figures are attached; numbers are preliminary until the audit closes.\r\n';
  const text = line.repeat(Math.ceil(20_000 / line.length)).slice(0, 20_000);
  const attachment = randomBytes(1024 * 1024).toString('base64').replace(/.{76}/g, '$&\r\n');
  return Buffer.from(
    `From: intentmail@in.acme.example\r\nTo: bob@example.org\r\nSubject: Q3 figures\r\nDate: Sun, 22 Nov 2026 08:00:00 +0000\r\nMessage-ID: <bench@in.acme.example>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="BENCH"\r\n\r\n--BENCH\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n${text}\r\n--BENCH\r\nContent-Type: application/octet-stream; name="figures.bin"\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename="figures.bin"\r\n\r\n${attachment}\r\n--BENCH--\r\n`,
  );
}

/** A self-signed S/MIME certificate (signer and recipient alike, as in a loopback test). */
function smimeIdentity(email: string): { certPem: string; keyPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(publicKey.export({ type: 'spki', format: 'pem' }).toString());
  cert.serialNumber = '01';
  cert.validity.notBefore = new Date(Date.now() - 86_400_000);
  cert.validity.notAfter = new Date(Date.now() + 365 * 86_400_000);
  const subject = [{ name: 'commonName', value: email }, { name: 'emailAddress', value: email }];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([{ name: 'keyUsage', digitalSignature: true, keyEncipherment: true }, { name: 'extKeyUsage', emailProtection: true }, { name: 'subjectAltName', altNames: [{ type: 1, value: email }] }]);
  const keyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  cert.sign(forge.pki.privateKeyFromPem(keyPem) as forge.pki.rsa.PrivateKey, forge.md.sha256.create());
  return { certPem: toPem('CERTIFICATE', Buffer.from(forge.asn1.toDer(forge.pki.certificateToAsn1(cert)).getBytes(), 'binary')), keyPem };
}

/** Median milliseconds of `rounds` runs after one warm-up. */
async function time(work: () => unknown, rounds = ROUNDS): Promise<number> {
  await work();
  const samples: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const start = performance.now();
    await work();
    samples.push(performance.now() - start);
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)];
}

function sh(script: string, env: Record<string, string> = {}): void {
  const r = spawnSync('sh', ['-c', script], { env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`${script}: ${r.stderr.toString()}`);
}

interface Row {
  work: string;
  oursMs: number;
  native: string;
  nativeMs: number | null;
}

async function main(): Promise<void> {
  const raw = message();
  const entityPath = file('entity.mime', splitForProtection(raw).entity);
  const rows: Row[] = [];

  // S/MIME: sign then encrypt, AES-256-CBC, RSA-2048, SHA-256.
  const us = smimeIdentity('intentmail@in.acme.example');
  const bob = smimeIdentity('bob@example.org');
  const signer = { cert: parseCertificate(Buffer.from(us.certPem.replace(/-----[^-]+-----|\s/g, ''), 'base64')), chain: [], key: createPrivateKey(us.keyPem) };
  const bobCert = parseCertificate(Buffer.from(bob.certPem.replace(/-----[^-]+-----|\s/g, ''), 'base64'));
  const oursSmime = await time(() => protectSmime(raw, { signer, recipients: [{ cert: bobCert, transport: 'rsa-pkcs1' }], cipher: 'aes-256-cbc', now: new Date() }));
  let nativeSmime: number | null = null;
  if (has('openssl')) {
    const [cert, key, rcpt] = [file('us.pem', us.certPem), file('us.key', us.keyPem), file('bob.pem', bob.certPem)];
    nativeSmime = await time(() => sh(`openssl cms -sign -in ${entityPath} -signer ${cert} -inkey ${key} -md sha256 | openssl cms -encrypt -aes-256-cbc -out /dev/null ${rcpt}`));
  }
  rows.push({ work: 'S/MIME sign+encrypt', oursMs: oursSmime, native: 'openssl cms -sign | openssl cms -encrypt', nativeMs: nativeSmime });

  // OpenPGP: sign and encrypt in one message (RFC 3156 §6.2), Curve25519 keys, AES-256.
  const gen = (email: string) => openpgp.generateKey({ type: 'ecc', curve: 'curve25519Legacy', userIDs: [{ email }], format: 'armored' });
  const [pgpUs, pgpBob] = await Promise.all([gen('intentmail@in.acme.example'), gen('bob@example.org')]);
  const signingKey = await openpgp.readPrivateKey({ armoredKey: pgpUs.privateKey });
  const bobKey = await openpgp.readKey({ armoredKey: pgpBob.publicKey });
  const oursPgp = await time(() => protectPgp(raw, { signingKey, encryptionKeys: [bobKey], now: new Date() }));
  let nativePgp: number | null = null;
  if (has('gpg')) {
    const home = mkdtempSync(join(dir, 'gnupg-'));
    const env = { GNUPGHOME: home };
    sh(`gpg --batch --import ${file('us.asc', pgpUs.privateKey)} ${file('bob.asc', pgpBob.publicKey)} 2>/dev/null`, env);
    nativePgp = await time(() =>
      sh(`gpg --batch --yes --trust-model always --compress-algo none --cipher-algo AES256 --digest-algo SHA256 --armor --local-user intentmail@in.acme.example -r bob@example.org --sign --encrypt --output /dev/null ${entityPath}`, env),
    );
    spawnSync('gpgconf', ['--kill', 'all'], { env: { ...process.env, ...env } });
  }
  rows.push({ work: 'PGP sign+encrypt', oursMs: oursPgp, native: 'gpg --sign --encrypt', nativeMs: nativePgp });

  // PDF container: body rendered, attachment embedded, AES-256 (R6). qpdf gets the rendered page
  // (made once, outside the timing) and does the embedding and the encryption.
  const oursPdf = await time(async () => {
    const pdf = await buildPdfContainer(await containerContentOf(raw), generatePassword(), new Date());
    wrapPdfMessage(raw, pdf, 'by SMS');
  });
  let nativePdf: number | null = null;
  if (has('qpdf')) {
    const doc = await PDFDocument.create();
    const page = doc.addPage();
    page.drawText('Q3 figures', { x: 50, y: 780, size: 12, font: await doc.embedFont(StandardFonts.Helvetica) });
    const base = file('base.pdf', await doc.save());
    const attachment = file('figures.bin', (await containerContentOf(raw)).attachments[0].content);
    nativePdf = await time(() => sh(`qpdf --add-attachment ${attachment} -- --encrypt pw-${generatePassword()} owner 256 -- ${base} ${join(dir, 'out.pdf')}`));
  }
  rows.push({ work: 'password PDF container', oursMs: oursPdf, native: 'qpdf --add-attachment --encrypt 256', nativeMs: nativePdf });

  process.stdout.write(`secure delivery, ${(raw.length / 1024).toFixed(0)} KiB message (20 KB text + 1 MB attachment), median of ${ROUNDS}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}\n`);
  process.stdout.write(`${'work'.padEnd(26)}${'ours ms'.padStart(9)}  ${'native'.padEnd(42)}${'native ms'.padStart(10)}${'ratio'.padStart(8)}\n`);
  for (const r of rows) {
    const ratio = r.nativeMs === null ? 'skipped' : `${(r.oursMs / r.nativeMs).toFixed(2)}×`;
    process.stdout.write(`${r.work.padEnd(26)}${r.oursMs.toFixed(1).padStart(9)}  ${r.native.padEnd(42)}${(r.nativeMs === null ? '-' : r.nativeMs.toFixed(1)).padStart(10)}${ratio.padStart(8)}\n`);
  }
  process.stdout.write('goal: S/MIME and PGP within 3× of the native tools\n');
  if (process.env.BENCH_JSON) process.stdout.write(`${JSON.stringify({ rounds: ROUNDS, bytes: raw.length, rows })}\n`);
}

try {
  await main();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
