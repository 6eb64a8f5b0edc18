import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App, AppProviders, createQueryClient } from './App.js';
import { createI18n } from './i18n/index.js';
import { createClient } from './lib/trpc.js';
import './styles.css';

const root = document.getElementById('root');
if (!root) throw new Error('#root is missing from index.html');
createRoot(root).render(
  <StrictMode>
    <AppProviders client={createClient()} queryClient={createQueryClient()} i18n={createI18n()}>
      <App />
    </AppProviders>
  </StrictMode>,
);
