/**
 * JSON-lines logger on stderr: one object per line with time, level, message and the bound
 * fields (connection id `conn`, transaction id `tx`, tenant, intent), ready for a log shipper.
 */
import type { Logger } from '../../core/ports.ts';

type Level = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** Creates a logger that writes lines at or above `level` to `write` (stderr by default). */
export function jsonLogger(level: Level, bound: Record<string, unknown> = {}, write: (line: string) => void = (l) => process.stderr.write(l)): Logger {
  const emit = (lvl: Level, msg: string, fields?: Record<string, unknown>) => {
    if (ORDER[lvl] < ORDER[level]) return;
    write(`${JSON.stringify({ time: new Date().toISOString(), level: lvl, msg, ...bound, ...fields })}\n`);
  };
  return {
    debug: (msg, fields) => emit('debug', msg, fields),
    info: (msg, fields) => emit('info', msg, fields),
    warn: (msg, fields) => emit('warn', msg, fields),
    error: (msg, fields) => emit('error', msg, fields),
    child: (fields) => jsonLogger(level, { ...bound, ...fields }, write),
  };
}
