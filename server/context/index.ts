export { buildCompletionContext, isIdentifierCodePoint, type ContextOptions } from './context-builder.js';
export { decideCompletion, onlyClosersFollow } from './completion-decision.js';
export type { CompletionContext, CompletionDecision, SkipReason } from './types.js';
