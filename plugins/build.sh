#!/bin/sh
# Rebuilds every example plugin, the SDK's WAT example and the hostile cases
# into testdata/plugins (or into the directory given as $1), reproducibly:
# the same sources and toolchain versions give the same bytes, which
# .ci/check-artifacts relies on.
#
# Needs: go (Go plugins), clang + wasm-ld (C plugins), wat2wasm from wabt
# (WAT plugins). Called by `go generate ./testdata`.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/testdata/plugins}
mkdir -p "$out"
out=$(cd "$out" && pwd)
cd "$root"

gowasm() { # output package
	GOOS=wasip1 GOARCH=wasm go build -trimpath -ldflags=-s -buildmode=c-shared -o "$out/$1" "$2"
}
cwasm() { # output source [flags]
	clang --target=wasm32 -nostdlib -O2 -mbulk-memory -Isdk/c \
		-Wl,--no-entry -Wl,--strip-debug -o "$out/$1" "$2" ${3:-}
}

gowasm fitness.wasm ./plugins/fitness
gowasm fridge-go.wasm ./plugins/fridge/gowasm
cwasm fridge.wasm plugins/fridge/c/fridge.c -DWISP_SUMMARY
cwasm fridge-events.wasm plugins/fridge/c/fridge.c
cwasm car.wasm plugins/car/c/car.c
wat2wasm plugins/tv/tv.wat -o "$out/tv.wasm"
wat2wasm sdk/wat/example.wat -o "$out/example.wasm"
sh plugins/hostile/build.sh "$out/hostile"

# Sign the example manifests with the committed test-only author key
# (Ed25519 signatures are deterministic, so this is reproducible too).
for p in fitness fridge tv car; do
	go run ./cmd/wisp plugin sign "plugins/$p" --key testdata/plugins/example-author.key \
		--wasm "$out/$p.wasm" -o "$out/$p.manifest.json" >/dev/null
done
