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
  options: { readAhead?: number } = {},
): { stream: Readable; bytes: () => number } {
  const zip = new yazl.ZipFile();
  let written = 0;
  // Open the next entries' GETs while the current one streams, so per-object latency overlaps with
  // transfer; bodies are only read when yazl reaches them, so memory stays bounded by socket buffers.
  const readAhead = Math.max(0, options.readAhead ?? 2);
  const pending = new Map<number, Promise<Readable>>();
  const open = (index: number) => {
    const entry = plan.entries[index];
    if (!entry || pending.has(index)) return;
    const request = storage.get(entry.storageKey).then((result) => result.body);
    request.catch(() => undefined);
    pending.set(index, request);
  };
  const discardPending = () => {
    for (const request of pending.values()) void request.then((s) => s.destroy()).catch(() => undefined);
    pending.clear();
  };
  plan.entries.forEach((entry, index) => {
    zip.addReadStreamLazy(entry.path, { compress: !COMPRESSED.test(entry.path), size: entry.size }, (cb) => {
      open(index);
      for (let ahead = 1; ahead <= readAhead; ahead++) open(index + ahead);
      const body = pending.get(index)!;
      pending.delete(index);
      body
        .then((stream) => {
          onEntry?.(index, entry);
          cb(null, stream);
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
  zip.outputStream.on('error', (error) => {
    discardPending();
    out.destroy(error);
  });
  out.on('close', discardPending);
  zip.outputStream.pipe(counter).pipe(out);
  return { stream: out, bytes: () => written };
}
