/**
 * Named limits for everything an untrusted sender controls. Each has a reason; change them
 * here, never inline. Sizes are bytes, times are milliseconds.
 */
export const LIMITS = {
  /** Largest message accepted at all (SMTP SIZE, RFC 1870); an intent may only lower it. Covers a 35 MB CAD file after base64. */
  MAX_MESSAGE_BYTES: 50 * 1024 * 1024,
  /** Total header bytes across all MIME parts: legitimate mail stays far below; a 2 MiB header is an attack. */
  MAX_HEADER_BYTES: 1024 * 1024,
  /** Header fields in the top-level header: real mail has tens to a few hundred (long Received chains). */
  MAX_HEADER_FIELDS: 2000,
  /** Physical lines in the top-level header, counting folded continuations: bounds header parsing work. */
  MAX_HEADER_LINES: 20000,
  /** MIME nesting depth: real clients nest under 10; parsers recurse on it. */
  MAX_MIME_DEPTH: 32,
  /** MIME parts in one message: a 999-part newsletter is plausible, thousands are a parser DoS. */
  MAX_MIME_PARTS: 1000,
  /** Inline message/rfc822 nesting parsed for conditions; deeper ones stay opaque attachments. */
  MAX_RFC822_DEPTH: 3,
  /** Recipients per SMTP transaction (RFC 5321 §4.5.3.1.8 requires at least 100 to be accepted before 452). */
  MAX_RECIPIENTS: 100,
  /** Concurrent SMTP connections per listener: 2 cores, each connection may hold a message buffer. */
  MAX_CONNECTIONS: 200,
  /** Time a client has to say anything after connecting and between commands (RFC 5321 §4.5.3.2 suggests 5 min; spam bots linger). */
  SMTP_IDLE_MS: 60_000,
  /** Time for the whole DATA phase to be received: a slow-loris sender cannot hold a slot forever. */
  SMTP_DATA_MS: 10 * 60_000,
  /** Time a client has to send EHLO/HELO after the greeting. */
  SMTP_GREETING_MS: 30_000,
  /** One DNS query, including retries: past this the stage is a temperror (451 4.4.3), never a pass. */
  DNS_QUERY_MS: 5_000,
  /** Whole authentication stage (SPF with up to 10 look-ups, DKIM keys, DMARC, ARC). */
  AUTH_STAGE_MS: 20_000,
  /** Largest DNS answer cached, and for how long at most, whatever the TTL says. */
  DNS_CACHE_MAX_TTL_S: 3600,
  /** Negative answers (NXDOMAIN/NODATA) are cached this long at most (RFC 2308 §5). */
  DNS_NEGATIVE_TTL_S: 300,
  /** DNS cache entries kept; least recently used ones go first. */
  DNS_CACHE_ENTRIES: 10_000,
  /** A policy file larger than this is refused: intents are short YAML. */
  MAX_POLICY_FILE_BYTES: 256 * 1024,
  /** Rendered template output cap: a template cannot blow up into megabytes. */
  MAX_TEMPLATE_OUTPUT: 1024 * 1024,
  /** Regex `matches` conditions run on at most this many characters (ReDoS bound). */
  MAX_MATCH_INPUT: 64 * 1024,
  /** Body text considered by `body` conditions. */
  MAX_BODY_CONDITION_CHARS: 1024 * 1024,
  /** Audit records read per page when verifying a chain: bounds memory while streaming millions of records. */
  AUDIT_VERIFY_PAGE: 1000,
  /** Records appended before a signed checkpoint is due: bounds the unsigned tail an attacker could rewrite. */
  AUDIT_CHECKPOINT_EVERY: 64,
  /** Age after which the next append signs a checkpoint, however few records came since: bounds the unsigned tail in time. */
  AUDIT_CHECKPOINT_MAX_AGE_MS: 10_000,
  /** Nesting depth canonical JSON accepts: audit events are a few levels deep; deeper input (or a cycle) is refused, not a stack overflow. */
  CANONICAL_JSON_MAX_DEPTH: 100,
  /** Connections in the PostgreSQL pool per process: 2 cores, and many nodes share one server's max_connections. */
  DB_POOL_MAX: 10,
  /** Wait for the migration advisory lock (other nodes migrating) before giving up instead of hanging start-up. */
  DB_MIGRATION_LOCK_WAIT_MS: 120_000,
  /** Rate-limit hits between two sweeps of expired counters: keeps the sweep off the hot path. */
  RATE_SWEEP_EVERY: 256,
  /** Expired counters deleted per sweep: one bounded statement, never a long table scan under load. */
  RATE_SWEEP_BATCH: 1000,
  /** YAML aliases expanded per policy file: anchors are handy, but a "billion laughs" file must not expand without bound. */
  MAX_POLICY_YAML_ALIASES: 100,
  /** Policy files read from one folder: real deployments have tens to hundreds; more is a mistake or an attack. */
  MAX_POLICY_FILES: 10_000,
  /** Nesting depth of a policy document (if/then and all/any/not recurse): real policies nest a few levels. */
  MAX_POLICY_DEPTH: 64,
  /** Length of a `matches` pattern or a `redact` pattern in a policy: long patterns are unreadable and costly to run. */
  MAX_MATCH_PATTERN_CHARS: 1000,
  /** Characters of a fact value shown in a condition trace (simulate, audit): a 1 MiB body must not bloat the report. */
  MAX_TRACE_VALUE_CHARS: 200,
  /** Upper bound for a step's `timeout` parameter: a stuck webhook must not hold a worker for long. */
  MAX_STEP_TIMEOUT_MS: 120_000,
  /** Upper bound for a FileLink `ttl`: links are for handing files over, not for permanent hosting (GDPR Art. 5(1)(e)). */
  MAX_FILELINK_TTL_MS: 90 * 24 * 3600_000,
  /** CNAME hops followed for one DNS question: real chains are one to three long; a loop must end (RFC 1034 §3.6.2). */
  DNS_MAX_CNAME_CHAIN: 8,
  /** One UDP try before the next server is asked: a lost datagram must not use up the whole DNS_QUERY_MS budget. */
  DNS_ATTEMPT_MS: 1_500,
  /** Passes over the configured DNS servers for one question (RFC 1035 §4.2.1 retransmission), bounded by DNS_QUERY_MS. */
  DNS_UDP_ROUNDS: 2,
  /** Largest DNS response read over TCP (the 2-byte length prefix allows 65535, RFC 1035 §4.2.2). */
  DNS_TCP_MAX_BYTES: 65_535,
  /** A static DNS zone file (INTENTMAIL_DNS_ZONE) is a handful of records for tests and demos; megabytes are a mistake. */
  MAX_ZONE_FILE_BYTES: 1024 * 1024,
  /**
   * Body lines the MIME parser buffers one piece at a time: each line of a part that is not
   * base64/quoted-printable, each `=` run in base64, and each line again per enclosing
   * message/rfc822 (postal-mime re-reads those). Each costs ~15–30 µs (Node's Blob), so 50 MB of
   * empty lines would take minutes; this bounds parsing to a few seconds. Direct base64
   * attachments cost nothing here; a message forwarded as message/rfc822 with up to ~18 MB of
   * base64 inside fits; real text bodies have a few thousand lines.
   */
  MAX_PARSER_LINES: 250_000,
  /** Time close() waits for in-flight database work (an accept mid-commit) before closing the connections anyway. */
  DB_CLOSE_GRACE_MS: 10_000,
  /** A key, certificate, CRL or PKCS#12 file imported into the key store: real ones are a few KiB; a keyring dump is a mistake. */
  MAX_KEY_FILE_BYTES: 1024 * 1024,
  /** Certificates followed from a leaf to its trust anchor: real S/MIME chains have 2–4; a loop or a pile of certificates must end. */
  MAX_CERT_CHAIN_LENGTH: 8,
  /** Certificates (or OpenPGP keys) taken from one file or one CMS structure: a chain plus a few extras; more is padding or an attack. */
  MAX_CERTS_PER_OBJECT: 32,
  /** SignerInfos examined in one inbound S/MIME signature: real messages carry one; each costs a public-key operation. */
  MAX_CMS_SIGNERS: 4,
  /** Nesting depth of an ASN.1 (BER/DER) structure we parse: CMS and certificates nest about ten levels; recursion must stay bounded. */
  MAX_ASN1_DEPTH: 64,
  /** Smallest RSA modulus accepted for S/MIME and OpenPGP keys (NIST SP 800-131A: 1024-bit RSA is disallowed since 2013). */
  MIN_RSA_BITS: 2048,
  /**
   * OpenPGP `maxDecompressedMessageSize`: a compressed inbound PGP message may inflate to no more
   * than the largest message we accept at all; a zip bomb stops here instead of filling memory.
   */
  PGP_MAX_DECOMPRESSED_BYTES: 50 * 1024 * 1024,
  /** OpenPGP `maxUserIDLength`: a user id is a name and an address; openpgp's 5 KiB default is generous, 1 KiB is plenty. */
  PGP_MAX_USER_ID_LENGTH: 1024,
  /** Autocrypt `keydata` (RFC-style header, Autocrypt Level 1 §2.1): a minimal key is ~1–4 KiB; bigger headers are ignored. */
  MAX_AUTOCRYPT_KEYDATA_BYTES: 64 * 1024,
  /** Keys learned from one inbound message (signer certificate, Autocrypt header, attached keys): a message vouches for its sender, not a directory. */
  MAX_LEARNED_KEYS_PER_MESSAGE: 4,
  /** Body characters rendered into a PDF container: the same cap as body conditions, a few hundred pages at most. */
  MAX_PDF_BODY_CHARS: 1024 * 1024,
  /** Time a password SMS gateway has to answer: the step is retried later rather than holding a worker. */
  SMS_GATEWAY_TIMEOUT_MS: 15_000,
  /** A JSON request body of the admin API: entries, bindings and tokens are a few hundred bytes; more is a mistake or an attack. */
  API_JSON_BODY_BYTES: 64 * 1024,
  /** A proposed policy file posted for validation: the same bound as MAX_POLICY_FILE_BYTES (the loader refuses larger files anyway). */
  API_POLICY_BODY_BYTES: 256 * 1024,
  /** Requests one API token may burst (in-memory token bucket per process): a script listing and changing entries stays far below. */
  API_RATE_BURST: 120,
  /** Steady requests per second per API token once the burst is used: bounds what a leaked token can do per node. */
  API_RATE_PER_SECOND: 20,
  /** Token buckets kept in memory per process; the least recently used go first, so a flood of tokens cannot grow memory. */
  API_RATE_BUCKETS: 10_000,
  /** Items one list or audit query page returns at most: bounds response size and query time. */
  API_PAGE_MAX: 500,
  /** Items per page when the client does not say. */
  API_PAGE_DEFAULT: 100,
  /** Audit records read per database page while streaming an export: bounds memory for chains of millions of records. */
  API_EXPORT_PAGE: 1000,
  /** How long run-time grants (allowlist, deny, role bindings) are cached per tenant; writes through this process invalidate at once. */
  GRANTS_CACHE_MS: 2_000,
  /** Characters in a free-text note or token name: a label, not a document. */
  API_NOTE_CHARS: 500,
  /** Entries of a run-time list the admin API accepts per tenant and kind: grants are read on every message, so they must stay small. */
  API_GRANTS_PER_TENANT: 10_000,
  /** Roles one run-time role binding may name: tenants define a handful of roles. */
  API_ROLES_PER_BINDING: 50,
  /** OpenPGP Argon2 S2K memory (2^N KiB) we agree to spend unlocking an imported key: 2^18 KiB = 256 MiB, the RFC 9580 §4.5 "first recommended" profile needs 2 GiB and is refused. */
  PGP_MAX_ARGON2_MEMORY_EXPONENT: 18,
  /** Retries a step's schedule may list (INTENTMAIL_RETRY_SCHEDULE): the default has 7; hundreds would keep a dead receiver busy for months. */
  MAX_RETRY_SCHEDULE_ENTRIES: 50,
  /** Longest single wait of a retry schedule: a queued job must outlive its wait (the queue keeps waiting jobs for QUEUE_RETENTION_S). */
  MAX_RETRY_DELAY_MS: 2 * 24 * 3600_000,
  /** Jitter on each retry wait (±20 %): receivers that come back are not hit by every delivery at the same instant. */
  RETRY_JITTER_RATIO: 0.2,
  /** A receiver's Retry-After is honoured up to this: a hostile or broken value cannot park a delivery for weeks. */
  MAX_RETRY_AFTER_MS: 24 * 3600_000,
  /** How long the queue keeps a job waiting to run: longer than any retry wait (MAX_RETRY_DELAY_MS) so no scheduled retry is lost. */
  QUEUE_RETENTION_S: 7 * 24 * 3600,
  /** Default time a webhook receiver has to answer (Standard Webhooks senders use 15 s); a step's `timeout:` may change it up to MAX_STEP_TIMEOUT_MS. */
  WEBHOOK_TIMEOUT_MS: 15_000,
  /** Bytes of a webhook response read: the result later steps use is a small JSON document, not a download. */
  MAX_WEBHOOK_RESPONSE_BYTES: 1024 * 1024,
  /** A step result kept for `{{steps.NAME.result}}` is cut to this many bytes of JSON: results are ids and short texts. */
  MAX_STEP_RESULT_BYTES: 64 * 1024,
  /** Default budget of attachment content inlined (base64) in a webhook payload; larger attachments are described, not included. */
  WEBHOOK_INLINE_BYTES: 256 * 1024,
  /** Text or HTML body characters put into a webhook payload: a body is a message, not an archive. */
  MAX_WEBHOOK_BODY_CHARS: 1024 * 1024,
  /** Time a mail step (reply, forward, copy, notify) has for the relay: connection, greeting and transfer together. */
  MAIL_STEP_TIMEOUT_MS: 60_000,
  /** Added to a step's own timeout to form its claim: past it, another worker may take the step over (its holder is presumed dead). Claims are timed by the database clock, so this only covers recording the outcome. */
  STEP_LEASE_MARGIN_MS: 5_000,
  /** Characters of an error kept per step and in the audit record: enough to read, not a dump of a receiver's error page. */
  MAX_STEP_ERROR_CHARS: 500,
  /** Accepted jobs handed to the queue per outbox pass: one short transaction, however large the backlog. */
  RELAY_BATCH: 200,
  /** How often a worker looks for accepted jobs not yet queued (those from other nodes, or left by a crash); the local listener nudges at once. */
  RELAY_POLL_MS: 250,
  /** Chains a worker process runs at once by default (INTENTMAIL_WORKER_CONCURRENCY): 2 cores, steps mostly wait on the network. */
  WORKER_CONCURRENCY: 32,
  /** Upper bound for INTENTMAIL_WORKER_CONCURRENCY: each chain in flight holds a decrypted message in memory. */
  MAX_WORKER_CONCURRENCY: 1000,
  /** Seconds without a heartbeat after which the queue gives a dead worker's job to another (pg-boss' minimum is 10). */
  QUEUE_HEARTBEAT_S: 10,
  /** Times the queue retries a chain whose worker crashed or hit a storage error before it is dead-lettered. */
  QUEUE_RETRY_LIMIT: 10,
  /** Message ids kept in the References field of a reply (RFC 5322 §3.6.4): the thread's start and its latest ids are what clients use. */
  MAX_REFERENCES: 50,
  /** Connections of the queue's own pool (pg-boss) per process: fetches and completions are short; the store keeps its own pool. */
  QUEUE_POOL_MAX: 4,
  /** Time a stopping worker gives the chains it runs to finish before their jobs are left for another worker. */
  QUEUE_STOP_GRACE_MS: 20_000,
  /** Longest a chain job may stay active (heartbeats normally catch a dead worker much sooner): one pass over even a long chain of slow steps. */
  QUEUE_EXPIRE_S: 3600,
  /** How long finished queue jobs are kept (the chain's own record is step_runs; these only help debugging). */
  QUEUE_KEEP_DONE_S: 24 * 3600,
  /** Chains whose loads, claims or outcomes one group-commit statement carries at most: one short transaction, one hold of the audit-chain lock. */
  RUNNER_BATCH: 64,
  /** Steps one chain pass runs at most: policies have tens; a loop through a bug cannot spin for ever. */
  MAX_CHAIN_STEPS: 500,
  /** SMTP connections to the outbound relay per process (pooled): relays throttle clients that open many. */
  RELAY_MAX_CONNECTIONS: 5,
  /** Default seconds between the queue's looks for jobs whose worker died (INTENTMAIL_WORKER_RECOVERY_INTERVAL); each look is a few indexed queries. */
  QUEUE_SUPERVISE_S: 30,
  /** Parser threads per worker process for chain passes: 2 cores, and the main thread and the database need the rest. */
  PARSE_THREADS: 1,
  /** Dead-lettered steps one listing returns: an operator pages through the rest after re-driving or fixing these. */
  DEAD_LIST_MAX: 1000,
} as const;

export type LimitName = keyof typeof LIMITS;
