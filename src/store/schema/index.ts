/** The database schema (drizzle-kit reads this barrel to generate ./migrations). */
export { messages } from './messages.ts';
export { jobs } from './jobs.ts';
export { auditRecords, auditHeads, auditCheckpoints } from './audit.ts';
export { rateCounters } from './rate-limits.ts';
export { tenantKeys, tenantContacts } from './keys.ts';
export { apiTokens, accessEntries, roleBindings } from './admin.ts';
export { stepRuns, archives } from './steps.ts';
