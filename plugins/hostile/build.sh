#!/bin/sh
# Rebuilds the hostile test modules from their WAT sources (needs wabt's wat2wasm).
set -eu
cd "$(dirname "$0")"
out=../../testdata/plugins/hostile
mkdir -p "$out"
for f in *.wat; do
	wat2wasm "$f" -o "$out/${f%.wat}.wasm"
done
