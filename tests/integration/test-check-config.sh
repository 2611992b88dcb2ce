#!/bin/sh
# kizunad --check-config: exit 0 on a valid config; exit 1 with every problem as
# FILE:LINE:COL: message (config keys, rule compile errors, unknown plugin options).
. "$top_srcdir/tests/integration/lib.sh"

mkdir -p "$T/rules"
cp "$top_srcdir/conf/rules/ssh.yaml" "$T/rules/"
cat >"$T/good.yaml" <<YAML
inputs:
  - type: stdin
rules: [rules/*.yaml]
outputs:
  - name: soc
    plugin: json
    path: "-"
YAML
out=$("$KIZUNAD" -c "$T/good.yaml" --check-config 2>&1)
is "$?" 0 "a valid config passes"
echo "$out" | grep -q "OK (1 inputs, 3 rules, 1 outputs)"
ok $? "and says what it checked"

cat >"$T/bad.yaml" <<YAML
inputs:
  - type: file
    pat: /var/log/auth.log
  - type: kafka
    brokers: embedded
    follow: true
rules: [rules/*.yaml]
limits:
  max_fields: 3
outputs:
  - name: soc
    plugin: json
    path: "-"
    colour: red
YAML
cat >"$T/rules/bad.yaml" <<YAML
id: bad-regex
title: Bad regex
level: low
detection:
  sel:
    message|re: 'Failed (password'
  condition: sel
YAML
"$KIZUNAD" -c "$T/bad.yaml" --check-config >"$T/bad.out" 2>&1
is "$?" 1 "an invalid config exits 1"
grep -q "^$T/bad.yaml:3:5: unknown key 'pat' in input" "$T/bad.out"; ok $? "unknown key named with file:line:col"
grep -q "^$T/bad.yaml:2:5: file input needs 'path'" "$T/bad.out"; ok $? "missing path reported"
grep -q "^$T/bad.yaml:6:5: 'follow' does not apply to a kafka input" "$T/bad.out"; ok $? "key of the wrong input type reported"
grep -q "^$T/bad.yaml:4:5: kafka input needs 'topics'" "$T/bad.out"; ok $? "missing topics reported"
grep -q "^$T/bad.yaml:9:15: 'max_fields' is 3, out of range" "$T/bad.out"; ok $? "out-of-range limit reported"
grep -q "^$T/rules/bad.yaml:6:[0-9]*: .*bad-regex.*missing closing parenthesis.*offset" "$T/bad.out"
ok $? "rule regex error names file, line, rule and PCRE2 offset"
[ "$(grep -c . "$T/bad.out")" -ge 6 ]; ok $? "every problem listed at once"

cat >"$T/bad-output.yaml" <<YAML
inputs:
  - type: stdin
rules: [rules/ssh.yaml]
outputs:
  - name: soc
    plugin: json
    path: "-"
    colour: red
  - name: other
    plugin: nosuch
    path: "-"
YAML
"$KIZUNAD" -c "$T/bad-output.yaml" --check-config >"$T/bad2.out" 2>&1
is "$?" 1 "bad outputs exit 1"
grep -q "^$T/bad-output.yaml:8:5: output 'soc': plugin 'json' has no option 'colour'" "$T/bad2.out"; ok $? "unknown plugin option named"
grep -q "^$T/bad-output.yaml:9:5: output 'other': .*out_nosuch.so" "$T/bad2.out"; ok $? "missing plugin named with its file"

printf 'inputs: [\n' >"$T/syntax.yaml"
"$KIZUNAD" -c "$T/syntax.yaml" --check-config >"$T/syntax.out" 2>&1
is "$?" 1 "YAML syntax error exits 1"
grep -q "^$T/syntax.yaml:[0-9]*:[0-9]*: " "$T/syntax.out"; ok $? "YAML syntax error has file:line:col"

"$KIZUNAD" --version | grep -q '^kizunad [0-9]'; ok $? "--version"
done_testing
