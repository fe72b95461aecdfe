import DataLoader from 'dataloader';

/** Items a batch holds at most. Default: 100 */
const defaultMaxBatch = 100;

/**
 * Group commit: calls made while a batch of them is being written are written together in the
 * next batch, so the jobs of a busy worker process share round trips to PostgreSQL while an
 * idle one waits no longer than the current turn of the event loop. One batch at a time per
 * group; `write` answers each item's result, or an Error for that item alone.
 */
export function groupCommit<Item, Result>(
  write: (items: readonly Item[]) => Promise<(Result | Error)[]>,
  maxBatch = defaultMaxBatch,
): (item: Item) => Promise<Result> {
  // From a batch's scheduling to the end of the last batch written after it.
  let busy = false;
  // Batches formed while another was scheduled or being written, written one after the other.
  const waiting: (() => void)[] = [];
  const loader = new DataLoader<Item, Result, Item>(
    async (items) => {
      try {
        return await write(items);
      } finally {
        const next = waiting.shift();
        if (next) setImmediate(next);
        else busy = false;
      }
    },
    {
      cache: false,
      maxBatchSize: maxBatch,
      batchScheduleFn: (dispatch) => {
        if (busy) return void waiting.push(dispatch);
        busy = true;
        setImmediate(dispatch);
      },
    },
  );
  return (item) => loader.load(item);
}
