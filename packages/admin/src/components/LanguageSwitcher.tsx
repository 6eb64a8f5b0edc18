import { useMutation } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { isLanguage, LANGUAGES, type Language, rememberLanguage } from '../i18n/index.js';
import { useTRPC } from '../lib/trpc.js';

export function LanguageSwitcher({ signedIn }: { signedIn: boolean }) {
  const { t, i18n } = useTranslation();
  const trpc = useTRPC();
  const setLocale = useMutation(trpc.auth.setLocale.mutationOptions());
  return (
    <label className="language-switcher">
      <span className="visually-hidden">{t('app.language')}</span>
      <select
        aria-label={t('app.language')}
        value={isLanguage(i18n.language) ? i18n.language : 'en'}
        onChange={(event) => {
          const language = event.target.value as Language;
          rememberLanguage(language);
          void i18n.changeLanguage(language);
          if (signedIn) setLocale.mutate({ locale: language });
        }}
      >
        {LANGUAGES.map((l) => (
          <option key={l.code} value={l.code} lang={l.code}>
            {l.label}
          </option>
        ))}
      </select>
    </label>
  );
}
