/** Job kinds of the annotation module (kept apart so the service and the definitions share them). */
export const IMPORT_JOB = 'annotation.import';
export const PULL_JOB = 'annotation.pull';
export const SYNC_TASK_JOB = 'annotation.sync-task';
