import { useMemo } from 'react';
import { useTranslation } from 'react-i18next';

const INTL_LOCALE: Record<string, string> = { en: 'en-US', ko: 'ko-KR', zh: 'zh-CN' };

export interface Formatters {
  locale: string;
  date(iso: string | null | undefined): string;
  dateTime(iso: string | null | undefined): string;
  number(value: number): string;
  bytes(value: number | null | undefined): string;
  percent(done: number, total: number): string;
}

export function createFormatters(language: string, empty = '—'): Formatters {
  const locale = INTL_LOCALE[language] ?? language;
  const dateFmt = new Intl.DateTimeFormat(locale, { dateStyle: 'medium' });
  const dateTimeFmt = new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'short' });
  const numberFmt = new Intl.NumberFormat(locale);
  const percentFmt = new Intl.NumberFormat(locale, { style: 'percent', maximumFractionDigits: 0 });
  const parse = (iso: string | null | undefined) => {
    if (!iso) return null;
    const d = new Date(iso);
    return Number.isNaN(d.getTime()) ? null : d;
  };
  return {
    locale,
    date: (iso) => {
      const d = parse(iso);
      return d ? dateFmt.format(d) : empty;
    },
    dateTime: (iso) => {
      const d = parse(iso);
      return d ? dateTimeFmt.format(d) : empty;
    },
    number: (value) => numberFmt.format(value),
    bytes: (value) => {
      if (value === null || value === undefined) return empty;
      const units = ['byte', 'kilobyte', 'megabyte', 'gigabyte', 'terabyte'] as const;
      let v = value;
      let i = 0;
      while (v >= 1024 && i < units.length - 1) {
        v /= 1024;
        i++;
      }
      return new Intl.NumberFormat(locale, {
        style: 'unit',
        unit: units[i],
        unitDisplay: 'short',
        maximumFractionDigits: i === 0 ? 0 : 1,
      }).format(v);
    },
    percent: (done, total) => percentFmt.format(total > 0 ? Math.min(1, done / total) : 0),
  };
}

/** Intl formatters for the current interface language. */
export function useFormat(): Formatters {
  const { i18n } = useTranslation();
  const language = i18n.language;
  return useMemo(() => createFormatters(language), [language]);
}
