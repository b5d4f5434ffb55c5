/**
 * The per-tenant key store: importing material (checked for validity, usage, chain and
 * revocation, refused with a clear reason), listing and removing it, learning correspondents'
 * keys from verified inbound mail, and handing out usable keys, checked again at the moment of
 * use. Private keys are sealed under the master key (src/crypto/envelope.ts) and only opened to
 * sign. Every method takes the tenant; one tenant's entries are invisible to every other.
 */
import { Buffer } from 'node:buffer';
import { createPrivateKey, hkdfSync, randomUUID, type KeyObject } from 'node:crypto';
import * as openpgp from 'openpgp';
import type { AuditEvent } from '../core/audit-event.ts';
import { IntentmailError } from '../core/errors.ts';
import { systemClock, type Clock } from '../core/ports.ts';
import { openMessage, sealMessage } from '../crypto/envelope.ts';
import type { CmsSigner, KeyTransport } from '../secure/cms.ts';
import { PGP_CONFIG, pgpKeyEmails, pgpKeyProblem } from '../secure/pgp.ts';
import { buildChain, certificateProblems, crlSignedBy, parseCrl, type Certificate, type Crl } from '../secure/x509.ts';
import { readKeyFile, type Material } from './material.ts';
import type { KeyEntry, KeyKind, KeyRepository, KeySource, StoredKey } from './types.ts';
import { auditEvent, ok, refused, publicView, certDetails, certsOf, sameKey, transportFor, type LearnContext } from './entries.ts';

export type { LearnContext } from './entries.ts';

/** A file handed to `importFiles`: a name for messages and its bytes. */
export interface KeyFile {
  name: string;
  data: Uint8Array;
}

/** What happened to one piece of material on import. */
export interface ImportOutcome {
  file: string;
  kind: KeyKind | null;
  status: 'imported' | 'updated' | 'refused';
  id: string | null;
  fingerprint: string | null;
  subject: string | null;
  addresses: string[];
  reason: string;
}

/** Whether usable keys exist for an address right now (the `key.smime` / `key.pgp` condition facts). */
export interface KeyPresence {
  smime: 'present' | 'missing';
  pgp: 'present' | 'missing';
}

/** A usable S/MIME recipient: the certificate and the key transport it supports. */
export interface SmimeRecipientKey {
  entry: KeyEntry;
  cert: Certificate;
  transport: KeyTransport;
}

/** A usable key, or why there is none (every candidate's reason, for the audit record and `simulate`). */
export type KeyLookup<T> = { ok: true; key: T } | { ok: false; reasons: string[] };

/** Options of a key store. */
export interface KeyStoreOptions {
  masterKey: Uint8Array;
  clock?: Clock;
  /** Appends an audit record for imports, removals and learned keys (the tenant's chain). */
  audit?: (event: AuditEvent) => Promise<void>;
}

/** The per-tenant key store over a repository. */
export class KeyStore {
  readonly #repo: KeyRepository;
  readonly #masterKey: Uint8Array;
  readonly #clock: Clock;
  readonly #audit: ((event: AuditEvent) => Promise<void>) | null;

  constructor(repo: KeyRepository, opts: KeyStoreOptions) {
    this.#repo = repo;
    this.#masterKey = opts.masterKey;
    this.#clock = opts.clock ?? systemClock;
    this.#audit = opts.audit ?? null;
  }

  /**
   * Key material derived from the master key for one purpose and context (HKDF-SHA-256, RFC 5869),
   * e.g. the seed of a PDF password that must be the same on every retry of a step.
   */
  derive(purpose: string, context: string, bytes = 64): Uint8Array {
    return new Uint8Array(hkdfSync('sha256', this.#masterKey, Buffer.from(`intentmail-${purpose}-v1`), Buffer.from(context, 'utf8'), bytes));
  }

  /** The repository (for the SMS contact look-ups of password delivery). */
  get repository(): KeyRepository {
    return this.#repo;
  }

  /**
   * Imports key files for a tenant. Every piece is checked (validity, usage, chain to the
   * tenant's anchors or a public root, revocation) and either stored or refused with its reason;
   * CAs and CRLs in the same call are taken into account for the certificates beside them.
   * Files that cannot be read at all throw (nothing of them is stored).
   */
  async importFiles(tenant: string, files: KeyFile[], opts: { password?: string; actor?: string | null } = {}): Promise<ImportOutcome[]> {
    const pieces: { file: string; material: Material }[] = [];
    for (const f of files) for (const material of await readKeyFile(f.name, f.data, opts.password)) pieces.push({ file: f.name, material });
    const now = this.#clock.now();
    const outcomes: ImportOutcome[] = [];
    const keys = pieces.filter((p) => p.material.type === 'private-key').map((p) => p.material as Extract<Material, { type: 'private-key' }>);
    const certs = pieces.filter((p) => p.material.type === 'certificate') as { file: string; material: Extract<Material, { type: 'certificate' }> }[];
    const pool = certs.map((c) => c.material.cert);
    const usedKeys = new Set<KeyObject>();
    // CAs first (they anchor the rest), then CRLs (they need their CA), then end-entity certificates.
    for (const c of certs.filter((c) => c.material.cert.isCa)) outcomes.push(await this.#importCa(tenant, c.file, c.material.cert, now, opts.actor ?? null));
    for (const p of pieces) if (p.material.type === 'crl') outcomes.push(await this.#importCrl(tenant, p.file, p.material.crl, now, opts.actor ?? null));
    for (const c of certs.filter((c) => !c.material.cert.isCa)) {
      const key = keys.find((k) => sameKey(k.key, c.material.cert.publicKey)) ?? null;
      if (key) usedKeys.add(key.key);
      outcomes.push(await this.#importCert(tenant, c.file, c.material.cert, key?.key ?? null, pool, now, opts.actor ?? null));
    }
    for (const k of keys) {
      if (!usedKeys.has(k.key)) {
        const file = pieces.find((p) => p.material === k)?.file ?? '';
        outcomes.push(refused(file, 'smime_identity', null, 'a private key without its certificate: import the key and the certificate (chain) together'));
      }
    }
    for (const p of pieces) {
      if (p.material.type === 'pgp-public' || p.material.type === 'pgp-secret') outcomes.push(await this.#importPgp(tenant, p.file, p.material.key, 'import', now, opts.actor ?? null));
    }
    return outcomes;
  }

  /** The tenant's entries (public view), newest first. */
  async list(tenant: string, kinds?: readonly KeyKind[]): Promise<KeyEntry[]> {
    return (await this.#repo.list(tenant, kinds)).map(publicView);
  }

  /** Removes one of the tenant's entries by id (or fingerprint); false when the tenant has no such entry. */
  async remove(tenant: string, id: string, actor: string | null = null): Promise<boolean> {
    const entry = await this.#repo.get(tenant, id);
    if (entry === null) return false;
    const removed = await this.#repo.remove(tenant, entry.id);
    if (removed) await this.#record(tenant, 'key.remove', entry, 'removed', `operator removed ${entry.kind} ${entry.fingerprint}`, actor, true);
    return removed;
  }

  /** Sets the SMS number PDF passwords for `address` go to (E.164, `+` and 7–15 digits). */
  async setPhone(tenant: string, address: string, phone: string): Promise<void> {
    if (!/^\+[1-9]\d{6,14}$/.test(phone)) throw new IntentmailError('validation_failed', `"${phone}" is not an E.164 phone number (+ and 7 to 15 digits)`);
    if (!/^[^\s@]+@[^\s@]+$/.test(address)) throw new IntentmailError('validation_failed', `"${address}" is not an e-mail address`);
    await this.#repo.setPhone(tenant, address, phone, this.#clock.now());
  }

  /** Whether `address` has a usable S/MIME certificate and OpenPGP key in the tenant's store, checked now. */
  async keyPresence(tenant: string, address: string): Promise<KeyPresence> {
    const [smime, pgp] = await Promise.all([this.smimeRecipient(tenant, address), this.pgpRecipient(tenant, address)]);
    return { smime: smime.ok ? 'present' : 'missing', pgp: pgp.ok ? 'present' : 'missing' };
  }

  /** The newest usable certificate for encrypting to `address`: valid now, usable for encryption, chained, not revoked. */
  async smimeRecipient(tenant: string, address: string): Promise<KeyLookup<SmimeRecipientKey>> {
    const now = this.#clock.now();
    const entries = await this.#repo.findByAddress(tenant, ['smime_cert'], address);
    if (entries.length === 0) return { ok: false, reasons: [`no S/MIME certificate for ${address}`] };
    const ctx = await this.#chainContext(tenant, now);
    const reasons: string[] = [];
    for (const entry of entries) {
      const [cert, ...chain] = certsOf(entry.publicData);
      const problems = certificateProblems(cert, 'encrypt', now);
      if (problems.length > 0) {
        reasons.push(problems[0]);
        continue;
      }
      const chained = buildChain(cert, { ...ctx, pool: chain, allowPinned: entry.source === 'import' });
      if (!chained.ok) {
        reasons.push(chained.reason);
        continue;
      }
      return { ok: true, key: { entry: publicView(entry), cert, transport: transportFor(entry.details) } };
    }
    return { ok: false, reasons };
  }

  /** The tenant's usable S/MIME signing identity for `from` (certificate, chain and the unsealed private key). */
  async smimeSigner(tenant: string, from: string): Promise<KeyLookup<CmsSigner & { entry: KeyEntry }>> {
    const found = await this.#smimeIdentity(tenant, from);
    if (!found.ok) return found;
    const { stored, cert, chain } = found.key;
    const der = openMessage(stored.secret!, this.#masterKey);
    const key = createPrivateKey({ key: Buffer.from(der), format: 'der', type: 'pkcs8' });
    return { ok: true, key: { entry: publicView(stored), cert, chain, key } };
  }

  /**
   * Whether the tenant can sign as `from` right now, checked exactly as for signing (validity,
   * usage, chain, revocation, key present) but without unsealing any private key (plans, simulate).
   */
  async signingIdentity(tenant: string, from: string, kind: 'smime' | 'pgp'): Promise<KeyLookup<KeyEntry>> {
    if (kind === 'smime') {
      const found = await this.#smimeIdentity(tenant, from);
      return found.ok ? { ok: true, key: publicView(found.key.stored) } : found;
    }
    const found = await this.#pgpIdentity(tenant, from);
    return found.ok ? { ok: true, key: publicView(found.key) } : found;
  }

  async #smimeIdentity(tenant: string, from: string): Promise<KeyLookup<{ stored: StoredKey; cert: Certificate; chain: Certificate[] }>> {
    const now = this.#clock.now();
    const entries = await this.#repo.findByAddress(tenant, ['smime_identity'], from);
    if (entries.length === 0) return { ok: false, reasons: [`no S/MIME signing identity for ${from} (import a .p12 or key and certificate)`] };
    const ctx = await this.#chainContext(tenant, now);
    const reasons: string[] = [];
    for (const entry of entries) {
      const [cert, ...chain] = certsOf(entry.publicData);
      const problems = certificateProblems(cert, 'sign', now);
      const chained = problems.length === 0 ? buildChain(cert, { ...ctx, pool: chain, allowPinned: true }) : null;
      if (problems.length > 0 || !chained?.ok || entry.secret === null) {
        reasons.push(problems[0] ?? (chained && !chained.ok ? chained.reason : 'the private key is missing'));
        continue;
      }
      return { ok: true, key: { stored: entry, cert, chain: chained.path.slice(1) } };
    }
    return { ok: false, reasons };
  }

  /** The newest usable OpenPGP key for encrypting to `address` (not expired, not revoked, has an encryption subkey). */
  async pgpRecipient(tenant: string, address: string): Promise<KeyLookup<{ entry: KeyEntry; key: openpgp.Key }>> {
    const now = this.#clock.now();
    const entries = await this.#repo.findByAddress(tenant, ['pgp_public'], address);
    if (entries.length === 0) return { ok: false, reasons: [`no OpenPGP key for ${address}`] };
    const reasons: string[] = [];
    for (const entry of entries) {
      const key = await openpgp.readKey({ binaryKey: new Uint8Array(entry.publicData), config: PGP_CONFIG });
      const problem = await pgpKeyProblem(key, 'encrypt', now);
      if (problem) reasons.push(problem);
      else return { ok: true, key: { entry: publicView(entry), key } };
    }
    return { ok: false, reasons };
  }

  /** Every stored OpenPGP public key naming `address` (verifying a signature needs them even when they cannot encrypt). */
  async pgpKeysFor(tenant: string, address: string): Promise<openpgp.Key[]> {
    const entries = await this.#repo.findByAddress(tenant, ['pgp_public', 'pgp_identity'], address);
    return Promise.all(entries.map((e) => openpgp.readKey({ binaryKey: new Uint8Array(e.publicData), config: PGP_CONFIG })));
  }

  /** The tenant's usable OpenPGP signing key for `from`, unsealed. */
  async pgpSigner(tenant: string, from: string): Promise<KeyLookup<{ entry: KeyEntry; key: openpgp.PrivateKey }>> {
    const found = await this.#pgpIdentity(tenant, from);
    if (!found.ok) return found;
    const key = await openpgp.readPrivateKey({ binaryKey: new Uint8Array(openMessage(found.key.secret!, this.#masterKey)), config: PGP_CONFIG });
    return { ok: true, key: { entry: publicView(found.key), key } };
  }

  /** The newest OpenPGP identity for `from` whose public part can sign now (not expired, not revoked, a signing key). */
  async #pgpIdentity(tenant: string, from: string): Promise<KeyLookup<StoredKey>> {
    const now = this.#clock.now();
    const entries = await this.#repo.findByAddress(tenant, ['pgp_identity'], from);
    if (entries.length === 0) return { ok: false, reasons: [`no OpenPGP signing key for ${from} (import the secret key)`] };
    const reasons: string[] = [];
    for (const entry of entries) {
      if (entry.secret === null) {
        reasons.push('the secret key is missing');
        continue;
      }
      const publicKey = await openpgp.readKey({ binaryKey: new Uint8Array(entry.publicData), config: PGP_CONFIG });
      const problem = await pgpKeyProblem(publicKey, 'sign', now);
      if (problem) reasons.push(problem);
      else return { ok: true, key: entry };
    }
    return { ok: false, reasons };
  }

  /** The tenant's trust anchors and CRLs for checking a chain now (inbound signatures use this too). */
  async chainMaterial(tenant: string): Promise<{ anchors: Certificate[]; crls: Crl[] }> {
    const now = this.#clock.now();
    const ctx = await this.#chainContext(tenant, now);
    return { anchors: ctx.anchors, crls: ctx.crls };
  }

  /**
   * Records a correspondent's certificate that signed a verified inbound message (RFC 8551
   * §2.5.2: the signer's certificate and capabilities). The caller has checked the signature,
   * the chain and that the certificate names the authenticated sender. Returns what happened.
   */
  async learnSmimeCertificate(tenant: string, cert: Certificate, chain: Certificate[], capabilities: string[], context: LearnContext): Promise<ImportOutcome> {
    const now = this.#clock.now();
    const problems = certificateProblems(cert, 'encrypt', now);
    if (problems.length > 0) return refused(context.source, 'smime_cert', cert, problems[0]);
    const existing = await this.#repo.get(tenant, cert.fingerprint);
    const source: KeySource = existing?.kind === 'smime_cert' && existing.source === 'import' ? 'import' : 'learned';
    const details = { ...certDetails(cert), capabilities, learnedFrom: context.source, learnedAt: now.toISOString() };
    const stored = this.#entry(tenant, 'smime_cert', cert.fingerprint, cert.emails, cert.subject, cert.issuer, cert.notBefore, cert.notAfter, Buffer.concat([cert.der, ...chain.map((c) => c.der)]), null, details, source, now);
    const { id, created } = await this.#repo.upsert(stored);
    const outcome = ok(context.source, 'smime_cert', id, created, cert.fingerprint, cert.subject, cert.emails, `learned from a verified S/MIME signature by ${context.sender}`);
    await this.#record(tenant, 'key.learn', { ...stored, id }, created ? 'learned' : 'updated', outcome.reason, context.sender, true, context.intent);
    return outcome;
  }

  /** Records a correspondent's OpenPGP public key from an Autocrypt header or an attached key (trust on first use, for the authenticated sender only). */
  async learnPgpKey(tenant: string, key: openpgp.PublicKey, address: string, context: LearnContext): Promise<ImportOutcome> {
    const existing = await this.#repo.get(tenant, key.getFingerprint());
    if (existing !== null && existing.kind === 'pgp_public' && existing.source === 'import') {
      return { file: context.source, kind: 'pgp_public', status: 'refused', id: existing.id, fingerprint: existing.fingerprint, subject: existing.subject, addresses: existing.addresses, reason: 'already imported by an operator' };
    }
    return this.#importPgp(tenant, context.source, key, 'learned', this.#clock.now(), context.sender, [address], context.intent);
  }

  async #chainContext(tenant: string, now: Date): Promise<{ pool: Certificate[]; anchors: Certificate[]; crls: Crl[]; now: Date; publicRoots: boolean; allowPinned: boolean }> {
    const rows = await this.#repo.list(tenant, ['x509_ca', 'x509_crl']);
    const anchors = rows.filter((r) => r.kind === 'x509_ca').map((r) => certsOf(r.publicData)[0]);
    const crls = rows.filter((r) => r.kind === 'x509_crl').map((r) => parseCrl(r.publicData));
    return { pool: [], anchors, crls, now, publicRoots: true, allowPinned: false };
  }

  async #importCa(tenant: string, file: string, cert: Certificate, now: Date, actor: string | null): Promise<ImportOutcome> {
    const problems = certificateProblems(cert, 'ca', now);
    if (problems.length > 0) return this.#refuse(tenant, file, 'x509_ca', cert, problems[0], actor);
    const stored = this.#entry(tenant, 'x509_ca', cert.fingerprint, cert.emails, cert.subject, cert.issuer, cert.notBefore, cert.notAfter, cert.der, null, certDetails(cert), 'import', now);
    return this.#store(stored, file, actor, 'trust anchor for the tenant\'s certificates');
  }

  async #importCrl(tenant: string, file: string, crl: Crl, now: Date, actor: string | null): Promise<ImportOutcome> {
    const { anchors } = await this.#chainContext(tenant, now);
    const issuer = anchors.find((a) => a.subjectDer.equals(crl.issuerDer));
    if (!issuer) return this.#refuse(tenant, file, 'x509_crl', null, `the CRL issuer "${crl.issuer}" is not a CA of this tenant (import the CA first)`, actor);
    if (!crlSignedBy(crl, issuer)) return this.#refuse(tenant, file, 'x509_crl', null, `the CRL's signature does not verify with "${issuer.subject}"`, actor);
    const stale = crl.nextUpdate !== null && crl.nextUpdate < now;
    const stored = this.#entry(tenant, 'x509_crl', crl.fingerprint, [], `CRL of ${crl.issuer}`, crl.issuer, crl.thisUpdate, crl.nextUpdate, crl.der, null, { revoked: crl.revoked.size, stale }, 'import', now);
    return this.#store(stored, file, actor, `${crl.revoked.size} revoked certificate(s)${stale ? '; the CRL is past its nextUpdate, import a fresh one' : ''}`);
  }

  async #importCert(tenant: string, file: string, cert: Certificate, key: KeyObject | null, pool: Certificate[], now: Date, actor: string | null): Promise<ImportOutcome> {
    const kind: KeyKind = key ? 'smime_identity' : 'smime_cert';
    const problems = certificateProblems(cert, key ? 'sign' : 'encrypt', now);
    if (problems.length > 0) return this.#refuse(tenant, file, kind, cert, problems[0], actor);
    const ctx = await this.#chainContext(tenant, now);
    const chained = buildChain(cert, { ...ctx, pool: pool.filter((c) => c !== cert), allowPinned: true });
    if (!chained.ok) return this.#refuse(tenant, file, kind, cert, chained.reason, actor);
    const secret = key ? sealMessage(new Uint8Array(key.export({ type: 'pkcs8', format: 'der' })), this.#masterKey) : null;
    const publicData = Buffer.concat(chained.path.map((c) => c.der));
    const details = { ...certDetails(cert), trust: chained.trust, chain: chained.path.slice(1).map((c) => c.subject) };
    const stored = this.#entry(tenant, kind, cert.fingerprint, cert.emails, cert.subject, cert.issuer, cert.notBefore, cert.notAfter, publicData, secret, details, 'import', now);
    return this.#store(stored, file, actor, `chains to ${chained.trust === 'pinned' ? 'itself (self-signed, trusted because an operator imported it)' : `"${chained.path[chained.path.length - 1].subject}"`}`);
  }

  async #importPgp(tenant: string, file: string, key: openpgp.Key, source: KeySource, now: Date, actor: string | null, onlyAddresses?: string[], intent: string | null = null): Promise<ImportOutcome> {
    const isSecret = key.isPrivate();
    const kind: KeyKind = isSecret ? 'pgp_identity' : 'pgp_public';
    const fingerprint = key.getFingerprint().toUpperCase();
    let emails = pgpKeyEmails(key);
    if (onlyAddresses) emails = onlyAddresses.map((a) => a.toLowerCase());
    const subject = key.getUserIDs()[0] ?? fingerprint;
    const describe = { fingerprint, subject, emails };
    if (emails.length === 0) return this.#refuseRaw(tenant, file, kind, describe, 'the OpenPGP key has no user id with an e-mail address', actor, source, intent);
    // Merge with what is stored (new user ids, subkeys, revocations), as gpg --import does.
    const existing = await this.#repo.get(tenant, fingerprint);
    let merged: openpgp.Key = key;
    if (existing !== null && existing.kind === kind) {
      const stored = await openpgp.readKey({ binaryKey: new Uint8Array(existing.publicData), config: PGP_CONFIG });
      merged = isSecret ? key : await stored.update(key, now, PGP_CONFIG);
    }
    const problem = await pgpKeyProblem(merged, isSecret ? 'sign' : 'encrypt', now);
    if (problem) {
      // A revocation is news worth keeping: the stored copy must not stay usable.
      if (existing !== null && existing.kind === kind && (await merged.isRevoked(undefined, undefined, now, PGP_CONFIG))) {
        await this.#repo.upsert({ ...existing, publicData: merged.toPublic().write(), details: { ...existing.details, revoked: true }, updatedAt: now });
      }
      return this.#refuseRaw(tenant, file, kind, describe, problem, actor, source, intent);
    }
    const expires = await merged.getExpirationTime(undefined, PGP_CONFIG);
    const info = merged.getAlgorithmInfo();
    const details = { algorithm: info.algorithm, bits: info.bits ?? null, curve: info.curve ?? null, userIds: merged.getUserIDs(), created: merged.getCreationTime().toISOString() };
    const secret = isSecret ? sealMessage((merged as openpgp.PrivateKey).write(), this.#masterKey) : null;
    const stored = this.#entry(tenant, kind, fingerprint, emails, subject, null, merged.getCreationTime(), expires instanceof Date ? expires : null, merged.toPublic().write(), secret, details, source, now);
    if (source === 'learned') {
      const { id, created } = await this.#repo.upsert(stored);
      const outcome = ok(file, kind, id, created, fingerprint, subject, emails, `learned for ${emails.join(', ')} (${file})`);
      await this.#record(tenant, 'key.learn', { ...stored, id }, created ? 'learned' : 'updated', outcome.reason, actor, true, intent);
      return outcome;
    }
    return this.#store(stored, file, actor, isSecret ? 'signing key (secret part sealed)' : 'public key');
  }

  #entry(
    tenant: string,
    kind: KeyKind,
    fingerprint: string,
    addresses: string[],
    subject: string,
    issuer: string | null,
    notBefore: Date | null,
    notAfter: Date | null,
    publicData: Uint8Array,
    secret: StoredKey['secret'],
    details: Record<string, unknown>,
    source: KeySource,
    now: Date,
  ): StoredKey {
    return { id: randomUUID(), tenant, kind, fingerprint, addresses: [...new Set(addresses.map((a) => a.toLowerCase()))], subject, issuer, notBefore, notAfter, source, details, hasSecret: secret !== null, createdAt: now, updatedAt: now, publicData, secret };
  }

  async #store(stored: StoredKey, file: string, actor: string | null, note: string): Promise<ImportOutcome> {
    const { id, created } = await this.#repo.upsert(stored);
    const outcome = ok(file, stored.kind, id, created, stored.fingerprint, stored.subject, stored.addresses, note);
    await this.#record(stored.tenant, 'key.import', { ...stored, id }, outcome.status, `${stored.kind} ${created ? 'imported' : 'updated'}: ${note}`, actor, true);
    return outcome;
  }

  async #refuse(tenant: string, file: string, kind: KeyKind, cert: Certificate | null, reason: string, actor: string | null): Promise<ImportOutcome> {
    return this.#refuseRaw(tenant, file, kind, { fingerprint: cert?.fingerprint ?? null, subject: cert?.subject ?? null, emails: cert?.emails ?? [] }, reason, actor, 'import', null);
  }

  async #refuseRaw(
    tenant: string,
    file: string,
    kind: KeyKind,
    what: { fingerprint: string | null; subject: string | null; emails: string[] },
    reason: string,
    actor: string | null,
    source: KeySource,
    intent: string | null,
  ): Promise<ImportOutcome> {
    const outcome: ImportOutcome = { file, kind, status: 'refused', id: null, fingerprint: what.fingerprint, subject: what.subject, addresses: what.emails, reason };
    if (this.#audit) {
      await this.#audit(auditEvent(tenant, source === 'learned' ? 'key.learn' : 'key.import', { kind, fingerprint: what.fingerprint, subject: what.subject, addresses: what.emails, source, file }, 'refused', reason, null, actor, false, intent, this.#clock.now()));
    }
    return outcome;
  }

  async #record(tenant: string, type: string, entry: StoredKey, status: string, reason: string, actor: string | null, permitted: boolean, intent: string | null = null): Promise<void> {
    if (!this.#audit) return;
    const params = { kind: entry.kind, fingerprint: entry.fingerprint, subject: entry.subject, addresses: entry.addresses, source: entry.source, notAfter: entry.notAfter?.toISOString() ?? null };
    await this.#audit(auditEvent(tenant, type, params, status, reason, entry.id, actor, permitted, intent, this.#clock.now()));
  }
}
