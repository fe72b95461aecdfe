import { expect } from 'chai';
import request from 'supertest';
import { randomUUID } from 'node:crypto';
import { jobIds } from '../../src/queue/catalog.js';
import { enqueuePendingTenants } from '../../src/queue/refresh-work.js';
import { enqueueApply } from '../../src/services/billing-reconciliation.js';
import { testSecrets } from '../support/config.js';
import { testScenario } from '../support/emulator.js';
import { publicUrl, startHarness, type Harness } from '../support/harness.js';
import { suiteFailed } from '../support/keep-on-failure.js';
import { createPeople, loggedIn } from '../support/pages.js';

describe('admin credentials and the queue dashboard: Bearer only, no cross-origin changes', function () {
  this.timeout(60_000);
  let h: Harness;
  let people: Awaited<ReturnType<typeof createPeople>>;
  let partnerId: string;
  const token = testSecrets.ADMIN_API_TOKEN;
  const addJob = '/admin/queues/api/queues/maintenance/add';
  const pause = '/admin/queues/api/queues/maintenance/pause';

  before(async () => {
    h = await startHarness(testScenario(), {}, { workers: false });
    partnerId = (await h.runtime.services.partners.create('Board Partner', 'test')).id;
    people = await createPeople(h);
  });
  after(async function () {
    await h?.close(suiteFailed(this));
  });

  const maintenance = () => h.runtime.queues.get('maintenance');
  const waitingJobs = async () => (await maintenance().getJobCounts('waiting')).waiting ?? 0;

  it('refuses the admin token as a Basic password on the API and the dashboard, with no Basic challenge', async () => {
    const basic = `Basic ${Buffer.from(`ops:${token}`).toString('base64')}`;
    const jobsBefore = await waitingJobs();
    for (const [method, path] of [
      ['get', '/api/v1/partners'],
      ['post', `/api/v1/partners/${partnerId}/refresh`],
      ['get', '/admin/queues'],
      ['get', '/admin/queues/api/queues'],
      ['post', addJob],
    ] as const) {
      const res = await request(h.app)[method](path).set('Authorization', basic);
      expect(res.status, `${method} ${path}`).to.equal(401);
      expect(res.headers['www-authenticate'], `${method} ${path}`).to.match(/^Bearer /);
      expect(res.body).to.deep.equal({
        error: { code: 'unauthorized', message: 'A valid admin token is required.' },
      });
    }
    expect(await h.runtime.services.runs.latest(partnerId)).to.equal(undefined);
    expect(await waitingJobs()).to.equal(jobsBefore);

    const bearer = `Bearer ${token}`;
    await request(h.app).get('/api/v1/partners').set('Authorization', bearer).expect(200);
    await request(h.app).get('/admin/queues').set('Authorization', bearer).expect(200);
  });

  it("refuses a cross-origin or origin-less change on an operator's session, and adds no job", async () => {
    const operator = await loggedIn(h.app, people.operator.email);
    const jobsBefore = await waitingJobs();
    const job = { name: 'reconcile', data: {} };

    const crossOrigin = await operator.post(addJob).set('Origin', 'https://evil.example').send(job);
    expect(crossOrigin.status).to.equal(403);
    const crossSite = await operator.post(addJob).set('Sec-Fetch-Site', 'cross-site').send(job);
    expect(crossSite.status).to.equal(403);
    // What a cross-site form can send: text/plain, and from an older browser no Origin.
    const textPlain = await operator
      .post(addJob)
      .set('Content-Type', 'text/plain')
      .send('{"name":"reconcile","data":{}}');
    expect(textPlain.status).to.equal(403);
    const pausedCrossOrigin = await operator.put(pause).set('Origin', 'https://evil.example');
    expect(pausedCrossOrigin.status).to.equal(403);
    expect(await waitingJobs()).to.equal(jobsBefore);
    expect(await maintenance().isPaused()).to.equal(false);

    // Reading is harmless: the browser keeps a cross-origin answer from the other site.
    await operator
      .get('/admin/queues/api/queues')
      .set('Origin', 'https://evil.example')
      .expect(200);
  });

  it("lets the dashboard's own same-origin calls change queues on an operator's session", async () => {
    const operator = await loggedIn(h.app, people.operator.email);
    const jobsBefore = await waitingJobs();
    await operator
      .post(addJob)
      .set('Origin', publicUrl)
      .send({ name: 'reconcile', data: {} })
      .expect(200);
    expect(await waitingJobs()).to.equal(jobsBefore + 1);
    await operator.put(pause).set('Sec-Fetch-Site', 'same-origin').expect(200);
    expect(await maintenance().isPaused()).to.equal(true);
    await operator
      .put('/admin/queues/api/queues/maintenance/resume')
      .set('Origin', publicUrl)
      .expect(200);
    expect(await maintenance().isPaused()).to.equal(false);
  });

  it('lists customer and company jobs with the company name, their ids unchanged', async () => {
    const { services, queues } = h.runtime;
    const tenant = randomUUID();
    const company = await services.partners.addCompany(
      partnerId,
      { name: 'Fabrikam Board Ltd', customerTenantId: tenant },
      'test',
    );
    const { run } = await services.runs.start(partnerId, 'manual');
    await services.runs.addTenants(run.id, [{ customerTenantId: tenant, companyId: company.id }]);
    await enqueuePendingTenants({ ...services, queues }, run);
    await enqueueApply({ ...services, queues }, partnerId, company.id);

    const listed = async (queue: string) => {
      const res = await request(h.app)
        .get('/admin/queues/api/queues')
        .query({ activeQueue: queue, status: 'latest', page: 1, jobsPerPage: 50 })
        .set('Authorization', `Bearer ${token}`)
        .expect(200);
      const board = (
        res.body as { queues: { name: string; jobs: { id: string; name: string }[] }[] }
      ).queues;
      return board.find((q) => q.name === queue)!.jobs;
    };
    const customerJob = (await listed('refresh')).find(
      (j) => j.id === jobIds.refreshCustomer(run.id, tenant),
    );
    expect(customerJob?.name).to.equal('refreshCustomer · Fabrikam Board Ltd');
    const applyJob = (await listed('billing')).find((j) =>
      j.id.startsWith(`apply-billing-${company.id}-`),
    );
    expect(applyJob?.name).to.equal('applyCompanyBilling · Fabrikam Board Ltd');
    await services.runs.stop(run.id, 'test ended');
  });
});
