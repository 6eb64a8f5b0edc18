import { LabelerError } from '@labeler/core';
import type { z } from 'zod';

/** A dataset file that breaks its format's rules: names the file and the field so a person can fix it. */
export function formatInvalid(file: string, field: string, message: string, cause?: unknown): LabelerError {
  return new LabelerError('DATASET_FORMAT_INVALID', `${file}: field "${field}" ${message}`, {
    details: { file, field },
    ...(cause === undefined ? {} : { cause }),
  });
}

/** Validates parsed JSON/YAML against a zod schema; the first issue becomes DATASET_FORMAT_INVALID. */
export function parseWith<T>(schema: z.ZodType<T>, value: unknown, file: string): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const field = issue.path.map(String).join('.') || '(root)';
  throw formatInvalid(file, field, issue.message);
}
