import { isLabelerError, LabelerError, toLabelerError } from '@labeler/core';
import type { LocalDiskStorageInstance } from '@labeler/core/local-disk';
import express, { type Router } from 'express';
import type { AppServices } from '../app/services.js';
import { sendError } from './envelope.js';

/**
 * Serves presigned local-disk URLs: GET downloads, PUT uploads. The plugin verifies the HMAC signature
 * and expiry; this route only finds the instance and streams.
 */
export function localStorageRouter(app: AppServices): Router {
  const router = express.Router();
  router.all(/^\/(pi_[a-z0-9]+)\/(.+)$/, async (req, res) => {
    const instanceId = req.params[0] as string;
    const key = String(req.params[1])
      .split('/')
      .map((segment) => decodeURIComponent(segment))
      .join('/');
    try {
      if (req.method !== 'GET' && req.method !== 'PUT' && req.method !== 'HEAD') {
        throw new LabelerError('METHOD_NOT_ALLOWED', 'Presigned storage URLs accept GET, HEAD and PUT.');
      }
      if (req.method === 'PUT') {
        // Presigned uploads stream to disk: refuse unknown or oversized bodies before writing a byte.
        const length = Number(req.headers['content-length']);
        if (!Number.isFinite(length))
          throw new LabelerError('VALIDATION_ERROR', 'Uploads need a Content-Length header.', {
            status: 411,
          });
        if (length > app.config.LABELER_MAX_UPLOAD_BYTES) {
          throw new LabelerError(
            'PAYLOAD_TOO_LARGE',
            `Uploads are limited to ${app.config.LABELER_MAX_UPLOAD_BYTES} bytes (LABELER_MAX_UPLOAD_BYTES).`,
          );
        }
      }
      const instance = (await app.plugins.get(instanceId, 'storage')) as Partial<LocalDiskStorageInstance>;
      if (typeof instance.servePresigned !== 'function')
        throw new LabelerError('ROUTE_NOT_FOUND', 'This storage does not serve presigned URLs here.');
      const query = Object.fromEntries(
        Object.entries(req.query).map(([k, v]) => [k, typeof v === 'string' ? v : undefined]),
      );
      const result = await instance.servePresigned({
        method: req.method === 'HEAD' ? 'GET' : req.method,
        key,
        query,
        ...(req.method === 'PUT' ? { body: req } : {}),
      });
      res.status(result.status);
      for (const [name, value] of Object.entries(result.headers)) res.setHeader(name, value);
      if (result.body && req.method !== 'HEAD') {
        result.body.on('error', () => res.destroy());
        result.body.pipe(res);
      } else {
        result.body?.destroy();
        res.end();
      }
    } catch (error) {
      const e = isLabelerError(error) ? error : toLabelerError(error);
      sendError(
        res,
        e.code === 'PLUGIN_INSTANCE_NOT_FOUND'
          ? new LabelerError('PRESIGNED_URL_INVALID', 'This link is not valid.')
          : e,
        String(req.id),
      );
    }
  });
  return router;
}
