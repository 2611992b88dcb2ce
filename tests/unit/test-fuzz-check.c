/*
 * The strict JSON and XML checkers of the format fuzz target (tests/fuzz/fuzz-check.c): a
 * checker that accepted everything would make the fuzz target's checks vacuous, so each
 * rule it enforces is shown refusing a document that breaks it, and accepting the valid
 * neighbours (including the shapes the plugins write: IDMEF with a DOCTYPE, escapes, UTF-8).
 */
#include <stdio.h>
#include <string.h>

#include "fuzz-check.h"
#include "tap.h"

static const char *const json_good[] = {
    "{}",
    "[]",
    "0",
    "-0",
    "1.5e-3",
    "-12E+7",
    "\"\"",
    "true",
    "false",
    "null",
    " [1 , 2]\n",
    "{\"a\":{\"b\":[1,{\"c\":null}]},\"d\":\"\\u00e9\\ud83c\\udf8c\\\"\\\\\\/\\b\\f\\n\\r\\t\"}",
    "\"\xc3\xa9\xe6\x97\xa5\xf0\x9f\x8e\x8c\"",
    "{\"a\":1,\"A\":2,\"a.b\":3}",
};

static const char *const json_bad[] = {
    "",
    "{",
    "[1,]",
    "{\"a\":1,}",
    "{\"a\" 1}",
    "01",
    "1.",
    ".5",
    "1e",
    "+1",
    "NaN",
    "Infinity",
    "-Infinity",
    "nul",
    "tru",
    "\"a",
    "\"\\x\"",
    "\"\\u12\"",
    "\"\\ud800\"",
    "\"\\udc00\"",
    "\"\\ud800\\u0041\"",
    "\"\x01\"",
    "\"\xff\"",
    "\"\xc0\xaf\"",
    "\"\xed\xa0\x80\"",
    "{\"a\":1,\"a\":2}",
    "[1] [2]",
    "{1:2}",
    "[1 2]",
    "\"\xf4\x90\x80\x80\"",
};

static const char *const xml_good[] = {
    "<a/>",
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?><a x=\"1\" y='2'>t&amp;&lt;&gt;&quot;&apos;</a>",
    "<?xml version=\"1.0\"?>\n<!DOCTYPE IDMEF-Message PUBLIC \"-//IETF//DTD RFC 4765 IDMEF "
    "v1.0//EN\" "
    "\"idmef-message.dtd\"><idmef:IDMEF-Message xmlns:idmef=\"http://iana.org/idmef\">"
    "<idmef:Alert messageid=\"x\"/></idmef:IDMEF-Message>\n",
    "<a><!-- c --><?pi x?><![CDATA[<&]]><b>&#10;&#x1F38C;\xc3\xa9</b></a>",
    "<a>\xe6\x97\xa5 ]] > </a><!-- after -->",
};

static const char *const xml_bad[] = {
    "",
    "text",
    "<a>",
    "<a></b>",
    "<a><b></a></b>",
    "<a x=\"1\" x=\"2\"/>",
    "<a x=1/>",
    "<a x=\"<\"/>",
    "<a>&</a>",
    "<a>&foo;</a>",
    "<a>&#1;</a>",
    "<a>&#xD800;</a>",
    "<a>\x01</a>",
    "<a>\xff</a>",
    "<a>]]></a>",
    "<a/><b/>",
    "<a/>x",
    "<a><!-- -- --></a>",
    "<a x=\"1\"y=\"2\"/>",
    "<a><?xml version=\"1.0\"?></a>",
    "<!DOCTYPE a [<!ENTITY e \"x\">]><a>&e;</a>",
    "<1a/>",
};

int
main(void)
{
    char why[256];

    for (size_t i = 0; i < sizeof(json_good) / sizeof(json_good[0]); i++) {
        int r = fuzz_check_json(json_good[i], strlen(json_good[i]), why, sizeof(why));
        ok(r == 0, "JSON accepted: %s%s%s", json_good[i], r ? " -- " : "", r ? why : "");
    }
    for (size_t i = 0; i < sizeof(json_bad) / sizeof(json_bad[0]); i++) {
        int r = fuzz_check_json(json_bad[i], strlen(json_bad[i]), why, sizeof(why));
        ok(r == -1 && why[0] != '\0', "JSON refused (%s): %s", why, json_bad[i]);
    }
    for (size_t i = 0; i < sizeof(xml_good) / sizeof(xml_good[0]); i++) {
        int r = fuzz_check_xml(xml_good[i], strlen(xml_good[i]), why, sizeof(why));
        ok(r == 0, "XML accepted: good document %zu%s%s", i, r ? " -- " : "", r ? why : "");
    }
    for (size_t i = 0; i < sizeof(xml_bad) / sizeof(xml_bad[0]); i++) {
        int r = fuzz_check_xml(xml_bad[i], strlen(xml_bad[i]), why, sizeof(why));
        ok(r == -1 && why[0] != '\0', "XML refused (%s): %s", why, xml_bad[i]);
    }
    {
        /* A NUL inside is refused by both (the plugins must never write one). */
        ok(fuzz_check_json("\"a\0b\"", 5, why, sizeof(why)) == -1, "JSON: NUL refused");
        ok(fuzz_check_xml("<a>\0</a>", 8, why, sizeof(why)) == -1, "XML: NUL refused");
    }
    {
        /* Deep nesting is refused, not a stack overflow. */
        static char deep[4003];
        memset(deep, '[', 2000);
        memset(deep + 2000, ']', 2000);
        ok(fuzz_check_json(deep, 4000, why, sizeof(why)) == -1, "JSON 2000 deep refused: %s", why);
        memset(deep, '[', 500);
        memset(deep + 500, ']', 500);
        ok(fuzz_check_json(deep, 1000, why, sizeof(why)) == 0, "JSON 500 deep accepted");
    }
    return tap_done();
}
