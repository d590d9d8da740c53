import { MessageType, ShowMessageNotification, type Connection } from 'vscode-languageserver/node';
import type { UserNotifier } from '../engine/health.js';
import type { Logger } from '../log.js';

/**
 * Messages for the user as `window/showMessage` notifications. (The library's showWarningMessage sends
 * `window/showMessageRequest`, which some clients answer with a prompt that blocks the editor.)
 */
export function showMessageNotifier(connection: Connection, logger: Logger): UserNotifier {
  return {
    warn(message) {
      logger.warn(message);
      void connection.sendNotification(ShowMessageNotification.type, { type: MessageType.Warning, message: withProductName(message) });
    },
    info(message) {
      logger.info(message);
      void connection.sendNotification(ShowMessageNotification.type, { type: MessageType.Info, message: withProductName(message) });
    },
  };
}

/**
 * "Xencode: …", so the user knows which server speaks; a message that already names Xencode first ("Xencode
 * cannot create its data directory …") is not prefixed again.
 */
export function withProductName(message: string): string {
  return /^xencode\b/i.test(message) ? message : `Xencode: ${message}`;
}
