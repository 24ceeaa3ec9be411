#!/usr/bin/env bash
# meson install into a prefix, then what a plugin author does with it:
# build the template plugin with one cc command and pkg-config, check it,
# train with it, save, and load it back for predict.
#   tests/test_install.sh BUILDDIR PREFIX
set -u
cd "$(dirname "$0")/.."
build=$1
prefix=$(realpath -m "$2")
pass=0 fail=0
ok() { if eval "$1"; then pass=$((pass + 1)); else echo "FAIL: $2"; fail=$((fail + 1)); fi; }
work=$(mktemp -d /tmp/nnkit-install-XXXXXX)
trap 'rm -rf "$work"' EXIT

rm -rf "$prefix"
if [ ! -f "$build/build.ninja" ]; then
  meson setup "$build" --prefix="$prefix" -Dtests=false >/dev/null || exit 1
fi
meson install -C "$build" --quiet >"$work/install.log" 2>&1
rc=$?
ok '[ $rc = 0 ]' "meson install: $(tail -5 "$work/install.log")"
pc=$(find "$prefix" -name nnkit.pc | head -1)
libdir=$(dirname "$(dirname "$pc")")
export PKG_CONFIG_PATH=$(dirname "$pc")
export LD_LIBRARY_PATH=$libdir
NNKIT=$prefix/bin/nnkit
ok '[ -x "$NNKIT" ] && [ -f "$prefix/include/nnkit/plugin.h" ] && [ -f "$prefix/include/nnkit/nnkit.h" ] && [ -f "$prefix/include/nnkit/tensorboard.h" ] && ls "$libdir"/nnkit/plugins/nnkit-layers.so >/dev/null' "installed files"
cc $(pkg-config --cflags nnkit) -O2 -fPIC -shared -fvisibility=hidden -o "$work/myplugin.so" examples/plugins/myplugin.c -lm 2>"$work/cc.log"
rc=$?
ok '[ $rc = 0 ]' "building the template plugin: $(cat "$work/cc.log")"
ok '[ "$(nm -D --defined-only "$work/myplugin.so" | grep -vc " [wUu] ")" = 1 ] && nm -D --defined-only "$work/myplugin.so" | grep -q " [RD] nnkit_plugin$"' "the plugin exports one symbol, its record"
"$NNKIT" check-plugin "$work/myplugin.so" >"$work/check.log" 2>&1
rc=$?
ok '[ $rc = 0 ] && grep -q "^check-plugin: 10 passed, 0 failed$" "$work/check.log"' "check-plugin: $(cat "$work/check.log")"
"$NNKIT" plugins >"$work/plugins.log" 2>&1
ok 'grep -q "searched: $libdir/nnkit/plugins" "$work/plugins.log"' "installed runner finds the installed plugins: $(head -1 "$work/plugins.log")"
"$NNKIT" train examples/plugins/residual.ini --plugin-dir "$work" --run-name res --set run.dir="$work/runs" >"$work/train.log" 2>&1
rc=$?
ok '[ $rc = 0 ] && grep -q "^test: loss" "$work/train.log"' "train with the plugin: $(cat "$work/train.log")"
"$NNKIT" predict "$work/runs/res/model.nnk" --input examples/data/diabetes.csv --plugin-dir "$work" -o "$work/pred.csv" 2>"$work/pred.log"
rc=$?
ok '[ $rc = 0 ] && [ "$(wc -l <"$work/pred.csv")" = 443 ]' "predict with the plugin: $(cat "$work/pred.log")"
"$NNKIT" predict "$work/runs/res/model.nnk" --input examples/data/diabetes.csv 2>"$work/missing.log" >/dev/null
rc=$?
ok '[ $rc = 1 ] && grep -q "^nnkit: error: model .* needs layer .residual_block. from plugin .myplugin. >= 1.2.0; searched: $libdir/nnkit/plugins\$" "$work/missing.log"' "missing plugin: $(cat "$work/missing.log")"
echo "install: $pass passed, $fail failed"
[ "$fail" = 0 ]
