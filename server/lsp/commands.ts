import { ErrorCodes, ResponseError, type Connection } from 'vscode-languageserver/node';
import type { CodeActions } from './code-actions.js';
import type { Engine } from '../engine/engine.js';
import type { MemoryStats } from '../memory-stats.js';
import { COMMANDS } from './capabilities.js';
import { ExecuteCommandParams, checkRequest } from './params.js';

/** Accept/reject arrive as `{id, acceptedLength?}`, or as the id itself (some clients pass plain strings). */
function readId(args: unknown[] | undefined): { id: string; acceptedLength?: number } {
  const first = args?.[0];
  if (typeof first === 'string') return { id: first };
  if (first && typeof first === 'object' && typeof (first as { id?: unknown }).id === 'string') {
    const { id, acceptedLength } = first as { id: string; acceptedLength?: unknown };
    return typeof acceptedLength === 'number' && Number.isFinite(acceptedLength) ? { id, acceptedLength } : { id };
  }
  throw new ResponseError(ErrorCodes.InvalidParams, 'expected arguments [{ "id": "<completion id>", "acceptedLength"?: number }]');
}

/** The id carried by a completion item we produced (Copilot-style notifications send the item back). */
function idOfItem(item: unknown): string | undefined {
  const it = item as { command?: { arguments?: unknown[] }; data?: { xencode?: unknown } } | undefined;
  if (typeof it?.data?.xencode === 'string') return it.data.xencode;
  const arg = it?.command?.arguments?.[0] as { id?: unknown } | undefined;
  return typeof arg?.id === 'string' ? arg.id : undefined;
}

/** workspace/executeCommand, and the Copilot language server's feedback notifications so its clients work as-is. */
export function registerCommands(
  connection: Connection,
  engine: () => Engine | undefined,
  actions: CodeActions,
  memory: () => MemoryStats,
): void {
  connection.onExecuteCommand((params, token, progress) => {
    checkRequest('workspace/executeCommand', ExecuteCommandParams, params);
    const e = engine();
    if (!e) throw new ResponseError(ErrorCodes.ServerNotInitialized, 'xencode: initialize first');
    switch (params.command) {
      case COMMANDS.accept: {
        const { id, acceptedLength } = readId(params.arguments);
        return { recorded: e.accept(id, acceptedLength) };
      }
      case COMMANDS.reject:
        return { recorded: e.reject(readId(params.arguments).id) };
      case COMMANDS.stats:
        return { ...e.stats(), memory: memory() };
      case COMMANDS.clearCache:
        return e.clearCache().then(() => ({ cleared: true }));
      case COMMANDS.runAction:
        return actions.execute(params.arguments, token, progress);
      default:
        throw new ResponseError(ErrorCodes.InvalidParams, `unknown command ${params.command}; known: ${Object.values(COMMANDS).join(', ')}`);
    }
  });

  connection.onNotification('textDocument/didShowCompletion', () => {
    // Showing is recorded when the answer is produced; nothing more to do.
  });
  connection.onNotification('textDocument/didPartiallyAcceptCompletion', (params: { item?: unknown; acceptedLength?: number }) => {
    const id = idOfItem(params?.item);
    if (id) engine()?.accept(id, typeof params.acceptedLength === 'number' ? params.acceptedLength : undefined);
  });
}
