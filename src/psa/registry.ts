import type { AxiosInstance } from 'axios';
import type { z } from 'zod';
import type { PsaClient, PsaKind, PsaRequestHooks } from './client.js';
import { createAutotaskClient } from './autotask/client.js';
import { autotaskConnectionSchema } from './autotask/connection.js';
import { connectwiseConnectionSchema, createConnectwiseClient } from './connectwise/index.js';
import { createHaloClient } from './halo/client.js';
import { haloConnectionSchema } from './halo/connection.js';

/** A connection as a person enters it, split into what may be shown and what is sealed. */
interface ParsedConnection {
  settings: Record<string, unknown>;
  secrets: Record<string, string>;
}

/** One field of a PSA's connection form. */
export interface ConnectionField {
  name: string;
  label: string;
  /** Sealed at rest, never shown again once saved. */
  secret: boolean;
  optional?: boolean;
  /** Where to find it in the PSA, in a sentence. */
  hint?: string;
}

/** Each PSA's connection fields and client, by kind. */
export interface PsaRegistry {
  /** What a person enters to connect this PSA, in form order. */
  fields(kind: PsaKind): ConnectionField[];
  /** Validates a connection's fields for the PSA; throws a ZodError naming each bad one. */
  parse(kind: PsaKind, input: unknown): ParsedConnection;
  create(
    kind: PsaKind,
    connection: ParsedConnection,
    options: { http: AxiosInstance; hooks?: PsaRequestHooks },
  ): PsaClient;
}

interface PsaEntry {
  schema: z.ZodType<Record<string, unknown>>;
  /** The fields sealed at rest. */
  secrets: string[];
  fields: ConnectionField[];
  create(
    connection: Record<string, unknown>,
    options: { http: AxiosInstance; hooks?: PsaRequestHooks },
  ): PsaClient;
}

const entries: Record<PsaKind, PsaEntry> = {
  connectwise: {
    schema: connectwiseConnectionSchema,
    secrets: ['privateKey'],
    fields: [
      {
        name: 'siteUrl',
        label: 'Site',
        secret: false,
        hint: 'The address you log in at, e.g. https://na.myconnectwise.net.',
      },
      {
        name: 'companyId',
        label: 'Company id',
        secret: false,
        hint: 'As typed on the login page.',
      },
      {
        name: 'publicKey',
        label: 'Public key',
        secret: false,
        hint: 'Of an API member (System › Members › API Members).',
      },
      { name: 'privateKey', label: 'Private key', secret: true },
      {
        name: 'clientId',
        label: 'Client id',
        secret: false,
        hint: "Issued for the integration by ConnectWise's developer portal.",
      },
    ],
    create: (connection, options) =>
      createConnectwiseClient(connection as z.input<typeof connectwiseConnectionSchema>, options),
  },
  autotask: {
    schema: autotaskConnectionSchema,
    secrets: ['secret'],
    fields: [
      {
        name: 'userName',
        label: 'API user name',
        secret: false,
        hint: 'An API-only user (Admin › Resources); its zone is looked up from it.',
      },
      { name: 'secret', label: 'Secret', secret: true },
      {
        name: 'integrationCode',
        label: 'Integration code',
        secret: false,
        hint: 'The API tracking identifier of the integration.',
      },
      {
        name: 'zoneLookupUrl',
        label: 'Zone lookup address',
        secret: false,
        optional: true,
        hint: 'Leave empty for Autotask’s own, https://webservices.autotask.net/atservicesrest/.',
      },
    ],
    create: (connection, options) =>
      createAutotaskClient(connection as z.input<typeof autotaskConnectionSchema>, options),
  },
  halo: {
    schema: haloConnectionSchema,
    secrets: ['clientSecret'],
    fields: [
      {
        name: 'url',
        label: 'Halo address',
        secret: false,
        hint: 'e.g. https://yourcompany.halopsa.com (the API is under /api, sign-in under /auth).',
      },
      {
        name: 'tenant',
        label: 'Tenant',
        secret: false,
        optional: true,
        hint: 'For Halo-hosted instances, as shown under Configuration › Integrations › Halo API.',
      },
      { name: 'clientId', label: 'Client id', secret: false },
      { name: 'clientSecret', label: 'Client secret', secret: true },
    ],
    create: (connection, options) =>
      createHaloClient(connection as z.input<typeof haloConnectionSchema>, options),
  },
};

const entry = (kind: PsaKind): PsaEntry => entries[kind];

/** Every PSA the sync can write to, by kind. */
export const psaRegistry: PsaRegistry = {
  fields: (kind) => entry(kind).fields,
  parse(kind, input) {
    const { schema, secrets } = entry(kind);
    const parsed = schema.parse(input);
    const connection: ParsedConnection = { settings: {}, secrets: {} };
    for (const [name, value] of Object.entries(parsed)) {
      if (secrets.includes(name)) connection.secrets[name] = String(value);
      else connection.settings[name] = value;
    }
    return connection;
  },
  create(kind, connection, options) {
    return entry(kind).create({ ...connection.settings, ...connection.secrets }, options);
  },
};
