/**
 * Verdicts for untrusted input: every stage that looks at what a sender controls returns one
 * of these instead of throwing, so the reason always reaches the audit record.
 * Default deny: anything that is not an explicit `pass` must not grant access.
 */
export type VerdictStatus = 'pass' | 'fail' | 'temperror';

/** A stage's outcome with a human-readable reason and optional machine detail. */
export interface Verdict<D = undefined> {
  status: VerdictStatus;
  reason: string;
  detail?: D;
}

/** A passing verdict. */
export function pass<D = undefined>(reason: string, detail?: D): Verdict<D> {
  return detail === undefined ? { status: 'pass', reason } : { status: 'pass', reason, detail };
}

/** A failing verdict (permanent: retrying the same input gives the same answer). */
export function fail<D = undefined>(reason: string, detail?: D): Verdict<D> {
  return detail === undefined ? { status: 'fail', reason } : { status: 'fail', reason, detail };
}

/** A temporary failure (DNS timeout, database busy): the sender should retry later. */
export function temperror<D = undefined>(reason: string, detail?: D): Verdict<D> {
  return detail === undefined ? { status: 'temperror', reason } : { status: 'temperror', reason, detail };
}

/**
 * Runs `work` with a deadline; a stage that does not answer in time fails temporarily
 * rather than hanging the SMTP session or, worse, defaulting to a pass.
 */
export async function withDeadline<T>(ms: number, work: Promise<T>, onTimeout: () => T): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<T>((resolve) => {
    timer = setTimeout(() => resolve(onTimeout()), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
