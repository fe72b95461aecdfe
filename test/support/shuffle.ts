import type { Context, Suite } from 'mocha';

/**
 * Runs every suite's tests and child suites in an order drawn from TEST_SEED (a number; a new
 * one when unset, printed so a failing order can be replayed), or reversed with
 * TEST_SEED=reverse: each test must set up what it needs.
 *
 *   TEST_SEED=1234 npx mocha --no-config --import=tsx --require test/support/shuffle.ts …
 */
const given = process.env.TEST_SEED?.trim();
const reverse = given === 'reverse';
const seed = reverse || !given ? Math.floor(Math.random() * 2 ** 31) : Number(given);
if (!reverse && !Number.isSafeInteger(seed)) {
  throw new Error(`TEST_SEED must be an integer or "reverse", not ${given}`);
}

/** mulberry32: a small seeded generator, enough to pick an order. */
function generator(state: number): () => number {
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

function reorder<T>(items: T[], random: () => number): void {
  if (reverse) {
    items.reverse();
    return;
  }
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
}

function reorderAll(suite: Suite, random: () => number): void {
  reorder(suite.tests, random);
  reorder(suite.suites, random);
  for (const child of suite.suites) reorderAll(child, random);
}

export const mochaHooks = {
  beforeAll(this: Context) {
    const root = this.test?.parent;
    if (!root) return;
    console.log(reverse ? 'Tests in reverse order' : `Tests in shuffled order: TEST_SEED=${seed}`);
    reorderAll(root, generator(seed));
  },
};
