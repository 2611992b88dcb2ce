/*
 * Tests of the exchange-format output plugins (plugins/out_{stix21,misp,idmef,iodef,cef,ocsf,
 * syslog}) through the real loader and the built .so files from $KIZUNA_PLUGIN_DIR:
 *
 *   - known-answer tests of the header-only helpers the plugins share (SHA-1, UUIDv5, UTF-8
 *     repair, JSON and XML escaping, address and ATT&CK tag parsing);
 *   - for every plugin and every alert of the corpus (test-formats-alerts.c): emit returns
 *     KZ_OK, the output is exactly one line, valid UTF-8, without NUL, and the same alert
 *     gives the same bytes again (partners de-duplicate on ids);
 *   - exact expectations for each format (TLP mapping, severities, escaping, options).
 *
 * Schema validation of the same outputs is test-formats-validate.sh, which runs this program
 * as `test-formats --write DIR [PLUGIN...]` to get one file per plugin. `test-formats --bench N`
 * prints the time each plugin takes per alert.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../plugins/common/attack.h"
#include "../../plugins/common/netaddr.h"
#include "../../plugins/common/sbuf.h"
#include "../../plugins/common/sha1.h"
#include "../../plugins/common/uuid5.h"
#include "alert.h"
#include "buf.h"
#include "plugin-loader.h"
#include "plugin-stage.h"
#include "tap.h"
#include "test-formats-alerts.h"
#include "xmalloc.h"

static void
hex(const unsigned char *md, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++) {
        snprintf(out + 2 * i, 3, "%02x", md[i]);
    }
}

static void
test_sha1(void)
{
    static const struct {
        const char *in;
        const char *want;
    } kat[] = {
        /* FIPS 180-2 appendix A and the empty string. */
        {"", "da39a3ee5e6b4b0d3255bfef95601890afd80709"},
        {"abc", "a9993e364706816aba3e25717850c26c9cd0d89d"},
        {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "84983e441c3bd26ebaae4aa1f95129e5e54670f1"},
    };
    unsigned char md[SHA1_DIGEST_LEN];
    char got[41];
    char block[97];
    struct sha1 c;

    for (size_t i = 0; i < sizeof(kat) / sizeof(kat[0]); i++) {
        sha1_digest(kat[i].in, strlen(kat[i].in), md);
        hex(md, sizeof(md), got);
        is_str(got, kat[i].want, kat[i].in[0] ? "SHA-1 known answer" : "SHA-1 of empty string");
    }
    /* One million 'a', fed in odd-sized pieces across block boundaries. */
    sha1_init(&c);
    memset(block, 'a', sizeof(block));
    for (int i = 0; i < 1000000;) {
        int take = 1000000 - i < 97 ? 1000000 - i : 97;

        sha1_update(&c, block, (size_t)take);
        i += take;
    }
    sha1_final(&c, md);
    hex(md, sizeof(md), got);
    is_str(got, "34aa973cd4c4daa4f61eeb2bdbad27316534016f", "SHA-1 of a million 'a'");
    /* 55, 56 and 64 bytes: the padding edge cases. */
    sha1_digest("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 55, md);
    hex(md, sizeof(md), got);
    is_str(got, "c1c8bbdc22796e28c0e15163d20899b65621d65a", "SHA-1 of 55 bytes");
    sha1_digest("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 56, md);
    hex(md, sizeof(md), got);
    is_str(got, "c2db330f6083854c99d4b5bfb6e8f29f201be699", "SHA-1 of 56 bytes");
}

static void
test_uuid5(void)
{
    static const unsigned char stix_sco[16] = {0x00, 0xab, 0xed, 0xb4, 0xaa, 0x42, 0x46, 0x6c,
                                               0x9c, 0x01, 0xfe, 0xd2, 0x33, 0x15, 0xa9, 0xb7};
    char u[UUID5_TEXT_LEN + 1];

    /* RFC 9562 appendix A.4 (and Python's uuid.uuid5). */
    uuid5_make(uuid5_ns_dns, "www.example.com", 15, u);
    is_str(u, "2ed6657d-e927-568b-95e1-2665a8aea6a2", "UUIDv5 of www.example.com (RFC 9562)");
    /* kizuna's STIX namespace is uuid5(NameSpace_URL, "urn:kizuna:stix21"). */
    uuid5_make(uuid5_ns_url, "urn:kizuna:stix21", 17, u);
    is_str(u, "697e0789-cad0-55e8-b45e-1b2b98784005", "kizuna STIX namespace derivation");
    uuid5_make(uuid5_ns_url, "urn:kizuna:misp", 15, u);
    is_str(u, "84d20a96-1dc7-5c8a-bb19-ed6d9b1b7af3", "kizuna MISP namespace derivation");
    /* STIX 2.1 deterministic SCO id of ipv4-addr 198.51.100.3 (Python: uuid5 over RFC 8785). */
    uuid5_make(stix_sco, "{\"value\":\"198.51.100.3\"}", 24, u);
    is_str(u, "28bb3599-77cd-5a82-a950-b5bc3caf07c4", "STIX SCO id of ipv4-addr 198.51.100.3");
}

static void
test_sbuf(void)
{
    struct sbuf b = {0};

    /* Maximal subparts (Unicode 15, table 3-8): F0 80 80 41 -> FFFD FFFD FFFD 41. */
    sbuf_utf8(&b, "\xf0\x80\x80\x41", 4);
    is_str(b.data,
           "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
           "A",
           "UTF-8: overlong lead replaced per byte");
    sbuf_reset(&b);
    sbuf_utf8(&b, "\xe1\x80\x41\xed\xa0\x80\xf4\x90\x80\x80", 10);
    is_str(b.data,
           "\xef\xbf\xbd"
           "A\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
           "\xef\xbf\xbd",
           "UTF-8: truncated sequence one U+FFFD, surrogate and >U+10FFFF per byte");
    sbuf_reset(&b);
    sbuf_utf8(&b, "\xf0\x9f\x8e\x8c\xc3", 5);
    is_str(b.data, "\xf0\x9f\x8e\x8c\xef\xbf\xbd", "UTF-8: valid 4-byte kept, cut tail replaced");
    sbuf_reset(&b);
    sbuf_json_chars(&b, "a\"b\\c\n\x01\x1f\x7f/\xc3\xa9", strlen("a\"b\\c\n\x01\x1f\x7f/\xc3\xa9"));
    is_str(b.data, "a\\\"b\\\\c\\n\\u0001\\u001f\x7f/\xc3\xa9", "JSON escaping (RFC 8785 style)");
    sbuf_reset(&b);
    sbuf_xml_cstr(&b, "<a href=\"x\">&'\t\n\r\x01\xef\xbf\xbe</a>");
    is_str(
        b.data,
        "&lt;a href=&quot;x&quot;&gt;&amp;&apos;&#9;&#10;&#13;\xef\xbf\xbd\xef\xbf\xbd&lt;/a&gt;",
        "XML escaping: entities, line breaks as references, forbidden characters replaced");
    sbuf_free(&b);
}

static void
test_netaddr(void)
{
    char out[NETADDR_MAX];

    is_int(netaddr_parse("2001:DB8:0:0:0:0:DEAD:BEEF", 26, out), NETADDR_V6, "IPv6 recognised");
    is_str(out, "2001:db8::dead:beef", "IPv6 canonical form (RFC 5952)");
    is_int(netaddr_parse("192.0.2.1", 9, out), NETADDR_V4, "IPv4 recognised");
    is_int(netaddr_parse("192.0.2.01", 10, out), NETADDR_NONE, "IPv4 with a leading zero refused");
    is_int(netaddr_parse("not-an-ip<script>", 17, out), NETADDR_NONE, "garbage is no address");
    is_int(netaddr_parse("fe80::1%eth0", 12, out), NETADDR_NONE, "zone index refused");
    is_int(netaddr_port("22", 2), 22, "port");
    is_int(netaddr_port("65536", 5), -1, "port out of range");
    is_int(netaddr_port("2x", 2), -1, "port not a number");
    ok(netaddr_is_hostname("bastion.example.org", 19) && netaddr_is_hostname("web-1", 5),
       "host names");
    ok(!netaddr_is_hostname("bad host name!", 14) && !netaddr_is_hostname("-a.b", 4) &&
           !netaddr_is_hostname("192.0.2.1", 9) && !netaddr_is_hostname("a..b", 4),
       "not host names");
}

static void
test_attack(void)
{
    struct attack_ref r;
    char url[96];

    ok(attack_parse_tag("attack.t1110.001", &r) && r.kind == ATTACK_TECHNIQUE &&
           strcmp(r.technique, "T1110") == 0 && strcmp(r.sub, "T1110.001") == 0,
       "sub-technique tag");
    attack_ref_url(&r, url, sizeof(url));
    is_str(url, "https://attack.mitre.org/techniques/T1110/001/", "sub-technique URL");
    ok(attack_parse_tag("attack.T1078", &r) && strcmp(attack_ref_id(&r), "T1078") == 0,
       "technique tag, upper case");
    ok(attack_parse_tag("attack.credential_access", &r) && r.kind == ATTACK_TACTIC &&
           strcmp(r.tactic->id, "TA0006") == 0 &&
           strcmp(r.tactic->shortname, "credential-access") == 0,
       "tactic tag, Sigma spelling");
    ok(attack_parse_tag("attack.command-and-control", &r) && strcmp(r.tactic->id, "TA0011") == 0,
       "tactic tag, ATT&CK spelling");
    ok(!attack_parse_tag("attack.g0032", &r) && !attack_parse_tag("attack.t11100", &r) &&
           !attack_parse_tag("attack.t1110.01", &r) && !attack_parse_tag("cve.2021-44228", &r) &&
           !attack_parse_tag("attack.credential_access_x", &r),
       "groups, malformed ids and other tags are not ATT&CK references");
}

/* 1 when s[0..n) is valid UTF-8. */
static int
valid_utf8(const char *s, size_t n)
{
    size_t i = 0;

    while (i < n) {
        uint32_t cp;

        i += sbuf_utf8_next((const unsigned char *)s + i, n - i, &cp);
        if (cp == SBUF_UTF8_BAD) {
            return 0;
        }
    }
    return 1;
}

/* Emit alert a with inst into out (reset first); returns the status. */
static int
emit(struct plugin_instance *inst, const struct alert *a, struct buf *out)
{
    buf_reset(out);
    return plugin_instance_emit(inst, a, out);
}

/* The generic contract, for every plugin and every alert of the corpus. */
static void
test_contract(struct formats_env *env)
{
    struct buf one, two;

    buf_init(&one);
    buf_init(&two);
    for (size_t p = 0; p < formats_nplugins; p++) {
        const char *name = formats_plugins[p];
        struct plugin_instance *inst = formats_instance(env, name, "");

        if (!ok(inst != NULL, "%s: default instance", name)) {
            tap_skip((int)formats_nalerts() * 3, "no instance");
            continue;
        }
        for (size_t i = 0; i < formats_nalerts(); i++) {
            struct alert *a = formats_alert(i);
            const char *an = formats_alert_name(i);
            int r1 = emit(inst, a, &one);
            int r2;

            ok(r1 == KZ_OK && one.len > 1 && one.data[one.len - 1] == '\n' &&
                   memchr(one.data, '\n', one.len - 1) == NULL &&
                   memchr(one.data, '\r', one.len) == NULL &&
                   memchr(one.data, '\0', one.len) == NULL,
               "%s %s: OK, exactly one line", name, an);
            ok(valid_utf8(one.data, one.len), "%s %s: valid UTF-8", name, an);
            r2 = emit(inst, a, &two);
            ok(r2 == KZ_OK && one.len == two.len && memcmp(one.data, two.data, one.len) == 0,
               "%s %s: same alert, same bytes", name, an);
            alert_free(a);
        }
        plugin_instance_free(inst);
    }
    buf_free(&one);
    buf_free(&two);
}

/* Output of plugin `name` with YAML options for alert i of the corpus (caller frees), or NULL. */
static char *
output(struct formats_env *env, const char *name, const char *options, size_t i)
{
    struct plugin_instance *inst = formats_instance(env, name, options);
    struct alert *a = formats_alert(i);
    struct buf out;
    char *r = NULL;

    buf_init(&out);
    if (inst != NULL && emit(inst, a, &out) == KZ_OK) {
        r = xstrdup(buf_cstr(&out));
    }
    alert_free(a);
    plugin_instance_free(inst);
    buf_free(&out);
    return r;
}

/*
 * 1 when plugin `name` refuses the options: its init fails and what it logs contains
 * `why` (stderr is captured meanwhile).
 */
static int
refused(struct formats_env *env, const char *name, const char *options, const char *why)
{
    struct plugin_instance *inst;
    char *log;
    int r;

    plugin_stage_capture_begin();
    inst = formats_instance(env, name, options);
    log = plugin_stage_capture_end();
    r = inst == NULL && log != NULL && strstr(log, why) != NULL;
    if (!r) {
        tap_diag("  %s with %s: %s", name, options, log != NULL ? log : "(no log)");
    }
    plugin_instance_free(inst);
    free(log);
    return r;
}

static int
has(const char *s, const char *needle)
{
    if (s != NULL && strstr(s, needle) != NULL) {
        return 1;
    }
    tap_diag("  '%s' not in output", needle);
    return 0;
}

enum { DET, CORR, HOSTILE, MINIMAL, RED, CLEAR };

/* Each row: alert, a string its output must contain. */
struct expect {
    size_t alert;
    const char *needle;
    const char *what;
};

static void
expect_all(struct formats_env *env, const char *name, const char *options, const struct expect *e,
           size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char *out = output(env, name, options, e[i].alert);

        ok(has(out, e[i].needle), "%s %s: %s", name, formats_alert_name(e[i].alert), e[i].what);
        free(out);
    }
}

static void
test_stix21(struct formats_env *env)
{
    static const struct expect e[] = {
        {DET, "\"id\":\"marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421\"",
         "TLP:AMBER is the OASIS TLP 2.0 marking"},
        {CORR, "\"id\":\"marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb\"", "TLP:GREEN"},
        {HOSTILE, "\"id\":\"marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003\"",
         "TLP:AMBER+STRICT"},
        {RED, "\"id\":\"marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1\"", "TLP:RED"},
        {CLEAR, "\"id\":\"marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487\"", "TLP:CLEAR"},
        {MINIMAL, "\"tlp_2_0\":\"amber\"", "no TLP configured: amber"},
        {DET, "\"pattern\":\"[ipv4-addr:value = '203.0.113.7']\"", "indicator for the source"},
        {CORR, "\"pattern\":\"[ipv6-addr:value = '2001:db8::dead:beef']\"",
         "IPv6 source in canonical form"},
        {DET,
         "{\"type\":\"ipv4-addr\",\"spec_version\":\"2.1\",\"id\":\"ipv4-addr--"
         "9ddd739e-87b1-587d-83f2-62ef1130af2f\",\"value\":\"203.0.113.7\"}",
         "deterministic SCO id (uuid5 of {\"value\":\"203.0.113.7\"})"},
        {CORR, "\"count\":12", "sighting count"},
        {CORR, "\"first_seen\":\"2026-11-27T01:01:00.000Z\"", "first_seen in milliseconds"},
        {DET,
         "{\"source_name\":\"mitre-attack\",\"url\":\"https://attack.mitre.org/techniques/"
         "T1110/001/\",\"external_id\":\"T1110.001\"}",
         "ATT&CK external reference"},
        {DET, "\"phase_name\":\"credential-access\"", "tactic as kill chain phase"},
        {HOSTILE,
         "\"name\":\"Title \\\"quoted\\\" <b>&amp;</b> ]bracket| pipe = eq \\\\ back\\n"
         "new\\tline \xc3\xa9\xe6\x97\xa5 \xef\xbf\xbd\"",
         "title JSON-escaped, invalid UTF-8 as U+FFFD"},
        {HOSTILE, "\"pattern\":\"[domain-name:value = 'evil.example.com']\"",
         "source.domain indicator; source.ip that is no address ignored"},
    };
    char *a, *b;

    expect_all(env, "stix21", "", e, sizeof(e) / sizeof(e[0]));
    a = output(env, "stix21", "identity_name: ACME \"SOC\"\n", DET);
    ok(has(a, "\"name\":\"ACME \\\"SOC\\\"\",\"identity_class\":\"system\""),
       "stix21: identity_name option");
    free(a);
    a = output(env, "stix21", "", RED);
    b = output(env, "stix21", "", CLEAR);
    ok(a != NULL && b != NULL && strstr(a, "\"id\":\"bundle--") != NULL && strncmp(a, b, 60) == 0,
       "stix21: the same alert under another TLP keeps its bundle id");
    free(a);
    free(b);
}

static void
test_misp(struct formats_env *env)
{
    static const struct expect e[] = {
        {DET, "\"threat_level_id\":\"1\"", "high: threat level 1"},
        {CORR, "\"threat_level_id\":\"1\"", "critical: threat level 1"},
        {HOSTILE, "\"threat_level_id\":\"2\"", "medium: threat level 2"},
        {RED, "\"threat_level_id\":\"3\"", "low: threat level 3"},
        {MINIMAL, "\"threat_level_id\":\"4\"", "informational: threat level 4 (undefined)"},
        {DET, "\"distribution\":\"0\",\"sharing_group_id\":\"0\"", "amber: your organisation only"},
        {CORR, "\"distribution\":\"1\",\"sharing_group_id\":\"0\"", "green: this community"},
        {CLEAR, "\"distribution\":\"3\",\"sharing_group_id\":\"0\"", "clear: all communities"},
        {HOSTILE, "{\"name\":\"tlp:amber+strict\",\"colour\":\"#FFC000\",\"exportable\":true}",
         "TLP tag"},
        {DET,
         "\"type\":\"ip-src\",\"category\":\"Network activity\",\"to_ids\":true,"
         "\"value\":\"203.0.113.7\"",
         "attacker address: ip-src, to_ids"},
        {DET,
         "\"type\":\"target-user\",\"category\":\"Targeting data\",\"to_ids\":false,"
         "\"value\":\"root\"",
         "user: target-user"},
        {CORR, "\"type\":\"counter\",\"category\":\"Other\",\"to_ids\":false,\"value\":\"12\"",
         "correlation count"},
        {DET, "{\"name\":\"mitre-attack:technique=\\\"T1110.001\\\"\"", "ATT&CK technique tag"},
        {DET, "\"date\":\"2026-11-27\"", "date of the first event"},
    };
    char *a;

    expect_all(env, "misp", "", e, sizeof(e) / sizeof(e[0]));
    a = output(env, "misp", "distribution: 2\norg: CERT-X\n", DET);
    ok(has(a, "\"distribution\":\"2\"") && has(a, "\"name\":\"CERT-X\""),
       "misp: distribution and org options");
    free(a);
    ok(refused(env, "misp", "org_uuid: not-a-uuid\n", "org_uuid 'not-a-uuid' is not a UUID"),
       "misp: a bad org_uuid is refused");
}

static void
test_idmef(struct formats_env *env)
{
    static const struct expect e[] = {
        {DET, "<Alert messageid=\"0123456789abcdef0123456789abcdef\">", "messageid = alert id"},
        {DET,
         "<CreateTime ntpstamp=\"0xeeb3550b.0x0000431b\">2026-11-27T01:02:03.000004Z"
         "</CreateTime>",
         "CreateTime with NTP stamp"},
        {DET, "<Impact severity=\"high\"/>", "high"},
        {CORR, "<Impact severity=\"high\"/>", "critical is high"},
        {HOSTILE, "<Impact severity=\"medium\"/>", "medium"},
        {RED, "<Impact severity=\"low\"/>", "low"},
        {MINIMAL, "<Impact severity=\"info\"/>", "informational is info"},
        {CORR,
         "<CorrelationAlert><name>SSH brute force from one source</name><alertident "
         "analyzerid=\"kz-2.example.org\">",
         "correlation: CorrelationAlert with evidence identities"},
        {DET,
         "<Source><Node><Address category=\"ipv4-addr\"><address>203.0.113.7</address>"
         "</Address></Node><Service><port>52214</port><protocol>tcp</protocol></Service>"
         "</Source>",
         "Source address and service"},
        {CORR, "<Address category=\"ipv6-addr\"><address>2001:db8::dead:beef</address>",
         "IPv6 source"},
        {DET, "<UserId type=\"target-user\"><name>root</name></UserId>", "target user"},
        {DET,
         "<Reference origin=\"user-specific\" meaning=\"kizuna rule\"><name>"
         "ssh-failed-password</name><url>urn:kizuna:rule:ssh-failed-password</url>",
         "rule reference"},
        {HOSTILE,
         "<Classification text=\"Title &quot;quoted&quot; &lt;b&gt;&amp;amp;&lt;/b&gt; "
         "]bracket| pipe = eq \\ back&#10;new&#9;line",
         "title escaped, line break as a character reference"},
    };
    char *a;

    expect_all(env, "idmef", "", e, sizeof(e) / sizeof(e[0]));
    a = output(env, "idmef", "", DET);
    ok(a != NULL && strstr(a, "CorrelationAlert") == NULL,
       "idmef: no CorrelationAlert for a detection");
    free(a);
}

static void
test_iodef(struct formats_env *env)
{
    static const struct expect e[] = {
        {DET, "restriction=\"amber\"", "amber"},
        {CORR, "restriction=\"green\"", "green"},
        {RED, "restriction=\"red\"", "red"},
        {CLEAR, "restriction=\"white\"", "TLP:CLEAR is IODEF white"},
        {HOSTILE, "restriction=\"ext-value\" ext-restriction=\"amber+strict\"",
         "amber+strict as an extension value"},
        {DET, "<IncidentID name=\"kz-1\">0123456789abcdef0123456789abcdef</IncidentID>",
         "IncidentID"},
        {DET, "<SystemImpact severity=\"high\">", "high"},
        {MINIMAL, "<SystemImpact severity=\"low\"><Description>level informational", "info"},
        {CORR, "<Counter type=\"counter\" unit=\"event\">12</Counter>", "event count"},
        {DET,
         "<System category=\"source\"><Node><Address category=\"ipv4-addr\">203.0.113.7"
         "</Address></Node><Service ip-protocol=\"6\"><Port>52214</Port></Service></System>",
         "source system"},
        {DET, "<Reference><URL>https://attack.mitre.org/techniques/T1110/001/</URL>",
         "ATT&CK reference"},
    };
    char *a;

    expect_all(env, "iodef", "", e, sizeof(e) / sizeof(e[0]));
    a = output(env, "iodef", "contact_name: CERT <X>\ncontact_email: cert@example.org\n", DET);
    ok(has(a, "<Contact role=\"creator\" type=\"organization\"><ContactName>CERT &lt;X&gt;"
              "</ContactName><Email><EmailTo>cert@example.org</EmailTo></Email></Contact>"),
       "iodef: contact options");
    free(a);
    ok(refused(env, "iodef", "lang: \"e n\"\n", "lang 'e n' is not a language tag"),
       "iodef: a bad language tag is refused");
}

static void
test_cef(struct formats_env *env)
{
    static const struct expect e[] = {
        {DET, "|SSH failed password|8|", "high: severity 8"},
        {CORR, "|10|", "critical: severity 10"},
        {HOSTILE, "|5|", "medium: severity 5"},
        {RED, "|3|", "low: severity 3"},
        {MINIMAL, "|Minimal|1|", "informational: severity 1"},
        {HOSTILE, "|id\\|with\\\\pipe=eq|", "header escapes | and \\ (not =)"},
        {HOSTILE, "msg=line1\\nline2\\r\\n<x>&'\"|\\=\\\\] end ", "extension escapes"},
        {CORR, "cs4=event_count cs4Label=correlationType cfp1=12 cfp1Label=correlationValue",
         "correlation type and value"},
    };
    char *a;
    char *want = xasprintf(
        "CEF:0|kizuna|kizunad|%s|ssh-failed-password|SSH failed password|8|rt=1795741323000 "
        "start=1795741323000 end=1795741323000 cnt=1 externalId=0123456789abcdef0123456789abcdef "
        "dvchost=kz-1 cs1=0123456789abcdef0123456789abcdef cs1Label=kizunaAlertId "
        "cs3=attack.t1110.001,attack.credential_access cs3Label=tags cs5=amber cs5Label=tlp "
        "cs6=T1110.001,TA0006 cs6Label=mitreAttack src=203.0.113.7 dst=192.0.2.10 spt=52214 "
        "dpt=22 duser=root dhost=web-1 outcome=failure msg=Failed password for root from "
        "203.0.113.7 port 52214 ssh2 proto=tcp process.name=sshd process.pid=4242\n",
        KZ_VERSION);

    expect_all(env, "cef", "", e, sizeof(e) / sizeof(e[0]));
    a = output(env, "cef", "", DET);
    is_str(a, want, "cef det-ipv4: the whole line");
    free(a);
    free(want);
    a = output(env, "cef",
               "device_vendor: \"a|b\"\ndevice_product: p\ndevice_version: 1\\2\n"
               "custom: false\n",
               DET);
    ok(has(a, "CEF:0|a\\|b|p|1\\\\2|") && strstr(a, "process.name") == NULL,
       "cef: vendor/product/version options escaped; custom: false drops unmapped fields");
    free(a);
}

static void
test_ocsf(struct formats_env *env)
{
    static const struct expect e[] = {
        {DET, "\"severity_id\":4,\"severity\":\"High\"", "high: 4"},
        {CORR, "\"severity_id\":5,\"severity\":\"Critical\"", "critical: 5"},
        {HOSTILE, "\"severity_id\":3,\"severity\":\"Medium\"", "medium: 3"},
        {RED, "\"severity_id\":2,\"severity\":\"Low\"", "low: 2"},
        {MINIMAL, "\"severity_id\":1,\"severity\":\"Informational\"", "informational: 1"},
        {DET, "\"class_uid\":2004,\"class_name\":\"Detection Finding\",\"type_uid\":200401",
         "class and type"},
        {DET, "\"time\":1795741323000,", "time in milliseconds"},
        {DET,
         "\"analytic\":{\"uid\":\"ssh-failed-password\",\"name\":\"SSH failed password\","
         "\"type_id\":1,\"type\":\"Rule\"}",
         "the rule as analytic"},
        {DET,
         "{\"name\":\"evidences.src_endpoint.ip\",\"type_id\":2,\"type\":\"IP Address\","
         "\"value\":\"203.0.113.7\"}",
         "observable"},
        {CORR, "\"tactic\":{\"uid\":\"TA0006\",\"name\":\"Credential Access\"}", "ATT&CK tactic"},
        {CORR, "\"correlation_type\":\"event_count\",\"value\":12", "unmapped correlation"},
    };
    char *a;

    expect_all(env, "ocsf", "", e, sizeof(e) / sizeof(e[0]));
    a = output(env, "ocsf", "raw_data: false\nvendor_name: ACME\n", DET);
    ok(a != NULL && strstr(a, "raw_data") == NULL && has(a, "\"vendor_name\":\"ACME\""),
       "ocsf: raw_data and vendor_name options");
    free(a);
}

static void
test_syslog(struct formats_env *env)
{
    static const struct expect e[] = {
        {CORR, "<82>1 ", "critical: authpriv.crit"},
        {HOSTILE, "<84>1 ", "medium: authpriv.warning"},
        {RED, "<85>1 ", "low: authpriv.notice"},
        {MINIMAL, "<86>1 1970-01-01T00:00:00.000000Z - kizunad - ",
         "informational: authpriv.info; no host name: NILVALUE"},
        {HOSTILE, " kz_host<1> kizunad - ", "HOSTNAME: only printable ASCII"},
        {HOSTILE, "rule_id=\"id|with\\\\pipe=eq\"", "PARAM-VALUE escapes \\"},
        {HOSTILE, "user.name=\"a\\\"b\\\\c\\]d e=f|g\"", "PARAM-VALUE escapes \" \\ ]"},
        {HOSTILE, ": line1 line2  <x>&'\"|=\\] end\n", "line breaks in MSG as spaces"},
    };
    char *a;

    expect_all(env, "syslog", "", e, sizeof(e) / sizeof(e[0]));
    a = output(env, "syslog", "", DET);
    is_str(a,
           "<83>1 2026-11-27T01:02:03.000004Z kz-1 kizunad - 0123456789abcdef0123456789abcdef "
           "[kizuna@32473 alert_id=\"0123456789abcdef0123456789abcdef\" "
           "rule_id=\"ssh-failed-password\" rule=\"SSH failed password\" level=\"high\" "
           "kind=\"detection\" tlp=\"amber\" tag=\"attack.t1110.001\" "
           "tag=\"attack.credential_access\" attack=\"T1110.001\" attack=\"TA0006\" "
           "source.ip=\"203.0.113.7\" source.port=\"52214\" destination.ip=\"192.0.2.10\" "
           "destination.port=\"22\" user.name=\"root\" host.name=\"web-1\" "
           "event.outcome=\"failure\"] \xef\xbb\xbfSSH failed password: Failed password for root "
           "from 203.0.113.7 port 52214 ssh2\n",
           "syslog det-ipv4: the whole line");
    free(a);
    a = output(env, "syslog", "facility: local4\napp_name: kz\nsd_id: alert@99999\nbom: false\n",
               DET);
    ok(has(a, "<163>1 ") && has(a, " kz-1 kz - ") && has(a, "[alert@99999 ") &&
           has(a, "] SSH failed"),
       "syslog: facility, app_name, sd_id and bom options");
    free(a);
    ok(refused(env, "syslog", "facility: local9\n", "facility 'local9' is not a syslog facility") &&
           refused(env, "syslog", "facility: 24\n", "facility '24'") &&
           refused(env, "syslog", "sd_id: \"no at sign\"\n",
                   "sd_id 'no at sign' is not an SD-ID") &&
           refused(env, "syslog", "sd_id: a]b@1\n", "sd_id 'a]b@1'") &&
           refused(env, "syslog", "app_name: \"a b\"\n", "app_name 'a b' is not 1-48"),
       "syslog: bad facility, sd_id and app_name are refused, with the reason logged");
    a = output(env, "syslog", "facility: \"3\"\n", DET);
    ok(has(a, "<27>1 "), "syslog: numeric facility");
    free(a);
}

/*
 * --write DIR [PLUGIN...]: one file DIR/<plugin>.out per plugin, one alert a line, and
 * DIR/alerts.txt naming the alerts in that order.
 */
static int
write_outputs(const char *dir, const char *const *names, size_t n)
{
    struct formats_env env = {0};
    struct buf out;
    int r = 1;

    buf_init(&out);
    if (formats_env_open(&env, names, n) != 0) {
        goto out;
    }
    {
        /* The alert names, one a line, in the order of the documents in every file. */
        char path[4096];
        FILE *f;

        snprintf(path, sizeof(path), "%s/alerts.txt", dir);
        f = fopen(path, "w");
        if (f == NULL) {
            fprintf(stderr, "fopen(%s) failed: %s\n", path, strerror(errno));
            goto out;
        }
        for (size_t i = 0; i < formats_nalerts(); i++) {
            fprintf(f, "%s\n", formats_alert_name(i));
        }
        fclose(f);
    }
    for (size_t p = 0; p < n; p++) {
        struct plugin_instance *inst = formats_instance(&env, names[p], "");
        char path[4096];
        FILE *f;

        if (inst == NULL) {
            goto out;
        }
        snprintf(path, sizeof(path), "%s/%s.out", dir, names[p]);
        f = fopen(path, "w");
        if (f == NULL) {
            fprintf(stderr, "fopen(%s) failed: %s\n", path, strerror(errno));
            plugin_instance_free(inst);
            goto out;
        }
        for (size_t i = 0; i < formats_nalerts(); i++) {
            struct alert *a = formats_alert(i);

            if (emit(inst, a, &out) != KZ_OK) {
                fprintf(stderr, "%s: emit of %s failed\n", names[p], formats_alert_name(i));
            }
            fwrite(out.data, 1, out.len, f);
            alert_free(a);
        }
        fclose(f);
        plugin_instance_free(inst);
    }
    r = 0;
out:
    buf_free(&out);
    formats_yaml_free();
    formats_env_close(&env);
    return r;
}

/*
 * --bench N: format each alert of the corpus N times with every plugin and print the mean
 * time per alert and the mean output size (not a test; for docs/FORMATS.md).
 */
static int
bench(long n)
{
    struct formats_env env = {0};
    struct buf out;
    int r = 1;

    buf_init(&out);
    if (formats_env_open(&env, formats_plugins, formats_nplugins) != 0) {
        goto out;
    }
    for (size_t p = 0; p < formats_nplugins; p++) {
        struct plugin_instance *inst = formats_instance(&env, formats_plugins[p], "");
        struct timespec t0, t1;
        size_t bytes = 0;
        double ns;

        if (inst == NULL) {
            goto out;
        }
        clock_gettime(CLOCK_MONOTONIC, &t0);
        for (size_t i = 0; i < formats_nalerts(); i++) {
            struct alert *a = formats_alert(i);

            for (long k = 0; k < n; k++) {
                emit(inst, a, &out);
                bytes += out.len;
            }
            alert_free(a);
        }
        clock_gettime(CLOCK_MONOTONIC, &t1);
        ns = (double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec);
        printf("%-8s %8.2f us/alert %8zu bytes/alert\n", formats_plugins[p],
               ns / 1e3 / (double)n / (double)formats_nalerts(),
               bytes / (size_t)n / formats_nalerts());
        plugin_instance_free(inst);
    }
    r = 0;
out:
    buf_free(&out);
    formats_yaml_free();
    formats_env_close(&env);
    return r;
}

int
main(int argc, char **argv)
{
    struct formats_env env = {0};

    if (argc == 3 && strcmp(argv[1], "--bench") == 0) {
        return bench(atol(argv[2]));
    }
    if (argc >= 3 && strcmp(argv[1], "--write") == 0) {
        if (argc > 3) {
            return write_outputs(argv[2], (const char *const *)argv + 3, (size_t)argc - 3);
        }
        return write_outputs(argv[2], formats_plugins, formats_nplugins);
    }
    test_sha1();
    test_uuid5();
    test_sbuf();
    test_netaddr();
    test_attack();
    if (ok(formats_env_open(&env, formats_plugins, formats_nplugins) == 0,
           "every format plugin staged from $KIZUNA_PLUGIN_DIR")) {
        test_contract(&env);
        test_stix21(&env);
        test_misp(&env);
        test_idmef(&env);
        test_iodef(&env);
        test_cef(&env);
        test_ocsf(&env);
        test_syslog(&env);
    }
    formats_yaml_free();
    formats_env_close(&env);
    return tap_done();
}
