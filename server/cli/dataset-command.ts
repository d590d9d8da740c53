import type { Command } from 'commander';
import { registerDatasetMine } from './dataset-mine-command.js';
import { registerDatasetSynth } from './dataset-synth-command.js';

/** `xencode dataset …`: training sets built from sources other than the feedback store (one file per subcommand). */
export function registerDatasetCommand(program: Command): void {
  const dataset = program.command('dataset').description('build training sets for the code actions (refactor, fix, optimize)');
  registerDatasetMine(dataset);
  registerDatasetSynth(dataset);
}
