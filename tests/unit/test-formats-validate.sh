#!/bin/sh
# Validate what the exchange-format plugins write against the official standards:
#   stix21  OASIS STIX 2.1 JSON schemas (tests/formats/stix21, BSD-3)      stix21_check.py
#   misp    MISP core format 2.5 schema + the draft's category/type table  misp_check.py
#           (read from ../shared/corpus: no licence to copy it; skipped when absent)
#   idmef   RFC 4765 DTD (tests/formats/idmef)                             xmllint --dtdvalid
#   iodef   RFC 7970 XSD with local stubs for its imports (tests/formats/iodef)
#                                                                          xmllint --schema
#   ocsf    OCSF 1.8.0 Detection Finding definition (tests/formats/ocsf, Apache-2.0; and the
#           full tree in ../shared/corpus when present)                    ocsf_check.py
# The documents come from `test-formats --write DIR`: every plugin, every alert of the corpus
# in tests/unit/test-formats-alerts.c. Each validator is also shown a broken document that
# it must refuse, so a validator that accepts everything fails the test.
# TAP output; the plan is printed at the end.

: "${top_srcdir:=.}"
: "${top_builddir:=.}"
export KIZUNA_PLUGIN_DIR

formats="$top_srcdir/tests/formats"
shared="$top_srcdir/../shared/corpus/schemas"
n=0
failed=0

ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); failed=1; echo "not ok $n - $*"; }
skip() { n=$((n + 1)); echo "ok $n # SKIP $*"; }
diag() { sed 's/^/# /'; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/kz-formats-XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

if "$top_builddir/tests/unit/test-formats" --write "$tmp" >"$tmp/write.log" 2>&1; then
    ok "test-formats --write produced one file per plugin"
else
    not_ok "test-formats --write failed"
    diag <"$tmp/write.log"
    echo "1..$n"
    exit 1
fi
alerts=$(cat "$tmp/alerts.txt")
count=$(echo $alerts | wc -w)

# Run a validator: $1 = what, $2 = 0 when it must accept / 1 when it must refuse, rest = argv.
check() {
    what=$1 want=$2
    shift 2
    if "$@" >"$tmp/out.log" 2>&1; then got=0; else got=1; fi
    if [ "$got" = "$want" ]; then
        ok "$what"
    else
        not_ok "$what"
        diag <"$tmp/out.log"
    fi
}

has_python() {
    python3 -c 'import jsonschema; jsonschema.Draft202012Validator' >/dev/null 2>&1
}

# --- STIX 2.1 -----------------------------------------------------------------------------
if has_python; then
    check "stix21: $count bundles valid against the OASIS STIX 2.1 schemas" 0 \
        python3 "$formats/stix21_check.py" "$formats/stix21/schemas" "$tmp/stix21.out"
    # A bundle whose ipv4-addr id is not the deterministic one, and one with a bad timestamp.
    python3 - "$tmp/stix21.out" "$tmp/stix21.bad" <<'EOF'
import json, sys
b = json.loads(open(sys.argv[1]).readline())
c = json.loads(json.dumps(b))
for o in b["objects"]:
    if o["type"] == "ipv4-addr":
        o["value"] = "192.0.2.255"
        break
for o in c["objects"]:
    if o["type"] == "indicator":
        o["created"] = "2026-11-27T01:02:03Z"
open(sys.argv[2], "w").write(json.dumps(b) + "\n" + json.dumps(c) + "\n")
EOF
    check "stix21: the check refuses a wrong SCO id and a timestamp without milliseconds" 1 \
        python3 "$formats/stix21_check.py" "$formats/stix21/schemas" "$tmp/stix21.bad"
else
    skip "stix21: python3 with jsonschema (draft 2020-12) not available"
    skip "stix21: negative control"
fi

# --- MISP ---------------------------------------------------------------------------------
if [ ! -d "$shared/misp" ]; then
    skip "misp: $shared/misp absent (the MISP core-format schema is not copied into kizuna)"
    skip "misp: negative control"
elif ! has_python; then
    skip "misp: python3 with jsonschema not available"
    skip "misp: negative control"
else
    check "misp: $count events valid against the MISP core format schema and type table" 0 \
        python3 "$formats/misp_check.py" "$shared/misp" "$tmp/misp.out"
    head -n 1 "$tmp/misp.out" | sed 's/"category":"Network activity"/"category":"Targeting data"/' \
        >"$tmp/misp.bad"
    check "misp: the check refuses ip-src in category Targeting data" 1 \
        python3 "$formats/misp_check.py" "$shared/misp" "$tmp/misp.bad"
fi

# --- OCSF ---------------------------------------------------------------------------------
if has_python; then
    check "ocsf: $count findings valid against the Detection Finding definition (local copy)" 0 \
        python3 "$formats/ocsf_check.py" "$formats/ocsf" "$tmp/ocsf.out"
    if [ -d "$shared/ocsf" ]; then
        check "ocsf: and against the full OCSF 1.8.0 tree of the corpus" 0 \
            python3 "$formats/ocsf_check.py" "$shared/ocsf" "$tmp/ocsf.out"
    else
        skip "ocsf: $shared/ocsf absent, full-tree check skipped"
    fi
    head -n 1 "$tmp/ocsf.out" | sed 's/"severity_id":4,"severity":"High"/"severity_id":4,"severity":"Low"/; s/"type_uid":200401/"type_uid":200402/' \
        >"$tmp/ocsf.bad"
    check "ocsf: the check refuses a wrong severity caption and type_uid" 1 \
        python3 "$formats/ocsf_check.py" "$formats/ocsf" "$tmp/ocsf.bad"
else
    skip "ocsf: python3 not available"
    skip "ocsf: full tree"
    skip "ocsf: negative control"
fi

# --- IDMEF and IODEF (one document a line; each validated on its own) ----------------------
if command -v xmllint >/dev/null 2>&1; then
    i=0
    for name in $alerts; do
        i=$((i + 1))
        sed -n "${i}p" "$tmp/idmef.out" >"$tmp/idmef-$i.xml"
        check "idmef $name: valid against the RFC 4765 DTD" 0 \
            xmllint --nonet --noout --dtdvalid "$formats/idmef/idmef-message.dtd" "$tmp/idmef-$i.xml"
        sed -n "${i}p" "$tmp/iodef.out" >"$tmp/iodef-$i.xml"
        check "iodef $name: valid against the RFC 7970 schema" 0 \
            env XML_CATALOG_FILES="$formats/iodef/catalog.xml" \
            xmllint --nonet --noout --schema "$formats/iodef/iodef-2.0.xsd" "$tmp/iodef-$i.xml"
    done
    sed 's/<Classification [^>]*>.*<\/Classification>//' "$tmp/idmef-1.xml" >"$tmp/idmef.bad"
    check "idmef: the DTD refuses an Alert without Classification" 1 \
        xmllint --nonet --noout --dtdvalid "$formats/idmef/idmef-message.dtd" "$tmp/idmef.bad"
    sed 's/restriction="amber"/restriction="clear"/' "$tmp/iodef-1.xml" >"$tmp/iodef.bad"
    check "iodef: the schema refuses restriction=\"clear\" (not an IODEF value)" 1 \
        env XML_CATALOG_FILES="$formats/iodef/catalog.xml" \
        xmllint --nonet --noout --schema "$formats/iodef/iodef-2.0.xsd" "$tmp/iodef.bad"
    lines=$(wc -l <"$tmp/idmef.out")
    if [ "$lines" -eq "$count" ] && [ "$(wc -l <"$tmp/iodef.out")" -eq "$count" ]; then
        ok "idmef, iodef: one document per line, $count lines"
    else
        not_ok "idmef, iodef: expected $count lines"
    fi
else
    skip "xmllint not available: IDMEF and IODEF not validated"
fi

echo "1..$n"
exit $failed
