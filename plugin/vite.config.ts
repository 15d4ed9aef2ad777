import { defineConfig } from 'vite';

// One bundle for every host: Forge Custom UI (served from dist/ by Atlassian), the Flask standalone
// view (`/`) and the per-gadget pages (`/gadgets/<name>`, also used by Jira Data Center gadget XML).
// Relative asset URLs make the same index.html work under all of them.
export default defineConfig({
  base: './',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    assetsDir: 'assets',
    sourcemap: false,
    target: 'es2020',
    chunkSizeWarningLimit: 600,
  },
  server: {
    // `npm run dev` against a local `baton serve` on :8000
    proxy: { '/api': 'http://127.0.0.1:8000' },
    // src/registry.ts imports the gadget registry from the Python package it ships in
    fs: { allow: ['.', '../webhooks/http/gadgets.json'] },
  },
});
