import { createHash } from 'node:crypto';
import { PassThrough, type Readable, Transform } from 'node:stream';
import type { StorageInstance } from '@labeler/core';
import yazl from 'yazl';

export interface ArchiveEntry {
  path: string;
  storageKey: string;
  size: number;
  sha256: string;
}

export interface ArchiveManifest {
  images: string;
  annotations: string | null;
  readme: string;
}

export interface ArchivePlan {
  entries: ArchiveEntry[];
  readme: string;
  manifest: ArchiveManifest;
  /** sha256 over the canonical manifest (file list with sizes and hashes, plus the README). */
  contentHash: string;
}

const COMPRESSED = /\.(jpe?g|png|gif|webp|zip|gz|mp4|avif|heic)$/i;

export function planArchive(input: {
  datasetId: string;
  name: string;
  version: number;
  versionHash: string;
  annotationPath: string | null;
  classNames: string[];
  entries: ArchiveEntry[];
}): ArchivePlan {
  const entries = [...input.entries].sort((a, b) => a.path.localeCompare(b.path));
  const annotations = input.annotationPath
    ? input.annotationPath.replace(`datasets/${input.datasetId}/`, '')
    : null;
  const readme = [
    `# ${input.name}`,
    '',
    `- Dataset: ${input.datasetId}`,
    `- Version: ${input.version}`,
    `- Content hash: ${input.versionHash}`,
    `- Files: ${entries.length}`,
    `- Classes (${input.classNames.length}): ${input.classNames.join(', ') || '—'}`,
    annotations ? `- Annotations: ${annotations}` : '- Annotations: none',
    '',
    'Built by Labeler. Images are under images/.',
    '',
  ].join('\n');
  const manifest: ArchiveManifest = { images: 'images/', annotations, readme: 'README.md' };
  const hash = createHash('sha256');
  hash.update(JSON.stringify(manifest));
  hash.update(readme);
  for (const e of entries) hash.update(`\n${e.path}\t${e.size}\t${e.sha256}`);
  return { entries, readme, manifest, contentHash: `sha256:${hash.digest('hex')}` };
}

/**
 * Streams a zip of the plan's files straight from storage: entries are opened one at a time (lazily, in
 * order), so memory stays flat whatever the dataset size. Already-compressed media is stored, not deflated.
 */
export function streamArchive(
  storage: StorageInstance,
  plan: ArchivePlan,
  onEntry?: (index: number, entry: ArchiveEntry) => void,
): { stream: Readable; bytes: () => number } {
  const zip = new yazl.ZipFile();
  let written = 0;
  plan.entries.forEach((entry, index) => {
    zip.addReadStreamLazy(entry.path, { compress: !COMPRESSED.test(entry.path), size: entry.size }, (cb) => {
      storage
        .get(entry.storageKey)
        .then((result) => {
          onEntry?.(index, entry);
          cb(null, result.body);
        })
        .catch((error: Error) => cb(error, null as unknown as Readable));
    });
  });
  zip.addBuffer(Buffer.from(plan.readme), 'README.md');
  zip.end();
  const counter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      written += chunk.length;
      cb(null, chunk);
    },
  });
  const out = new PassThrough();
  zip.outputStream.on('error', (error) => out.destroy(error));
  zip.outputStream.pipe(counter).pipe(out);
  return { stream: out, bytes: () => written };
}
