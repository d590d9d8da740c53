/** The contract between the engine and a model server: Ollama, llama.cpp's llama-server, any OpenAI-compatible server. */
import type { Logger } from '../log.js';

/** Which kind of server a model is on (`models[].provider`). */
export type ProviderName = 'ollama' | 'llama.cpp' | 'openai';

/** How messages name each provider. */
export const PROVIDER_LABELS: Readonly<Record<ProviderName, string>> = { ollama: 'Ollama', 'llama.cpp': 'llama-server', openai: 'the OpenAI-compatible server' };

export interface FimRequest {
  /** Code before the cursor, including any header lines from outside the window. */
  readonly prefix: string;
  readonly suffix: string;
  readonly maxTokens: number;
  /** Aborting stops the model call at once (the HTTP request is closed, so the server stops generating). */
  readonly signal: AbortSignal;
  readonly temperature?: number;
  readonly seed?: number;
  /** Ask for token log-probabilities (only when the server supports them). */
  readonly logprobs?: boolean;
  /**
   * The lines from outside the window that `prefix` starts with (imports, enclosing headers), when there are any:
   * a server with a place for extra context (llama-server's /infill `input_extra`) may send them there instead.
   */
  readonly header?: string;
  /** The document's path relative to its workspace (or its file name), for servers that label context by file. */
  readonly filename?: string;
}

export interface FimAnswer {
  readonly model: string;
  readonly text: string;
  /** Milliseconds from the call to the last token. */
  readonly latencyMs: number;
  /** Milliseconds from the call to the first token (undefined when nothing streamed). */
  readonly firstTokenMs?: number;
  /** Why generation stopped: 'stop', 'length', … as the server says. */
  readonly doneReason?: string;
  /** Mean log-probability of the generated tokens, when asked for and returned. */
  readonly meanLogprob?: number;
  /** Stop sequences of the template used; post-processing cuts at them too. */
  readonly stopTokens: readonly string[];
  /**
   * The text the model saw, its FIM template filled in: what preference training must be given as the prompt.
   * With a server that fills the template itself (Ollama's `suffix`), the family's template filled the same way;
   * undefined when the family is unknown.
   */
  readonly prompt?: string;
}

export type BackendErrorKind =
  | 'unreachable' // nothing listens at the host
  | 'model-not-found' // the server answered 404 for the model
  | 'no-insert' // the model cannot fill in the middle and no template is known for it
  | 'busy' // 503: the server's queue is full
  | 'server' // 5xx or an error line in the stream
  | 'bad-request' // other 4xx
  | 'unauthorized' // 401/403: the API key is missing or wrong
  | 'wrong-provider' // the server at the URL speaks another provider's API (an Ollama URL given as llama.cpp…)
  | 'loading' // the server is up and still loading the model (llama-server /health 503): transient, not a failure
  | 'aborted'; // the caller aborted

/** A failure with a message written for the user: what happened and what to do about it. */
export class BackendError extends Error {
  override readonly name = 'BackendError';
  constructor(
    readonly kind: BackendErrorKind,
    message: string,
    readonly model: string,
    readonly host: string,
  ) {
    super(message);
  }
}

export interface ChatMessage {
  readonly role: 'system' | 'user' | 'assistant';
  readonly content: string;
}

export interface ChatRequest {
  readonly messages: readonly ChatMessage[];
  readonly maxTokens: number;
  /** Aborting stops the model call at once (the HTTP request is closed, so the server stops generating). */
  readonly signal: AbortSignal;
  /** Default 0. */
  readonly temperature?: number;
  /** Called with the text so far as chunks stream in (progress reporting); never required. */
  readonly onText?: (textSoFar: string) => void;
}

export interface ChatAnswer {
  readonly model: string;
  /** The assistant message content, concatenated. */
  readonly text: string;
  /** Milliseconds from the call to the last token. */
  readonly latencyMs: number;
  /** Milliseconds from the call to the first token of content (undefined when nothing streamed). */
  readonly firstTokenMs?: number;
  /** Why generation stopped: 'stop', 'length', … as the server says. */
  readonly doneReason?: string;
}

/**
 * One model on one model server, as the engine uses it: fill-in-the-middle completions (`complete`) for inline
 * suggestions, and chat (`chat`) for code actions and hovers (refactor, fix, explain). Both stream and stop at
 * once when the request's signal aborts; failures are thrown as BackendError.
 */
export interface CompletionBackend {
  readonly model: string;
  /** Where the server is (its root URL; an OpenAI base URL ends in /v1); with replicas, the first one's. */
  readonly host: string;
  readonly provider: ProviderName;
  complete(request: FimRequest): Promise<FimAnswer>;
  /** Answers a conversation with the assistant's next message (the model needs a chat/instruct template). */
  chat(request: ChatRequest): Promise<ChatAnswer>;
  /** Loads the model into memory ahead of the first request; failures are reported, never thrown. */
  warm(): Promise<void>;
  /**
   * A cheap check that the server is up and serves this model (Ollama /api/version, llama-server /health,
   * OpenAI /v1/models), within the signal; throws the BackendError a request would. Replicas probe a replica
   * they took out with it.
   */
  probe?(signal: AbortSignal): Promise<void>;
  /**
   * Requests the server can serve at once, when it says (llama-server's slot count); the engine's slot pool for the
   * model follows it. Undefined until known.
   */
  readonly serverSlots?: number;
  /** Stops what the backend owns (a managed llama-server, background probes); the engine calls it once, on exit or
   *  when the model leaves the settings. */
  close?(): Promise<void>;
}

/**
 * What a backend may use from its surroundings: a log, a way to tell the user (window/showMessage; the caller
 * shows each message as given, so a backend says a thing once), and the environment (API keys by variable name).
 */
export interface BackendEnvironment {
  readonly logger: Logger;
  readonly notify: (severity: 'info' | 'warn', message: string) => void;
  readonly env: NodeJS.ProcessEnv;
}

/** Tells a chat request's listener the text so far: progress is best effort, a failing listener never costs the answer. */
export function reportText(request: ChatRequest, textSoFar: string): void {
  if (!request.onText) return;
  try {
    request.onText(textSoFar);
  } catch {
    /* best effort */
  }
}
