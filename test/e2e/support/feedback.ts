// `xencode feedback stats --json` on an editor-launched server's data directory (XENCODE_DATA_DIR), for the e2e
// tests: the built CLI, run beside the server (LMDB is multi-process) or after it. Asynchronous, so the Ollama
// stand-in in the test's own process keeps answering while the CLI runs. Records reach the disk within the
// server's 250 ms flush window: waitForFeedback polls, bounded.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../../../server/paths.js';

export const CLI = join(PACKAGE_ROOT, 'dist', 'server', 'cli.js');

/** The top-level counts (FeedbackStats) the tests read, and the breakdowns. */
export interface FeedbackCounts {
  shown: number;
  accepted: number;
  partlyAccepted: number;
  rejected: number;
  ignored: number;
  byLanguage: Record<string, { shown: number; accepted: number; partlyAccepted: number; rejected: number }>;
  byModel: Record<string, unknown>;
  byMethod: Record<string, unknown>;
  [key: string]: unknown;
}

/** One run of `xencode feedback stats --json` with XENCODE_DATA_DIR = dataDir; rejects when it fails. */
export function feedbackStats(dataDir: string): Promise<FeedbackCounts> {
  const env: NodeJS.ProcessEnv = { ...process.env, XENCODE_DATA_DIR: dataDir };
  delete env.XENCODE_LOG;
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [CLI, 'feedback', 'stats', '--json'], { env, encoding: 'utf8', timeout: 20_000 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`xencode feedback stats --json (XENCODE_DATA_DIR=${dataDir}): ${err.message}\n${stderr}`));
      try {
        resolve(JSON.parse(stdout) as FeedbackCounts);
      } catch (parseError) {
        reject(new Error(`xencode feedback stats --json: not JSON (${(parseError as Error).message}):\n${stdout}\n${stderr}`));
      }
    });
  });
}

/** Runs the CLI until its stats satisfy `predicate` (a run at a time, 100 ms apart); fails with the last stats. */
export async function waitForFeedback(dataDir: string, predicate: (stats: FeedbackCounts) => boolean, what: string, timeoutMs = 10_000): Promise<FeedbackCounts> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const stats = await feedbackStats(dataDir);
    if (predicate(stats)) return stats;
    if (Date.now() > deadline) {
      const { byModel: _m, byMethod: _x, ...shown } = stats;
      throw new Error(`timed out waiting for ${what} in \`xencode feedback stats --json\`; last: ${JSON.stringify(shown)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
