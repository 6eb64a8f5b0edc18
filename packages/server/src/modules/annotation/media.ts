/**
 * Task images. Label Studio loads `data.image` in the annotator's browser, possibly days after the
 * import, so a presigned URL baked into the task would expire (R2 caps presigning at 7 days). Tasks
 * therefore carry a stable Labeler media link, signed per (project, sample); each request is answered
 * with a fresh short-lived presigned GET of the file (302), or the bytes when the storage cannot presign.
 * With a shared-disk mount (the project's, else the backend instance's), tasks carry the backend's own
 * file URLs instead (Label Studio: local-files), mapped by the backend (`mediaUrl` of the contract).
 */
import { type AnnotationBackendInstance, isLabelerError, LabelerError, toLabelerError } from '@labeler/core';
import express, { type Router } from 'express';
import type { AppServices } from '../../app/services.js';
import { sendError } from '../../http/envelope.js';
import { Dataset, DatasetFile, DatasetSample } from '../datasets/entities.js';
import { AnnotationProject } from './entities.js';
import type { MediaSettings } from './schemas.js';
import { derivedSecret } from './signing.js';
import { safeEqual } from '../../lib/crypto.js';

export const MEDIA_PATH = '/annotation-media';
const PRESIGN_SECONDS = 300;

function mediaSignature(key: string, projectId: string, sampleId: string): string {
  return derivedSecret(key, 'annotation-media', `${projectId}\u0000${sampleId}`);
}

/** The image URL a task carries for one sample. */
export function taskImageUrl(
  app: AppServices,
  backend: AnnotationBackendInstance,
  projectId: string,
  sample: Pick<DatasetSample, 'id' | 'filepath'>,
  media: MediaSettings | null,
): string {
  if (/^https?:\/\//i.test(sample.filepath)) return sample.filepath; // already a URL the browser can load
  if (sample.filepath.startsWith('/')) {
    if (media?.mount && !backend.mediaUrl)
      throw new LabelerError(
        'CAPABILITY_UNSUPPORTED',
        'This annotation backend cannot serve files from a mount.',
      );
    const url = backend.mediaUrl?.(sample.filepath, media?.mount ?? null) ?? null;
    if (url !== null) return url;
  }
  const sig = mediaSignature(app.keys.signing, projectId, sample.id);
  return `${app.config.publicUrl}${MEDIA_PATH}/${encodeURIComponent(projectId)}/${encodeURIComponent(sample.id)}?sig=${sig}`;
}

/** The storage key of a sample's file: the dataset's current file at that path, else the conventional key. */
async function storageKeyOf(app: AppServices, datasetId: string, filepath: string): Promise<string> {
  const path = filepath.replace(/^\/+/, '');
  const file = await app.orm.em.fork().findOne(DatasetFile, { datasetId, path, lastVersion: null });
  return file?.storageKey ?? `datasets/${datasetId}/${path}`;
}

export function mediaRouter(app: AppServices): Router {
  const router = express.Router();
  router.get('/:projectId/:sampleId', async (req, res) => {
    try {
      const { projectId, sampleId } = req.params;
      const sig = typeof req.query.sig === 'string' ? req.query.sig : '';
      if (!safeEqual(sig, mediaSignature(app.keys.signing, projectId, sampleId))) {
        throw new LabelerError('PRESIGNED_URL_INVALID', 'This media link is not valid.');
      }
      const em = app.orm.em.fork();
      const project = await em.findOne(AnnotationProject, { id: projectId });
      if (!project)
        throw new LabelerError('PRESIGNED_URL_INVALID', 'This media link belongs to a deleted project.');
      const sample = await em.findOne(DatasetSample, { datasetId: project.datasetId, id: sampleId });
      const dataset = await em.findOne(Dataset, { id: project.datasetId, deletedAt: null });
      if (!sample || !dataset)
        throw new LabelerError('STORAGE_OBJECT_NOT_FOUND', 'The sample or its dataset no longer exists.');
      const storage = await app.storageFiles.storageOf(dataset);
      const key = await storageKeyOf(app, dataset.id, sample.filepath);
      if (storage.presignGet) {
        const signed = await storage.presignGet(key, { expiresInSeconds: PRESIGN_SECONDS });
        res.setHeader('Cache-Control', 'private, no-store');
        res.redirect(302, signed.url);
        return;
      }
      const object = await storage.get(key);
      if (object.contentType) res.setHeader('Content-Type', object.contentType);
      res.setHeader('Content-Length', String(object.size));
      object.body.on('error', () => res.destroy());
      object.body.pipe(res);
    } catch (error) {
      sendError(res, isLabelerError(error) ? error : toLabelerError(error), String(req.id));
    }
  });
  return router;
}
