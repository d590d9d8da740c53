/**
 * Providers as data: which backend serves a configured model. The engine asks here and never names a provider;
 * adding one is adding a factory.
 */
import { modelIdentity, modelLocations, type ModelSetting, type Provider, type Settings } from '../config.js';
import type { BackendEnvironment, CompletionBackend } from './backend.js';
import { LlamaCppBackend } from './llama-cpp-backend.js';
import { ManagedLlamaCppBackend } from './managed-llama-cpp-backend.js';
import { ManagedLlamaServer } from './managed-llama-server.js';
import { OllamaBackend } from './ollama-backend.js';
import { OpenAIBackend } from './openai-backend.js';
import { ReplicaBackend } from './replica-backend.js';

/** The settings a backend is made from. */
type BackendSettings = Pick<Settings, 'ollama' | 'llamaCpp'>;

/** Makes the backend for one server (`location`: a server root, or an OpenAI base URL) of a model. */
type ProviderFactory = (model: ModelSetting, location: string, settings: BackendSettings, environment: BackendEnvironment) => CompletionBackend;

const FACTORIES: Readonly<Record<Provider, ProviderFactory>> = {
  ollama: (model, host, settings) => new OllamaBackend({ model: model.name, host, keepAlive: settings.ollama.keepAlive }),
  'llama.cpp': (model, host) => new LlamaCppBackend({ model: model.name, host }),
  openai: (model, baseUrl, _settings, environment) =>
    new OpenAIBackend({ model: model.name, baseUrl, apiKeyEnv: model.apiKeyEnv, env: environment.env, fimTemplate: model.fimTemplate }),
};

/** The backend for a configured model: one server, its replicas behind one backend, or a llama-server of its own. */
export function createBackend(model: ModelSetting, settings: BackendSettings, environment: BackendEnvironment): CompletionBackend {
  if (model.gguf !== undefined) return managedBackend(model, model.gguf, settings, environment);
  const factory = FACTORIES[model.provider];
  const backends = modelLocations(model, settings.ollama.host).map((location) => factory(model, location, settings, environment));
  return backends.length === 1 ? backends[0]! : new ReplicaBackend(backends, { environment });
}

/**
 * What makes two configured models the same backend (and so one slot pool, one managed server): everything the
 * backend is made from. Weight and concurrency are not part of it; they apply to the backend.
 */
export function backendKey(model: ModelSetting, settings: BackendSettings): string {
  const made = model.provider === 'ollama' ? settings.ollama.keepAlive : model.gguf !== undefined ? JSON.stringify([settings.llamaCpp, model.concurrency ?? 1]) : '';
  return JSON.stringify([modelIdentity(model, settings.ollama.host), model.apiKeyEnv ?? '', model.fimTemplate ?? '', made]);
}

/** A GGUF file served by a llama-server Xencode runs (started when first needed, stopped with the backend). */
function managedBackend(model: ModelSetting, gguf: string, settings: BackendSettings, environment: BackendEnvironment): CompletionBackend {
  const { serverPath, contextSize, threads, args } = settings.llamaCpp;
  const server = new ManagedLlamaServer({
    gguf,
    label: model.name,
    serverPath,
    slots: model.concurrency ?? 1,
    contextSize,
    threads,
    extraArgs: args,
    environment,
    host: gguf,
  });
  return new ManagedLlamaCppBackend({ model: model.name, host: gguf }, server);
}
