import { createTransport } from 'nodemailer';
import type { AlertEmail } from '../domain/email-messages.js';

/** How one SMTP send ended, in words safe to store: never the SMTP URL or its password. */
export type MailOutcome =
  /** Accepted for some recipients at least; `rejected` are those the server refused. */
  | { sent: true; rejected: RefusedRecipient[] }
  /** The server refused for good (5xx): the same message would be refused again. */
  | { sent: false; permanent: true; message: string }
  /** No connection, no answer in time, a 4xx, or our own login refused: worth another try. */
  | { sent: false; permanent: false; message: string };

/** A recipient the server refused at RCPT TO, with its reply. */
interface RefusedRecipient {
  address: string;
  reply: string;
}

/** The fields nodemailer sets on the errors it returns. */
interface SmtpError extends Error {
  code?: string;
  responseCode?: number;
  response?: string;
  permanent?: boolean;
}

/** The part of a server's reply kept for the delivery's error. Default: 200 characters */
const keptReplyLength = 200;

const reply = (e: SmtpError) =>
  (e.response ?? e.message).replace(/\s+/g, ' ').trim().slice(0, keptReplyLength);

/**
 * 5xx is permanent (RFC 5321), except 503 (bad sequence: the session, not the message) as
 * nodemailer reads it; a refused login (535) is the service's own configuration, not the
 * channel's, so it is retried (and fixed by the operators) rather than breaking every channel.
 */
function outcomeOf(error: SmtpError): MailOutcome {
  if (error.code === 'EAUTH' || error.code === 'ENOAUTH') {
    return {
      sent: false,
      permanent: false,
      message: `The mail server refused the service's SMTP login (check SMTP_URL): ${reply(error)}`,
    };
  }
  if (error.responseCode !== undefined) {
    const permanent = error.permanent ?? error.responseCode >= 500;
    return { sent: false, permanent, message: `The mail server answered ${reply(error)}` };
  }
  return {
    sent: false,
    permanent: false,
    message: `No answer from the mail server: ${error.code ? `${error.code}: ` : ''}${error.message}`,
  };
}

/**
 * Sends one message over SMTP: one connection per message (nothing pooled, so a changed
 * SMTP_URL or a restarted server needs nothing more), every wait bounded by `timeoutMs`.
 */
export async function sendMail(
  smtp: { url: string; from: string },
  to: readonly string[],
  mail: AlertEmail,
  options: { timeoutMs: number; signal?: AbortSignal },
): Promise<MailOutcome> {
  const url = new URL(smtp.url);
  const secure = url.protocol === 'smtps:';
  const transport = createTransport(
    {
      host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
      // nodemailer's defaults: submission with STARTTLS, or implicit TLS.
      port: url.port ? Number(url.port) : secure ? 465 : 587,
      secure,
      ...(url.username
        ? {
            auth: {
              user: decodeURIComponent(url.username),
              pass: decodeURIComponent(url.password),
            },
          }
        : {}),
      connectionTimeout: options.timeoutMs,
      greetingTimeout: options.timeoutMs,
      socketTimeout: options.timeoutMs,
    },
    { from: smtp.from },
  );
  try {
    const info = await transport.sendMail({
      to: [...to],
      subject: mail.subject,
      text: mail.text,
      html: mail.html,
      messageId: mail.messageId,
      headers: {
        // RFC 3834: machine-made; out-of-office replies and other auto-answers stay away.
        'Auto-Submitted': 'auto-generated',
        'X-Auto-Response-Suppress': 'All',
      },
      ...(options.signal ? { signal: options.signal } : {}),
    });
    // Each refused address with the server's reply to its RCPT TO, when nodemailer kept it.
    const replies = new Map(
      (info.rejectedErrors ?? []).map((e) => [String(e.recipient), reply(e)]),
    );
    return {
      sent: true,
      rejected: info.rejected.map((address) => ({
        address,
        reply: replies.get(address) ?? '',
      })),
    };
  } catch (error) {
    return outcomeOf(error as SmtpError);
  } finally {
    transport.close();
  }
}
