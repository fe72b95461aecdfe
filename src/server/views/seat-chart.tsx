import type { ProductSeries, SeatField, SeatLine } from '../../domain/seat-history.js';
import { day } from './layout.js';

// Drawn in a fixed coordinate box that scales with the page: at 375 px the whole box fits.
const width = 320;
const height = 120;
const pad = { left: 30, right: 8, top: 8, bottom: 20 };
const plotWidth = width - pad.left - pad.right;
const plotHeight = height - pad.top - pad.bottom;

const lineLabel: Record<SeatField, string> = {
  purchased: 'Purchased',
  assigned: 'Assigned',
  billed: 'Billed by Microsoft',
  psaBilled: 'Billed in the PSA',
};
const lineClass: Record<SeatField, string> = {
  purchased: 'seat-purchased',
  assigned: 'seat-assigned',
  billed: 'seat-billed',
  psaBilled: 'seat-psa',
};

const round = (n: number) => Math.round(n * 10) / 10;

/** The SVG path of a step line: each value holds until the next change. */
export function stepPath(line: SeatLine, from: Date, to: Date, max: number): string {
  const span = Math.max(1, to.getTime() - from.getTime());
  const x = (at: Date) =>
    round(
      pad.left + ((Math.max(at.getTime(), from.getTime()) - from.getTime()) / span) * plotWidth,
    );
  const y = (value: number) =>
    round(pad.top + plotHeight - (value / Math.max(1, max)) * plotHeight);
  const [first, ...rest] = line.points;
  if (!first) return '';
  let d = `M${x(first.at)} ${y(first.value)}`;
  let last = first.value;
  for (const p of rest) {
    d += ` H${x(p.at)}`;
    if (p.value !== last) d += ` V${y(p.value)}`;
    last = p.value;
  }
  return d;
}

/** What the chart shows, in words: each line's first and last value over the window. */
function chartDescription(series: ProductSeries, days: number): string {
  const parts = series.lines.map((l) => {
    const start = l.points[0]?.value ?? 0;
    const end = l.points.at(-1)?.value ?? 0;
    const label = lineLabel[l.field].toLowerCase();
    const changes = l.points.length - 2;
    return start === end && changes <= 0
      ? `${label} stayed at ${end}`
      : `${label} went from ${start} to ${end}${changes > 0 ? ` in ${changes} ${changes === 1 ? 'change' : 'changes'}` : ''}`;
  });
  return `Over the last ${days} days, ${parts.join('; ')}.`;
}

/** A product's seat counts over the window as a small inline chart, with a title and words. */
export function SeatChart({ series, days }: { series: ProductSeries; days: number }) {
  const max = Math.max(1, ...series.lines.flatMap((l) => l.points.map((p) => p.value)));
  const id = `chart-${series.productKey.replace(/[^a-zA-Z0-9-]/g, '-')}`;
  return (
    <figure class="seat-chart">
      <svg
        viewBox={`0 0 ${width} ${height}`}
        role="img"
        aria-labelledby={`${id}-title ${id}-desc`}
        data-testid="seat-chart"
      >
        <title id={`${id}-title`}>{`${series.productName}: seats over ${days} days`}</title>
        <desc id={`${id}-desc`}>{chartDescription(series, days)}</desc>
        <line
          class="axis"
          x1={pad.left}
          y1={pad.top + plotHeight}
          x2={width - pad.right}
          y2={pad.top + plotHeight}
        />
        <line class="axis" x1={pad.left} y1={pad.top} x2={pad.left} y2={pad.top + plotHeight} />
        <text x={pad.left - 4} y={pad.top + 4} text-anchor="end">
          {max}
        </text>
        <text x={pad.left - 4} y={pad.top + plotHeight} text-anchor="end">
          0
        </text>
        <text x={pad.left} y={height - 4}>
          {day(series.from)}
        </text>
        <text x={width - pad.right} y={height - 4} text-anchor="end">
          {day(series.to)}
        </text>
        {series.lines.map((l) => (
          <path
            class={lineClass[l.field]}
            d={stepPath(l, series.from, series.to, max)}
            data-field={l.field}
          />
        ))}
      </svg>
      <figcaption>
        <strong>{series.productName}</strong>{' '}
        {series.lines.map((l) => (
          <span class={`key ${lineClass[l.field]}`}>
            {lineLabel[l.field]} {l.points.at(-1)?.value ?? 0}
          </span>
        ))}
      </figcaption>
    </figure>
  );
}
