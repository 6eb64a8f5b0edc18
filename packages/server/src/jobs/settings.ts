import { JOB_QUEUES, type JobQueue } from '@labeler/core';

/** Default per-queue timeouts (seconds), after Label Studio's RQ setup: 180 s, and 10 h for long storage work. */
export const QUEUE_TIMEOUT_SECONDS: Readonly<Record<JobQueue, number>> = {
  critical: 180,
  high: 180,
  default: 180,
  low: 180,
  storage: 36_000,
};

/** pg-boss queue that receives jobs whose last attempt was lost (worker killed); see runtime.ts. */
export const DEAD_LETTER_QUEUE = 'labeler-dead-letter';

/** Knobs of the worker loop; production defaults, tests shorten them. */
export interface JobTuning {
  /** How often an idle worker asks for work. pg-boss minimum 0.5. */
  pollingIntervalSeconds: number;
  /** Jobs claimed per fetch and run concurrently, per queue. */
  batchSize: Readonly<Record<JobQueue, number>>;
  /** A worker that stops heartbeating this long is presumed dead and its job retried (pg-boss minimum 10). */
  heartbeatSeconds: number;
  /** How often pg-boss's supervisor runs, and how often each queue is checked for expired or heartbeat-less jobs. */
  superviseIntervalSeconds: number;
  monitorIntervalSeconds: number;
  /** Default delay before the first retry; doubles per attempt (with jitter) up to retryDelayMaxSeconds. */
  retryDelaySeconds: number;
  retryDelayMaxSeconds: number;
  /** How often running jobs are checked for cancel requests. */
  cancelPollMs: number;
  /** Minimum interval between progress writes of one job. */
  progressThrottleMs: number;
  /** On stop, how long running jobs may finish before they are aborted (and retried elsewhere). */
  shutdownGraceMs: number;
  /** Extra time pg-boss allows beyond a job's own timeout before it presumes the attempt lost. */
  expiryGraceSeconds: number;
}

export const DEFAULT_TUNING: JobTuning = {
  pollingIntervalSeconds: 1,
  batchSize: { critical: 4, high: 4, default: 4, low: 2, storage: 1 },
  heartbeatSeconds: 30,
  superviseIntervalSeconds: 10,
  monitorIntervalSeconds: 15,
  retryDelaySeconds: 10,
  retryDelayMaxSeconds: 600,
  cancelPollMs: 1000,
  progressThrottleMs: 250,
  shutdownGraceMs: 10_000,
  expiryGraceSeconds: 60,
};

export function resolveTuning(overrides: Partial<JobTuning> = {}): JobTuning {
  return {
    ...DEFAULT_TUNING,
    ...overrides,
    batchSize: { ...DEFAULT_TUNING.batchSize, ...overrides.batchSize },
  };
}

export { JOB_QUEUES };

/** pg-boss caps expiration at 24 h. */
export const MAX_EXPIRE_SECONDS = 24 * 3600;

/** pg-boss expiry of a job's attempt: its own timeout plus the grace period, within pg-boss's cap. */
export function expireSecondsFor(timeoutSeconds: number, tuning: JobTuning): number {
  return Math.min(timeoutSeconds + tuning.expiryGraceSeconds, MAX_EXPIRE_SECONDS);
}
