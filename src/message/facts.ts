/**
 * What conditions can read about a message: everything the policy fields in
 * ../shared/spec/intents.md name, computed once per message by src/message/parse.ts and the
 * pipeline. Addresses and domains are lower-case.
 */
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
