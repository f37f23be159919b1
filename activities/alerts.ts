/**
 * The alert activity: workflows call `notify` once per incident (failed
 * games, failed checks, a timeout, a dependency given up on). It throws when
 * the notifier fails, so Temporal retries it; with no notifier configured it
 * logs the incident and returns.
 */
import type { Config } from '../infra/config';
import { createLogger, type Logger } from '../infra/logger';
import { alertMessage, createNotifier, type Incident, type Notifier } from '../infra/notifier';

export type { Incident, IncidentKind } from '../infra/notifier';

export interface AlertActivityOptions {
  readonly log?: Logger;
  /** Overrides the notifier built from the config (tests). */
  readonly notifier?: Notifier;
}

/** The alert activities of a slave: `{ notify }`. */
export function createAlertActivities(config: Config, options: AlertActivityOptions = {}) {
  const log = options.log ?? createLogger('alerts');
  const notifier = options.notifier ?? createNotifier({ webhook: config.alertWebhook, command: config.alertCommand });
  return {
    /** Send one alert for `incident`; throws (Temporal retries) if a configured target fails. */
    async notify(incident: Incident): Promise<void> {
      const message = alertMessage(config.prefix, incident);
      const fields = { incident: message.incidentId, games: message.gameCount };
      if (!notifier) {
        // Nobody to tell: the log is the alert (set alertWebhook or alertCommand to be paged).
        log.warn(message.text, fields);
        return;
      }
      await notifier.send(message);
      log.info(`alert sent to ${notifier.targets.join(' and ')}: ${message.text}`, fields);
    },
  };
}
