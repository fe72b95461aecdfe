import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { classifyWebhookAddress } from '../domain/address-ranges.js';

/** Which webhook URLs may be reached: set from NODE_ENV and ALLOW_PRIVATE_WEBHOOKS. */
export interface WebhookPolicy {
  /** Only https URLs (production). */
  requireHttps: boolean;
  /** Loopback, private, link-local and other non-public addresses too. */
  allowPrivate: boolean;
}

/** Thrown by the vetting lookup: the host resolved to an address webhooks may not reach. */
class AddressRefused extends Error {
  constructor(
    readonly host: string,
    readonly words: string,
  ) {
    super(`${host} resolves to ${words}, which webhooks may not reach.`);
    this.name = 'AddressRefused';
  }
}

/** The host as DNS knows it: URL.hostname keeps an IPv6 literal's brackets. */
const bareHost = (url: URL) => url.hostname.replace(/^\[(.*)\]$/, '$1');

/** The sentence refusing the URL's form, or null (no DNS involved). */
function formRefusal(raw: string, policy: WebhookPolicy): { url: URL } | { refused: string } {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { refused: 'url: expected an absolute http(s) URL.' };
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    return { refused: 'url: expected an http(s) URL.' };
  }
  if (policy.requireHttps && url.protocol !== 'https:') {
    return { refused: 'url: webhooks must use https in production.' };
  }
  if (url.username || url.password) {
    return {
      refused: 'url: credentials in the URL are not accepted; webhooks are signed instead.',
    };
  }
  const host = bareHost(url);
  if (!policy.allowPrivate && isIP(host)) {
    const { refused } = classifyWebhookAddress(host);
    if (refused) return { refused: `url: ${host} is ${refused}, which webhooks may not reach.` };
  }
  return { url };
}

/** Resolves a name to every address, vetting each: one refused address refuses the host. */
function vettedAddresses(
  host: string,
  options: LookupOptions,
  policy: WebhookPolicy,
  done: (error: Error | null, addresses: LookupAddress[]) => void,
): void {
  dnsLookup(host, { ...options, all: true }, (error, addresses) => {
    if (error) return done(error, []);
    if (!policy.allowPrivate) {
      for (const { address } of addresses) {
        const { refused } = classifyWebhookAddress(address);
        if (refused) return done(new AddressRefused(host, `${address}, ${refused}`), []);
      }
    }
    done(null, addresses);
  });
}

/**
 * The connection's own lookup: the address it connects to is the one vetted, so a name that
 * resolves elsewhere between the check and the connection (DNS rebinding) gains nothing.
 */
const vettingLookup =
  (policy: WebhookPolicy): LookupFunction =>
  (host, options, callback) => {
    vettedAddresses(host, options, policy, (error, addresses) => {
      if (error) return callback(error, '', 0);
      if (options.all) return (callback as (e: null, a: LookupAddress[]) => void)(null, addresses);
      callback(null, addresses[0]!.address, addresses[0]!.family);
    });
  };

/**
 * Checks a URL before a channel is saved: its form, and every address its host resolves to.
 * Answers the sentence that refuses it, or null. A name that does not resolve is refused too.
 */
export async function webhookUrlRefusal(
  raw: string,
  policy: WebhookPolicy,
): Promise<string | null> {
  const form = formRefusal(raw, policy);
  if ('refused' in form) return form.refused;
  const host = bareHost(form.url);
  if (isIP(host)) return null;
  return new Promise((resolve) => {
    vettedAddresses(host, {}, policy, (error) => {
      if (!error) return resolve(null);
      resolve(
        error instanceof AddressRefused
          ? `url: ${error.message}`
          : `url: ${host} does not resolve (${(error as NodeJS.ErrnoException).code ?? error.message}).`,
      );
    });
  });
}

/** How a POST ended: the receiver's answer, an address refused, or no answer at all. */
export type PostOutcome =
  | { answered: true; status: number; retryAfter: string | undefined; text: string }
  | { answered: false; refused: true; message: string }
  | { answered: false; refused: false; message: string };

/** The part of a receiver's answer kept for the delivery's error. Default: 200 characters */
const keptAnswerLength = 200;

/** POSTs a JSON body through the vetting lookup; never follows a redirect. */
export function postWebhook(
  raw: string,
  body: string,
  headers: Record<string, string>,
  options: WebhookPolicy & { timeoutMs: number; signal?: AbortSignal },
): Promise<PostOutcome> {
  const form = formRefusal(raw, options);
  if ('refused' in form)
    return Promise.resolve({ answered: false, refused: true, message: form.refused });
  const url = form.url;
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve) => {
    const req = send(
      url,
      {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          'Content-Length': Buffer.byteLength(body).toString(),
          'User-Agent': 'license-sync-alerts',
          ...headers,
        },
        lookup: vettingLookup(options),
        timeout: options.timeoutMs,
        ...(options.signal ? { signal: options.signal } : {}),
        // No pooled connection: each send resolves and vets its address afresh.
        agent: false,
      },
      (res: IncomingMessage) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          if (text.length < keptAnswerLength) text += chunk;
        });
        res.on('end', () =>
          resolve({
            answered: true,
            status: res.statusCode ?? 0,
            retryAfter: res.headers['retry-after'],
            text: text.slice(0, keptAnswerLength).replace(/\s+/g, ' ').trim(),
          }),
        );
        res.on('error', (error) =>
          resolve({ answered: false, refused: false, message: error.message }),
        );
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${options.timeoutMs} ms`)));
    req.on('error', (error) =>
      resolve(
        error instanceof AddressRefused
          ? { answered: false, refused: true, message: error.message }
          : {
              answered: false,
              refused: false,
              message: (error as NodeJS.ErrnoException).code
                ? `${(error as NodeJS.ErrnoException).code}: ${error.message}`
                : error.message,
            },
      ),
    );
    req.end(body);
  });
}
