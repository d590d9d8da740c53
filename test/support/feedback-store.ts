// A data directory with a feedback store holding the given records, as a running server would have left it: for
// the commands that read the store (xencode feedback …, xencode train).
import { FeedbackLog } from '../../server/feedback/feedback-log.js';
import type { FeedbackRecord } from '../../server/feedback/record.js';
import { openLmdbStore } from '../../server/store/lmdb-store.js';

export async function seedFeedbackStore(dataDir: string, records: readonly FeedbackRecord[]): Promise<void> {
  const opened = await openLmdbStore({ dataDir });
  if (!opened.store) throw new Error(`cannot open the store in ${dataDir}: ${opened.problem}`);
  const log = new FeedbackLog({ maxEvents: 1_000_000, maxDays: 36_500 });
  log.attach(opened.store);
  for (const record of records) log.add(record);
  await log.close();
  await opened.store.close();
}
