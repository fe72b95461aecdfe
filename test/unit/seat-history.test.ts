import { expect } from 'chai';
import { render } from 'preact-render-to-string';
import {
  diffSeats,
  microsoftSeatValues,
  seatSeries,
  type RecordedChange,
  type SeatValue,
} from '../../src/domain/seat-history.js';
import { SeatChart, stepPath } from '../../src/server/views/seat-chart.js';

const spb = 'cbdc14ab-d96c-4c30-b9f4-6ada7cdc1d46';
const exchange = '4b9405b0-7788-4568-add1-99614e613b69';

const value = (productKey: string, field: SeatValue['field'], n: number): SeatValue => ({
  productKey,
  skuId: productKey,
  productName: productKey === spb ? 'SPB' : 'EXCHANGESTANDARD',
  field,
  value: n,
});

describe('seat history: the diff between two readings', () => {
  it('records a first reading from 0, marked initial, and leaves zeros out', () => {
    const changes = diffSeats(
      [],
      microsoftSeatValues([
        {
          skuId: spb.toUpperCase(),
          skuPartNumber: 'SPB',
          activeUnits: 20,
          consumedUnits: 0,
          billedQuantity: 20,
        },
      ]),
      true,
    );
    expect(changes.map((c) => [c.skuId, c.field, c.from, c.to, c.initial])).to.deep.equal([
      [spb, 'purchased', 0, 20, true],
      [spb, 'billed', 0, 20, true],
    ]);
  });

  it('records only the values that moved, a product that appears from 0 and one that goes to 0', () => {
    const previous = [
      value(spb, 'purchased', 20),
      value(spb, 'assigned', 12),
      value(exchange, 'purchased', 5),
      value(exchange, 'assigned', 0),
    ];
    const next = [
      value(spb, 'purchased', 25),
      value(spb, 'assigned', 12),
      value('new', 'purchased', 3),
    ];
    const changes = diffSeats(previous, next, false);
    expect(changes.map((c) => [c.productKey, c.field, c.from, c.to, c.initial])).to.deep.equal([
      [spb, 'purchased', 20, 25, false],
      ['new', 'purchased', 0, 3, false],
      [exchange, 'purchased', 5, 0, false],
    ]);
    expect(diffSeats(next, next, false)).to.deep.equal([]);
  });
});

describe('seat history: the 90-day series and its SVG', () => {
  const now = new Date('2027-03-31T00:00:00Z');
  const daysAgo = (n: number) => new Date(now.getTime() - n * 86_400_000);
  const change = (
    at: Date,
    field: RecordedChange['field'],
    from: number,
    to: number,
    productKey = spb,
  ): RecordedChange => ({
    at,
    productKey,
    productName: productKey === spb ? 'SPB' : 'X',
    field,
    from,
    to,
  });

  it('starts each line at the value before the window and steps at each change', () => {
    const [series, ...others] = seatSeries(
      [
        change(daysAgo(30), 'purchased', 20, 25),
        change(daysAgo(200), 'purchased', 0, 20),
        change(daysAgo(120), 'assigned', 0, 10),
        change(daysAgo(10), 'assigned', 10, 12),
        change(daysAgo(5), 'billed', 20, 25),
        // Gone before the window: nothing to draw.
        change(daysAgo(300), 'purchased', 0, 4, 'gone'),
        change(daysAgo(200), 'purchased', 4, 0, 'gone'),
      ],
      now,
      90,
    );
    expect(others).to.deep.equal([]);
    expect(series!.productName).to.equal('SPB');
    const points = (field: string) =>
      series!.lines.find((l) => l.field === field)!.points.map((p) => [p.at, p.value]);
    expect(points('purchased')).to.deep.equal([
      [daysAgo(90), 20],
      [daysAgo(30), 25],
      [now, 25],
    ]);
    expect(points('assigned')).to.deep.equal([
      [daysAgo(90), 10],
      [daysAgo(10), 12],
      [now, 12],
    ]);
    expect(series!.lines.map((l) => l.field)).to.deep.equal(['purchased', 'assigned']);
  });

  it('starts a line at a first reading within the window, not at 0 before it', () => {
    const [series] = seatSeries(
      [
        { ...change(daysAgo(20), 'purchased', 0, 10), initial: true },
        change(daysAgo(5), 'purchased', 10, 13),
      ],
      now,
      90,
    );
    expect(series!.lines[0]!.points.map((p) => [p.at, p.value])).to.deep.equal([
      [daysAgo(20), 10],
      [daysAgo(5), 13],
      [now, 13],
    ]);
    expect(render(SeatChart({ series: series!, days: 90 }))).to.contain(
      'Over the last 90 days, purchased went from 10 to 13 in 1 change; assigned stayed at 0.',
    );
  });

  it('draws step lines in an SVG with a title and a description, no script', () => {
    const [series] = seatSeries(
      [change(daysAgo(100), 'purchased', 0, 20), change(daysAgo(45), 'purchased', 20, 10)],
      now,
      90,
    );
    const purchased = series!.lines[0]!;
    // 30 px left margin, 282 px wide plot, 92 px tall from y=8: half way is x=171, 20 of 20 is y=8.
    expect(stepPath(purchased, series!.from, series!.to, 20)).to.equal('M30 8 H171 V54 H312');
    const svg = render(SeatChart({ series: series!, days: 90 }));
    expect(svg).to.match(
      /<svg viewBox="0 0 320 120" role="img" aria-labelledby="chart-[^"]+-title chart-[^"]+-desc"/,
    );
    expect(svg).to.contain('<title id="chart-' + spb + '-title">SPB: seats over 90 days</title>');
    expect(svg).to.contain(
      'Over the last 90 days, purchased went from 20 to 10 in 1 change; assigned stayed at 0.',
    );
    expect(svg).to.contain('<path class="seat-purchased" d="M30 8 H171 V54 H312"');
    expect(svg).not.to.contain('<script');
  });
});
