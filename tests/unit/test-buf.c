/*
 * Tests of the output buffer (core/buf.c): growth, printf, truncation, and the JSON and XML
 * escapers on control characters and invalid UTF-8. The JSON escaper is also checked
 * against Python's json module on thousands of pseudo-random byte strings (skipped when
 * python3 is not installed): the output must parse, and decode to exactly what Python's
 * UTF-8 decoder with errors='replace' makes of the same bytes.
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "tap.h"

static void
json_is(const char *in, size_t len, const char *want, const char *what)
{
    struct buf b;

    buf_init(&b);
    buf_json_string(&b, in, len);
    ok(b.len == strlen(want) && memcmp(b.data, want, b.len) == 0, "json: %s", what);
    if (b.len != strlen(want) || memcmp(b.data, want, b.len) != 0) {
        tap_diag("got  %s", buf_cstr(&b));
        tap_diag("want %s", want);
    }
    buf_free(&b);
}

static void
xml_is(const char *in, size_t len, const char *want, const char *what)
{
    struct buf b;

    buf_init(&b);
    buf_xml_text(&b, in, len);
    is_str(buf_cstr(&b), want, what);
    buf_free(&b);
}

#define FFFD "\xef\xbf\xbd"

static void
test_basics(void)
{
    struct buf b;
    struct buf z = {0};
    char big[5000];

    buf_init(&b);
    is_str(buf_cstr(&b), "", "empty buffer is \"\"");
    buf_append(&b, "ab", 2);
    buf_putc(&b, 'c');
    buf_puts(&b, "def");
    buf_printf(&b, "-%d-%s", 42, "x");
    is_str(buf_cstr(&b), "abcdef-42-x", "append, putc, puts, printf");
    is_int(b.len, 11, "len");
    memset(big, 'y', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    buf_printf(&b, "%s", big);
    is_int(b.len, 11 + sizeof(big) - 1, "printf longer than the first reservation");
    ok(b.data[b.len] == '\0' && b.data[b.len - 1] == 'y' && b.data[11] == 'y',
       "printf grew the buffer and kept the NUL");
    buf_truncate(&b, 3);
    is_str(buf_cstr(&b), "abc", "truncate");
    buf_truncate(&b, 10);
    is_str(buf_cstr(&b), "abc", "truncate past the end is a no-op");
    buf_reset(&b);
    ok(b.len == 0 && b.cap > 0 && strcmp(buf_cstr(&b), "") == 0, "reset keeps memory");
    buf_append(&b, "a\0b", 3);
    ok(b.len == 3 && memcmp(b.data, "a\0b", 4) == 0, "embedded NUL kept, counted");
    buf_free(&b);
    ok(b.data == NULL && b.len == 0 && b.cap == 0, "free leaves an empty buffer");
    buf_puts(&z, "zeroed struct works");
    is_str(buf_cstr(&z), "zeroed struct works", "zeroed struct buf is a valid empty buffer");
    buf_free(&z);
    buf_free(&z);
}

static void
test_json(void)
{
    json_is("", 0, "\"\"", "empty");
    json_is("plain text", 10, "\"plain text\"", "plain");
    json_is("q\"b\\s/", 6, "\"q\\\"b\\\\s/\"", "quote and backslash");
    json_is("\b\f\n\r\t", 5, "\"\\b\\f\\n\\r\\t\"", "short escapes");
    json_is("\x01\x1f\x7f", 3, "\"\\u0001\\u001f\x7f\"", "other controls, DEL kept");
    json_is("a\0b", 3, "\"a\\u0000b\"", "NUL byte");
    json_is("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9,
            "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"", "valid 2, 3, 4 byte sequences kept");
    json_is("\xc2\x85\xc2\x9f\xc2\xa0", 6, "\"\\u0085\\u009f\xc2\xa0\"",
            "C1 controls escaped, NBSP kept");
    json_is("a\xe2\x80\xa8" "b\xe2\x80\xa9", 8, "\"a\\u2028b\\u2029\"",
            "U+2028 U+2029 escaped");
    json_is("\x80", 1, "\"" FFFD "\"", "lone continuation byte");
    json_is("\xc0\x80", 2, "\"" FFFD FFFD "\"", "overlong NUL (C0 80)");
    json_is("\xc1\xbf", 2, "\"" FFFD FFFD "\"", "overlong (C1)");
    json_is("\xe0\x80\x80", 3, "\"" FFFD FFFD FFFD "\"", "overlong 3-byte");
    json_is("\xed\xa0\x80", 3, "\"" FFFD FFFD FFFD "\"", "UTF-16 surrogate");
    json_is("\xf4\x90\x80\x80", 4, "\"" FFFD FFFD FFFD FFFD "\"", "above U+10FFFF");
    json_is("\xf5\xff", 2, "\"" FFFD FFFD "\"", "bytes never in UTF-8");
    json_is("a\xe2\x82", 3, "\"a" FFFD "\"", "truncated 3-byte at end: one U+FFFD");
    json_is("\xf0\x9f\x98z", 4, "\"" FFFD "z\"", "truncated 4-byte then ASCII");
    json_is("\xe2\x82\"", 3, "\"" FFFD "\\\"\"", "truncated sequence then a quote");
}

static void
test_xml(void)
{
    xml_is("a&b<c>d\"e'f", 11, "a&amp;b&lt;c&gt;d&quot;e&apos;f", "xml: the five entities");
    xml_is("t\tn\nr\r", 6, "t\tn\nr\r", "xml: TAB LF CR kept");
    xml_is("\x01\x1f", 2, FFFD FFFD, "xml: other controls replaced");
    xml_is("\xef\xbf\xbe\xef\xbf\xbf", 6, FFFD FFFD, "xml: U+FFFE U+FFFF replaced");
    xml_is("\xc3\xa9\xff", 3, "\xc3\xa9" FFFD, "xml: UTF-8 kept, invalid replaced");
}

/* xorshift64*: deterministic pseudo-random bytes, biased towards UTF-8 lead/continuation. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static unsigned
rng_byte(void)
{
    static const unsigned char interesting[] = {0x00, 0x09, 0x0a, 0x1f, 0x22, 0x5c, 0x7f,
                                                0x80, 0xbf, 0xc0, 0xc2, 0xdf, 0xe0, 0xed,
                                                0xef, 0xf0, 0xf4, 0xf5, 0xff, 0xa0, 0x90};
    uint64_t x;

    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    x = rng_state * 0x2545f4914f6cdd1dULL;
    if ((x & 3) == 0) {
        return interesting[(x >> 8) % sizeof(interesting)];
    }
    if ((x & 3) == 1) {
        return 0x80 + (unsigned)((x >> 8) % 0x40);
    }
    return (unsigned)((x >> 8) & 0xff);
}

static void
test_json_vs_python(void)
{
    static const char script[] =
        "import json,sys\n"
        "bad = 0\n"
        "for n, line in enumerate(sys.stdin.buffer):\n"
        "    raw_hex, out = line.rstrip(b'\\n').split(b' ', 1)\n"
        "    want = bytes.fromhex(raw_hex.decode()).decode('utf-8', 'replace')\n"
        "    got = json.loads(out.decode('utf-8'))\n"
        "    if got != want:\n"
        "        bad += 1\n"
        "        print('# mismatch', n, raw_hex.decode(), file=sys.stderr)\n"
        "sys.exit(1 if bad else 0)\n";
    char *cmd = NULL;
    FILE *py;
    struct buf b;
    int status;

    if (system("python3 -c 'import json' >/dev/null 2>&1") != 0) {
        tap_skip(1, "python3 not available");
        return;
    }
    /* If Python stops reading early, fail the test point rather than die of SIGPIPE. */
    signal(SIGPIPE, SIG_IGN);
    buf_init(&b);
    cmd = malloc(sizeof(script) + 32);
    snprintf(cmd, sizeof(script) + 32, "python3 -c \"$KZ_PY\"");
    setenv("KZ_PY", script, 1);
    py = popen(cmd, "w");
    for (int i = 0; i < 5000 && py != NULL; i++) {
        unsigned char raw[24];
        size_t len = (size_t)(rng_byte() % sizeof(raw));

        for (size_t k = 0; k < len; k++) {
            raw[k] = (unsigned char)rng_byte();
        }
        buf_reset(&b);
        for (size_t k = 0; k < len; k++) {
            buf_printf(&b, "%02x", raw[k]);
        }
        buf_putc(&b, ' ');
        buf_json_string(&b, (const char *)raw, len);
        buf_putc(&b, '\n');
        fwrite(b.data, 1, b.len, py);
    }
    status = py != NULL ? pclose(py) : -1;
    ok(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
       "5000 random byte strings: valid JSON, equal to Python's decode(errors='replace')");
    buf_free(&b);
    free(cmd);
}

int
main(void)
{
    test_basics();
    test_json();
    test_xml();
    test_json_vs_python();
    return tap_done();
}
