import { z } from 'zod';
import { ErrorCodes, ResponseError } from 'vscode-languageserver/node';
import type { Logger } from '../log.js';

/**
 * The shapes of the parameters Xencode reads, checked before a handler runs: a request with a wrong type answers
 * InvalidParams naming the field (not InternalError with a stack's words), and a notification with one is logged
 * and ignored. Only the fields the handlers use are checked; everything else passes through untouched.
 */

/** LSP positions are unsigned integers; negative ones are tolerated (and clamped) as before. */
const position = z.object({ line: z.number().int(), character: z.number().int() });
const range = z.object({ start: position, end: position });
const textDocument = z.object({ uri: z.string() });

export const PositionParams = z.object({ textDocument, position });

export const CodeActionParams = z.object({
  textDocument,
  range,
  context: z.object({
    diagnostics: z.array(z.object({ range, message: z.string() })).optional(),
    only: z.array(z.string()).optional(),
  }),
});

export const ExecuteCommandParams = z.object({ command: z.string(), arguments: z.array(z.unknown()).optional() });

export const DidOpenParams = z.object({
  textDocument: z.object({ uri: z.string(), languageId: z.string(), version: z.number().int(), text: z.string() }),
});

export const DidChangeParams = z.object({
  textDocument: z.object({ uri: z.string(), version: z.number().int().nullable().optional() }),
  // No range (or null): the whole text.
  contentChanges: z.array(z.object({ range: range.nullable().optional(), text: z.string() })),
});

export const DidCloseParams = z.object({ textDocument });

/** `params` when it has the shape, else a ResponseError(InvalidParams) that names the first wrong field. */
export function checkRequest<S extends z.ZodTypeAny>(method: string, schema: S, params: unknown): void {
  const problem = shapeProblem(schema, params);
  if (problem) throw new ResponseError(ErrorCodes.InvalidParams, `xencode: ${method}: ${problem}`);
}

/** Whether a notification's params have the shape; a wrong one is logged (a notification has no reply). */
export function checkNotification<S extends z.ZodTypeAny>(method: string, schema: S, params: unknown, logger: Logger): boolean {
  const problem = shapeProblem(schema, params);
  if (problem) logger.warn(`${method} ignored: ${problem}`);
  return !problem;
}

function shapeProblem(schema: z.ZodTypeAny, params: unknown): string | undefined {
  const result = schema.safeParse(params);
  if (result.success) return undefined;
  const issue = result.error.issues[0]!;
  const path = ['params', ...issue.path].join('.');
  return `${path}: ${issue.message.toLowerCase()}`;
}
