import { build } from 'esbuild';
const common = { bundle: true, platform: 'browser', format: 'esm', logLevel: 'warning', absWorkingDir: '/work/wt/gpujs' };
await build({ ...common, entryPoints: ['/work/wt/gpujs/page.tmp.ts'], outfile: '/tmp/pw/site/out/page.js' });
await build({ ...common, entryPoints: ['/work/wt/gpujs/test/browser/gpujs-worker.ts'], outfile: '/tmp/pw/site/out/worker.js' });
await build({ ...common, entryPoints: ['/work/wt/gpujs/packages/ops/src/gpujs/browser-gpu-server.ts'], outfile: '/tmp/pw/site/gpujs/browser-gpu-server.js' });
