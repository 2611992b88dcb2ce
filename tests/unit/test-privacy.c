/*
 * Tests of the privacy building blocks and profiles (core/pseudonym.c, cryptopan.c,
 * privacy-text.c, privacy.c, reveal.c, audit.c):
 *
 *   - HMAC-SHA-256 against the RFC 4231 test cases; pseudonym form, stability, and
 *     independence across keys, profiles and purposes;
 *   - key files: private, hex, long enough, each refusal with its message;
 *   - Crypto-PAn against the reference distribution's IPv4 sample, IPv6 against another
 *     implementation, and its properties over random pairs (exactly k shared leading bits in,
 *     exactly k out) and a bijection on a whole /16 and a /116;
 *   - each text detector on positive and negative examples;
 *   - profiles built from a config: allowlist, drop, transforms on every field set, group
 *     key, keyed alert ids, coarse times, the report, two profiles giving unrelated
 *     pseudonyms, config errors;
 *   - the reveal map (mode 0600, dedupe, lookup, --reveal exit codes) and audit lines.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alert.h"
#include "audit.h"
#include "buf.h"
#include "conf.h"
#include "cryptopan.h"
#include "privacy-text.h"
#include "privacy.h"
#include "pseudonym.h"
#include "reveal.h"
#include "rule.h"
#include "tap.h"
#include "xmalloc.h"

static char tmpdir[256];

static uint64_t rng_state = UINT64_C(0x9e3779b97f4a7c15);

static uint64_t
rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static const char *
tpath(const char *name)
{
    static char p[8][512];
    static int k;

    k = (k + 1) % 8;
    snprintf(p[k], sizeof(p[k]), "%s/%s", tmpdir, name);
    return p[k];
}

static void
write_file(const char *path, const char *text, mode_t mode)
{
    FILE *f = fopen(path, "w");

    if (f == NULL) {
        tap_diag("fopen(%s): %s", path, strerror(errno));
        return;
    }
    fputs(text, f);
    fclose(f);
    chmod(path, mode);
}

static size_t
count_lines(const char *path)
{
    FILE *f = fopen(path, "r");
    size_t n = 0;
    int c;

    if (f == NULL) {
        return 0;
    }
    while ((c = fgetc(f)) != EOF) {
        n += c == '\n';
    }
    fclose(f);
    return n;
}

static void
hexdec(const char *hex, unsigned char *out, size_t *n)
{
    *n = 0;
    for (size_t i = 0; hex[i] != '\0' && hex[i + 1] != '\0'; i += 2) {
        unsigned v;
        sscanf(hex + i, "%2x", &v);
        out[(*n)++] = (unsigned char)v;
    }
}

/* ---- HMAC and pseudonyms ---- */

static void
test_hmac(void)
{
    /* RFC 4231 section 4: key, data (hex), HMAC-SHA-256 (hex; case 5 truncated to 128). */
    static const struct {
        const char *key;
        const char *data;
        const char *mac;
    } tc[] = {
        {"0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "4869205468657265",
         "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
        {"4a656665", "7768617420646f2079612077616e7420666f72206e6f7468696e673f",
         "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
        {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
         "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
         "dddddddddddddd",
         "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"},
        {"0102030405060708090a0b0c0d0e0f10111213141516171819",
         "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd"
         "cdcdcdcdcdcdcd",
         "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"},
        {"0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c", "546573742057697468205472756e636174696f6e",
         "a3b6167473100ee06e0c796c2955552b"},
        {NULL,
         "54657374205573696e67204c6172676572205468616e20426c6f636b2d53697a65204b6579202d2048"
         "617368204b6579204669727374",
         "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
        {NULL,
         "5468697320697320612074657374207573696e672061206c6172676572207468616e20626c6f636b2d73"
         "697a65206b657920616e642061206c6172676572207468616e20626c6f636b2d73697a6520646174612e"
         "20546865206b6579206e6565647320746f20626520686173686564206265666f7265206265696e672075"
         "73656420627920746865204f484d414320616c676f726974686d2e",
         "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"},
    };
    unsigned char key[256], data[256], md[PSEUDONYM_MD_LEN];
    char got[2 * PSEUDONYM_MD_LEN + 1], what[64];

    for (size_t i = 0; i < sizeof(tc) / sizeof(tc[0]); i++) {
        size_t kl, dl;
        if (tc[i].key != NULL) {
            hexdec(tc[i].key, key, &kl);
        } else {
            memset(key, 0xaa, 131); /* cases 6 and 7: 131 bytes of 0xaa */
            kl = 131;
        }
        hexdec(tc[i].data, data, &dl);
        if (i == 6) {
            /* The RFC's case 7 text says "HMAC algorithm." */
            static const char t7[] = "This is a test using a larger than block-size key and a "
                                     "larger than block-size data. The key needs to be hashed "
                                     "before being used by the HMAC algorithm.";
            memcpy(data, t7, sizeof(t7) - 1);
            dl = sizeof(t7) - 1;
        }
        ok(pseudonym_hmac(key, kl, data, dl, md) == 0, "HMAC computed");
        pseudonym_hex(md, strlen(tc[i].mac) / 2, got);
        snprintf(what, sizeof(what), "HMAC-SHA-256 RFC 4231 test case %zu", i + 1);
        is_str(got, tc[i].mac, what);
    }
}

static void
test_pseudonyms(void)
{
    unsigned char k1[32], k2[32], d1[32], d2[32], d3[32];
    char a[PSEUDONYM_LEN + 1], b[PSEUDONYM_LEN + 1], c[PSEUDONYM_LEN + 1];
    size_t hex = 0;

    memset(k1, 0x11, sizeof(k1));
    memset(k2, 0x11, sizeof(k2));
    k2[31] ^= 1;
    pseudonym_make(k1, "alice", 5, a);
    pseudonym_make(k1, "alice", 5, b);
    pseudonym_make(k2, "alice", 5, c);
    is_int(strlen(a), PSEUDONYM_LEN, "a pseudonym is pseu: + 32 hex digits");
    for (size_t i = 5; i < strlen(a); i++) {
        hex += strchr("0123456789abcdef", a[i]) != NULL;
    }
    ok(strncmp(a, "pseu:", 5) == 0 && hex == 32, "visibly marked, lowercase hex");
    is_str(a, b, "same key and value: same pseudonym");
    ok(strcmp(a, c) != 0, "a key differing in one bit: another pseudonym");
    pseudonym_make(k1, "Alice", 5, b);
    ok(strcmp(a, b) != 0, "values are taken byte for byte (case matters)");
    pseudonym_derive(k1, 32, "kizuna pseudonym v1", "strict", d1);
    pseudonym_derive(k1, 32, "kizuna pseudonym v1", "loose", d2);
    pseudonym_derive(k1, 32, "kizuna alert id v1", "strict", d3);
    ok(memcmp(d1, d2, 32) != 0 && memcmp(d1, d3, 32) != 0 && memcmp(d2, d3, 32) != 0,
       "derived keys differ per profile and per purpose");
    pseudonym_make(d1, "alice", 5, a);
    pseudonym_make(d2, "alice", 5, b);
    ok(strcmp(a, b) != 0, "one key file, two profiles: unrelated pseudonyms");
    /* purpose "ab" + context "c" must not collide with "a" + "bc". */
    pseudonym_derive(k1, 32, "ab", "c", d1);
    pseudonym_derive(k1, 32, "a", "bc", d2);
    ok(memcmp(d1, d2, 32) != 0, "derivation separates purpose from context");
}

static void
test_key_files(void)
{
    static const char *const good = "# kizuna key\n"
                                    "00112233445566778899aabbccddeeff\n"
                                    "  00112233445566778899AABBCCDDEEFF  \n";
    unsigned char *key;
    size_t len;
    char err[1024];

    write_file(tpath("good.key"), good, 0600);
    ok(pseudonym_key_read(tpath("good.key"), &key, &len, err, sizeof(err)) == 0 && len == 32 &&
           key[0] == 0x00 && key[15] == 0xff && key[31] == 0xff,
       "hex with whitespace, upper case and comments: 32 bytes");
    pseudonym_key_free(key, len);

    write_file(tpath("short.key"), "00112233445566778899aabbccddeeff\n", 0600);
    ok(pseudonym_key_read(tpath("short.key"), &key, &len, err, sizeof(err)) == -1 && key == NULL &&
           strstr(err, "too short: 16 bytes of key, at least 32 (256 bits") != NULL,
       "128 bits refused: %s", err);

    write_file(tpath("nothex.key"),
               "00112233445566778899aabbccddeeff\n00112233445566778899aabbccddeefg\n", 0600);
    ok(pseudonym_key_read(tpath("nothex.key"), &key, &len, err, sizeof(err)) == -1 &&
           strstr(err, "not hex: unexpected character at line 2, column 32") != NULL,
       "not hex refused with its position: %s", err);

    write_file(tpath("odd.key"),
               "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff0\n", 0600);
    ok(pseudonym_key_read(tpath("odd.key"), &key, &len, err, sizeof(err)) == -1 &&
           strstr(err, "odd number of hex digits (65)") != NULL,
       "odd number of digits refused: %s", err);

    write_file(tpath("group.key"), good, 0640);
    ok(pseudonym_key_read(tpath("group.key"), &key, &len, err, sizeof(err)) == -1 &&
           strstr(err, "has mode 0640: group and others must not read or write it") != NULL,
       "group-readable key refused: %s", err);

    write_file(tpath("world.key"), good, 0604);
    ok(pseudonym_key_read(tpath("world.key"), &key, &len, err, sizeof(err)) == -1 &&
           strstr(err, "has mode 0604") != NULL,
       "world-readable key refused");

    ok(pseudonym_key_read(tpath("missing.key"), &key, &len, err, sizeof(err)) == -1 &&
           strstr(err, "stat() failed: No such file or directory") != NULL,
       "missing key file: %s", err);

    {
        struct buf b = {0};
        for (int i = 0; i < PSEUDONYM_KEY_MAX + 1; i++) {
            buf_puts(&b, "ab");
        }
        write_file(tpath("long.key"), buf_cstr(&b), 0600);
        buf_free(&b);
    }
    ok(pseudonym_key_read(tpath("long.key"), &key, &len, err, sizeof(err)) == -1 &&
           strstr(err, "too long") != NULL,
       "more than 1024 bytes of key refused");
}

/* ---- Crypto-PAn ---- */

static int
common_prefix(const unsigned char *a, const unsigned char *b, int nbits)
{
    for (int i = 0; i < nbits; i++) {
        int m = 0x80 >> (i % 8);
        if ((a[i / 8] & m) != (b[i / 8] & m)) {
            return i;
        }
    }
    return nbits;
}

static void
test_cryptopan_vectors(void)
{
    /* The key of the Crypto-PAn reference distribution's sample, and pairs from its
     * sample_trace_raw.dat / sample_trace_sanitized.dat. */
    static const unsigned char key[32] = {21,  34, 23,  141, 51, 164, 207, 128, 19,  10,  91,
                                          22,  73, 144, 125, 16, 216, 152, 143, 131, 121, 121,
                                          101, 39, 98,  87,  76, 45,  42,  132, 34,  2};
    static const char *const v4[][2] = {
        {"128.11.68.132", "135.242.180.132"},   {"129.118.74.4", "134.136.186.123"},
        {"130.132.252.244", "133.68.164.234"},  {"141.223.7.43", "141.167.8.160"},
        {"141.233.145.108", "141.129.237.235"}, {"152.163.225.39", "151.140.114.167"},
        {"156.29.3.236", "147.225.12.42"},      {"165.247.96.84", "162.9.99.234"},
        {"166.107.77.190", "160.132.178.185"},  {"192.102.249.13", "252.138.62.131"},
        {"192.215.32.125", "252.43.47.189"},    {"192.233.80.103", "252.25.108.8"},
        {"192.41.57.43", "252.222.221.184"},    {"193.150.244.223", "253.169.52.216"},
        {"195.205.63.100", "255.186.223.5"},    {"198.200.171.101", "249.199.68.213"},
        {"198.26.132.101", "249.36.123.202"},   {"198.36.213.5", "249.7.21.132"},
        {"198.51.77.238", "249.18.186.254"},    {"199.217.79.101", "248.38.184.213"},
        {"202.49.198.20", "245.206.7.234"},     {"203.12.160.252", "244.248.163.4"},
        {"204.184.162.189", "243.192.77.90"},   {"204.202.136.230", "243.178.4.198"},
        {"204.29.20.4", "243.33.20.123"},       {"205.178.38.67", "242.108.198.51"},
        {"205.188.147.153", "242.96.16.101"},   {"205.188.248.25", "242.96.88.27"},
        {"205.245.121.43", "242.21.121.163"},   {"207.105.49.5", "241.118.205.138"},
        {"207.135.65.238", "241.202.129.222"},  {"207.155.9.214", "241.220.250.22"},
        {"207.188.7.45", "241.255.249.220"},    {"207.25.71.27", "241.33.119.156"},
        {"207.33.151.131", "241.1.233.131"},    {"208.147.89.59", "227.237.98.191"},
        {"208.234.120.210", "227.154.67.17"},   {"208.28.185.184", "227.39.94.90"},
        {"208.52.56.122", "227.8.63.165"},      {"209.12.231.7", "226.243.167.8"},
        {"209.238.72.3", "226.6.119.243"},      {"209.246.74.109", "226.22.124.76"},
        {"209.68.60.238", "226.184.220.233"},   {"209.85.249.6", "226.170.70.6"},
        {"212.120.124.31", "228.135.163.231"},  {"212.146.8.236", "228.19.4.234"},
        {"212.186.227.154", "228.59.98.98"},    {"212.204.172.118", "228.71.195.169"},
        {"212.206.130.201", "228.69.242.193"},  {"216.148.237.145", "235.84.194.111"},
        {"216.157.30.252", "235.89.31.26"},     {"216.184.159.48", "235.96.225.78"},
        {"216.227.10.221", "235.28.253.36"},    {"216.254.18.172", "235.7.16.162"},
        {"216.32.132.250", "235.192.139.38"},   {"216.35.217.178", "235.195.157.81"},
        {"24.0.250.221", "100.15.198.226"},     {"24.13.62.231", "100.2.192.247"},
        {"24.14.213.138", "100.1.42.141"},      {"24.5.0.80", "100.9.15.210"},
        {"24.7.198.88", "100.10.6.25"},         {"24.94.26.44", "100.88.228.35"},
        {"38.15.67.68", "64.3.66.187"},         {"4.3.88.225", "124.60.155.63"},
        {"63.14.55.111", "95.9.215.7"},         {"63.195.241.44", "95.179.238.44"},
        {"63.97.7.140", "95.97.9.123"},         {"64.14.118.196", "0.255.183.58"},
        {"64.34.154.117", "0.221.154.117"},     {"64.39.15.238", "0.219.7.41"},
    };
    /* IPv6: the same construction over 128 bits, as github.com/Yawning/cryptopan computes
     * it (an independent implementation; there is no published reference sample). */
    static const char *const v6[][2] = {
        {"::1", "78ff:f001:9fc0:20df:8380:b1f1:704:ed"},
        {"::2", "78ff:f001:9fc0:20df:8380:b1f1:704:ef"},
        {"::ffff", "78ff:f001:9fc0:20df:8380:b1f1:704:f838"},
        {"2001:db8::1", "4401:2bc:603f:d91d:27f:ff8e:e6f1:dc1e"},
        {"2001:db8::2", "4401:2bc:603f:d91d:27f:ff8e:e6f1:dc1c"},
    };
    struct cryptopan *cp;
    size_t good = 0, n4 = sizeof(v4) / sizeof(v4[0]), n6 = sizeof(v6) / sizeof(v6[0]);

    if (!ok(cryptopan_new(key, &cp) == 0, "Crypto-PAn with AES-128 from libcrypto")) {
        return;
    }
    for (size_t i = 0; i < n4; i++) {
        unsigned char a[4];
        char s[INET_ADDRSTRLEN];
        inet_pton(AF_INET, v4[i][0], a);
        cryptopan_ipv4(cp, a, a);
        inet_ntop(AF_INET, a, s, sizeof(s));
        if (strcmp(s, v4[i][1]) == 0) {
            good++;
        } else {
            tap_diag("%s -> %s, want %s", v4[i][0], s, v4[i][1]);
        }
    }
    is_int(good, n4, "IPv4: all 70 pairs of the reference sample trace");
    good = 0;
    for (size_t i = 0; i < n6; i++) {
        unsigned char a[16];
        char s[INET6_ADDRSTRLEN];
        inet_pton(AF_INET6, v6[i][0], a);
        cryptopan_ipv6(cp, a, a);
        inet_ntop(AF_INET6, a, s, sizeof(s));
        if (strcmp(s, v6[i][1]) == 0) {
            good++;
        } else {
            tap_diag("%s -> %s, want %s", v6[i][0], s, v6[i][1]);
        }
    }
    is_int(good, n6, "IPv6: agrees with an independent implementation");
    cryptopan_free(cp);
}

static int
cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

    return x < y ? -1 : x > y;
}

static void
test_cryptopan_properties(void)
{
    unsigned char key[32];
    struct cryptopan *cp;
    int bad4 = 0, bad6 = 0, n4 = 3000, n6 = 600;
    uint32_t *outs;
    size_t dup = 0, outside = 0;

    for (size_t i = 0; i < sizeof(key); i++) {
        key[i] = (unsigned char)rng();
    }
    cryptopan_new(key, &cp);
    /* Pairs sharing exactly k leading bits, k = 0..nbits (k = nbits: the same address). */
    for (int i = 0; i < n4; i++) {
        unsigned char a[4], b[4], oa[4], ob[4];
        int k = (int)(rng() % 33);
        for (int j = 0; j < 4; j++) {
            a[j] = (unsigned char)rng();
            b[j] = (unsigned char)rng();
        }
        for (int bit = 0; bit < k && bit < 32; bit++) {
            int m = 0x80 >> (bit % 8);
            b[bit / 8] = (unsigned char)((b[bit / 8] & ~m) | (a[bit / 8] & m));
        }
        if (k < 32) {
            int m = 0x80 >> (k % 8);
            b[k / 8] = (unsigned char)((b[k / 8] & ~m) | (~a[k / 8] & m));
        }
        cryptopan_ipv4(cp, a, oa);
        cryptopan_ipv4(cp, b, ob);
        if (common_prefix(a, b, 32) != k || common_prefix(oa, ob, 32) != k) {
            bad4++;
        }
    }
    is_int(bad4, 0, "IPv4: 3000 random pairs sharing exactly k bits map to exactly k shared bits");
    for (int i = 0; i < n6; i++) {
        unsigned char a[16], b[16], oa[16], ob[16];
        int k = (int)(rng() % 129);
        for (int j = 0; j < 16; j++) {
            a[j] = (unsigned char)rng();
            b[j] = (unsigned char)rng();
        }
        for (int bit = 0; bit < k && bit < 128; bit++) {
            int m = 0x80 >> (bit % 8);
            b[bit / 8] = (unsigned char)((b[bit / 8] & ~m) | (a[bit / 8] & m));
        }
        if (k < 128) {
            int m = 0x80 >> (k % 8);
            b[k / 8] = (unsigned char)((b[k / 8] & ~m) | (~a[k / 8] & m));
        }
        cryptopan_ipv6(cp, a, oa);
        cryptopan_ipv6(cp, b, ob);
        if (common_prefix(a, b, 128) != k || common_prefix(oa, ob, 128) != k) {
            bad6++;
        }
    }
    is_int(bad6, 0, "IPv6: 600 random pairs sharing exactly k bits map to exactly k shared bits");

    /* Bijection on a sample: a whole /16 maps onto 65536 distinct addresses of one /16. */
    outs = xcalloc(65536, sizeof(*outs));
    {
        unsigned char base[4] = {(unsigned char)rng(), (unsigned char)rng(), 0, 0}, o0[4];
        cryptopan_ipv4(cp, base, o0);
        for (uint32_t i = 0; i < 65536; i++) {
            unsigned char a[4] = {base[0], base[1], (unsigned char)(i >> 8), (unsigned char)i};
            unsigned char o[4];
            cryptopan_ipv4(cp, a, o);
            outside += o[0] != o0[0] || o[1] != o0[1];
            outs[i] = (uint32_t)o[2] << 8 | o[3];
        }
    }
    qsort(outs, 65536, sizeof(*outs), cmp_u32);
    for (uint32_t i = 0; i < 65536; i++) {
        dup += outs[i] != i;
    }
    ok(dup == 0 && outside == 0, "IPv4: a /16 maps one-to-one onto a /16 (%zu misses)", dup);
    free(outs);
    {
        unsigned char a[16], o[16];
        uint32_t *low = xcalloc(4096, sizeof(*low));
        for (int j = 0; j < 16; j++) {
            a[j] = (unsigned char)rng();
        }
        dup = 0;
        for (uint32_t i = 0; i < 4096; i++) {
            a[14] = (unsigned char)((a[14] & 0xf0) | (i >> 8));
            a[15] = (unsigned char)i;
            cryptopan_ipv6(cp, a, o);
            low[i] = (uint32_t)(o[14] & 0x0f) << 8 | o[15];
        }
        qsort(low, 4096, sizeof(*low), cmp_u32);
        for (uint32_t i = 0; i < 4096; i++) {
            dup += low[i] != i;
        }
        ok(dup == 0, "IPv6: a /116 maps one-to-one onto a /116");
        free(low);
    }
    cryptopan_free(cp);
}

/* ---- text ---- */

static void
text_cb(void *arg, unsigned kind, const char *s, size_t len, struct buf *out)
{
    buf_puts(out, kind == PRIVACY_TEXT_EMAIL      ? "<E>"
                  : kind == PRIVACY_TEXT_IPV4     ? "<4>"
                  : kind == PRIVACY_TEXT_IPV6     ? "<6>"
                  : kind == PRIVACY_TEXT_USER     ? "<U>"
                  : kind == PRIVACY_TEXT_HOSTNAME ? "<H>"
                                                  : "<?>");
}

static void
test_text(void)
{
    const unsigned all = PRIVACY_TEXT_EMAIL | PRIVACY_TEXT_IPV4 | PRIVACY_TEXT_IPV6 |
                         PRIVACY_TEXT_USER | PRIVACY_TEXT_HOSTNAME;
    static const struct {
        unsigned mask;
        const char *in;
        const char *want;
    } tc[] = {
        {PRIVACY_TEXT_IPV4, "from 35.188.49.176 port 53502", "from <4> port 53502"},
        {PRIVACY_TEXT_IPV4, "rhost=5.33.63.160 user=x", "rhost=<4> user=x"},
        {PRIVACY_TEXT_IPV4, "1.2.3.4.5 and 1.2.3 and 256.1.1.1 and 01.2.3.4x",
         "1.2.3.4.5 and 1.2.3 and 256.1.1.1 and <4>x"},
        {PRIVACY_TEXT_IPV4, "net 10.0.0.0/8, host 192.168.1.1.", "net <4>/8, host <4>."},
        {PRIVACY_TEXT_IPV6, "from 2001:db8::1 port 22", "from <6> port 22"},
        {PRIVACY_TEXT_IPV6, "[2001:DB8:0:0:0:0:DEAD:BEEF]:443 fe80::1%eth0 ::ffff:1.2.3.4",
         "[<6>]:443 <6>%eth0 <6>"},
        {PRIVACY_TEXT_IPV6, "at 12:34:56, mac 00:11:22:33:44:55, std::vector, a::b",
         "at 12:34:56, mac 00:11:22:33:44:55, std::vector, <6>"},
        {PRIVACY_TEXT_IPV6, "addr 2001:db8::1.", "addr <6>."},
        {PRIVACY_TEXT_EMAIL, "mail from <Jane.Doe+x@Example.ORG>, cc bob@host.",
         "mail from <<E>>, cc <E>."},
        {PRIVACY_TEXT_EMAIL, "no @ here, a@ and @b", "no @ here, a@ and @b"},
        {PRIVACY_TEXT_USER, "Failed password for root from 1.2.3.4",
         "Failed password for <U> from 1.2.3.4"},
        {PRIVACY_TEXT_USER, "Failed password for invalid user admin from 1.2.3.4",
         "Failed password for invalid user <U> from 1.2.3.4"},
        {PRIVACY_TEXT_USER, "Invalid user pascal from x; USER=Bob, username: 'the boss'",
         "Invalid user <U> from x; USER=<U>, username: '<U>'"},
        {PRIVACY_TEXT_USER, "logname= uid=0 euid=0 tty=ssh ruser= rhost=h user=workshop",
         "logname= uid=0 euid=0 tty=ssh ruser= rhost=h user=<U>"},
        {PRIVACY_TEXT_USER, "session opened for user root by (uid=0)",
         "session opened for user <U> by (uid=0)"},
        {PRIVACY_TEXT_USER, "login=alice; account:bob. ruser=carol",
         "login=<U>; account:<U>. ruser=<U>"},
        {PRIVACY_TEXT_USER, "user = dave, superuser=eve, before you",
         "user = <U>, superuser=eve, before you"},
        {PRIVACY_TEXT_HOSTNAME, "rhost=evil.example.com host: gw1 hostname=\"db 2\"",
         "rhost=<H> host: <H> hostname=\"<H>\""},
        {PRIVACY_TEXT_HOSTNAME, "to Mail.Example.co.uk and x.y, pam_unix.so, 1.2.3.4",
         "to <H> and x.y, pam_unix.so, 1.2.3.4"},
        {all, "Failed password for alice@corp.example from 2001:db8::7 port 22 ssh2",
         "Failed password for <E> from <6> port 22 ssh2"},
        {all, "user=root rhost=10.1.2.3", "user=<U> rhost=<4>"},
    };
    struct buf out = {0};
    char what[160];

    for (size_t i = 0; i < sizeof(tc) / sizeof(tc[0]); i++) {
        buf_reset(&out);
        privacy_text_redact(tc[i].in, strlen(tc[i].in), tc[i].mask, NULL, 0, text_cb, NULL, &out);
        snprintf(what, sizeof(what), "text: %s", tc[i].in);
        is_str(buf_cstr(&out), tc[i].want, what);
    }
    {
        static const struct privacy_text_known k[] = {
            {"alice", 5, "[A]", 3},
            {"al", 2, "[TOO-SHORT]", 11},
            {"alice.smith", 11, "[AS]", 4},
            {"cebob", 5, "[CB]", 5},
        };
        static const char in[] = "ALICE, xAlicey, Alice.Smith, al, alicebob";
        buf_reset(&out);
        privacy_text_redact(in, strlen(in), 0, k, 4, text_cb, NULL, &out);
        is_str(buf_cstr(&out), "[A], x[A]y, [AS], al, [redacted]",
               "known values: any case, inside words, longest wins, partial overlaps merged, "
               "too short ones left");
    }
    is_int(privacy_text_detector("hostname"), PRIVACY_TEXT_HOSTNAME, "detector by name");
    is_int(privacy_text_detector("phone"), 0, "unknown detector");
    buf_free(&out);
}

/* ---- profiles ---- */

static struct rule test_rule = {
    .id = (char *)"ssh-bruteforce",
    .title = (char *)"SSH brute force",
    .level = RULE_LEVEL_HIGH,
    .hash = "0123456789abcdef",
    .kind = RULE_CORRELATION,
};

static void
add(struct alert_fields *fl, const char *name, const char *value)
{
    alert_fields_add(fl, name, strlen(name), value, strlen(value));
}

static const char *
get(const struct alert_fields *fl, const char *name)
{
    const struct alert_field *f = alert_fields_get(fl, name);

    return f != NULL ? f->value : NULL;
}

static struct alert *
sample_alert(void)
{
    struct alert *a = alert_new(&test_rule);
    struct alert_fields *ev;

    a->corr_type = "event_count";
    a->time_us = INT64_C(1770905423123456); /* 2026-02-12T14:10:23.123456Z */
    a->first_us = INT64_C(1770905361000000);
    a->last_us = a->time_us;
    a->count = 5;
    add(&a->group, "source.ip", "35.188.49.176");
    add(&a->group, "user.name", "pas|cal");
    add(&a->fields, "@timestamp", "2026-02-12T14:10:23.123456Z");
    add(&a->fields, "source.ip", "35.188.49.176");
    add(&a->fields, "destination.port", "22");
    add(&a->fields, "destination.ip", "2001:db8:1234:5678::9");
    add(&a->fields, "client.ip", "198.51.100.77");
    add(&a->fields, "user.name", "pas|cal");
    add(&a->fields, "user.email", "pascal@corp.example");
    add(&a->fields, "host.name", "sd-126005");
    add(&a->fields, "process.pid", "16378");
    add(&a->fields, "rule.category", "auth");
    add(&a->fields, "message",
        "Invalid user pas|cal from 35.188.49.176 port 53502 via SD-126005, mail "
        "pascal@corp.example");
    add(&a->fields, "event.original",
        "Feb 12 14:10:23 sd-126005 sshd[16378]: Invalid user pas|cal from 35.188.49.176");
    ev = alert_add_evidence(a);
    add(ev, "@timestamp", "2026-02-12T14:09:21Z");
    add(ev, "source.ip", "35.188.49.176");
    add(ev, "kizuna.source", "/var/log/auth.log:1");
    add(ev, "message", "Failed password for root from 35.188.49.9 port 4242 ssh2");
    alert_compute_id(a, "35.188.49.176|pas\\|cal", INT64_C(1770905340000000));
    return a;
}

/* Write a config with the given privacy_profiles text; returns its path. */
static const char *
write_conf(const char *name, const char *profiles, const char *extra)
{
    char *text = xasprintf("inputs: [{type: stdin}]\nrules: []\n%s\nprivacy_profiles:\n%s",
                           extra ? extra : "", profiles);
    const char *p = tpath(name);

    write_file(p, text, 0600);
    free(text);
    return p;
}

static int
report_has(const struct privacy_report *r, const char *name, const char *method)
{
    if (method == NULL) {
        for (size_t i = 0; i < r->ndropped; i++) {
            if (strcmp(r->dropped[i], name) == 0) {
                return 1;
            }
        }
        return 0;
    }
    for (size_t i = 0; i < r->nchanged; i++) {
        if (strcmp(r->changed[i], name) == 0 && strcmp(r->methods[i], method) == 0) {
            return 1;
        }
    }
    return 0;
}

static void
test_profiles(void)
{
    static const char *const profiles =
        "  strict:\n"
        "    keep: [rule.*, event.severity, \"@timestamp\", source.ip, destination.port]\n"
        "    drop: [process.*]\n"
        "    pseudonymize: { fields: [user.name, host.name], key_file: keys/a.key }\n"
        "    ip: { fields: [source.ip, destination.ip], method: prefix_preserving,\n"
        "          key_file: keys/ip.key }\n"
        "    redact_text: [email, ipv4, ipv6, user]\n"
        "    time_granularity: 1m\n"
        "  loose:\n"
        "    pseudonymize: { fields: [user.name, host.name] }\n"
        "    ip: { fields: [source.ip, destination.ip], truncate_v4: 24, truncate_v6: 48 }\n"
        "    key_file: keys/a.key\n"
        "  nokey:\n"
        "    keep: [destination.port]\n"
        "    ip: { fields: [source.ip] }\n";
    static const char *const k1 =
        "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n";
    static const char *const k2 =
        "ff0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n";
    struct errlist errs = {0};
    struct conf *conf = NULL;
    struct privacy_set *ps = NULL;
    struct privacy_profile *strict, *loose, *nokey;
    struct privacy_report rep = {0};
    struct alert *a, *c = NULL, *c2 = NULL, *l = NULL, *n = NULL;
    const char *path, *v;

    mkdir(tpath("keys"), 0700);
    write_file(tpath("keys/a.key"), k1, 0600);
    write_file(tpath("keys/ip.key"), k2, 0600);
    path = write_conf("profiles.yaml", profiles, NULL);
    if (!ok(conf_load(path, &conf, &errs) == 0, "config with three profiles loads") ||
        !ok(privacy_set_new(conf, 0, &ps, &errs) == 0, "keys read, profiles built")) {
        for (size_t i = 0; i < errs.n; i++) {
            tap_diag("%s", errs.msgs[i]);
        }
        goto out;
    }
    strict = privacy_set_find(ps, "strict");
    loose = privacy_set_find(ps, "loose");
    nokey = privacy_set_find(ps, "nokey");
    ok(strict && loose && nokey && privacy_set_find(ps, "other") == NULL, "profiles by name");
    a = sample_alert();
    a->tlp = "amber";
    a->partner = "jp";
    a->host_name = "analyzer-1";
    c = privacy_apply(strict, a, &rep);

    /* What passes, and how. */
    is_str(get(&c->fields, "destination.port"), "22", "kept field passes unchanged");
    is_str(get(&c->fields, "@timestamp"), "2026-02-12T14:10:00.000000Z",
           "kept time field rounded down to the minute");
    ok(get(&c->fields, "client.ip") == NULL && get(&c->fields, "user.email") == NULL &&
           get(&c->fields, "rule.category") != NULL,
       "unlisted fields dropped, rule.* glob kept");
    ok(get(&c->fields, "process.pid") == NULL, "drop glob wins");
    v = get(&c->fields, "source.ip");
    ok(v != NULL && strcmp(v, "35.188.49.176") != 0 && strchr(v, '.') != NULL,
       "source.ip mapped by Crypto-PAn even though keep lists it (%s)", v ? v : "-");
    v = get(&c->fields, "destination.ip");
    ok(v != NULL && strchr(v, ':') != NULL && strcmp(v, "2001:db8:1234:5678::9") != 0,
       "destination.ip (IPv6) passes transformed though keep omits it");
    v = get(&c->fields, "user.name");
    ok(v != NULL && strncmp(v, "pseu:", 5) == 0 && strlen(v) == PSEUDONYM_LEN,
       "user.name pseudonymised");
    v = get(&c->fields, "message");
    ok(v != NULL && strstr(v, "pseu:") != NULL, "message passes, redacted");
    ok(v != NULL && strstr(v, "pas|cal") == NULL && strstr(v, "35.188.49.176") == NULL &&
           strstr(v, "pascal@corp.example") == NULL && strstr(v, "SD-126005") == NULL,
       "message: user, address, e-mail and host name (a known value in another case) gone: %s",
       v ? v : "-");
    ok(v != NULL && strstr(v, get(&c->fields, "user.name")) != NULL &&
           strstr(v, get(&c->fields, "source.ip")) != NULL &&
           strstr(v, get(&c->fields, "host.name")) != NULL,
       "message carries the same pseudonyms and address as the fields (linkable)");
    v = get(&c->fields, "event.original");
    ok(v != NULL && strstr(v, "sd-126005") == NULL && strstr(v, "16378") != NULL,
       "event.original: host name scrubbed, the pid in the text is not personal data");

    /* Group, evidence, alert attributes. */
    is_int(c->group.n, 2, "both group fields pass (both transformed)");
    ok(strcmp(c->group.v[0].value, get(&c->fields, "source.ip")) == 0 &&
           strcmp(c->group.v[1].value, get(&c->fields, "user.name")) == 0,
       "group values transformed like the event's");
    {
        char *want = xasprintf("%s|%s", c->group.v[0].value, c->group.v[1].value);
        is_str(c->group_key, want, "group key rebuilt from the transformed values");
        free(want);
    }
    is_int(c->nevidence, 1, "evidence kept");
    ok(get(&c->evidence[0], "kizuna.source") == NULL &&
           strcmp(get(&c->evidence[0], "source.ip"), get(&c->fields, "source.ip")) == 0 &&
           strcmp(get(&c->evidence[0], "@timestamp"), "2026-02-12T14:09:00.000000Z") == 0,
       "evidence filtered and transformed like the event");
    v = get(&c->evidence[0], "message");
    ok(v != NULL && strstr(v, "root") == NULL && strstr(v, "35.188.49.9") == NULL &&
           strstr(v, "35.188.49.") == NULL,
       "evidence text redacted: %s", v ? v : "-");
    ok(strcmp(c->id, a->id) != 0 && strlen(c->id) == 32, "the alert id partners see is keyed");
    ok(c->time_us == INT64_C(1770905400000000) && c->first_us == INT64_C(1770905340000000),
       "alert times rounded down to the minute");
    ok(c->rule == a->rule && c->count == 5 && strcmp(c->corr_type, "event_count") == 0 &&
           strcmp(c->tlp, "amber") == 0 && strcmp(c->partner, "jp") == 0 &&
           strcmp(c->host_name, "analyzer-1") == 0,
       "rule, count, correlation type, TLP, partner and analyzer carried over");

    /* The report names fields, never values. */
    ok(report_has(&rep, "client.ip", NULL) && report_has(&rep, "user.email", NULL) &&
           report_has(&rep, "process.pid", NULL) && report_has(&rep, "kizuna.source", NULL),
       "report: dropped fields");
    ok(report_has(&rep, "user.name", "pseudonym") &&
           report_has(&rep, "source.ip", "ip-prefix-preserving") &&
           report_has(&rep, "message", "redact") && report_has(&rep, "@timestamp", "time") &&
           report_has(&rep, "kizuna.alert_id", "keyed") &&
           report_has(&rep, "kizuna.group.key", "rebuilt"),
       "report: transformed fields and methods");
    ok(!report_has(&rep, "destination.port", NULL) &&
           !report_has(&rep, "destination.port", "pseudonym"),
       "report: kept fields are not listed");

    /* Stability, and independence of profiles. */
    c2 = privacy_apply(strict, a, NULL);
    ok(strcmp(c2->id, c->id) == 0 &&
           strcmp(get(&c2->fields, "user.name"), get(&c->fields, "user.name")) == 0 &&
           strcmp(get(&c2->fields, "source.ip"), get(&c->fields, "source.ip")) == 0,
       "same alert, same profile: same pseudonyms and id (partners can de-duplicate)");
    l = privacy_apply(loose, a, NULL);
    ok(strcmp(get(&l->fields, "user.name"), get(&c->fields, "user.name")) != 0 &&
           strcmp(l->id, c->id) != 0,
       "another profile (same key file): unrelated pseudonyms and ids");
    is_str(get(&l->fields, "source.ip"), "35.188.49.0", "truncate_v4: 24");
    is_str(get(&l->fields, "destination.ip"), "2001:db8:1234::", "truncate_v6: 48");
    ok(get(&l->fields, "client.ip") != NULL && get(&l->fields, "process.pid") != NULL,
       "without keep, other fields pass");
    v = get(&l->fields, "message");
    ok(v != NULL && strstr(v, "pas|cal") == NULL && strstr(v, "35.188.49.176") == NULL &&
           strstr(v, "35.188.49.0") != NULL && strstr(v, "pascal@corp.example") != NULL,
       "no redact_text: text keeps what no transform knows, known values still replaced: %s",
       v ? v : "-");
    ok(strcmp(l->group_key, a->group_key) != 0, "group key rebuilt under loose too");
    n = privacy_apply(nokey, a, &rep);
    ok(strcmp(n->id, a->id) == 0 && privacy_profile_key_id(nokey)[0] == '\0',
       "a profile without keys leaves the id (and warns at load)");
    ok(n->fields.n == 2 && get(&n->fields, "message") == NULL,
       "allowlist without redact_text: text fields dropped");
    is_str(n->group_key, "35.188.49.0|-", "a dropped group value shows as '-' in the key");
    ok(strlen(privacy_profile_hash(strict)) == 32 &&
           strcmp(privacy_profile_hash(strict), privacy_profile_hash(loose)) != 0 &&
           strlen(privacy_profile_key_id(strict)) == 16,
       "profile hash and key id");
    alert_free(a);

    /* The same profile written differently has the same hash; a changed one does not. */
    {
        struct conf *conf2 = NULL;
        struct privacy_set *ps2 = NULL;
        const char *p2 = write_conf(
            "profiles2.yaml",
            "  strict:\n"
            "    time_granularity: 60s\n"
            "    redact_text: [user, ipv6, ipv4, email, email]\n"
            "    ip: { key_file: keys/ip.key, method: prefix_preserving,\n"
            "          fields: [destination.ip, source.ip] }\n"
            "    pseudonymize: { key_file: keys/ip.key, fields: [host.name, user.name] }\n"
            "    drop: [process.*]\n"
            "    keep: [destination.port, source.ip, \"@timestamp\", event.severity, rule.*]\n"
            "  loose:\n"
            "    pseudonymize: { fields: [user.name, host.name] }\n"
            "    ip: { fields: [source.ip, destination.ip], truncate_v4: 16 }\n"
            "    key_file: keys/a.key\n",
            NULL);
        errlist_free(&errs);
        if (ok(conf_load(p2, &conf2, &errs) == 0 && privacy_set_new(conf2, 0, &ps2, &errs) == 0,
               "reordered profile loads")) {
            is_str(privacy_profile_hash(privacy_set_find(ps2, "strict")),
                   privacy_profile_hash(strict),
                   "canonical hash: order, duplicates, keys and "
                   "spelling of durations do not matter");
            ok(strcmp(privacy_profile_hash(privacy_set_find(ps2, "loose")),
                      privacy_profile_hash(loose)) != 0,
               "a changed truncation changes the hash");
            ok(strcmp(privacy_profile_key_id(privacy_set_find(ps2, "strict")),
                      privacy_profile_key_id(strict)) != 0,
               "another key: another key id");
        }
        privacy_set_free(ps2);
        conf_free(conf2);
    }
out:
    privacy_report_reset(&rep);
    alert_free(c);
    alert_free(c2);
    alert_free(l);
    alert_free(n);
    privacy_set_free(ps);
    conf_free(conf);
    errlist_free(&errs);
}

/* Load a config and build its privacy set; returns the first error message or "". */
static const char *
first_error(const char *yaml_profiles, const char *extra)
{
    static char msg[1024];
    struct errlist errs = {0};
    struct conf *conf = NULL;
    struct privacy_set *ps = NULL;
    const char *path = write_conf("err.yaml", yaml_profiles, extra);

    msg[0] = '\0';
    if (conf_load(path, &conf, &errs) == 0) {
        privacy_set_new(conf, 0, &ps, &errs);
    }
    if (errs.n > 0) {
        const char *m = strstr(errs.msgs[0], "err.yaml:");
        snprintf(msg, sizeof(msg), "%s", m ? m : errs.msgs[0]);
    }
    privacy_set_free(ps);
    conf_free(conf);
    errlist_free(&errs);
    return msg;
}

static void
test_conf_errors(void)
{
    const char *m;

    m = first_error("  p:\n    redact_text: [email, phone]\n", NULL);
    ok(strstr(m, "err.yaml:6:26: privacy profile 'p': unknown redact_text detector 'phone'") !=
           NULL,
       "unknown detector: %s", m);
    m = first_error("  p:\n    pseudonymize: { fields: [user.name] }\n", NULL);
    ok(strstr(m, "pseudonymize needs a key_file") != NULL, "pseudonyms without a key: %s", m);
    m = first_error("  p:\n    ip: { method: prefix_preserving }\n", NULL);
    ok(strstr(m, "prefix_preserving needs a key_file") != NULL, "Crypto-PAn without a key: %s", m);
    m = first_error("  p:\n    ip: { method: scramble }\n", NULL);
    ok(strstr(m, "'method' must be one of truncate, prefix_preserving") != NULL, "bad method");
    m = first_error("  p:\n    ip: { truncate_v4: 33 }\n", NULL);
    ok(strstr(m, "'truncate_v4' is 33, out of range [0, 32]") != NULL, "truncate_v4 bound");
    m = first_error("  p:\n    keep: [a]\n    kep: [b]\n", NULL);
    ok(strstr(m, "err.yaml:7:5: unknown key 'kep' in privacy profile 'p'") != NULL,
       "unknown key with its position: %s", m);
    m = first_error("  p:\n    keep: [a]\n",
                    "partners:\n  - name: jp\n    format: json\n    tlp: amber\n"
                    "    deliver: { type: file, path: x }\n    privacy: stricter\n");
    ok(strstr(m, "err.yaml:8:14: partner 'jp': unknown privacy profile 'stricter'") != NULL,
       "partner naming an unknown profile: %s", m);
    write_file(tpath("keys/group.key"),
               "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n", 0640);
    m = first_error("  p:\n    pseudonymize: { fields: [u], key_file: keys/group.key }\n", NULL);
    ok(strstr(m, "err.yaml:6:44: privacy profile 'p': key file ") != NULL &&
           strstr(m, "has mode 0640: group and others must not read or write it") != NULL,
       "group-readable key refused at its position: %s", m);
    write_file(tpath("keys/short.key"), "0011\n", 0600);
    m = first_error("  p:\n    key_file: keys/short.key\n", NULL);
    ok(strstr(m, "err.yaml:6:15: privacy profile 'p': key file ") != NULL &&
           strstr(m, "too short: 2 bytes of key") != NULL,
       "short key refused: %s", m);
    m = first_error("  p:\n    keep: [a]\n", "audit: { path: x, fsync: yes }\n");
    ok(strstr(m, "unknown key 'fsync' in audit") != NULL, "audit keys checked");
    m = first_error("  p: [a]\n", NULL);
    ok(strstr(m, "privacy profile 'p' must be a map, not a list") != NULL, "profile shape");
}

/* ---- reveal map and audit ---- */

static void
test_reveal_audit(void)
{
    struct reveal *rv = NULL;
    struct audit *au = NULL;
    char err[1024];
    char **origs = NULL;
    size_t norigs = 0;
    struct stat st;
    const char *map = tpath("reveal.ndjson");

    ok(reveal_open(map, 0, &rv, err, sizeof(err)) == 0, "reveal map opened");
    ok(stat(map, &st) == 0 && (st.st_mode & 0777) == 0600, "reveal map created with mode 0600");
    reveal_add(rv, "strict", "pseudonym", "pseu:0001", "alice", 5);
    reveal_add(rv, "strict", "pseudonym", "pseu:0001", "alice", 5);
    reveal_add(rv, "strict", "pseudonym", "pseu:0002", "b\"o\\b\n\xc3\xa9", 9);
    reveal_add(rv, "other", "ip", "10.9.8.7", "192.0.2.1", 9);
    is_int(count_lines(map), 3, "a pseudonym is written once per run");
    ok(reveal_lookup(map, "pseu:0001", &origs, &norigs, err, sizeof(err)) == 1 &&
           strcmp(origs[0], "alice") == 0,
       "lookup finds the original");
    ok(reveal_lookup(map, "pseu:0002", &origs, &norigs, err, sizeof(err)) == 2 &&
           strcmp(origs[1], "b\"o\\b\n\xc3\xa9") == 0,
       "escaped originals come back byte for byte");
    for (size_t i = 0; i < norigs; i++) {
        free(origs[i]);
    }
    free(origs);
    origs = NULL;
    norigs = 0;
    ok(reveal_lookup(map, "pseu:9999", &origs, &norigs, err, sizeof(err)) == 0,
       "unknown pseudonym: nothing");
    reveal_close(rv);
    chmod(map, 0640);
    ok(reveal_open(map, 0, &rv, err, sizeof(err)) == -1 && strstr(err, "has mode 0640") != NULL,
       "a reveal map others may read is refused");
    chmod(map, 0600);

    {
        const char *conf;
        FILE *devnull = fopen("/dev/null", "w");
        char *extra = xasprintf("reveal_map: %s\n", map);
        conf = write_conf("reveal.yaml", "  p:\n    keep: [a]\n", extra);
        is_int(reveal_run(conf, "10.9.8.7", devnull), 0, "--reveal: known, exit 0");
        is_int(reveal_run(conf, "10.9.8.6", devnull), 1, "--reveal: unknown, exit 1");
        conf = write_conf("reveal2.yaml", "  p:\n    keep: [a]\n", NULL);
        is_int(reveal_run(conf, "10.9.8.7", devnull), 2, "--reveal: no map configured, exit 2");
        free(extra);
        fclose(devnull);
    }

    {
        struct privacy_report rep = {0};
        struct audit_record rec = {0};
        char *body;
        char line[2048] = "";
        FILE *f;

        rep.dropped = xcalloc(2, sizeof(char *));
        rep.dropped[0] = xstrdup("client.ip");
        rep.dropped[1] = xstrdup("user.\"email\"");
        rep.ndropped = 2;
        rep.changed = xcalloc(1, sizeof(char *));
        rep.methods = xcalloc(1, sizeof(char *));
        rep.changed[0] = xstrdup("user.name");
        rep.methods[0] = "pseudonym";
        rep.nchanged = 1;
        rec.partner = "jp";
        rec.format = "stix21";
        rec.alert_id = "0123";
        rec.shared_id = "4567";
        rec.rule_id = "r";
        rec.tlp = "amber";
        rec.report = &rep;
        ok(audit_open(tpath("audit.ndjson"), &au, err, sizeof(err)) == 0, "audit log opened");
        body = audit_record_body(&rec);
        audit_write(au, body, "spooled");
        audit_write(au, NULL, "spooled");
        free(body);
        audit_close(au);
        f = fopen(tpath("audit.ndjson"), "r");
        if (f != NULL) {
            if (fgets(line, sizeof(line), f) == NULL) {
                line[0] = '\0';
            }
            fclose(f);
        }
        ok(strncmp(line, "{\"time\":\"", 9) == 0 &&
               strstr(line, "\",\"partner\":\"jp\",\"format\":\"stix21\",\"alert_id\":\"0123\","
                            "\"shared_id\":\"4567\",\"rule\":\"r\",\"tlp\":\"amber\","
                            "\"profile\":null,\"profile_hash\":null,\"key_id\":null,"
                            "\"dropped\":[\"client.ip\",\"user.\\\"email\\\"\"],"
                            "\"transformed\":{\"user.name\":\"pseudonym\"},"
                            "\"result\":\"spooled\"}\n") != NULL,
           "audit line: %s", line);
        is_int(count_lines(tpath("audit.ndjson")), 1, "no line without a record");
        ok(stat(tpath("audit.ndjson"), &st) == 0 && (st.st_mode & 0777) == 0600,
           "audit log mode 0600");
        privacy_report_reset(&rep);
    }
}

static void
rm_rf(const char *dir)
{
    char *cmd = xasprintf("rm -rf '%s'", dir);

    if (system(cmd) != 0) {
        tap_diag("could not remove %s", dir);
    }
    free(cmd);
}

int
main(void)
{
    const char *t = getenv("TMPDIR");

    umask(022);
    snprintf(tmpdir, sizeof(tmpdir), "%s/kz-privacy.XXXXXX", t && t[0] ? t : "/tmp");
    if (mkdtemp(tmpdir) == NULL) {
        tap_diag("mkdtemp: %s", strerror(errno));
        return 1;
    }
    test_hmac();
    test_pseudonyms();
    test_key_files();
    test_cryptopan_vectors();
    test_cryptopan_properties();
    test_text();
    test_profiles();
    test_conf_errors();
    test_reveal_audit();
    rm_rf(tmpdir);
    return tap_done();
}
