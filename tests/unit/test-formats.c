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
 * as `test-formats --write DIR [PLUGIN...]` to get one file per plugin.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../plugins/common/attack.h"
#include "../../plugins/common/netaddr.h"
#include "../../plugins/common/sbuf.h"
#include "../../plugins/common/sha1.h"
#include "../../plugins/common/uuid5.h"
#include "alert.h"
#include "buf.h"
#include "plugin-loader.h"
#include "tap.h"
#include "test-formats-alerts.h"

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

int
main(int argc, char **argv)
{
    struct formats_env env = {0};

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
    }
    formats_yaml_free();
    formats_env_close(&env);
    return tap_done();
}
