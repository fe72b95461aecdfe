import { expect } from 'chai';
import { html } from '../../src/server/views/layout.js';
import { OperatorPage, type OperatorPartnerRow } from '../../src/server/views/operator.js';

const viewer = { email: 'ops@example.test', role: 'operator' as const, csrfToken: 'csrf' };
const page = (partners: OperatorPartnerRow[]) =>
  html(OperatorPage({ viewer, partners, unknownSkus: [], brokenChannels: 0 }));
/** The cells of each partner row, as text. */
const rows = (document: string) =>
  [...document.matchAll(/<tr data-testid="partner-row">([\s\S]*?)<\/tr>/g)].map((row) =>
    [...row[1]!.matchAll(/<td>([\s\S]*?)<\/td>/g)].map((cell) =>
      cell[1]!.replace(/<[^>]+>/g, '').trim(),
    ),
  );

describe("the operators' page", () => {
  it('says there are no partners yet instead of an empty table', () => {
    const document = page([]);
    expect(document).to.contain('data-testid="no-partners"');
    expect(document).to.not.contain('<table>');
  });

  it('shows each partner’s consent, last refresh and failures', () => {
    const at = new Date('2026-06-01T10:30:00Z');
    const document = page([
      {
        id: 'p1',
        name: 'Fresh Partner',
        users: [],
        consent: 'none',
        lastRun: null,
      },
      {
        id: 'p2',
        name: 'Busy Partner',
        users: ['a@busy.example'],
        consent: 'needs_reconsent',
        lastRun: { status: 'completed', at, failed: 3, noAccess: 2 },
      },
      {
        id: 'p3',
        name: 'Quiet Partner',
        users: ['b@quiet.example'],
        consent: 'active',
        lastRun: { status: 'stopped', at, failed: 0, noAccess: 0 },
      },
    ]);
    expect(document).to.match(/<th scope="col">Status<\/th><th scope="col">Last refresh<\/th>/);
    expect(document).to.contain('<th scope="col">Failures</th>');
    expect(rows(document).map((cells) => cells.slice(0, 5))).to.deep.equal([
      ['Fresh Partner', 'none', 'No consent yet', 'never', '—'],
      [
        'Busy Partner',
        'a@busy.example',
        'Consent must be granted again',
        'Completed 2026-06-01 10:30 UTC',
        '3 failed, 2 without access',
      ],
      [
        'Quiet Partner',
        'b@quiet.example',
        'Consent granted',
        'Stopped 2026-06-01 10:30 UTC',
        'none',
      ],
    ]);
  });
});
