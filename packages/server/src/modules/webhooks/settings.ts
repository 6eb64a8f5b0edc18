import type { AppConfig } from '../../config/env.js';
import { urlPolicyOf, type UrlPolicy } from './url-guard.js';

export interface WebhookSettings {
  /** Seconds before retry n (n = 1…): after the last one a delivery has failed. */
  retrySchedule: number[];
  timeoutMs: number;
  disableAfterFailures: number;
  policy: UrlPolicy;
}

export function webhookSettingsOf(config: AppConfig): WebhookSettings {
  return {
    retrySchedule: config.LABELER_WEBHOOK_RETRY_SCHEDULE.split(',').map(Number),
    timeoutMs: config.LABELER_WEBHOOK_TIMEOUT_MS,
    disableAfterFailures: config.LABELER_WEBHOOK_DISABLE_AFTER_FAILURES,
    policy: urlPolicyOf(config.NODE_ENV, config.LABELER_WEBHOOK_ALLOW_PRIVATE),
  };
}

/** ±20 % jitter, so receivers coming back are not hit by every subscription's retry at once. */
export function jittered(seconds: number): number {
  return seconds * (0.8 + Math.random() * 0.4);
}
