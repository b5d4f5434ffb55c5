/**
 * Password PDF containers: a message's header summary and body (text, or HTML rendered as text)
 * on pages, its attachments embedded as PDF file attachments (ISO 32000-2 §7.11.4), and the
 * whole document encrypted with AES-256 under the standard security handler revision 6
 * (ISO 32000-2 §7.6.4, PDF 2.0) by @cantoo/pdf-lib. The recipient opens it in any PDF reader
 * with the password, which travels by another channel (password-delivery.ts), never in the
 * same message.
 */
import { Buffer } from 'node:buffer';
import { createCipheriv, randomBytes } from 'node:crypto';
import { PDFArray, PDFDict, PDFDocument, PDFHeader, PDFHexString, PDFRef, PDFStream, PDFString, StandardFonts, rgb, type PDFFont, type PDFObject, type PDFPage } from '@cantoo/pdf-lib';
import PostalMime, { type Email } from 'postal-mime';
import { IntentmailError } from '../core/errors.ts';
import { LIMITS } from '../core/limits.ts';
import { POSTAL_MIME_LIMITS } from '../message/parse.ts';
import { htmlToText } from '../message/html-text.ts';
import { assembleMessage, base64Lines, multipartBody, newBoundary, splitForProtection } from './mime.ts';

/** A4 in PDF points, with 2 cm margins. */
const PAGE = { width: 595.28, height: 841.89, margin: 56.7 };
const FONT_SIZE = 10.5;
const LINE_HEIGHT = 14;

/** One file to embed. */
export interface ContainerAttachment {
  filename: string;
  mimeType: string;
  content: Uint8Array;
}

/** What goes into a container. */
export interface ContainerContent {
  subject: string;
  from: string | null;
  to: string[];
  date: string | null;
  text: string;
  attachments: ContainerAttachment[];
}

/** Reads the content of an RFC 5322 message for a container (postal-mime under our MIME limits). */
export async function containerContentOf(raw: Uint8Array): Promise<ContainerContent> {
  let email: Email;
  try {
    email = await PostalMime.parse(raw, POSTAL_MIME_LIMITS);
  } catch (cause) {
    throw new IntentmailError('validation_failed', 'the message for the PDF container cannot be parsed', { cause });
  }
  const text = email.text !== undefined && email.text.trim() !== '' ? email.text : email.html ? htmlToText(email.html, LIMITS.MAX_PDF_BODY_CHARS) : '';
  return {
    subject: email.subject ?? '',
    from: email.from?.address ?? null,
    to: (email.to ?? []).map((a) => a.address ?? '').filter((a) => a !== ''),
    date: email.date ?? null,
    text: text.slice(0, LIMITS.MAX_PDF_BODY_CHARS),
    attachments: email.attachments.map((a, i) => ({
      filename: a.filename ?? `attachment-${i + 1}`,
      mimeType: a.mimeType || 'application/octet-stream',
      content: typeof a.content === 'string' ? Buffer.from(a.content) : new Uint8Array(a.content),
    })),
  };
}

/**
 * Builds the encrypted PDF: AES-256, revision 6, PDF 2.0 header. The owner password is random
 * and discarded, so nobody, including us, can lift the permissions later; printing and copying
 * stay allowed for the recipient.
 */
export async function buildPdfContainer(content: ContainerContent, password: string, now: Date): Promise<Uint8Array> {
  const doc = await PDFDocument.create({ updateMetadata: false });
  doc.setTitle(content.subject === '' ? 'Protected message' : content.subject);
  doc.setProducer('intentmail');
  doc.setCreator('intentmail pdf_container');
  doc.setCreationDate(now);
  doc.setModificationDate(now);
  const font = await doc.embedFont(StandardFonts.Helvetica);
  const bold = await doc.embedFont(StandardFonts.HelveticaBold);
  const writer = new PageWriter(doc, font);
  writer.line(content.subject === '' ? '(no subject)' : content.subject, bold, 13);
  writer.gap();
  if (content.from) writer.line(`From: ${content.from}`, font);
  if (content.to.length > 0) writer.line(`To: ${content.to.join(', ')}`, font);
  if (content.date) writer.line(`Date: ${content.date}`, font);
  if (content.attachments.length > 0) {
    writer.line(`Attachments (embedded in this PDF, open the attachments panel): ${content.attachments.length}`, font);
    for (const a of content.attachments) writer.line(`  - ${a.filename} (${a.mimeType}, ${a.content.length} bytes)`, font);
  }
  writer.rule();
  writer.paragraphs(content.text);
  for (const a of content.attachments) {
    await doc.attach(a.content, a.filename, { mimeType: a.mimeType, description: a.filename, creationDate: now, modificationDate: now });
  }
  // Embed the attachments now: objects created during save() would miss the string encryption set up by encrypt().
  await doc.flush();
  // PDF 2.0 defines the revision 6 handler in the base standard (no Adobe extension level needed).
  doc.context.header = PDFHeader.forVersion(2, 0);
  doc.encrypt({
    userPassword: password,
    ownerPassword: randomBytes(32).toString('base64'),
    algorithm: 'AES-256',
    permissions: { printing: 'highResolution', copying: true, contentAccessibility: true, modifying: false, annotating: false, fillingForms: false, documentAssembly: false },
  });
  useNodeAes(doc);
  encryptStrings(doc);
  return doc.save({ useObjectStreams: false });
}

/**
 * The library encrypts with a JavaScript AES, several times slower than node:crypto on a 1 MB
 * attachment. For AES-256 (V5, R6) every object is encrypted with the file key itself (ISO
 * 32000-2 §7.6.3.3, Algorithm 1.A) as a random 16-byte IV followed by AES-256-CBC with PKCS#7
 * padding, which node:crypto produces identically. The key is the handler's own (a private field
 * at run time); if a library version hides it, the library's function stays in place.
 */
function useNodeAes(doc: PDFDocument): void {
  const security = doc.context.security as unknown as { encryptionKey?: unknown; getEncryptFn: (obj: number, gen: number) => (data: Uint8Array) => Uint8Array } | undefined;
  const key = security?.encryptionKey;
  if (!security || !(key instanceof Uint8Array) || key.length !== 32) return;
  const fileKey = Buffer.from(key);
  const encrypt = (data: Uint8Array): Uint8Array => {
    const iv = randomBytes(16);
    const cipher = createCipheriv('aes-256-cbc', fileKey, iv);
    return Buffer.concat([iv, cipher.update(data), cipher.final()]);
  };
  security.getEncryptFn = () => encrypt;
}

/**
 * @cantoo/pdf-lib 2.11 encrypts streams but writes strings (document title, attachment names,
 * dates) in clear, which readers then "decrypt" into garbage, and which would leak the subject.
 * ISO 32000-2 §7.6.2 requires every string of an indirect object to be encrypted, except those of
 * the encryption dictionary itself; for AES-256 the key is the file key (§7.6.3.3), so the
 * library's own stream function serves.
 */
function encryptStrings(doc: PDFDocument): void {
  const security = doc.context.security;
  if (!security) throw new IntentmailError('internal', 'PDF container: encryption was not set up');
  const skip = doc.context.trailerInfo.Encrypt;
  for (const [ref, object] of doc.context.enumerateIndirectObjects()) {
    if (skip instanceof PDFRef && ref === skip) continue;
    const encrypt = security.getEncryptFn(ref.objectNumber, ref.generationNumber);
    const walk = (value: PDFObject): PDFObject => {
      if (value instanceof PDFString || value instanceof PDFHexString) return PDFHexString.of(Buffer.from(encrypt(value.asBytes())).toString('hex'));
      if (value instanceof PDFDict) for (const [key, v] of value.entries()) value.set(key, walk(v));
      else if (value instanceof PDFArray) value.asArray().forEach((v, i) => value.set(i, walk(v)));
      else if (value instanceof PDFStream) walk(value.dict);
      return value;
    };
    walk(object);
  }
}

/** Lays out wrapped lines on A4 pages in a standard font; characters the font cannot show become `?`. */
class PageWriter {
  readonly #doc: PDFDocument;
  readonly #font: PDFFont;
  readonly #charset: Set<number>;
  #page: PDFPage;
  #y: number;

  constructor(doc: PDFDocument, font: PDFFont) {
    this.#doc = doc;
    this.#font = font;
    this.#charset = new Set(font.getCharacterSet());
    this.#page = doc.addPage([PAGE.width, PAGE.height]);
    this.#y = PAGE.height - PAGE.margin;
  }

  /** Standard fonts cover WinAnsi only (ISO 32000-2 Annex D); anything else is replaced, never an exception. */
  #printable(text: string): string {
    let out = '';
    for (const ch of text.replace(/\t/g, '    ')) out += this.#charset.has(ch.codePointAt(0)!) ? ch : '?';
    return out;
  }

  #advance(height: number): void {
    if (this.#y - height < PAGE.margin) {
      this.#page = this.#doc.addPage([PAGE.width, PAGE.height]);
      this.#y = PAGE.height - PAGE.margin;
    }
    this.#y -= height;
  }

  /** Writes one logical line, wrapped at the margin (long words are broken). */
  line(text: string, font: PDFFont = this.#font, size = FONT_SIZE): void {
    const width = PAGE.width - 2 * PAGE.margin;
    for (const piece of wrap(this.#printable(text), (s) => font.widthOfTextAtSize(s, size), width)) {
      this.#advance(size + (LINE_HEIGHT - FONT_SIZE));
      this.#page.drawText(piece, { x: PAGE.margin, y: this.#y, size, font, color: rgb(0, 0, 0) });
    }
  }

  gap(): void {
    this.#advance(LINE_HEIGHT / 2);
  }

  rule(): void {
    this.#advance(LINE_HEIGHT / 2);
    this.#page.drawLine({ start: { x: PAGE.margin, y: this.#y }, end: { x: PAGE.width - PAGE.margin, y: this.#y }, thickness: 0.5, color: rgb(0.6, 0.6, 0.6) });
    this.#advance(LINE_HEIGHT / 2);
  }

  /** The body: each source line wrapped, empty lines kept. */
  paragraphs(text: string): void {
    for (const l of text.replace(/\r\n?/g, '\n').split('\n')) {
      if (l.trim() === '') this.gap();
      else this.line(l);
    }
  }
}

/** Greedy word wrap by measured width; a word wider than the line is split by characters. */
function wrap(text: string, measure: (s: string) => number, width: number): string[] {
  const out: string[] = [];
  let current = '';
  for (const word of text.split(/(?<= )/)) {
    if (measure(current + word) <= width) {
      current += word;
      continue;
    }
    if (current !== '') out.push(current.trimEnd());
    current = '';
    let rest = word;
    while (measure(rest) > width) {
      let n = rest.length;
      while (n > 1 && measure(rest.slice(0, n)) > width) n = Math.max(1, Math.floor(n * 0.8));
      out.push(rest.slice(0, n));
      rest = rest.slice(n);
    }
    current = rest;
  }
  if (current.trim() !== '' || out.length === 0) out.push(current.trimEnd());
  return out;
}

/**
 * Replaces a message's content by a short note and the encrypted PDF (the outer routing and
 * subject fields stay, except `dropFields`: a header that carried the password must not travel
 * beside the container). The note says the password comes separately and never contains it.
 */
export function wrapPdfMessage(raw: Uint8Array, pdf: Uint8Array, passwordChannel: string, dropFields: string[] = []): Buffer {
  const drop = new Set(dropFields.map((f) => f.toLowerCase()));
  const outer = splitForProtection(raw).outer.filter((f) => !drop.has(f.name));
  const boundary = newBoundary('pdf');
  const note = Buffer.from(
    `Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 7bit\r\n\r\nThis message and its attachments are in the attached PDF, encrypted with AES-256.\r\nYou receive the password separately (${passwordChannel}). Open the PDF with any PDF reader and enter it.\r\n`,
    'latin1',
  );
  const attachment = Buffer.concat([
    Buffer.from('Content-Type: application/pdf; name="protected-message.pdf"\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename="protected-message.pdf"\r\n\r\n', 'latin1'),
    base64Lines(pdf),
  ]);
  return assembleMessage(outer, [`Content-Type: multipart/mixed; boundary="${boundary}"`], multipartBody(boundary, 'This is a multi-part message in MIME format.', [note, attachment.subarray(0, attachment.length - 2)]));
}
