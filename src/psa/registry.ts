import type { AxiosInstance } from 'axios';
import type { PsaClient, PsaKind, PsaRequestHooks } from './client.js';

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

/** Filled in as each PSA's client lands. */
export const psaRegistry: PsaRegistry = {
  fields: () => [],
  parse(kind) {
    throw new Error(`no client for ${kind} yet`);
  },
  create(kind) {
    throw new Error(`no client for ${kind} yet`);
  },
};
