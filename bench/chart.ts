// Requests per second per partner over time, as a plain SVG line chart (no canvas: it would
// need native binaries), with each partner's limit as a dashed line of the same colour.

export interface ChartSeries {
  name: string;
  /** Requests per second, one value per second from the start. */
  perSecond: number[];
  limit: number;
}

const colours = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e'];
const escape = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Counts events per whole second since `start` (ms timestamps). */
export function perSecond(times: number[], start: number, seconds: number): number[] {
  const counts = new Array<number>(seconds).fill(0);
  for (const t of times) {
    const second = Math.floor((t - start) / 1000);
    if (second >= 0 && second < seconds) counts[second]! += 1;
  }
  return counts;
}

export function requestRateChart(title: string, series: ChartSeries[]): string {
  const width = 760;
  const height = 320;
  const left = 56;
  const right = 150;
  const top = 36;
  const bottom = 44;
  const seconds = Math.max(1, ...series.map((s) => s.perSecond.length));
  const peak = Math.max(1, ...series.flatMap((s) => [...s.perSecond, s.limit]));
  const yMax = Math.ceil((peak * 1.15) / 10) * 10;
  const x = (second: number) => left + (second / seconds) * (width - left - right);
  const y = (value: number) => top + (1 - value / yMax) * (height - top - bottom);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${left}" y="20" font-size="14" font-weight="bold">${escape(title)}</text>`,
  ];
  for (let i = 0; i <= 5; i++) {
    const value = (yMax / 5) * i;
    parts.push(
      `<line x1="${left}" x2="${width - right}" y1="${y(value)}" y2="${y(value)}" stroke="#eee"/>`,
      `<text x="${left - 6}" y="${y(value) + 4}" text-anchor="end">${Math.round(value)}</text>`,
    );
  }
  const step = Math.max(1, Math.ceil(seconds / 10 / 5) * 5);
  for (let s = 0; s <= seconds; s += step) {
    parts.push(`<text x="${x(s)}" y="${height - bottom + 16}" text-anchor="middle">${s}</text>`);
  }
  parts.push(
    `<text x="${(left + width - right) / 2}" y="${height - 8}" text-anchor="middle">seconds since the runs started</text>`,
    `<text x="14" y="${(top + height - bottom) / 2}" transform="rotate(-90 14 ${(top + height - bottom) / 2})" text-anchor="middle">requests / s</text>`,
    `<line x1="${left}" x2="${left}" y1="${top}" y2="${height - bottom}" stroke="#333"/>`,
    `<line x1="${left}" x2="${width - right}" y1="${height - bottom}" y2="${height - bottom}" stroke="#333"/>`,
  );
  series.forEach((s, i) => {
    const colour = colours[i % colours.length]!;
    const points = s.perSecond.map((v, second) => `${x(second + 0.5)},${y(v)}`).join(' ');
    parts.push(
      `<line x1="${left}" x2="${width - right}" y1="${y(s.limit)}" y2="${y(s.limit)}" stroke="${colour}" stroke-dasharray="6 4" opacity="0.7"/>`,
      `<polyline points="${points}" fill="none" stroke="${colour}" stroke-width="1.6"/>`,
      `<line x1="${width - right + 12}" x2="${width - right + 32}" y1="${top + 8 + i * 34}" y2="${top + 8 + i * 34}" stroke="${colour}" stroke-width="2"/>`,
      `<text x="${width - right + 38}" y="${top + 12 + i * 34}">${escape(s.name)}</text>`,
      `<text x="${width - right + 38}" y="${top + 26 + i * 34}" fill="#666">limit ${s.limit}/s (dashed)</text>`,
    );
  });
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}
