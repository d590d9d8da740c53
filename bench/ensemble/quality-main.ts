/**
 * Prints the simulated quality benchmark of the fusion methods (a markdown section) to stdout.
 * Usage: npm run build && node dist/bench/ensemble/quality-main.js [--cases N] [--seed S]
 */
import { runQualityBenchmark } from './quality.js';

function option(name: string): number | undefined {
  const at = process.argv.indexOf(`--${name}`);
  if (at < 0) return undefined;
  const value = Number(process.argv[at + 1]);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`--${name} expects a positive integer`);
  return value;
}

const cases = option('cases');
const seed = option('seed');
process.stdout.write((await runQualityBenchmark({ ...(cases !== undefined ? { cases } : {}), ...(seed !== undefined ? { seed } : {}) })) + '\n');
