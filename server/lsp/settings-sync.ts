import type { Connection } from 'vscode-languageserver/node';
import { SETTING_SECTIONS, validateSettings, type Settings } from '../config.js';
import type { UserNotifier } from '../engine/health.js';
import type { Logger } from '../log.js';


/**
 * Where the settings come from: `initializationOptions.xencode` (or the settings themselves at the top level, as
 * Helix's `config` and some clients send them), then the `xencode` section of `workspace/configuration`, which
 * wins when the client has one. `didChangeConfiguration` re-reads.
 */
export function settingsFromInitializationOptions(options: unknown): unknown {
  if (!options || typeof options !== 'object') return undefined;
  const record = options as Record<string, unknown>;
  if ('xencode' in record) return record.xencode;
  return Object.keys(record).some((k) => SETTING_SECTIONS.includes(k)) ? record : undefined;
}

export class SettingsSync {
  private fromInit: unknown;
  private reported = new Set<string>();

  constructor(
    private readonly connection: Connection,
    private readonly logger: Logger,
    private readonly notifier: UserNotifier,
    private readonly canPull: boolean,
    private readonly apply: (settings: Settings) => void,
  ) {}

  /** The settings at initialize, before the client can answer requests. */
  initial(initializationOptions: unknown): Settings {
    this.fromInit = settingsFromInitializationOptions(initializationOptions);
    return this.validate(this.fromInit);
  }

  /** Pulls `workspace/configuration` (after `initialized`), or uses the pushed value from didChangeConfiguration. */
  async refresh(pushed?: unknown): Promise<void> {
    let raw: unknown = pushed;
    if (raw === undefined && this.canPull) {
      try {
        const [section] = (await this.connection.workspace.getConfiguration([{ section: 'xencode' }])) as unknown[];
        if (section !== null && section !== undefined && !(typeof section === 'object' && Object.keys(section).length === 0)) raw = section;
      } catch (err) {
        this.logger.debug(`workspace/configuration failed: ${(err as Error).message}`);
      }
    }
    this.apply(this.validate(raw ?? this.fromInit));
  }

  private validate(raw: unknown): Settings {
    const { settings, problems } = validateSettings(raw);
    const fresh = problems.filter((p) => !this.reported.has(p));
    for (const p of problems) this.reported.add(p);
    if (fresh.length > 0) {
      // One message for the batch; the notifier logs it too.
      this.notifier.warn(`settings: ${fresh.join('; ')}`);
    }
    return settings;
  }
}
