import type { Response, Router } from 'express';
import type { PsaEmulatorBase, PsaFaultSpec, PsaKind } from './base.js';

/** The current state of a running PSA emulator; PUT /_emulator/scenario replaces both. */
export interface PsaHolder<State> {
  state: State;
  base: PsaEmulatorBase;
}

/**
 * One PSA as the emulator plays it. The shared server gives it HTTPS, the request log,
 * faults, the clock and the control API; the definition brings the PSA's scenario, entities,
 * routes and error shape.
 */
export interface PsaEmulatorDefinition<Scenario extends PsaScenarioCommon, State> {
  kind: PsaKind;
  /** Validates a scenario document; throws ScenarioError naming each problem. */
  parseScenario(input: unknown): Scenario;
  /** The scenario used when none is given (emulator/psa/scenarios/<kind>.json). */
  defaultScenario(): Scenario;
  createState(scenario: Scenario, base: PsaEmulatorBase): State;
  /** The PSA's own API, mounted at the root; `url` is the emulator's origin. */
  router(state: State, base: PsaEmulatorBase, url: () => string): Router;
  /** An error answer (an injected fault, an unknown path) in the PSA's own shape. */
  sendError(res: Response, status: number, message: string): void;
  /** The live entities, for GET /_emulator/state. */
  snapshot(state: State): unknown;
  /** Controls of this PSA only, added under /_emulator. */
  control?(router: Router, holder: () => PsaHolder<State>): void;
  /** What a client needs besides the URL (account names, ids; never a secret). */
  describe?(scenario: Scenario): Record<string, unknown>;
}

export interface PsaScenarioCommon {
  latencyMs: number;
  faults: PsaFaultSpec[];
  startAt?: string | undefined;
}
