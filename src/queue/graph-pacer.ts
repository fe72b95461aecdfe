import type { RedisClient } from './connections.js';
import { Pacer, reserveTogether } from './pacer.js';

export interface GraphPacingRates {
  /** Requests per second per partner: our own share, so one partner cannot take the app's budget. */
  partnerRequestsPerSecond: number;
  /** Resource units per customer tenant per 10 s (Microsoft's quota per app and tenant). */
  tenantResourceUnitsPer10s: number;
  /** Resource units per 20 s across all tenants (Microsoft's quota per app). */
  appResourceUnitsPer20s: number;
}

/**
 * Paces Graph requests by what Microsoft counts: resource units per (app, customer tenant)
 * and per app across every tenant, the app being the one multi-tenant app all partners sign
 * in to; plus requests per partner, for fairness between partners. Shared by every worker in
 * Redis; a request waits for the latest of its three slots.
 */
export class GraphPacer {
  private readonly perPartner: Pacer;
  private readonly perTenant: Pacer;
  private readonly perApp: Pacer;

  constructor(redis: RedisClient, prefix: string, rates: GraphPacingRates) {
    this.perPartner = new Pacer(redis, `${prefix}:graph`, rates.partnerRequestsPerSecond);
    this.perTenant = new Pacer(
      redis,
      `${prefix}:graph-tenant-units`,
      rates.tenantResourceUnitsPer10s / 10,
    );
    this.perApp = new Pacer(redis, `${prefix}:graph-app-units`, rates.appResourceUnitsPer20s / 20);
  }

  /**
   * Milliseconds until a request costing `resourceUnits` may go to the tenant; its slots are
   * reserved in the three schedules together.
   */
  async reserve(partnerId: string, tenantId: string, resourceUnits: number): Promise<number> {
    const { first } = await reserveTogether([
      this.perPartner.schedule(partnerId),
      ...(resourceUnits > 0
        ? [
            this.perTenant.schedule(tenantId, resourceUnits),
            this.perApp.schedule('app', resourceUnits),
          ]
        : []),
    ]);
    return Math.max(0, Math.ceil(first));
  }
}
