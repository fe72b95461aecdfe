import type { AuthenticationResult } from '@azure/msal-node';
import { expect } from 'chai';
import { TokenMemory } from '../../src/microsoft/token-memory.js';

const minute = 60_000;

describe('token memory', () => {
  let now: number;
  const token = (accessToken: string) => ({
    accessToken,
    result: { accessToken } as AuthenticationResult,
  });

  beforeEach(() => {
    now = Date.parse('2026-12-01T12:00:00Z');
  });

  it('serves a token until the margin before its expiry, and not after', () => {
    const memory = new TokenMemory(5 * minute, 10, () => now);
    const key = TokenMemory.key('consent:partner_center', ['scope']);
    memory.remember(key, new Date(now + 60 * minute), token('a'));
    now += 54 * minute;
    expect(memory.token(key)?.accessToken).to.equal('a');
    now += 1 * minute;
    expect(memory.token(key)).to.equal(undefined);
    expect(memory.signedIn(key)).to.equal(false);
  });

  it('keeps a sign-in without its token, which serves the check and no caller of a token', () => {
    const memory = new TokenMemory(5 * minute, 10, () => now);
    const key = TokenMemory.key('consent:partner_center', ['scope'], 'customer');
    memory.remember(key, new Date(now + 60 * minute));
    expect(memory.signedIn(key)).to.equal(true);
    expect(memory.token(key)).to.equal(undefined);
  });

  it('keys by partition, tenant and scopes, and forgets a partition whole', () => {
    const memory = new TokenMemory(5 * minute, 10, () => now);
    const later = new Date(now + 60 * minute);
    const home = TokenMemory.key('old:partner_center', ['scope']);
    const customer = TokenMemory.key('old:partner_center', ['scope'], 'customer');
    const renewed = TokenMemory.key('new:partner_center', ['scope']);
    memory.remember(home, later, token('old'));
    memory.remember(customer, later);
    expect(memory.token(renewed)).to.equal(undefined);
    expect(memory.token(TokenMemory.key('old:partner_center', ['other']))).to.equal(undefined);
    memory.remember(renewed, later, token('new'));
    memory.forget('old:partner_center');
    expect(memory.token(home)).to.equal(undefined);
    expect(memory.signedIn(customer)).to.equal(false);
    expect(memory.token(renewed)?.accessToken).to.equal('new');
  });

  it('lets the least recently used go first when full', () => {
    const memory = new TokenMemory(5 * minute, 2, () => now);
    const later = new Date(now + 60 * minute);
    memory.remember('home|', later, token('home'));
    memory.remember('a|', later);
    expect(memory.token('home|')?.accessToken).to.equal('home'); // used: kept over 'a'
    memory.remember('b|', later);
    expect(memory.signedIn('a|')).to.equal(false);
    expect(memory.token('home|')?.accessToken).to.equal('home');
    expect(memory.signedIn('b|')).to.equal(true);
  });
});
