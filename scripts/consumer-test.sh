#!/usr/bin/env bash
# The packages as a user gets them: pack the three packages (pnpm pack turns workspace:* into real
# versions), install the tarballs with npm into a fresh project outside the workspace, then run a
# plain-Node ESM script there (threads, training, safetensors), bundle a browser app from them with
# esbuild (--platform=browser, no aliases) and run it in Chromium (training, safetensors bytes),
# type-check a TypeScript file against the published .d.ts under strict settings with both module
# resolutions, and check what require() does (loads the ESM build, or Node's own ERR_REQUIRE_ESM).
# Needs `pnpm build` first (release:pack runs it) and Debian's chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
tmp=$(mktemp -d "${TMPDIR:-/tmp}/firegrad-consumer-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
pnpm() { npx -y pnpm@10 "$@"; }

for p in core ops nn; do (cd "packages/$p" && pnpm pack --pack-destination "$tmp/tarballs" >/dev/null); done
ls -l "$tmp/tarballs"
for t in "$tmp"/tarballs/*.tgz; do
  tar -tzf "$t" > "$tmp/list"
  tar -xzOf "$t" package/package.json > "$tmp/package.json"
  if grep -E '(^|/)(test|tests|fixtures|bench)/|\.test\.|/src/' "$tmp/list"; then echo "$t ships files it should not"; exit 1; fi
  grep -qx 'package/README.md' "$tmp/list" && grep -qx 'package/LICENSE' "$tmp/list" || { echo "$t lacks README.md or LICENSE"; exit 1; }
  if grep -q 'workspace:' "$tmp/package.json"; then echo "$t still depends on workspace:*"; exit 1; fi
done

mkdir -p "$tmp/app"
cp scripts/consumer/train.mjs scripts/consumer/browser-app.mjs scripts/consumer/check.ts scripts/consumer/tsconfig.*.json "$tmp/app/"
cd "$tmp/app"
echo '{ "name": "firegrad-consumer", "private": true, "type": "module" }' > package.json
# --ignore-scripts: gpu.js's optional headless-gl would otherwise compile a native addon for minutes.
npm install --ignore-scripts --no-audit --no-fund --loglevel=error "$tmp"/tarballs/*.tgz "@types/node@20"
node train.mjs
# A warning (say, a Node module left in the bundle, or a dropped side-effect import) fails it too.
warnings=$("$root/node_modules/.bin/esbuild" browser-app.mjs --bundle --platform=browser --format=esm --log-level=warning --outfile=bundle.js 2>&1)
if [ -n "$warnings" ]; then echo "$warnings"; exit 1; fi
node "$root/scripts/consumer/browser-smoke.mjs" "$tmp/app"
for c in nodenext bundler; do "$root/node_modules/.bin/tsc" -p "tsconfig.$c.json" && echo "tsc ($c, strict): ok"; done
# ESM only. Node >= 20.19 loads ES modules through require() (require(esm)); older Node refuses with
# ERR_REQUIRE_ESM. Whichever this Node does, it must be one of the two, never a half-loaded module.
if out=$(node --input-type=commonjs -e "const c = require('@firegrad/core'); if (typeof c.tensor !== 'function') process.exit(3)" 2>&1); then
  echo "require(): works on Node $(node -v) (require(esm))"
elif grep -q ERR_REQUIRE_ESM <<<"$out"; then
  echo "require(): Node $(node -v) refuses with ERR_REQUIRE_ESM (ESM-only package)"
else
  echo "require() failed otherwise: $out"; exit 1
fi
