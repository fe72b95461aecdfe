import { activeFault, takeFault, type Active } from '../faults.js';
import { EventEmitter } from 'node:events';
import { z } from 'zod';

// What every PSA emulator shares, whichever PSA it plays: its clock, injected faults, the
// request log and counters. The PSA's own entities live in its state, beside this one.

export const psaKinds = ['connectwise', 'autotask', 'halo'] as const;
export type PsaKind = (typeof psaKinds)[number];

export const psaFaultSchema = z
  .object({
    method: z.string().optional(),
    /** Glob over the request path, e.g. /v4_6_release/apis/3.0/finance/** */
    path: z.string(),
    /** Status to answer with, in the PSA's error shape; omitted: only delay. */
    status: z.number().int().min(400).max(599).optional(),
    /** Error text the answer carries. Default: "Injected fault." */
    message: z.string().optional(),
    /** Chance (0..1) that a matching request gets the fault. */
    probability: z.number().min(0).max(1).optional(),
    /** Number of matching requests that get the fault; then it is spent. */
    count: z.number().int().positive().optional(),
    retryAfterSec: z.number().int().min(0).optional(),
    delayMs: z.number().int().min(0).optional(),
  })
  .strict()
  .refine((f) => f.status !== undefined || f.delayMs !== undefined, {
    message: 'a fault needs a status or a delayMs',
  });
export type PsaFaultSpec = z.infer<typeof psaFaultSchema>;

/** Scenario fields every PSA scenario has; each PSA's schema extends these. */
export const psaScenarioBase = {
  $schema: z.string().optional(),
  /** Added to every answer. Default: 0 */
  latencyMs: z.number().int().min(0).default(0),
  /** Faults active from the start. Default: none */
  faults: z.array(psaFaultSchema).default([]),
  /** The emulator's clock starts at this instant (ISO 8601); it still runs. Default: now */
  startAt: z.string().datetime({ offset: true }).optional(),
};

export type ActivePsaFault = Active<PsaFaultSpec>;

export interface PsaRequestLogEntry {
  id: number;
  time: string;
  method: string;
  path: string;
  query: string;
  status: number;
  fault: boolean;
  durationMs: number;
  /** The parsed body of a write, for tests that check what was sent. Never credentials. */
  body?: unknown;
}

const maxLogEntries = 50_000;

interface PsaRequestEvent {
  method: string;
  path: string;
}

/** What an in-process test can watch to act while a request is in the emulator's hands. */
export interface PsaRequestEvents {
  /** A request arrived: before the scenario's latency, its faults and its handling. */
  arrived: [PsaRequestEvent];
  /** The emulator ended its answer, also when the client hung up before (the write stands). */
  answered: [PsaRequestEvent & { status: number; clientGone: boolean }];
}

export class ScenarioError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ScenarioError';
  }
}

/** Validates a scenario against its schema; the error lists every problem with its path. */
export function parseWith<T>(schema: z.ZodType<T>, input: unknown): T {
  const parsed = schema.safeParse(input);
  if (!parsed.success)
    throw new ScenarioError(
      `invalid scenario: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`,
    );
  return parsed.data;
}

export class PsaEmulatorBase {
  clockOffsetMs = 0;
  faults: ActivePsaFault[];
  log: PsaRequestLogEntry[] = [];
  private logSeq = 0;
  readonly counters = { requests: 0, writes: 0, byStatus: {} as Record<string, number> };
  /** Requests as they arrive and are answered (this scenario's; a new scenario, new events). */
  readonly requests = new EventEmitter<PsaRequestEvents>();

  constructor(scenario: { faults: PsaFaultSpec[]; startAt?: string | undefined }) {
    this.faults = scenario.faults.map(activeFault);
    if (scenario.startAt) this.clockOffsetMs = Date.parse(scenario.startAt) - Date.now();
  }

  /** Milliseconds since epoch on the emulator's clock. */
  now(): number {
    return Date.now() + this.clockOffsetMs;
  }

  addFault(spec: PsaFaultSpec): ActivePsaFault {
    const fault = activeFault(spec);
    this.faults.push(fault);
    return fault;
  }

  /** The first fault that applies to this request, counted down if it has a count. */
  takeFault(method: string, path: string): ActivePsaFault | undefined {
    return takeFault(this.faults, method, path);
  }

  record(entry: Omit<PsaRequestLogEntry, 'id'>): void {
    this.counters.requests += 1;
    if (entry.method !== 'GET' && entry.status < 400) this.counters.writes += 1;
    const status = String(entry.status);
    this.counters.byStatus[status] = (this.counters.byStatus[status] ?? 0) + 1;
    this.log.push({ id: ++this.logSeq, ...entry });
    if (this.log.length > maxLogEntries) this.log.splice(0, this.log.length - maxLogEntries);
  }
}
