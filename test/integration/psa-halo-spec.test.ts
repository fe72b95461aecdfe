import { readFileSync } from 'node:fs';
import type { AxiosInstance } from 'axios';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { expect } from 'chai';
import { haloEmulator } from '../../emulator/psa/halo/index.js';
import type { HaloState } from '../../emulator/psa/halo/state.js';
import { startPsaEmulator, type RunningPsaEmulator } from '../../emulator/psa/server.js';
import { createHttpClient } from '../../src/http-client.js';

// The Halo emulator's answers checked against Halo's own OpenAPI schemas (the extract in
// emulator/psa/specs/halo-subset.json). Schemas marked x-partial list only some of Halo's
// properties, so there only the properties present are checked; complete ones also refuse
// properties Halo does not have.

type Schema = Record<string, unknown>;
const spec = JSON.parse(
  readFileSync(new URL('../../emulator/psa/specs/halo-subset.json', import.meta.url), 'utf8'),
) as {
  paths: Record<string, Record<string, { parameters?: { name: string }[] }>>;
  components: { schemas: Record<string, Schema> };
};

// Not in the extract: transcribed (names and types only) from the Halo DTOs generated from
// Halo's spec in Angelic-Software/angelic (Angelic/Area AreaAzureTenant, Angelic/Models/
// Configuration/Assets/SoftwareLicensing/LicenceList.cs).
const str = { type: 'string', nullable: true };
const int = { type: 'integer', format: 'int32', nullable: true };
const bool = { type: 'boolean', nullable: true };
const dateTime = { type: 'string', format: 'date-time', nullable: true };
const supplement: Record<string, Schema> = {
  AreaAzureTenant: {
    type: 'object',
    additionalProperties: false,
    properties: {
      id: int,
      details_id: int,
      client_id: int,
      azure_tenant_id: str,
      azure_tenant_name: str,
      new_access_token: str,
      token_expiry: dateTime,
      client_name: str,
      details_name: str,
      azure_tenant_domain: str,
      licence_import_type: int,
      relationship_type: int,
      _warning: str,
    },
  },
  Licence_List: {
    type: 'object',
    'x-partial': 'the licence fields up to product_sku; collections and later fields left out',
    properties: {
      id: int,
      type: int,
      name: str,
      count: int,
      client_id: int,
      site_id: int,
      client_name: str,
      site_name: str,
      purchase_price: { type: 'number', format: 'double', nullable: true },
      start_date: dateTime,
      end_date: dateTime,
      tenant_id: str,
      tenant_name: str,
      deleted: bool,
      status: str,
      is_active: bool,
      product_sku: str,
      vendor_product_sku: str,
    },
  },
};

function schemasForAjv(): Record<string, Schema> {
  const schemas: Record<string, Schema> = {};
  for (const [name, schema] of Object.entries({ ...spec.components.schemas, ...supplement })) {
    const copy = structuredClone(schema);
    if ('x-partial' in copy) delete copy.additionalProperties;
    schemas[name] = copy;
  }
  // Schemas the extract refers to without including them accept anything.
  for (const ref of JSON.stringify(spec).matchAll(/#\/components\/schemas\/(\w+)/g))
    schemas[ref[1]!] ??= {};
  return schemas;
}

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;
const ajv = new Ajv({ strict: false, allErrors: true });
addFormats(ajv);
// Halo writes .NET DateTimes: ISO 8601, the offset optional.
ajv.addFormat('date-time', /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?$/);
ajv.addSchema({ $id: 'halo', components: { schemas: schemasForAjv() } });

function expectValid(schemaName: string, value: unknown) {
  const validate = ajv.getSchema(`halo#/components/schemas/${schemaName}`);
  if (!validate) throw new Error(`no schema ${schemaName}`);
  const ok = validate(value);
  expect(ok, `${schemaName}: ${ajv.errorsText(validate.errors)}`).to.equal(true);
}

describe('HaloPSA emulator against the Halo OpenAPI extract', () => {
  let emulator: RunningPsaEmulator<HaloState>;
  let http: AxiosInstance;
  let bearer: string;

  const get = async (path: string) => {
    const res = await http.get(`${emulator.url}/api${path}`, {
      headers: { authorization: `Bearer ${bearer}` },
    });
    expect(res.status, path).to.equal(200);
    return { body: JSON.parse(res.data as string) };
  };
  const post = async (path: string, body: unknown[]) => {
    const res = await http.post(`${emulator.url}/api${path}`, body, {
      headers: { authorization: `Bearer ${bearer}` },
    });
    expect(res.status, `${path}: ${String(res.data)}`).to.be.oneOf([200, 201]);
    return { body: JSON.parse(res.data as string) };
  };

  before(async () => {
    emulator = await startPsaEmulator(haloEmulator);
    http = createHttpClient({ extraCaFile: emulator.caFile });
    const { applications } = haloEmulator.defaultScenario();
    const res = await http.post(
      `${emulator.url}/auth/token`,
      new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: applications[0]!.clientId,
        client_secret: applications[0]!.clientSecret,
        scope: 'all',
      }).toString(),
      { headers: { 'content-type': 'application/x-www-form-urlencoded' } },
    );
    bearer = (JSON.parse(res.data as string) as { access_token: string }).access_token;
  });
  after(() => emulator?.stop());

  it('answers clients as Area', async () => {
    const list = (await get('/Client?includeinactive=true')).body;
    expect(list.clients).to.have.length(6);
    for (const client of list.clients) expectValid('Area', client);
    expectValid('Area', (await get('/Client/12')).body);
    expectValid(
      'Area',
      (await post('/Client', [{ name: 'Woodgrove Bank', website: 'woodgrovebank.com' }])).body,
    );
  });

  it('answers recurring invoices as InvoiceHeader, their lines as InvoiceDetail', async () => {
    const list = (await get('/RecurringInvoice?includelines=true')).body;
    expect(list.invoices.length).to.be.above(3);
    for (const invoice of list.invoices) expectValid('InvoiceHeader', invoice);
    const linked = list.invoices[0].lines[0];
    expect(linked.quantity_licences).to.have.length(1);
    expectValid('InvoiceDetailQuantity', linked.quantity_licences[0]);
    expectValid('InvoiceHeader', (await get('/RecurringInvoice/74')).body);
    const [updated] = (await post('/RecurringInvoice/updatelines', [{ id: 902, qty_order: 9 }]))
      .body;
    expectValid('InvoiceDetail', updated);
    const [added] = (
      await post('/RecurringInvoice/Lines', [{ ihid: 73, _itemid: 104, qty_order: 2 }])
    ).body;
    expectValid('InvoiceDetail', added);
    expectValid(
      'InvoiceHeader',
      (await post('/RecurringInvoice', [{ id: 73, reference: 'Northwind' }])).body,
    );
  });

  it('answers catalogue items as Item', async () => {
    const list = (await get('/Item')).body;
    for (const item of list.items) expectValid('Item', item);
    expectValid('Item', (await get('/Item/101')).body);
  });

  it('answers tenant mappings as AreaAzureTenant and licences as Licence_List', async () => {
    for (const mapping of (await get('/AreaAzureTenant')).body)
      expectValid('AreaAzureTenant', mapping);
    const licences = (await get('/SoftwareLicence')).body;
    for (const licence of licences.licences) expectValid('Licence_List', licence);
    expectValid('Licence_List', (await get('/SoftwareLicence/501')).body);
  });

  it('takes only query parameters the spec declares for each list it serves', () => {
    const used: Record<string, string[]> = {
      '/Client': [
        'pageinate',
        'page_size',
        'page_no',
        'count',
        'order',
        'orderdesc',
        'search',
        'includeinactive',
        'toplevel_id',
      ],
      '/RecurringInvoice': [
        'pageinate',
        'page_size',
        'page_no',
        'count',
        'order',
        'orderdesc',
        'client_id',
        'contract_id',
        'includelines',
      ],
      '/ClientContract': [
        'pageinate',
        'page_size',
        'page_no',
        'count',
        'order',
        'orderdesc',
        'client_id',
      ],
      '/Item': [
        'pageinate',
        'page_size',
        'page_no',
        'order',
        'orderdesc',
        'search',
        'recurringonly',
        'includeinactive',
      ],
      '/SoftwareLicence': [
        'pageinate',
        'page_size',
        'page_no',
        'count',
        'order',
        'orderdesc',
        'client_id',
        'tenant_id',
        'includeinactive',
      ],
      '/AreaAzureTenant': ['azure_tenant_id', 'client_id'],
    };
    for (const [path, names] of Object.entries(used)) {
      const declared = (spec.paths[path]!.get!.parameters ?? []).map((p) => p.name);
      expect(declared, path).to.include.members(names);
    }
  });
});
