import { readFileSync } from 'node:fs';
import { Ajv, type AnySchema } from 'ajv';
import formats from 'ajv-formats';
import { expect } from 'chai';
import { autotaskEmulator } from '../../emulator/psa/autotask/index.js';
import { startPsaEmulator, type RunningPsaEmulator } from '../../emulator/psa/server.js';
import { createHttpClient } from '../../src/http-client.js';
import type { AutotaskState } from '../../emulator/psa/autotask/state.js';

// The emulator's answers checked against the Swagger definitions of Autotask's REST API
// (emulator/psa/specs/autotask-subset.json).
//
// Casing: the swagger names properties in PascalCase (CompanyName) while the live API writes
// camelCase (companyName). The API is ASP.NET with a camel-case contract resolver, so the
// wire names are the swagger names passed through that resolver's rule (leading capitals
// lowered up to the last one before a lower-case letter: Id → id, CompanyID → companyID,
// SKU → sku, CI → ci). We rename the spec's properties by that rule rather than loosen the
// match, and forbid properties the spec does not define: an emulator writing PascalCase, or
// a name the API does not have, then fails. Every property may be null (.NET reference and
// nullable types; the swagger cannot say so), and `Object` (a .NET `object`) accepts any value.
// The query, item and error envelopes are not in the swagger (it declares the bare models);
// the spec's notes describe them and they are written here from those notes.

type Schema = Record<string, unknown>;
const spec = JSON.parse(
  readFileSync(new URL('../../emulator/psa/specs/autotask-subset.json', import.meta.url), 'utf8'),
) as { definitions: Record<string, Schema> };

/** The camel-case rule of the API's JSON serializer. */
function camelCase(name: string): string {
  const chars = [...name];
  for (let i = 0; i < chars.length; i += 1) {
    const c = chars[i] ?? '';
    if (c.toLowerCase() === c) break;
    const next = chars[i + 1];
    if (i > 0 && next !== undefined && next.toLowerCase() === next) break;
    chars[i] = c.toLowerCase();
  }
  return chars.join('');
}

const refName = (name: string) => name.replace(/[^A-Za-z0-9]/g, '_');

function adapt(schema: Schema): Schema {
  if (typeof schema.$ref === 'string')
    return { $ref: `#/definitions/${refName(schema.$ref.replace('#/definitions/', ''))}` };
  const out: Schema = { ...schema };
  delete out.readOnly;
  if (schema.items) out.items = adapt(schema.items as Schema);
  if (schema.properties) {
    out.properties = Object.fromEntries(
      Object.entries(schema.properties as Record<string, Schema>).map(([k, v]) => {
        const inner = adapt(v);
        return [camelCase(k), { anyOf: [inner, { type: 'null' }] }];
      }),
    );
    out.additionalProperties = false;
  }
  return out;
}

const definitions: Record<string, Schema> = Object.fromEntries(
  Object.entries(spec.definitions).map(([name, schema]) => [refName(name), adapt(schema)]),
);
definitions.Object = {};
const ref = (name: string) => ({ $ref: `#/definitions/${name}` });
/** The properties the sync reads must be there, not only allowed. */
const withRequired = (name: string, required: string[]) => ({ allOf: [ref(name), { required }] });
const page = (item: Schema) => ({
  type: 'object',
  required: ['items', 'pageDetails'],
  additionalProperties: false,
  properties: {
    items: { type: 'array', items: item },
    pageDetails: {
      type: 'object',
      additionalProperties: false,
      required: ['count', 'requestCount', 'prevPageUrl', 'nextPageUrl'],
      properties: {
        count: { type: 'integer' },
        requestCount: { type: 'integer' },
        prevPageUrl: { type: ['string', 'null'] },
        nextPageUrl: { type: ['string', 'null'] },
      },
    },
  },
});
const single = (item: Schema) => ({
  type: 'object',
  required: ['item'],
  additionalProperties: false,
  properties: { item: { anyOf: [item, { type: 'null' }] } },
});

const ajv = new Ajv({ strict: false, allErrors: true });
// ajv-formats is CommonJS: its function is the default export's default under ESM.
formats.default(ajv);
const validator = (schema: Schema) => ajv.compile({ ...schema, definitions } as AnySchema);

const entities: [string, string, string[]][] = [
  ['Companies', 'CompanyModel', ['id', 'companyName', 'isActive', 'webAddress']],
  [
    'Contracts',
    'ContractModel',
    ['id', 'companyID', 'contractName', 'contractType', 'status', 'startDate', 'endDate'],
  ],
  ['ContractServices', 'ContractServiceModel', ['id', 'contractID', 'serviceID', 'unitPrice']],
  [
    'ContractServiceUnits',
    'ContractServiceUnitModel',
    ['id', 'contractServiceID', 'serviceID', 'startDate', 'endDate', 'units'],
  ],
  ['Services', 'ServiceModel', ['id', 'name', 'isActive', 'periodType', 'unitPrice']],
  ['Products', 'ProductModel', ['id', 'name', 'sku', 'isActive']],
];

describe('Autotask emulator answers match the Swagger definitions (camelCase on the wire)', () => {
  let emulator: RunningPsaEmulator<AutotaskState>;
  let get: (path: string, body?: unknown) => Promise<unknown>;
  before(async () => {
    emulator = await startPsaEmulator(autotaskEmulator);
    const http = createHttpClient({ extraCaFile: emulator.caFile });
    get = async (path, body) => {
      const res = await http.request({
        method: body === undefined ? 'GET' : 'POST',
        url: path.startsWith('/atservicesrest')
          ? `${emulator.url}${path}`
          : `${emulator.url}/zone5/atservicesrest/v1.0${path}`,
        data: body === undefined ? undefined : JSON.stringify(body),
        headers: {
          ApiIntegrationCode: 'LICSYNC7EMULATORCODE0000001',
          UserName: 'licensesync@contoso-msp.example',
          Secret: 'emulator-secret-1',
          'Content-Type': 'application/json',
        },
      });
      expect(res.status, `${path}: ${String(res.data)}`).to.equal(200);
      return JSON.parse(res.data as string) as unknown;
    };
  });
  after(() => emulator.stop());

  const check = (schema: Schema, answer: unknown) => {
    const validate = validator(schema);
    expect(validate(answer), ajv.errorsText(validate.errors)).to.equal(true);
  };

  for (const [entity, model, required] of entities) {
    it(`${entity}: a query page, an item, the count and the field information`, async () => {
      const result = (await get(`/${entity}/query`, {
        filter: [{ op: 'exist', field: 'id' }],
      })) as {
        items: { id: number }[];
      };
      expect(result.items.length).to.be.above(0);
      check(page(withRequired(model, required)), result);
      check(single(withRequired(model, required)), await get(`/${entity}/${result.items[0]?.id}`));
      check(
        ref('QueryCountResultModel'),
        await get(`/${entity}/query/count`, { filter: [{ op: 'exist', field: 'id' }] }),
      );
      check(ref('FieldInformationResultModel'), await get(`/${entity}/entityInformation/fields`));
      check(ref('EntityInformationResultModel'), await get(`/${entity}/entityInformation`));
    });
  }

  it('zone, version and threshold information, and the result of an adjustment', async () => {
    check(
      withRequired('ZoneInformationResultModel', ['zoneName', 'url', 'webUrl', 'ci']),
      await get('/atservicesrest/v1.0/zoneInformation?user=licensesync@contoso-msp.example'),
    );
    check(ref('ApiVersionResultModel'), await get('/atservicesrest/versionInformation'));
    check(
      withRequired('ThresholdStatusResultModel', [
        'externalRequestThreshold',
        'currentTimeframeRequestCount',
      ]),
      await get('/ThresholdInformation'),
    );
    const adjustment = {
      contractID: 29684184,
      serviceID: 302,
      unitChange: 1,
      effectiveDate: '2027-03-01T00:00:00Z',
    };
    check(
      withRequired('ContractServiceAdjustmentModel', ['contractID', 'unitChange', 'effectiveDate']),
      adjustment,
    );
    check(
      withRequired('OperationResultModel', ['itemId']),
      await get('/ContractServiceAdjustments', adjustment),
    );
  });

  it('rejects a PascalCase answer, so the casing rule is really checked', () => {
    const validate = validator(page(withRequired('CompanyModel', ['id'])));
    expect(
      validate({
        items: [{ Id: 1, CompanyName: 'x' }],
        pageDetails: { count: 1, requestCount: 500, prevPageUrl: null, nextPageUrl: null },
      }),
    ).to.equal(false);
  });
});
