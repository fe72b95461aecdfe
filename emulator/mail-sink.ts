// A mail server on loopback that keeps what it receives, for tests and the demo: real SMTP
// (smtp-server), each message parsed (mailparser) and shown newest first on a small page and as
// JSON. A development tool like the emulators: nothing in src/ imports it.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { simpleParser, type AddressObject } from 'mailparser';
import { SMTPServer } from 'smtp-server';

/** A message as the sink received it. */
interface ReceivedMail {
  /** The envelope: who the client named in MAIL FROM and RCPT TO. */
  envelope: { from: string; to: string[] };
  from: string;
  to: string[];
  subject: string;
  date: string;
  messageId: string | undefined;
  text: string;
  /** The HTML part, or null; the page shows it sandboxed, never as the page's own markup. */
  html: string | null;
  /** The whole message as it came over SMTP (headers and every part). */
  raw: string;
}

/** An SMTP failure to answer instead of accepting, e.g. `{ code: 451, message: '...' }`. */
interface SmtpFailure {
  code: number;
  message: string;
}

/**
 * What the sink answers to its `n`-th message (0 for the first, counting refused ones):
 * undefined accepts it; a failure refuses it with that SMTP reply.
 */
type MailAnswer = (n: number) => SmtpFailure | undefined;

export interface MailSink {
  /** The SMTP_URL to send through it (any user name and password are accepted, unchecked). */
  smtpUrl: string;
  /** The page listing received mail, newest first; `${pageUrl}messages.json` is the JSON. */
  pageUrl: string;
  /** Received messages, oldest first. */
  received(): ReceivedMail[];
  /** Messages answered with a failure (`answer`), oldest first; not on the page. */
  refused(): ReceivedMail[];
  /** How many messages were offered, refused ones included. */
  offered(): number;
  /** Resolves once `count` messages have been received; rejects after `timeoutMs`. */
  waitFor(count: number, timeoutMs?: number): Promise<ReceivedMail[]>;
  close(): Promise<void>;
}

/** The most messages kept; older ones are dropped. Default: 500 */
const keptMessages = 500;

const addressesOf = (field: AddressObject | AddressObject[] | undefined): string[] =>
  (Array.isArray(field) ? field : field ? [field] : []).flatMap((a) =>
    a.value.map((v) => v.address ?? v.name),
  );

const escapeHtml = (s: string) =>
  s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');

/** The page: each message's headers and text; its HTML in a sandboxed frame (no script). */
function page(mails: ReceivedMail[]): string {
  const items = [...mails]
    .reverse()
    .map(
      (m) => `<article>
<h2>${escapeHtml(m.subject || '(no subject)')}</h2>
<dl><dt>From</dt><dd>${escapeHtml(m.from)}</dd><dt>To</dt><dd>${escapeHtml(m.to.join(', '))}</dd><dt>Date</dt><dd>${escapeHtml(m.date)}</dd></dl>
<pre>${escapeHtml(m.text)}</pre>
${m.html === null ? '' : `<details><summary>HTML part</summary><iframe sandbox="" title="HTML part" srcdoc="${escapeHtml(m.html)}"></iframe></details>`}
</article>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Mail received</title>
<style>body{font-family:sans-serif;margin:2em;max-width:60em}article{border-top:1px solid #ccc;padding:1em 0}
dl{display:grid;grid-template-columns:5em 1fr;margin:0}dt{font-weight:bold}dd{margin:0}
pre{white-space:pre-wrap;background:#f6f6f6;padding:.5em}iframe{width:100%;height:20em;border:1px solid #ccc}</style>
</head><body><h1>Mail received (${mails.length})</h1>
${items || '<p>Nothing yet.</p>'}
</body></html>`;
}

/**
 * Starts the sink: SMTP and HTTP on loopback, each on a port of its own (0: any free one).
 * No TLS (STARTTLS is not offered), so smtp:// reaches it as plain SMTP.
 */
export async function startMailSink(
  options: {
    smtpPort?: number;
    httpPort?: number;
    answer?: MailAnswer;
    /** Refuse every login with 535, as a server does for a wrong password. */
    refuseLogin?: boolean;
    /**
     * What the sink answers to each RCPT TO: undefined accepts the address; a failure refuses
     * it with that reply (e.g. 550 5.1.1 for a mailbox that does not exist), while the message
     * still goes to the addresses accepted. Default: every address accepted
     */
    answerRecipient?: (address: string) => SmtpFailure | undefined;
  } = {},
): Promise<MailSink> {
  const mails: ReceivedMail[] = [];
  const refused: ReceivedMail[] = [];
  const waiters = new Set<() => void>();
  let offered = 0;

  const smtp = new SMTPServer({
    banner: 'license-sync mail sink',
    disabledCommands: ['STARTTLS'],
    authOptional: true,
    // Loopback only: a login in clear is what a client with user:password in its URL sends.
    allowInsecureAuth: true,
    onAuth: (auth, _session, callback) =>
      options.refuseLogin
        ? callback(
            Object.assign(new Error('5.7.8 Authentication credentials invalid'), {
              responseCode: 535,
            }),
          )
        : callback(null, { user: auth.username ?? 'anonymous' }),
    onRcptTo(address, _session, callback) {
      const failure = options.answerRecipient?.(address.address);
      if (!failure) return callback();
      callback(Object.assign(new Error(failure.message), { responseCode: failure.code }));
    },
    onData(stream, session, callback) {
      const n = offered++;
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks);
        simpleParser(raw)
          .then((parsed) => {
            const mail: ReceivedMail = {
              envelope: {
                from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
                to: session.envelope.rcptTo.map((r) => r.address),
              },
              from: parsed.from?.text ?? '',
              to: addressesOf(parsed.to),
              subject: parsed.subject ?? '',
              date: (parsed.date ?? new Date()).toISOString(),
              messageId: parsed.messageId,
              text: parsed.text ?? '',
              html: typeof parsed.html === 'string' ? parsed.html : null,
              raw: raw.toString('utf8'),
            };
            const failure = options.answer?.(n);
            const kept = failure ? refused : mails;
            kept.push(mail);
            if (kept.length > keptMessages) kept.shift();
            if (failure) {
              const error = new Error(failure.message) as Error & { responseCode: number };
              error.responseCode = failure.code;
              return callback(error);
            }
            callback();
            for (const wake of waiters) wake();
          })
          .catch((error: unknown) => callback(error as Error));
      });
    },
  });
  await new Promise<void>((resolve) => smtp.listen(options.smtpPort ?? 0, '127.0.0.1', resolve));
  const smtpPort = (smtp.server.address() as AddressInfo).port;

  const http: Server = createServer((req, res) => {
    const headers = {
      'Cache-Control': 'no-store',
      // The page's own markup only; a message's HTML runs nowhere and loads nothing.
      'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'",
      'X-Content-Type-Options': 'nosniff',
    };
    const path = (req.url ?? '/').split('?')[0];
    const reading = req.method === 'GET' || req.method === 'HEAD';
    if (reading && path === '/messages.json') {
      res.writeHead(200, { ...headers, 'Content-Type': 'application/json' });
      res.end(
        JSON.stringify({
          messages: [...mails].reverse().map((m) => ({
            from: m.from,
            to: m.to,
            subject: m.subject,
            date: m.date,
            messageId: m.messageId,
            text: m.text,
            html: m.html,
          })),
        }),
      );
      return;
    }
    if (reading && path === '/') {
      res.writeHead(200, { ...headers, 'Content-Type': 'text/html; charset=utf-8' });
      res.end(page(mails));
      return;
    }
    res.writeHead(404, { ...headers, 'Content-Type': 'text/plain' });
    res.end('Not found: the sink serves / and /messages.json.');
  });
  await new Promise<void>((resolve) => http.listen(options.httpPort ?? 0, '127.0.0.1', resolve));
  const httpPort = (http.address() as AddressInfo).port;

  return {
    smtpUrl: `smtp://127.0.0.1:${smtpPort}`,
    pageUrl: `http://127.0.0.1:${httpPort}/`,
    received: () => [...mails],
    refused: () => [...refused],
    offered: () => offered,
    waitFor(count, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (mails.length < count) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve([...mails]);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`the mail sink received ${mails.length} of ${count} messages`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    async close() {
      http.closeAllConnections();
      await Promise.all([
        new Promise<void>((resolve) => http.close(() => resolve())),
        new Promise<void>((resolve) => smtp.close(() => resolve())),
      ]);
    },
  };
}
