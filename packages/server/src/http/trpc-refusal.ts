import { toLabelerError } from '@labeler/core';
import { getErrorShape } from '@trpc/server/unstable-core-do-not-import';
import type { ErrorRequestHandler } from 'express';
import { appRouter } from '../trpc/app-router.js';
import { toTRPCError } from '../trpc/errors.js';
import { closesConnection, retryAfterFor } from './envelope.js';

/**
 * A /trpc request refused before tRPC reads it (URL NUL, ?input= or body checks, size, deadline) answers
 * in tRPC's own error shape, built by the router's error formatter, so a tRPC client sees the
 * LabelerError code in `data.labeler` as it does for any procedure error (one per call of a batch).
 */
export const trpcRefusal: ErrorRequestHandler = (err, req, res, next) => {
  if (res.headersSent) return next(err);
  const error = toLabelerError(err);
  const trpcError = toTRPCError(error);
  const paths = req.path.replace(/^\//, '').split(',');
  const shape = (path: string) => ({
    error: getErrorShape({
      config: appRouter._def._config,
      error: trpcError,
      type: 'unknown',
      path,
      input: undefined,
      ctx: undefined,
    }),
  });
  const retryAfter = retryAfterFor(error);
  if (retryAfter) res.setHeader('Retry-After', retryAfter);
  if (closesConnection(error.status)) res.setHeader('Connection', 'close');
  res.status(error.status).json(req.query.batch === '1' ? paths.map(shape) : shape(paths[0] ?? ''));
};
