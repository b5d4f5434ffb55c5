/**
 * What conditions can read about a message: everything the policy fields in
 * ../shared/spec/intents.md name, computed once per message by src/message/parse.ts and the
 * pipeline. Addresses and domains are lower-case.
 */
import type { ParsedMessage } from './parse.ts';

export interface AttachmentFact {
  filename: string | null;
  mimeType: string;
  size: number;
  sha256: string;
}

export interface MessageFacts {
  /** The authenticated author (header From) address, or the unverified one when authentication failed. */
  sender: string | null;
  senderVerified: boolean;
  senderGroups: string[];
  senderRoles: string[];
  /** The envelope recipient (the intent address, plus detail). */
  recipient: string;
  subject: string;
  /** `#NIS2`-style tags from the subject, without `#`, lower-case. */
  subjectTags: string[];
  /** Lower-case header name → values in order. */
  headers: Record<string, string[]>;
  /** Sensitivity labels (Purview msip_labels names, X-Classification, VS-NfD, TISAX), lower-case. */
  labels: string[];
  attachments: AttachmentFact[];
  /** Plain text body (HTML converted when there is no text part), capped. */
  body: string;
  /** Raw message size in bytes. */
  size: number;
  auth: { spf: string; dkim: string; dmarc: string; arc: string };
  tls: boolean;
  /** Key store look-ups for the party a reply or forward goes to. */
  keys: { smime: 'present' | 'missing'; pgp: 'present' | 'missing' };
  /** Results of steps run so far, by step name (`{{steps.NAME.result}}`). */
  steps: Record<string, { result: unknown }>;
  /** The `+detail` of the intent address. */
  addressDetail: string | null;
}

/** What the pipeline knows about a message when it builds its facts. */
export interface FactsInput {
  parsed: ParsedMessage;
  recipient: string;
  addressDetail: string | null;
  sender: string | null;
  senderVerified: boolean;
  senderGroups: string[];
  senderRoles: string[];
  size: number;
  auth: MessageFacts['auth'];
  tls: boolean;
  keys?: MessageFacts['keys'];
}

/**
 * Assembles the facts conditions read from the parsed message and the pipeline's results.
 * Key look-ups default to `missing` (nothing known is nothing present); no steps have run yet.
 */
export function buildFacts(input: FactsInput): MessageFacts {
  const { parsed } = input;
  return {
    sender: input.sender === null ? null : input.sender.toLowerCase(),
    senderVerified: input.senderVerified,
    senderGroups: [...input.senderGroups],
    senderRoles: [...input.senderRoles],
    recipient: input.recipient.toLowerCase(),
    subject: parsed.subject,
    subjectTags: [...parsed.subjectTags],
    headers: parsed.headers,
    labels: [...parsed.labels],
    attachments: parsed.attachments.map((a) => ({ ...a })),
    body: parsed.body,
    size: input.size,
    auth: { ...input.auth },
    tls: input.tls,
    keys: input.keys === undefined ? { smime: 'missing', pgp: 'missing' } : { ...input.keys },
    steps: {},
    addressDetail: input.addressDetail,
  };
}
