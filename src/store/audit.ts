import type { Database } from './database.js';
import { auditEvents } from './schema.js';

export interface AuditEvent {
  partnerId: string | null;
  actor: string;
  action: string;
  subjectType?: string;
  subjectId?: string;
  /** Never a secret: ids, counts, usernames. */
  details?: Record<string, unknown>;
}

/** Writes audit events; pass the transaction when the event belongs to one. */
export async function recordAudit(db: Database, ...events: AuditEvent[]): Promise<void> {
  if (events.length === 0) return;
  await db.insert(auditEvents).values(
    events.map((e) => ({
      partnerId: e.partnerId,
      actor: e.actor,
      action: e.action,
      subjectType: e.subjectType ?? null,
      subjectId: e.subjectId ?? null,
      details: e.details ?? {},
    })),
  );
}
