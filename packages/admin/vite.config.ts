import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const API = process.env.LABELER_API_URL ?? 'http://127.0.0.1:4000';

export default defineConfig({
  plugins: [react()],
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: false, target: 'es2022' },
  server: {
    port: 5173,
    proxy: Object.fromEntries(
      ['/trpc', '/api', '/launch', '/docs', '/storage'].map((path) => [
        path,
        { target: API, changeOrigin: false },
      ]),
    ),
  },
});
