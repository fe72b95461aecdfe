import type { AxiosInstance } from 'axios';
import type { EffectiveDatePolicy, ProrationPolicy } from '../domain/billing.js';
import type { PsaClient, PsaKind } from '../psa/client.js';
import { PsaError } from '../psa/errors.js';
import type { PsaRegistry } from '../psa/registry.js';
import type { JobQueues } from '../queue/job-queues.js';
import type { PsaPacing } from '../queue/psa-pacing.js';
import type { PsaConnectionStore, PsaConnectionView } from '../store/psa-connections.js';
import { enqueueAlertDeliveries } from './alert-delivery.js';

/** What the billing services use to reach a partner's PSA. */
export interface PsaDeps {
  psaConnections: PsaConnectionStore;
  psaRegistry: PsaRegistry;
  psaPacing: PsaPacing;
  /** The outbound client for PSA calls (its own sockets and timeout). */
  psaHttp: AxiosInstance;
}

/** The partner's connection and a client for it, paced across workers; undefined: none. */
export async function psaClientFor(
  deps: PsaDeps,
  partnerId: string,
): Promise<{ connection: PsaConnectionView; client: PsaClient } | undefined> {
  const opened = await deps.psaConnections.open(partnerId);
  if (!opened) return undefined;
  const { connection, secrets } = opened;
  const client = deps.psaRegistry.create(
    connection.kind,
    { settings: connection.settings, secrets },
    { http: deps.psaHttp, hooks: deps.psaPacing.hooks(connection.kind, connection.id) },
  );
  return { connection, client };
}

/** Saves the partner's connection from the fields a person entered (validated per PSA). */
export async function saveConnection(
  deps: PsaDeps,
  partnerId: string,
  input: {
    kind: PsaKind;
    effectiveDatePolicy: EffectiveDatePolicy;
    proration: ProrationPolicy;
    fields: unknown;
  },
  actor: string,
): Promise<PsaConnectionView> {
  const { fields, ...choices } = input;
  const parsed = deps.psaRegistry.parse(input.kind, fields);
  return deps.psaConnections.save(partnerId, { ...choices, ...parsed }, actor);
}

export type ConnectionTest =
  { ok: true; description: string } | { ok: false; kind: PsaError['kind']; message: string };

/**
 * Calls the PSA with the saved connection and records the outcome: refused credentials or
 * permissions mark it broken; a PSA that is down or busy leaves its status as it was.
 */
export async function testConnection(
  deps: PsaDeps & { queues: JobQueues },
  partnerId: string,
): Promise<ConnectionTest | undefined> {
  const found = await psaClientFor(deps, partnerId);
  if (!found) return undefined;
  try {
    const { description } = await found.client.testConnection();
    // Working again: billing-sync-failed resolved with it (src/store/psa-connection-alerts.ts).
    const ids = await deps.psaConnections.markTested(partnerId, { status: 'ok' });
    await enqueueAlertDeliveries(deps.queues, ids);
    return { ok: true, description };
  } catch (error) {
    if (!(error instanceof PsaError)) throw error;
    if (breaksConnection(error)) {
      const ids = await deps.psaConnections.markTested(partnerId, {
        status: 'broken',
        error: error.message,
      });
      await enqueueAlertDeliveries(deps.queues, ids);
    }
    return { ok: false, kind: error.kind, message: error.message };
  }
}

/** Failures a person must fix in the connection or in the PSA before anything can work. */
const breaksConnection = (error: PsaError) =>
  error.kind === 'credentials' || error.kind === 'permission';
