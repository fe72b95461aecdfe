import { randomBytes } from 'node:crypto';
import type { ChaosStack } from './stack.js';

const injections = [
  "' OR 1=1 --",
  '"; DROP TABLE consent_attempts; --',
  '<script>alert(1)</script>',
  '${jndi:ldap://x/a}',
  '../../../../etc/passwd',
  '%00',
  '\u0000',
  '\r\nSet-Cookie: x=1',
  '{"$gt":""}',
  '😀'.repeat(50),
  '%E0%A4%A',
  'AADSTS50076',
];

/** Seeded so a failing run can be repeated. */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/**
 * Malformed and hostile requests to /auth/callback: random and oversized parameters, repeated
 * parameters, unknown, expired and reused states, injection strings, error answers, both GET
 * and form POST. Returns what came back.
 */
export async function hostileCallbacks(
  stack: ChaosStack,
  partnerId: string,
  completedCallback: string,
  total: number,
) {
  const random = rng(20261126);
  const pick = <T>(items: T[]) => items[Math.floor(random() * items.length)]!;
  const text = (max: number) =>
    randomBytes(Math.max(1, Math.floor(random() * max))).toString('base64url');

  // A consent started, then expired (its state is real but too old).
  const started = (await stack.api_('POST', `/partners/${partnerId}/consents`, { returnTo: '/' }))
    .body as { attemptId: string; authorizeUrl: string };
  const expiredState = new URL(started.authorizeUrl).searchParams.get('state')!;
  await stack.db.query(
    `update consent_attempts set expires_at = now() - interval '1 hour' where id = $1`,
    [started.attemptId],
  );
  const reused = new URL(completedCallback);

  const kinds: Record<string, () => { query: string; body?: string }> = {
    random: () => ({ query: `${text(20)}=${text(200)}&${text(10)}=${text(50)}` }),
    oversized: () => ({ query: `code=${text(8000)}&state=${text(6000)}` }),
    repeated: () => ({
      query: `code=${text(40)}&code=${text(40)}&state=${text(43)}&state=${text(43)}`,
    }),
    'unknown state': () => ({ query: `code=${text(300)}&state=${text(43)}` }),
    'expired state': () => ({
      query: `code=${text(300)}&state=${encodeURIComponent(expiredState)}`,
    }),
    'reused state': () => ({ query: reused.search.slice(1) }),
    injection: () => ({
      query: `code=${encodeURIComponent(pick(injections))}&state=${encodeURIComponent(pick(injections))}`,
    }),
    'error answer': () => ({
      query: `error=${encodeURIComponent(pick(['access_denied', 'invalid_request', pick(injections)]))}&error_description=${encodeURIComponent(pick(injections) + text(3000))}&state=${pick([text(43), encodeURIComponent(expiredState)])}`,
    }),
    'form post': () => ({
      query: '',
      body: `code=${encodeURIComponent(pick(injections))}&state=${text(43)}&state=x`,
    }),
    'raw bytes': () => ({ query: `code=%FF%FE%${pick(['ZZ', '00', 'C0%AF'])}&state=%` }),
  };
  const names = Object.keys(kinds);
  const statuses: Record<string, number> = {};
  let fiveXx = 0;
  let failedRequests = 0;
  let sent = 0;
  const one = async () => {
    const kind = names[sent % names.length]!;
    sent += 1;
    const { query, body } = kinds[kind]!();
    try {
      const res = await fetch(`${stack.base}/auth/callback${query ? `?${query}` : ''}`, {
        method: body ? 'POST' : 'GET',
        redirect: 'manual',
        // An answer that never comes counts as unanswered, not as a hang of the suite.
        signal: AbortSignal.timeout(30_000),
        ...(body ? { body, headers: { 'Content-Type': 'application/x-www-form-urlencoded' } } : {}),
      });
      await res.arrayBuffer();
      statuses[res.status] = (statuses[res.status] ?? 0) + 1;
      if (res.status >= 500) fiveXx += 1;
    } catch {
      failedRequests += 1;
    }
  };
  const workers = Array.from({ length: 32 }, async () => {
    while (sent < total) await one();
  });
  await Promise.all(workers);
  return { sent, statuses, fiveXx, failedRequests, kinds: names };
}
