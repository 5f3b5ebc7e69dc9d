#!/bin/sh
# Rebuilds the hostile test modules from their WAT sources (needs wabt's
# wat2wasm). A source may ask for extra wat2wasm flags on a line
# ";; flags: ..." (refuel.wat is deliberately invalid, so it skips checks).
# Usage: build.sh [outdir]   (default ../../testdata/plugins/hostile)
set -eu
cd "$(dirname "$0")"
out=${1:-../../testdata/plugins/hostile}
mkdir -p "$out"
for f in *.wat; do
	flags=$(sed -n 's/^;; flags: //p' "$f")
	# shellcheck disable=SC2086
	wat2wasm $flags "$f" -o "$out/${f%.wat}.wasm"
done
