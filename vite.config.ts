import { defineConfig, type Plugin, type Connect } from 'vite';
import react from '@vitejs/plugin-react';
import { readdirSync, readFileSync, statSync, existsSync } from 'node:fs';
import { join, resolve, extname, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BUNDLES } from './src/bundles.ts';

/** Cross-origin isolation (needed for multi-threaded WASM): on every response. */
const isolationHeaders = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

const MODELS_DIR = resolve(fileURLToPath(new URL('.', import.meta.url)), 'models');
/** Model bundles shipped with the app (src/bundles.ts): served in dev, copied into the build. */
const BUNDLE_IDS: string[] = BUNDLES.map((b) => b.id);

const MIME: Record<string, string> = {
  '.json': 'application/json',
  '.onnx': 'application/octet-stream',
  '.bin': 'application/octet-stream',
  '.npy': 'application/octet-stream',
  '.md': 'text/markdown; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
};

function listFiles(dir: string, prefix = ''): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    if (name.startsWith('.')) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...listFiles(p, `${prefix}${name}/`));
    else out.push(`${prefix}${name}`);
  }
  return out;
}

/**
 * Serves `models/<bundle>/*` at `/models/<bundle>/` in dev and emits the same files into the
 * production build (`dist/models/<bundle>/`, served by `vite preview`), so the app always fetches its bundle from its own origin
 * (no copy of the bundle in git outside `models/`).
 */
function modelBundles(): Plugin {
  const middleware: Connect.NextHandleFunction = (req, res, next) => {
    const url = decodeURIComponent((req.url ?? '').split('?')[0]);
    const m = /^\/models\/([^/]+)\/(.+)$/.exec(url);
    if (!m || !BUNDLE_IDS.includes(m[1])) return next();
    const base = join(MODELS_DIR, m[1]);
    const file = resolve(base, m[2]);
    if (!file.startsWith(base + sep) || !existsSync(file) || !statSync(file).isFile()) return next();
    const body = readFileSync(file);
    for (const [k, v] of Object.entries(isolationHeaders)) res.setHeader(k, v);
    res.setHeader('Content-Type', MIME[extname(file)] ?? 'application/octet-stream');
    res.setHeader('Content-Length', String(body.length));
    res.setHeader('Cache-Control', 'no-cache');
    res.end(body);
  };
  return {
    name: 'lmac-model-bundles',
    configureServer(server) {
      server.middlewares.use(middleware);
    },
    generateBundle() {
      for (const bundle of BUNDLE_IDS) {
        const dir = join(MODELS_DIR, bundle);
        for (const rel of listFiles(dir)) {
          this.emitFile({ type: 'asset', fileName: `models/${bundle}/${rel}`, source: readFileSync(join(dir, rel)) });
        }
      }
    },
  };
}

export default defineConfig({
  plugins: [react(), modelBundles()],
  server: { headers: isolationHeaders },
  preview: { headers: isolationHeaders },
  optimizeDeps: { exclude: ['onnxruntime-web'] },
  worker: { format: 'es' },
  build: { target: 'es2022', chunkSizeWarningLimit: 4096 },
});
