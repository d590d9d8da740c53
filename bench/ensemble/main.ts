/**
 * The ensemble report: overhead of each method against the models alone, and quality by simulation.
 *
 *   npm run build && node dist/bench/ensemble/main.js [--rounds 20] [--cases 600]
 *
 * Writes bench/results/ensemble.md.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { PACKAGE_ROOT } from '../../server/paths.js';
import { runOverheadBenchmark } from './overhead.js';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '20' }, cases: { type: 'string', default: '600' } } });
const overhead = await runOverheadBenchmark(Number(values.rounds));
let quality = '';
try {
  const { runQualityBenchmark } = (await import('./quality.js')) as { runQualityBenchmark: (o: { cases: number }) => Promise<string> };
  quality = await runQualityBenchmark({ cases: Number(values.cases) });
} catch (err) {
  quality = `## Quality (simulation)\n\nNot run: ${(err as Error).message}\n`;
}
const report = `# Ensemble

${overhead}
${quality}
Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}.
Command: \`npm run build && node dist/bench/ensemble/main.js --rounds ${values.rounds} --cases ${values.cases}\`
`;
mkdirSync(join(PACKAGE_ROOT, 'bench', 'results'), { recursive: true });
writeFileSync(join(PACKAGE_ROOT, 'bench', 'results', 'ensemble.md'), report);
console.log(report);
