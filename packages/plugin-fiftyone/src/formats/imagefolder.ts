import { readdir } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { LabelerError, type Sample } from '@labeler/core';
import { stableId } from '../ids.js';
import { collectClasses, copyMedia, listImages, probe } from './common.js';
import { type FileWrite, type FormatHandler, labelFieldOf } from './types.js';

/**
 * Image folder (torchvision `ImageFolder`, fiftyone-formats.md §3.5): `root/<class>/<image>` → one
 * Classification per image; classes are the sorted subfolder names. A root holding only split folders
 * (`train/`, `val/`, `test/`) is read split by split, the split becoming a sample tag.
 */
const SPLITS = new Set(['train', 'val', 'valid', 'test']);

async function subdirs(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir, { withFileTypes: true }))
      .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
      .map((e) => e.name)
      .sort();
  } catch {
    return [];
  }
}

async function roots(dir: string): Promise<Array<{ split: string | null; root: string }>> {
  const dirs = await subdirs(dir);
  if (dirs.length > 0 && dirs.every((d) => SPLITS.has(d)))
    return dirs.map((d) => ({ split: d, root: join(dir, d) }));
  return [{ split: null, root: dir }];
}

async function classesOf(dir: string): Promise<string[]> {
  const set = new Set<string>();
  for (const { root } of await roots(dir)) for (const c of await subdirs(root)) set.add(c);
  return [...set].sort();
}

export const imageFolderFormat: FormatHandler = {
  format: 'imagefolder',
  preservesLabelIds: true,
  storedFields: (field) => [field],
  async detect(dir) {
    for (const { root } of await roots(dir)) {
      for (const c of await subdirs(root))
        if ((await readdir(join(root, c))).some((n) => /\.(jpe?g|png|gif|bmp|webp)$/i.test(n))) return true;
    }
    return false;
  },
  async readInfo(source) {
    let count = 0;
    for (const { root } of await roots(source.path))
      for (const c of await subdirs(root)) count += (await listImages(join(root, c))).length;
    return {
      format: 'imagefolder',
      name: basename(source.path),
      classes: await classesOf(source.path),
      sampleCount: count,
    };
  },
  async *readSamples(source, options = {}) {
    const field = labelFieldOf(source);
    for (const { split, root } of await roots(source.path)) {
      for (const cls of await subdirs(root)) {
        for (const rel of await listImages(join(root, cls))) {
          const key = `${split ? `${split}/` : ''}${cls}/${rel}`;
          const filepath = join(root, cls, rel);
          const metadata = options.probeImageSize === false ? {} : await probe(filepath);
          // The label id hashes the image path without the class folder, so it stays the same when a
          // relabel moves the image to another class.
          const labelKey = `${split ?? ''}:${rel}`;
          yield {
            id: stableId(key),
            filepath,
            tags: split ? [split] : [],
            metadata,
            labels: {
              [field]: { _cls: 'Classification', id: stableId(`imagefolder:${labelKey}`), label: cls },
            },
          } satisfies Sample;
        }
      }
    }
  },
  async planLabelWrites(source, changed) {
    // The class is the folder: a relabel moves the image (copy into the new class folder, then delete the
    // original; both undoable). The sample id is derived from the path, so a moved image gets a new id.
    const field = labelFieldOf(source);
    const writes: FileWrite[] = [];
    for (const sample of changed.values()) {
      const label = sample.labels[field];
      if (label?._cls !== 'Classification') {
        throw new LabelerError(
          'VALIDATION_ERROR',
          `Image-folder sample ${sample.id} needs exactly one Classification in "${field}" (one folder per class); got ${label?._cls ?? 'none'}.`,
          {
            details: { sample_id: sample.id },
          },
        );
      }
      if (!/^[^/\\]+$/.test(label.label) || label.label.startsWith('.')) {
        throw new LabelerError('VALIDATION_ERROR', `Class "${label.label}" cannot be a folder name.`, {
          details: { sample_id: sample.id },
        });
      }
      const classDir = dirname(sample.filepath);
      const target = join(dirname(classDir), label.label, basename(sample.filepath));
      if (target === sample.filepath) continue;
      writes.push(
        { path: target, content: null, copyFrom: sample.filepath },
        { path: sample.filepath, content: null },
      );
    }
    return writes;
  },
  async writeDataset(target, samples, options = {}) {
    const field = labelFieldOf(target);
    const all: Sample[] = [];
    for await (const s of samples) all.push(s);
    const classes = options.classes ?? collectClasses(all, [field]);
    const used = new Set<string>();
    let written = 0;
    for (const s of all) {
      const value = s.labels[field];
      const label =
        value?._cls === 'Classification'
          ? value.label
          : value?._cls === 'Classifications'
            ? value.classifications[0]?.label
            : undefined;
      if (!label) continue; // an image-folder dataset cannot hold unlabeled images
      if (!classes.includes(label)) classes.push(label);
      const split = s.tags.find((t) => SPLITS.has(t));
      await copyMedia(s.filepath, join(target.path, ...(split ? [split] : []), label), used);
      written++;
    }
    return { samples: written, files: [...used] };
  },
};
