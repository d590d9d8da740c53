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
      void connection.sendNotification(ShowMessageNotification.type, { type: MessageType.Warning, message: `Xencode: ${message}` });
    },
    info(message) {
      logger.info(message);
      void connection.sendNotification(ShowMessageNotification.type, { type: MessageType.Info, message: `Xencode: ${message}` });
    },
  };
}
