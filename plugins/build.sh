#!/bin/sh
# Rebuilds every example plugin and the SDK's WAT example into plugins/dist,
# and the hostile cases and the signed example manifests into
# testdata/plugins, reproducibly: the same sources and toolchain versions
# give the same bytes, which .ci/check-artifacts relies on. Given a
# directory $1, it writes the same tree under it instead ($1/plugins/dist,
# $1/testdata/plugins).
#
# Needs: go (Go plugins), clang + wasm-ld (C plugins), wat2wasm from wabt
# (WAT plugins), npm (the AssemblyScript compiler, pinned below and
# installed on first use into ~/.cache/wisp). Called by `go generate ./plugins`.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
top=${1:-$root}
mkdir -p "$top/plugins/dist" "$top/testdata/plugins"
top=$(cd "$top" && pwd)
out=$top/plugins/dist
fixtures=$top/testdata/plugins
cd "$root"

gowasm() { # output package
	GOOS=wasip1 GOARCH=wasm go build -trimpath -ldflags=-s -buildmode=c-shared -o "$out/$1" "$2"
}
cwasm() { # output source [flags]
	clang --target=wasm32 -nostdlib -O2 -mbulk-memory -Isdk/c \
		-Wl,--no-entry -Wl,--strip-debug -o "$out/$1" "$2" ${3:-}
}

# AssemblyScript: the compiler is pinned, so the same source gives the same
# bytes; stub runtime (no GC, nothing freed: the plugin allocates only at
# start) and no abort import (a failed assertion is a trap).
ASC_VERSION=0.28.20
asc_dir="${XDG_CACHE_HOME:-$HOME/.cache}/wisp/assemblyscript-$ASC_VERSION"
ascwasm() { # output source
	if [ ! -x "$asc_dir/node_modules/.bin/asc" ]; then
		npm install --no-audit --no-fund --no-save --prefix "$asc_dir" "assemblyscript@$ASC_VERSION" >/dev/null
	fi
	"$asc_dir/node_modules/.bin/asc" "$2" --runtime stub --use abort= -O3 --noAssert -o "$out/$1"
}

gowasm fitness.wasm ./plugins/fitness
gowasm fridge-go.wasm ./plugins/fridge/gowasm
cwasm fridge.wasm plugins/fridge/c/fridge.c -DWISP_SUMMARY
cwasm fridge-events.wasm plugins/fridge/c/fridge.c
cwasm car.wasm plugins/car/c/car.c
wat2wasm plugins/tv/tv.wat -o "$out/tv.wasm"
ascwasm home.wasm plugins/home/assembly/index.ts
wat2wasm sdk/wat/example.wat -o "$out/example.wasm"
sh plugins/hostile/build.sh "$fixtures/hostile"

# Sign the example manifests with the committed test-only author key
# (Ed25519 signatures are deterministic, so this is reproducible too).
for p in fitness fridge tv car home; do
	go run ./cmd/wisp plugin sign "plugins/$p" --key testdata/plugins/example-author.key \
		--wasm "$out/$p.wasm" -o "$fixtures/$p.manifest.json" >/dev/null
done
