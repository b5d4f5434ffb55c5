/**
 * Regenerates the README walkthrough material: the DNS zone of the example domain acme.example
 * (SPF, the DKIM public key, DMARC p=reject) and sample messages, DKIM-signed with the example
 * key in examples/keys (a documentation key: never use it for a real domain).
 * Run: `npm run example:sample`.
 */
import { createPublicKey } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { dkimSign } from 'mailauth/lib/dkim/sign.js';

const here = new URL('./', import.meta.url);
const privateKey = readFileSync(new URL('keys/acme.example.dkim.key.pem', here), 'utf8');
const publicKey = createPublicKey(privateKey).export({ type: 'spki', format: 'der' }).toString('base64');

const zone = `# Static DNS for the README walkthrough (INTENTMAIL_DNS_ZONE=examples/dns/zone.yaml).
# acme.example sends from 127.0.0.1 only, signs with selector "mail", and asks receivers to
# reject what fails DMARC. Names not listed here go to real DNS.
acme.example:
  TXT: "v=spf1 ip4:127.0.0.1 -all"
mail._domainkey.acme.example:
  TXT: "v=DKIM1; k=rsa; p=${publicKey}"
_dmarc.acme.example:
  TXT: "v=DMARC1; p=reject; adkim=r; aspf=r"
`;
writeFileSync(new URL('dns/zone.yaml', here), zone);

/** Builds a small RFC 5322 message with CRLF line endings. */
function message(from: string, to: string, subject: string, body: string, extra: string[] = []): string {
  return [
    `From: ${from}`,
    `To: ${to}`,
    `Subject: ${subject}`,
    'Date: Sun, 22 Nov 2026 09:00:00 +0000',
    `Message-ID: <${subject.replace(/[^a-z0-9]+/gi, '-').toLowerCase()}@acme.example>`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    ...extra,
    '',
    body,
    '',
  ].join('\r\n');
}

async function signed(raw: string): Promise<string> {
  const key = { signingDomain: 'acme.example', selector: 'mail', privateKey };
  const result = await dkimSign(raw, { ...key, canonicalization: 'relaxed/relaxed', signatureData: [key] });
  if (!result.signatures) throw new Error(`could not sign: ${JSON.stringify(result.errors)}`);
  return result.signatures + raw;
}

const samples: Record<string, string> = {
  'ticket.eml': await signed(message('Alice Example <alice@acme.example>', 'task.linear@in.acme.example', 'Printer on fire #urgent', 'The printer on floor 3 is on fire. Please send help.')),
  'export-denied.eml': await signed(message('Bob Analyst <bob@acme.example>', 'export.data@in.acme.example', 'Export Q3 customer list', 'Please export the Q3 customer list.')),
  'spoofed-ceo.eml': message('CEO <ceo@acme.example>', 'task.linear@in.acme.example', 'Urgent wire transfer', 'Please pay the attached invoice today.'),
};
for (const [name, text] of Object.entries(samples)) writeFileSync(new URL(`mail/${name}`, here), text);
process.stdout.write(`wrote examples/dns/zone.yaml and ${Object.keys(samples).map((n) => `examples/mail/${n}`).join(', ')}\n`);
