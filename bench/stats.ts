// Summaries of repeated measurements: the middle and the spread of a sample, and the trend of
// a series (least-squares slope).

export interface Spread {
  median: number;
  /** First and third quartiles (linear interpolation between the sorted values). */
  q1: number;
  q3: number;
  min: number;
  max: number;
  samples: number;
}

/** The value below which a share `p` (0 to 1) of the sorted values lies, interpolated. */
function quantile(sorted: number[], p: number): number {
  const at = (sorted.length - 1) * p;
  const below = Math.floor(at);
  const above = Math.ceil(at);
  return sorted[below]! + (sorted[above]! - sorted[below]!) * (at - below);
}

export function median(values: number[]): number {
  return spread(values).median;
}

export function spread(values: number[]): Spread {
  if (values.length === 0) throw new Error('no values to summarise');
  const sorted = [...values].sort((a, b) => a - b);
  return {
    median: quantile(sorted, 0.5),
    q1: quantile(sorted, 0.25),
    q3: quantile(sorted, 0.75),
    min: sorted[0]!,
    max: sorted.at(-1)!,
    samples: sorted.length,
  };
}

/** Least-squares slope of `values` against their position (1, 2, 3…): change per step. */
export function trendPerStep(values: number[]): number {
  const n = values.length;
  if (n < 2) return 0;
  const meanX = (n + 1) / 2;
  const meanY = values.reduce((sum, v) => sum + v, 0) / n;
  let covariance = 0;
  let variance = 0;
  values.forEach((y, i) => {
    const dx = i + 1 - meanX;
    covariance += dx * (y - meanY);
    variance += dx * dx;
  });
  return covariance / variance;
}
