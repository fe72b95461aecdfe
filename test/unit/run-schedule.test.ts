import { expect } from 'chai';
import { latestDailyTime, scheduledRefreshToCheck } from '../../src/domain/run-schedule.js';

const at = (iso: string) => new Date(iso);
const hourMs = 3_600_000;

describe('run schedule: the daily refresh times, and the one whose start is checked', () => {
  it("the latest daily time: today's once its hour has come, else yesterday's", () => {
    expect(latestDailyTime(at('2026-12-01T03:00:00Z'), 3)).to.deep.equal(
      at('2026-12-01T03:00:00Z'),
    );
    expect(latestDailyTime(at('2026-12-01T02:59:59Z'), 3)).to.deep.equal(
      at('2026-11-30T03:00:00Z'),
    );
    expect(latestDailyTime(at('2027-01-01T00:30:00Z'), 3)).to.deep.equal(
      at('2026-12-31T03:00:00Z'),
    );
  });

  it('checks the latest scheduled refresh once its grace has passed, the one before until then', () => {
    expect(scheduledRefreshToCheck(at('2026-12-01T03:59:59Z'), 3, hourMs)).to.deep.equal(
      at('2026-11-30T03:00:00Z'),
    );
    expect(scheduledRefreshToCheck(at('2026-12-01T04:00:00Z'), 3, hourMs)).to.deep.equal(
      at('2026-12-01T03:00:00Z'),
    );
    expect(scheduledRefreshToCheck(at('2026-12-02T02:00:00Z'), 3, hourMs)).to.deep.equal(
      at('2026-12-01T03:00:00Z'),
    );
  });
});
