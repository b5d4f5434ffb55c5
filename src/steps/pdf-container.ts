/**
 * The `pdf_container` step: from here on, the outbound mail of this chain goes as a password
 * PDF (AES-256, PDF 2.0; src/secure/pdf-container.ts), the password generated per step and
 * recipients or taken from a header a specialist system set, and delivered by SMS or a separate
 * e-mail, never in the same message. A header password is checked now (present once, strong
 * enough), so a chain that cannot protect fails here rather than at the reply.
 */
import { directiveFor } from '../secure/protect.ts';
import { headerPasswordProblem } from '../secure/passwords.ts';
import type { StepHandler } from './types.ts';

/** The handler; it needs no keys (the password is per message), only the message's headers. */
export function pdfContainerStep(): StepHandler {
  return async (message, step) => {
    const password = typeof step.params.password === 'string' ? step.params.password : 'generated';
    const sendPassword = step.params.send_password === 'sms' || step.params.send_password === 'email' ? step.params.send_password : null;
    if (password.startsWith('header:')) {
      const name = password.slice('header:'.length);
      const values = Object.hasOwn(message.facts.headers, name.toLowerCase()) ? message.facts.headers[name.toLowerCase()] : [];
      if (values.length !== 1) return { status: 'failed', reason: `the PDF password comes from header ${name}, which the message has ${values.length === 0 ? 'not' : `${values.length} times`}` };
      const weak = headerPasswordProblem(values[0]);
      if (weak) return { status: 'failed', reason: `the PDF password from header ${name} ${weak}` };
    }
    const protection = directiveFor(step);
    const channel = sendPassword === null ? 'SMS when a number is known, else a separate e-mail' : sendPassword === 'sms' ? 'SMS' : 'a separate e-mail';
    return { status: 'done', result: { protection }, summary: `outbound mail of this chain goes as an AES-256 password PDF; password ${password === 'generated' ? 'generated' : `from ${password}`}, sent by ${channel}` };
  };
}
