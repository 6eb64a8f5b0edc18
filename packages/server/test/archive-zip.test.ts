import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { crc32, inflateRawSync } from 'node:zlib';
import type { StorageInstance } from '@labeler/core';
import { describe, expect, it } from 'vitest';
import { type ArchiveEntry, planArchive, streamArchive } from '../src/modules/storage-files/archive.js';

/** Storage whose objects are in memory; bodies stream in `chunk`-byte pieces; those closed before their end are recorded. */
function memoryStorage(objects: Map<string, Buffer>, chunk = 7_000) {
  const opened: string[] = [];
  const destroyed: string[] = [];
  const storage = {
    async get(key: string) {
      const data = objects.get(key);
      if (!data) throw new Error(`no object ${key}`);
      opened.push(key);
      let offset = 0;
      const body = new Readable({
        read() {
          if (offset >= data.length) return void this.push(null);
          this.push(data.subarray(offset, offset + chunk));
          offset += chunk;
        },
      });
      body.once('close', () => {
        if (!body.readableEnded) destroyed.push(key);
      });
      return { key, size: data.length, body };
    },
  } as unknown as StorageInstance;
  return { storage, opened, destroyed };
}

function plan(files: Array<[string, Buffer]>, readme = 'hello') {
  const entries: ArchiveEntry[] = files.map(([path, data]) => ({
    path,
    storageKey: `k/${path}`,
    size: data.length,
    sha256: createHash('sha256').update(data).digest('hex'),
  }));
  const p = planArchive({
    datasetId: 'ds_0123456789abcdef',
    name: 'test',
    version: 1,
    versionHash: 'sha256:x',
    annotationPath: null,
    classNames: [],
    entries,
  });
  return { ...p, readme };
}

async function collect(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of stream) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
}

interface ZipEntry {
  name: string;
  method: number;
  crc: number;
  data: Buffer;
}

/** A strict reader for what streamArchive writes: central directory first, each entry checked against it. */
function readZip(zip: Buffer): { entries: ZipEntry[]; zip64: boolean } {
  const eocd = zip.length - 22;
  expect(zip.readUInt32LE(eocd)).toBe(0x06054b50);
  let count = zip.readUInt16LE(eocd + 10);
  let size = zip.readUInt32LE(eocd + 12);
  let offset = zip.readUInt32LE(eocd + 16);
  const zip64 = zip.readUInt32LE(eocd - 20) === 0x07064b50;
  if (zip64) {
    const record = Number(zip.readBigUInt64LE(eocd - 20 + 8));
    expect(zip.readUInt32LE(record)).toBe(0x06064b50);
    count = Number(zip.readBigUInt64LE(record + 32));
    size = Number(zip.readBigUInt64LE(record + 40));
    offset = Number(zip.readBigUInt64LE(record + 48));
    expect(offset + size).toBe(record);
  } else {
    expect(offset + size).toBe(eocd);
  }
  const entries: ZipEntry[] = [];
  let at = offset;
  for (let i = 0; i < count; i++) {
    expect(zip.readUInt32LE(at)).toBe(0x02014b50);
    const flags = zip.readUInt16LE(at + 8);
    const method = zip.readUInt16LE(at + 10);
    const crc = zip.readUInt32LE(at + 16);
    const compressedSize = zip.readUInt32LE(at + 20);
    const uncompressedSize = zip.readUInt32LE(at + 24);
    const nameLength = zip.readUInt16LE(at + 28);
    const extraLength = zip.readUInt16LE(at + 30);
    const commentLength = zip.readUInt16LE(at + 32);
    const local = zip.readUInt32LE(at + 42);
    const name = zip.toString('utf8', at + 46, at + 46 + nameLength);
    expect(flags).toBe(0x0808);
    expect(local).not.toBe(0xffffffff);
    expect(zip.readUInt32LE(local)).toBe(0x04034b50);
    expect(zip.readUInt16LE(local + 8)).toBe(method);
    expect(zip.toString('utf8', local + 30, local + 30 + zip.readUInt16LE(local + 26))).toBe(name);
    const start = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
    const raw = zip.subarray(start, start + compressedSize);
    const descriptor = start + compressedSize;
    expect(zip.readUInt32LE(descriptor)).toBe(0x08074b50);
    expect(zip.readUInt32LE(descriptor + 4)).toBe(crc);
    expect(zip.readUInt32LE(descriptor + 8)).toBe(compressedSize);
    expect(zip.readUInt32LE(descriptor + 12)).toBe(uncompressedSize);
    const data = method === 8 ? inflateRawSync(raw) : Buffer.from(raw);
    expect(data.length).toBe(uncompressedSize);
    expect(crc32(data)).toBe(crc);
    entries.push({ name, method, crc, data });
    at += 46 + nameLength + extraLength + commentLength;
  }
  expect(at).toBe(offset + size);
  return { entries, zip64 };
}

const python = spawnSync('python3', ['--version']).status === 0;

describe('streamArchive', () => {
  it.skipIf(!python)(
    'writes archives an independent reader (Python zipfile) accepts and extracts',
    async () => {
      const files: Array<[string, Buffer]> = [
        ['images/a.jpg', randomBytes(70_000)],
        ['images/b.txt', Buffer.from('line\n'.repeat(5_000))],
        ['labels/annotations.json', Buffer.from(JSON.stringify({ images: [1, 2, 3] }))],
      ];
      const { storage } = memoryStorage(new Map(files.map(([path, data]) => [`k/${path}`, data])));
      const dir = mkdtempSync(join(tmpdir(), 'labeler-zip-'));
      const file = join(dir, 'archive.zip');
      writeFileSync(file, await collect(streamArchive(storage, plan(files)).stream));
      const check = spawnSync(
        'python3',
        [
          '-c',
          'import hashlib,json,sys,zipfile\nz=zipfile.ZipFile(sys.argv[1])\nprint(json.dumps({"bad":z.testzip(),"files":{n:hashlib.sha256(z.read(n)).hexdigest() for n in z.namelist()}}))',
          file,
        ],
        { encoding: 'utf8' },
      );
      rmSync(dir, { recursive: true, force: true });
      expect(check.status, check.stderr).toBe(0);
      const result = JSON.parse(check.stdout) as { bad: string | null; files: Record<string, string> };
      expect(result.bad).toBeNull();
      for (const [path, data] of files)
        expect(result.files[path]).toBe(createHash('sha256').update(data).digest('hex'));
      expect(Object.keys(result.files)).toContain('README.md');
    },
  );

  it('writes a valid zip: media stored, other files deflated, README last; CRCs and sizes check out', async () => {
    const files: Array<[string, Buffer]> = [
      ['images/b.jpg', randomBytes(150_000)],
      ['images/a.png', randomBytes(10)],
      ['annotations/instances.json', Buffer.from(JSON.stringify({ a: 'x'.repeat(50_000) }))],
      ['images/ünïcode €.jpg', Buffer.alloc(0)],
    ];
    const objects = new Map(files.map(([path, data]) => [`k/${path}`, data]));
    const { storage } = memoryStorage(objects);
    const seen: string[] = [];
    const { stream, bytes } = streamArchive(storage, plan(files, 'read me'), (_i, e) => seen.push(e.path));
    const zip = await collect(stream);
    expect(bytes()).toBe(zip.length);
    const { entries, zip64 } = readZip(zip);
    expect(zip64).toBe(false);
    const sorted = [...files].sort(([a], [b]) => a.localeCompare(b));
    expect(seen).toEqual(sorted.map(([path]) => path));
    expect(entries.map((e) => e.name)).toEqual([...sorted.map(([path]) => path), 'README.md']);
    for (const [path, data] of files) {
      const entry = entries.find((e) => e.name === path)!;
      expect(entry.data.equals(data)).toBe(true);
      expect(entry.method).toBe(path.endsWith('.json') ? 8 : 0);
    }
    expect(entries.at(-1)).toMatchObject({ name: 'README.md', method: 8 });
    expect(entries.at(-1)!.data.toString()).toBe('read me');
  });

  it('switches to ZIP64 end records past 65,534 entries', { timeout: 60_000 }, async () => {
    const files = Array.from(
      { length: 70_000 },
      (_, i) => [`images/${String(i).padStart(6, '0')}.jpg`, Buffer.from(String(i))] as [string, Buffer],
    );
    const { storage } = memoryStorage(new Map(files.map(([path, data]) => [`k/${path}`, data])));
    const { entries, zip64 } = readZip(await collect(streamArchive(storage, plan(files)).stream));
    expect(zip64).toBe(true);
    expect(entries).toHaveLength(70_001);
    expect(entries[69_999]!.data.toString()).toBe('69999');
  });

  it('opens the next GETs only when their data is near, at most readAhead at once', async () => {
    const files: Array<[string, Buffer]> = [
      ['a.jpg', randomBytes(100_000)],
      ['b.jpg', randomBytes(10)],
      ['c.jpg', randomBytes(10)],
      ['d.jpg', randomBytes(10)],
    ];
    const { storage, opened } = memoryStorage(new Map(files.map(([path, data]) => [`k/${path}`, data])));
    const { stream } = streamArchive(storage, plan(files), undefined, {
      readAhead: 2,
      readAheadBytes: 30_000,
    });
    const iterator = stream[Symbol.asyncIterator]();
    await iterator.next(); // local header of a.jpg: its GET is open, b.jpg's data is 100 kB away
    expect(opened).toEqual(['k/a.jpg']);
    while (opened.length < 3) await iterator.next();
    expect(opened).toEqual(['k/a.jpg', 'k/b.jpg', 'k/c.jpg']); // within 30 kB of the end of a.jpg
    while (!(await iterator.next()).done);
    expect(opened).toEqual(files.map(([path]) => `k/${path}`));
  });

  it('fails when storage returns a different number of bytes than the inventory says', async () => {
    const files: Array<[string, Buffer]> = [['a.jpg', randomBytes(1000)]];
    const { storage } = memoryStorage(new Map([['k/a.jpg', randomBytes(999)]]));
    await expect(collect(streamArchive(storage, plan(files)).stream)).rejects.toThrow(
      /storage returned 999 bytes, the file inventory says 1000/,
    );
  });

  it('destroying the stream closes the current and the read-ahead responses', async () => {
    const files: Array<[string, Buffer]> = [
      ['a.jpg', randomBytes(200_000)],
      ['b.jpg', randomBytes(200_000)],
    ];
    const { storage, opened, destroyed } = memoryStorage(
      new Map(files.map(([path, data]) => [`k/${path}`, data])),
    );
    const { stream } = streamArchive(storage, plan(files), undefined, { readAheadBytes: 1_000_000 });
    const iterator = stream[Symbol.asyncIterator]();
    await iterator.next(); // a.jpg's header; its GET and b.jpg's (read-ahead) are open
    await iterator.next(); // a.jpg's first data
    expect(opened).toEqual(['k/a.jpg', 'k/b.jpg']);
    stream.destroy(new Error('archive build aborted'));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(destroyed.sort()).toEqual(['k/a.jpg', 'k/b.jpg']);
  });
});
