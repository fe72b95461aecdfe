import type { AxiosInstance } from 'axios';
import type {
  PsaBillingContainer,
  PsaClient,
  PsaCompany,
  PsaProduct,
  PsaRequestHooks,
} from '../client.js';
import { PsaError } from '../errors.js';
import { AutotaskApi, type Condition, type Row } from './api.js';
import { autotaskConnectionSchema, type AutotaskConnectionInput } from './connection.js';
import { ContractServices } from './contract-services.js';

// The billing sync's view of Autotask: companies, the catalogue's Services as products,
// Recurring Service contracts as billing containers, and their contract services as lines.

export interface AutotaskClientOptions {
  /** The outbound HTTP client (createHttpClient). */
  http: AxiosInstance;
  /** Pacing around each request. Default: none */
  hooks?: PsaRequestHooks;
  /** The day lines are read for (their current period row). Default: Date.now */
  now?: () => number;
}

const everything: Condition[] = [{ op: 'exist', field: 'id' }];
/** What testConnection reads, besides companies: a refusal on one names the entity. */
const entitiesRead = ['Contracts', 'ContractServices', 'ContractServiceUnits', 'Services'];

export function createAutotaskClient(
  input: AutotaskConnectionInput,
  options: AutotaskClientOptions,
): PsaClient {
  const connection = autotaskConnectionSchema.parse(input);
  const api = new AutotaskApi(connection, options.http, options.hooks);
  const services = new ContractServices(api);
  const today = () => new Date((options.now ?? Date.now)()).toISOString().slice(0, 10);
  let contractPicklists: Promise<Condition[]> | undefined;

  /** Conditions picking active Recurring Service contracts; picklist ids are tenant data. */
  const recurringActive = () => {
    contractPicklists ??= api
      .call<{ fields: Row[] }>('GET', 'Contracts/entityInformation/fields', 'Contracts')
      .then((answer) => {
        const valueOf = (field: string, label: RegExp) => {
          const values = answer.fields.find((f) => f.name === field)?.picklistValues;
          const hit = Array.isArray(values)
            ? (values as Row[]).find((v) => label.test(String(v.label)))
            : undefined;
          return hit ? Number(hit.value) : undefined;
        };
        const type = valueOf('contractType', /^recurring service$/i);
        const status = valueOf('status', /^active$/i);
        return [
          ...(type === undefined ? [] : [{ op: 'eq', field: 'contractType', value: type }]),
          ...(status === undefined ? [] : [{ op: 'eq', field: 'status', value: status }]),
        ];
      })
      .catch((error: unknown) => {
        contractPicklists = undefined;
        throw error;
      });
    return contractPicklists;
  };

  const listContainers = async (companyId: string): Promise<PsaBillingContainer[]> => {
    const contracts = await api.query('Contracts', [
      { op: 'eq', field: 'companyID', value: Number(companyId) },
      ...(await recurringActive()),
    ]);
    return contracts.map((c) => ({
      id: String(c.id),
      companyId: String(c.companyID),
      name: String(c.contractName),
    }));
  };

  return {
    kind: 'autotask',
    // An adjustment inside a period is always prorated: the effective date alone decides.
    prorationByDate: true,

    async testConnection() {
      const zone = await api.currentZone().catch((error: unknown) => {
        throw explain(error, `the zone lookup at ${connection.zoneLookupUrl}`);
      });
      const count = (entity: string) =>
        api.call<{ queryCount: number }>('POST', `${entity}/query/count`, entity, {
          filter: everything,
        });
      const companies = await count('Companies').catch((error: unknown) => {
        throw explain(error, `zone ${zone.zoneName}`);
      });
      for (const entity of entitiesRead)
        await count(entity).catch((error: unknown) => {
          throw explain(error, `reading ${entity}`);
        });
      return {
        description: `Autotask ${zone.zoneName} (${zone.url}) as ${connection.userName}: ${companies.queryCount} companies`,
      };
    },

    async listCompanies(): Promise<PsaCompany[]> {
      const rows = await api.query('Companies', everything, [
        'id',
        'companyName',
        'webAddress',
        'isActive',
      ]);
      return rows.map((c) => ({
        id: String(c.id),
        name: String(c.companyName),
        domains: domainsOf(c.webAddress),
        active: c.isActive !== false,
      }));
    },

    // A product is a Service (what contract services bill); services have no SKU, so the
    // code is the service's name, which Autotask keeps unique.
    async listProducts(): Promise<PsaProduct[]> {
      const rows = await api.query('Services', [{ op: 'eq', field: 'isActive', value: true }]);
      return rows.map((s) => ({ id: String(s.id), name: String(s.name), code: String(s.name) }));
    },

    listContainers,

    async listLines(companyId, asOf) {
      const contracts = await listContainers(companyId);
      return services.lines(
        companyId,
        contracts.map((c) => Number(c.id)),
        asOf ?? today(),
      );
    },

    setQuantity: (change) => services.setQuantity(change),

    // Billing stops through an adjustment down to zero units: the history stays.
    cancelLine: (line, effectiveDate) =>
      services.setQuantity({
        containerId: line.containerId,
        productId: line.productId,
        lineId: line.lineId,
        target: 0,
        effectiveDate,
      }),
  };
}

/** The failure of one testConnection step, saying which part of the connection is wrong. */
function explain(error: unknown, step: string): unknown {
  if (!(error instanceof PsaError)) return error;
  const part = {
    credentials: 'the API user, secret or integration code',
    permission: "the API user's security level",
    transient: 'the address (no usable answer)',
    rate_limited: 'the request limits (try later)',
    validation: 'the request',
    not_found: 'the address',
  }[error.kind];
  return new PsaError(
    error.kind,
    `Autotask: ${step} failed; check ${part}. ${error.message}`,
    error.status,
    error.retryAfterMs,
  );
}

/** The host names of a company's web address, lower case, without "www.". */
function domainsOf(webAddress: unknown): string[] {
  if (typeof webAddress !== 'string' || webAddress.trim() === '') return [];
  const raw = webAddress.trim();
  try {
    const host = new URL(/^[a-z]+:\/\//i.test(raw) ? raw : `https://${raw}`).hostname.toLowerCase();
    return host ? [host.replace(/^www\./, '')] : [];
  } catch {
    return [];
  }
}
