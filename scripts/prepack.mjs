// Runs before a package is packed. Only pnpm's pack applies publishConfig.exports (dist/) and turns
// workspace:* into real versions; npm pack would ship a package.json pointing at src/ that the
// tarball does not contain. So: refuse anything but pnpm, and refuse a package that was not built.
import { existsSync } from 'node:fs';

const agent = process.env.npm_config_user_agent ?? '';
if (!agent.startsWith('pnpm/')) {
  console.error(`firegrad: pack with pnpm (\`pnpm release:pack\` at the repository root, or \`pnpm pack\` here), not ${agent.split(' ')[0] || 'this tool'}: ` +
    'only pnpm rewrites the exports to dist/ and the workspace dependencies to versions.');
  process.exit(1);
}
if (!existsSync('dist/index.js')) {
  console.error('firegrad: dist/ is missing; run `pnpm build` at the repository root first.');
  process.exit(1);
}
