// Vite serves and builds the demo. Cross-origin isolation (COOP + COEP) gives the page
// SharedArrayBuffer, which the cpu backend's Web Workers pool needs; preview serves the built site the same way.
import { defineConfig } from 'vite';

const isolation = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };

export default defineConfig({
  base: './',
  server: { headers: isolation },
  preview: { headers: isolation },
  worker: { format: 'es' },
  // gpu.js compiles kernels from their JavaScript source (fn.toString()); minified, that source
  // fails to translate ("Unhandled binary expression between Array & Integer"), so the site ships unminified.
  build: { target: 'es2022', minify: false },
});
