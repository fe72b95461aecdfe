import type { AxiosInstance } from 'axios';
import type { z } from 'zod';
import type { PsaClient, PsaKind, PsaRequestHooks } from './client.js';
import { connectwiseConnectionSchema, createConnectwiseClient } from './connectwise/index.js';

/** A connection as a person enters it, split into what may be shown and what is sealed. */
export interface ParsedConnection {
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

const entries: Partial<Record<PsaKind, PsaEntry>> = {
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
};

function entry(kind: PsaKind): PsaEntry {
  const found = entries[kind];
  if (!found) throw new Error(`no client for ${kind}`);
  return found;
}

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
