import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromLocalFilesUrl, isUnder, PathMappingError, toLocalFilesUrl } from '../src/index.js';

const mount = { host_root: '/mnt/datasets', ls_document_root: '/label-studio/data' };

describe('path mapping', () => {
  it('maps host files to local-files URLs relative to the document root', () => {
    expect(toLocalFilesUrl('/mnt/datasets/cats/img 1.jpg', mount)).toBe(
      '/data/local-files/?d=cats/img%201.jpg',
    );
    expect(
      toLocalFilesUrl('/mnt/datasets/a/b.png', { ...mount, ls_mount_path: '/label-studio/data/ds' }),
    ).toBe('/data/local-files/?d=ds/a/b.png');
    expect(toLocalFilesUrl('/mnt/datasets/a#b?c%d&e+f.png', mount)).toBe(
      '/data/local-files/?d=a%23b%3Fc%25d%26e%2Bf.png',
    );
  });

  it('rejects files outside the host root (on a segment boundary) and outside the document root', () => {
    expect(() => toLocalFilesUrl('/mnt/datasets-private/x.png', mount)).toThrow(PathMappingError);
    expect(() => toLocalFilesUrl('/mnt/datasets/../etc/passwd', mount)).toThrow(/outside mount.host_root/);
    expect(() => toLocalFilesUrl('relative/x.png', mount)).toThrow(/not an absolute path/);
    try {
      toLocalFilesUrl('/mnt/datasets/x.png', { ...mount, ls_mount_path: '/elsewhere' });
      expect.fail('should throw');
    } catch (error) {
      expect((error as PathMappingError).reason).toBe('outside_document_root');
    }
    expect(isUnder('/data/ds/x', '/data/ds')).toBe(true);
    expect(isUnder('/data/ds-private/x', '/data/ds')).toBe(false);
  });

  it('decodes absolute URLs and + as space, as Django does', () => {
    expect(fromLocalFilesUrl('http://ls:8080/data/local-files/?d=cats/img+1.jpg', mount)).toBe(
      '/mnt/datasets/cats/img 1.jpg',
    );
  });

  it('round-trips any path under the host root (spaces, unicode, #, %, ?)', () => {
    const segment = fc
      .string({
        unit: fc.oneof(
          fc.constantFrom(' ', '#', '%', '?', '&', '+', '=', 'é', '猫', '😀', '\\', "'"),
          fc.constantFrom(...'abcXYZ09-_.'),
        ),
        minLength: 1,
        maxLength: 12,
      })
      .filter((s) => s !== '.' && s !== '..');
    fc.assert(
      fc.property(fc.array(segment, { minLength: 1, maxLength: 5 }), fc.boolean(), (segs, nested) => {
        const m = nested ? { ...mount, ls_mount_path: '/label-studio/data/sub dir' } : mount;
        const file = `/mnt/datasets/${segs.join('/')}`;
        const url = toLocalFilesUrl(file, m);
        expect(url.startsWith('/data/local-files/?d=')).toBe(true);
        expect(url.slice('/data/local-files/?d='.length)).not.toMatch(/[ #?&+%](?![0-9A-F]{2})/);
        expect(fromLocalFilesUrl(url, m)).toBe(file);
      }),
    );
  });
});
