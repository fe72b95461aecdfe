// The demo process's wall clock, moved back so DEMO_DAYS can replay past days. Only Date is
// replaced: the service, MSAL, the emulator (its clock is Date.now() plus its own offset) and
// PGlite (Emscripten reads Date.now(), so now() and every `at` default follow) all read it.
// Timers, performance.now() and Redis's TIME (the pacer's clock) keep real time, so timeouts
// and pacing are unaffected; TLS is checked by OpenSSL on the real clock, and certificates
// generated while the clock is back start earlier, which it accepts.
import { install } from '@sinonjs/fake-timers';

const dayMs = 86_400_000;

export interface DemoClock {
  /** The real time, in milliseconds since epoch. */
  realNow(): number;
  /** Sets the wall clock `days` before the real time (it keeps running from there). */
  daysBeforeNow(days: number): void;
  /** The real clock again, for good. */
  restore(): void;
}

export function moveClockBack(days: number): DemoClock {
  const realNow = () => performance.timeOrigin + performance.now();
  const clock = install({
    now: realNow() - days * dayMs,
    toFake: ['Date'],
    // Date keeps running, in 10 ms steps, between the days set below.
    shouldAdvanceTime: true,
    advanceTimeDelta: 10,
  });
  let installed = true;
  return {
    realNow,
    daysBeforeNow: (n) => clock.setSystemTime(realNow() - n * dayMs),
    restore: () => {
      if (installed) clock.uninstall();
      installed = false;
    },
  };
}
