#!/bin/sh
# The SDK as a third party uses it: `make install` into a temporary tree, build
# contrib/plugin-example with its own Makefile through pkg-config kizuna-plugin, and run the
# installed daemon with the installed plugins and the example.
. "$top_srcdir/tests/integration/lib.sh"
command -v pkg-config >/dev/null || skip_all "pkg-config not installed"
D="$T/dest"
make -s -C "$top_builddir" install DESTDIR="$D" >"$T/install.log" 2>&1
ok $? "make install into a temporary tree"
prefix=$(sed -n 's/^prefix=//p' "$top_builddir/kizuna-plugin.pc")
P="$D$prefix"
[ -x "$P/sbin/kizunad" ]; ok $? "daemon installed in sbin"
[ -f "$P/include/kizuna/plugin.h" ]; ok $? "plugin.h installed"
[ -f "$P/lib/pkgconfig/kizuna-plugin.pc" ]; ok $? "kizuna-plugin.pc installed"
ls "$P/lib/kizuna/out_json.so" >/dev/null 2>&1; ok $? "plugins installed in pkglibdir"
[ -f "$D/$(sed -n 's/^sysconfdir = //p' "$top_builddir/Makefile" | sed "s#\${prefix}#$prefix#")/kizuna/kizunad.yaml" ]
ok $? "sample config installed under sysconfdir/kizuna"

export PKG_CONFIG_PATH="$P/lib/pkgconfig" PKG_CONFIG_SYSROOT_DIR="$D"
is "$(pkg-config --modversion kizuna-plugin)" "$(sed -n 's/^Version: //p' "$top_builddir/kizuna-plugin.pc")" "pkg-config finds the SDK"
cp -r "$top_srcdir/contrib/plugin-example" "$T/example"
make -s -C "$T/example" PLUGINDIR="$P/lib/kizuna" install >"$T/example.log" 2>&1
ok $? "the example plugin builds with its own Makefile against the installed header"

KIZUNA_PLUGIN_DIR="$P/lib/kizuna" "$P/sbin/kizunad" --list-plugins >"$T/list.out" 2>&1
grep -q "text" "$T/list.out" && grep -q "show_fields" "$T/list.out"
ok $? "--list-plugins shows the example with its options"

cat >"$T/rules.yaml" <<YAML
id: ssh-invalid-user
title: SSH invalid user
level: high
detection:
  sel:
    message|re: '^Invalid user (?<user>\S*) from (?<src>\S+)'
  condition: sel
fields: { user: user.name, src: source.ip }
YAML
cat >"$T/kizunad.yaml" <<YAML
plugin_dir: $P/lib/kizuna
inputs:
  - type: stdin
    format: syslog
rules: [$T/rules.yaml]
outputs:
  - name: pager
    plugin: text
    path: $T/pager.txt
    prefix: "kizuna:"
YAML
"$P/sbin/kizunad" -c "$T/kizunad.yaml" <"$top_srcdir/tests/data/crowdsec/ssh-bf.log" 2>"$T/run.log"
is "$?" 0 "the installed daemon runs with the example plugin"
is "$(line_count "$T/pager.txt")" 6 "one line per alert"
grep -q '^kizuna: \[HIGH\] SSH invalid user (ssh-invalid-user) count=1 2026-02-12T14:10:21.000000Z' "$T/pager.txt"
ok $? "lines written by the example plugin"
done_testing
