#!/usr/bin/env bash
# Regenerates the committed generated files into a temporary folder and fails
# when any differs from the one in the package: binding.js and binding.d.ts
# (napi-rs, from the Rust crate), and the .js and .d.ts that tsc compiles from
# ts/. Needs the devDependencies (npm ci). Builds the addon as it goes.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

fresh="$(mktemp -d)"
trap 'rm -rf "$fresh"' EXIT

MWS_NODE_PROFILE="${MWS_NODE_PROFILE:-debug}" node scripts/build.js --typegen --out-dir "$fresh"
npx tsc -p . --outDir "$fresh"

status=0
for generated in "$fresh"/*; do
    name="$(basename "$generated")"
    if ! git ls-files --error-unmatch "$name" >/dev/null 2>&1; then
        echo "bindings/node/$name is generated but not committed" >&2
        status=1
    elif ! diff -u "$name" "$generated"; then
        echo "bindings/node/$name is out of date: run 'npm run build' in bindings/node and commit it" >&2
        status=1
    fi
done
count="$(find "$fresh" -type f | wc -l)"
if [[ $status -eq 0 ]]; then
    echo "$count generated files up to date"
fi
exit "$status"
