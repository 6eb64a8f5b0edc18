import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assertPluginCompatible, parsePluginConfig } from '@labeler/core';
import { describe, expect, it } from 'vitest';
import { fiftyOneConnectorPlugin, readImageSize } from '../src/index.js';
import { put } from './fixtures.js';

const ctx = {
  instanceId: 'pi_1',
  logger: { debug() {}, info() {}, warn() {}, error() {} },
  publicBaseUrl: 'http://x',
  dataDir: '/tmp',
  signingKey: 'k',
};

describe('fiftyOneConnectorPlugin', () => {
  it('is a compatible dataset-connector with a validated config', async () => {
    expect(() => assertPluginCompatible(fiftyOneConnectorPlugin)).not.toThrow();
    expect(fiftyOneConnectorPlugin).toMatchObject({
      id: 'fiftyone',
      kind: 'dataset-connector',
      contractVersion: '1.0',
    });
    expect(fiftyOneConnectorPlugin.capabilities.formats).toEqual([
      'fiftyone',
      'coco',
      'fiftyone-image-detection',
      'yolo',
      'imagefolder',
    ]);
    const config = parsePluginConfig(fiftyOneConnectorPlugin, {
      mount: { host_root: '/data', ls_document_root: '/ls' },
    });
    expect(config).toMatchObject({
      default_label_field: 'ground_truth',
      probe_image_size: true,
      mount: { local_files_prefix: '/data/local-files/?d=' },
    });
    expect(() =>
      parsePluginConfig(fiftyOneConnectorPlugin, {
        mount: { host_root: 'relative', ls_document_root: '/ls' },
      }),
    ).toThrow(
      expect.objectContaining({
        code: 'PLUGIN_CONFIG_INVALID',
        message: expect.stringContaining('mount.host_root'),
      }),
    );
    const instance = await fiftyOneConnectorPlugin.create(ctx, config);
    expect((await instance.health()).status).toBe('healthy');
    await instance.dispose();
  });
});

describe('image header sizes (GIF, BMP, WebP)', () => {
  it('reads each from its first bytes', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hdr-'));
    try {
      const gif = Buffer.from('GIF89a\x05\x00\x07\x00\x00\x00\x00', 'latin1');
      const bmp = Buffer.alloc(54);
      bmp.write('BM', 0, 'latin1');
      bmp.writeInt32LE(9, 18);
      bmp.writeInt32LE(-4, 22); // top-down bitmaps store a negative height
      const webp = Buffer.alloc(30);
      webp.write('RIFF', 0, 'latin1');
      webp.write('WEBPVP8X', 8, 'latin1');
      webp.writeUIntLE(99, 24, 3);
      webp.writeUIntLE(49, 27, 3);
      await put(join(dir, 'a.gif'), gif);
      await put(join(dir, 'a.bmp'), bmp);
      await put(join(dir, 'a.webp'), webp);
      await put(join(dir, 'a.txt'), 'not an image at all');
      expect(await readImageSize(join(dir, 'a.gif'))).toEqual({ width: 5, height: 7, mimeType: 'image/gif' });
      expect(await readImageSize(join(dir, 'a.bmp'))).toEqual({ width: 9, height: 4, mimeType: 'image/bmp' });
      expect(await readImageSize(join(dir, 'a.webp'))).toEqual({
        width: 100,
        height: 50,
        mimeType: 'image/webp',
      });
      expect(await readImageSize(join(dir, 'a.txt'))).toBeNull();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
