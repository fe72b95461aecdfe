// npm run screenshots: the README's pictures, taken from `npm run demo` in Chromium at 1280 px.
// A plain demo gives the Delegated Admin page before and after a consent granted through the
// pages; a demo with DEMO_DAYS gives the pages that need days of history (companies, a
// company's seat history and chart, renewals, access, billing, operators) and, last, a
// company failed by an emulator fault. Needs Redis (REDIS_URL) and Chromium, as the demo does.
import { randomBytes } from 'node:crypto';
import type { Browser, Page } from 'playwright-core';
import { createHttpClient } from '../src/http-client.js';
import { launchBrowser } from '../test/support/browser.js';
import { startService, type ServiceProcess } from '../test/support/process.js';
import { closedPort, freshPrefix, removePrefix } from '../test/support/redis.js';

const out = 'docs/screenshots';
/** Days of history for the pages that show it. */
const demoDays = 14;
/** Pages longer than this are cut: the top of a long table says what it is. */
const defaultMaxHeight = 1600;
const password = randomBytes(12).toString('base64url');
const adminToken = randomBytes(32).toString('base64url');

interface Demo {
  process: ServiceProcess;
  base: string;
  partnerId: string;
  emulatorUrl: string;
  caFile: string;
  partnerUser: string;
  operator: string;
  close(): Promise<void>;
}

/** Starts `npm run demo` on a free port and a fresh queue prefix; resolves once it is ready. */
async function startDemo(env: Record<string, string> = {}): Promise<Demo> {
  const port = await closedPort();
  const prefix = freshPrefix();
  const child = startService('scripts/demo.ts', {
    PORT: String(port),
    QUEUE_PREFIX: prefix,
    REDIS_URL: process.env.REDIS_URL,
    ADMIN_API_TOKEN: adminToken,
    DEMO_PASSWORD: password,
    ...env,
  });
  const ready = await child.waitForLog((l) => l.msg === 'demo ready');
  const [partnerUser, operator] = ready.users as [string, string];
  return {
    process: child,
    base: ready.apiUrl as string,
    partnerId: ready.partnerId as string,
    emulatorUrl: ready.emulatorUrl as string,
    caFile: ready.caFile as string,
    partnerUser,
    operator,
    async close() {
      child.child.kill('SIGTERM');
      await child.exited;
      await removePrefix(prefix);
    },
  };
}

async function logIn(browser: Browser, demo: Demo, email: string): Promise<Page> {
  // The emulator's sign-in pages come with its own certificate.
  const context = await browser.newContext({
    viewport: { width: 1280, height: 900 },
    ignoreHTTPSErrors: true,
  });
  const page = await context.newPage();
  await page.goto(`${demo.base}/login`);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.waitForURL((url) => url.pathname !== '/login');
  return page;
}

async function shoot(page: Page, name: string, path?: string, maxHeight = defaultMaxHeight) {
  if (path !== undefined) await page.goto(`${new URL(page.url()).origin}${path}`);
  await page.locator('h1').first().waitFor();
  const height = await page.evaluate(() => document.documentElement.scrollHeight);
  await page.screenshot({
    path: `${out}/${name}.png`,
    fullPage: true,
    clip: { x: 0, y: 0, width: 1280, height: Math.min(height, maxHeight) },
  });
  process.stdout.write(`${out}/${name}.png\n`);
}

/** The plain demo: before consent, then consent through the pages and the initial refresh. */
async function beforeAndAfterConsent(browser: Browser) {
  const demo = await startDemo();
  try {
    const page = await logIn(browser, demo, demo.partnerUser);
    await shoot(page, 'delegated-admin-before');
    await page.getByRole('button', { name: 'Grant Partner Center Consent' }).click();
    await page.getByRole('heading', { name: 'Pick an account' }).waitFor();
    await page.getByRole('button', { name: /admin@/ }).click();
    const consentPage = page.getByRole('button', { name: 'Accept' });
    const back = page.waitForURL(`${demo.base}/partners/**`);
    await Promise.race([back, consentPage.waitFor()]);
    if (await consentPage.isVisible()) await consentPage.click();
    await back;
    await page.getByText(/Refresh completed/).waitFor({ timeout: 120_000 });
    await shoot(page, 'delegated-admin-after');
  } finally {
    await demo.close();
  }
}

/** The company with changes on the most days: its history table and chart. */
async function busiestCompany(demo: Demo): Promise<string> {
  const api = `${demo.base}/api/v1/partners/${demo.partnerId}`;
  const headers = { Authorization: `Bearer ${adminToken}` };
  const { companies } = (await (await fetch(`${api}/companies`, { headers })).json()) as {
    companies: { id: string }[];
  };
  let best = { id: companies[0]!.id, days: -1 };
  for (const { id } of companies) {
    const res = await fetch(`${api}/companies/${id}/history`, { headers });
    const { history } = (await res.json()) as { history: { at: string; initial: boolean }[] };
    const days = new Set(history.filter((h) => !h.initial).map((h) => h.at.slice(0, 10))).size;
    if (days > best.days) best = { id, days };
  }
  return best.id;
}

/** A refresh where one company's licenses cannot be read: the page offers its retry. */
async function failedCompany(demo: Demo, page: Page) {
  const api = `${demo.base}/api/v1/partners/${demo.partnerId}`;
  const headers = { Authorization: `Bearer ${adminToken}` };
  const { companies } = (await (await fetch(`${api}/companies`, { headers })).json()) as {
    companies: { customerTenantId: string; licenses: unknown[] }[];
  };
  const failing = companies.find((c) => c.licenses.length > 0)!.customerTenantId;
  const emulator = createHttpClient({ extraCaFile: demo.caFile });
  await emulator.post(`${demo.emulatorUrl}/_emulator/faults`, {
    path: `/v1/customers/${failing}/subscribedskus`,
    status: 403,
  });
  const sync = await fetch(`${api}/refresh`, { method: 'POST', headers });
  const { runId } = (await sync.json()) as { runId: string };
  await page.goto(`${demo.base}/partners/${demo.partnerId}/delegated-admin`);
  // The page follows the run until it ends.
  await page.getByText(/Refresh completed.*1 failed/).waitFor({ timeout: 120_000 });
  await emulator.delete(`${demo.emulatorUrl}/_emulator/faults`);
  await shoot(page, 'failed-company');
  return runId;
}

/** The demo after DEMO_DAYS days: every page with history. */
async function afterDays(browser: Browser) {
  const demo = await startDemo({ DEMO_DAYS: String(demoDays) });
  try {
    const partner = `/partners/${demo.partnerId}`;
    const operatorPage = await logIn(browser, demo, demo.operator);
    await shoot(operatorPage, 'operator');
    const page = await logIn(browser, demo, demo.partnerUser);
    await shoot(page, 'companies', `${partner}/companies`);
    // Tall enough for the chart and the first changes of the history below it.
    const company = `${partner}/companies/${await busiestCompany(demo)}`;
    await shoot(page, 'company', company, 2300);
    await shoot(page, 'renewals', `${partner}/renewals`);
    await shoot(page, 'access', `${partner}/access`);
    await shoot(page, 'billing', `${partner}/billing`);
    await failedCompany(demo, page);
  } finally {
    await demo.close();
  }
}

const browser = await launchBrowser();
try {
  await beforeAndAfterConsent(browser);
  await afterDays(browser);
} finally {
  await browser.close();
}
