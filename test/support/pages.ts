import { randomBytes } from 'node:crypto';
import request from 'supertest';
import type { Express } from 'express';
import { hashPassword } from '../../src/server/auth/passwords.js';
import type { Harness } from './harness.js';

/** Test-only password for the people a test creates. */
export const testPassword = 'correct horse battery staple';

/** The hidden CSRF field of the first form on a page. */
export function csrfOf(html: string): string {
  const token = /name="_csrf" value="([^"]+)"/.exec(html)?.[1];
  if (!token) throw new Error('no CSRF field on the page');
  return token;
}

/** A browser-like client: keeps cookies, and logs in through the login form. */
export async function loggedIn(app: Express, email: string, password = testPassword) {
  const agent = request.agent(app);
  const form = await agent.get('/login');
  const res = await agent
    .post('/login')
    .type('form')
    .send({ _csrf: csrfOf(form.text), email, password });
  if (res.status !== 303) throw new Error(`login as ${email} answered ${res.status}`);
  return agent;
}

/** An operator, and a partner user of `partnerId` (when given), with the test password. */
export async function createPeople(h: Harness, partnerId?: string) {
  const passwordHash = await hashPassword(testPassword);
  const operator = await h.runtime.services.users.create(
    {
      email: `operator-${randomBytes(4).toString('hex')}@ops.example`,
      passwordHash,
      role: 'operator',
      partnerId: null,
    },
    'test',
  );
  const partnerUser = partnerId
    ? await h.runtime.services.users.create(
        {
          email: `user-${randomBytes(4).toString('hex')}@partner.example`,
          passwordHash,
          role: 'partner',
          partnerId,
        },
        'test',
      )
    : undefined;
  return { operator: operator!, partnerUser };
}
