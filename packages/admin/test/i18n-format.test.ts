import { TRPCClientError } from '@trpc/client';
import { describe, expect, it } from 'vitest';
import { en } from '../src/i18n/en.js';
import { createI18n } from '../src/i18n/index.js';
import { ko } from '../src/i18n/ko.js';
import { zh } from '../src/i18n/zh.js';
import { errorInfo, fieldIssues } from '../src/lib/errors.js';
import { createFormatters } from '../src/lib/format.js';
import { parseLocation } from '../src/lib/router.js';

function keys(value: unknown, prefix = ''): string[] {
  if (typeof value !== 'object' || value === null) return [prefix];
  return Object.entries(value).flatMap(([k, v]) => keys(v, prefix ? `${prefix}.${k}` : k));
}
function leaves(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  return Object.values(value as Record<string, unknown>).flatMap(leaves);
}
const placeholders = (s: string) => [...s.matchAll(/{{\s*(\w+)/g)].map((m) => m[1]).sort();

describe('language files', () => {
  it.each([
    ['ko', ko],
    ['zh', zh],
  ])('%s has exactly the English keys, no empty strings, and the same placeholders', (_name, messages) => {
    expect(keys(messages).sort()).toEqual(keys(en).sort());
    expect(leaves(messages).filter((s) => s.trim() === '')).toEqual([]);
    const enLeaves = new Map(keys(en).map((k, i) => [k, leaves(en)[i]!]));
    const other = new Map(keys(messages).map((k, i) => [k, leaves(messages)[i]!]));
    for (const [key, text] of enLeaves)
      expect([key, placeholders(other.get(key) ?? '')]).toEqual([key, placeholders(text)]);
  });

  it('translates with plurals and Intl number formatting per language', () => {
    const i18n = createI18n('en');
    expect(i18n.t('serviceAccounts.requests', { count: 1 })).toBe('1 request');
    expect(i18n.t('serviceAccounts.requests', { count: 12345 })).toBe('12,345 requests');
    void i18n.changeLanguage('zh');
    expect(i18n.t('nav.datasets')).toBe('数据集');
    expect(i18n.t('datasets.total', { count: 3 })).toBe('3 个数据集');
  });
});

describe('formatters', () => {
  const iso = '2026-03-04T05:06:07.000Z';
  it('format dates, numbers and sizes by locale', () => {
    expect(createFormatters('en').date(iso)).toBe('Mar 4, 2026');
    expect(createFormatters('ko').date(iso)).toBe('2026. 3. 4.');
    expect(createFormatters('zh').date(iso)).toBe('2026年3月4日');
    expect(createFormatters('en').number(1234567)).toBe('1,234,567');
    expect(createFormatters('en').bytes(1536)).toBe('1.5 kB');
    expect(createFormatters('en').date(null)).toBe('—');
    expect(createFormatters('en').percent(5, 12)).toBe('42%');
  });
});

describe('errors', () => {
  it('reads the server code, details and retryable flag', () => {
    const error = TRPCClientError.from({
      error: {
        message: 'Invalid request: "service_name" is required.',
        code: -32600,
        data: {
          labeler: {
            code: 'VALIDATION_ERROR',
            details: { issues: [{ path: 'service_name', message: 'is required' }] },
            retryable: false,
          },
        },
      },
    });
    const info = errorInfo(error);
    expect(info).toMatchObject({ code: 'VALIDATION_ERROR', retryable: false, network: false });
    expect(fieldIssues(info)).toEqual({ service_name: 'is required' });
  });

  it('treats a failure without an error shape as a network problem', () => {
    const info = errorInfo(TRPCClientError.from(new Error('fetch failed')));
    expect(info).toMatchObject({ code: null, network: true, retryable: true });
  });
});

describe('hash router', () => {
  it('parses path segments and query parameters', () => {
    const loc = parseLocation('#/datasets/ds_1?search=cat&page=2');
    expect(loc.path).toBe('/datasets/ds_1');
    expect(loc.segments).toEqual(['datasets', 'ds_1']);
    expect(loc.params.get('search')).toBe('cat');
    expect(parseLocation('').segments).toEqual([]);
  });
});
