/*
 * libFuzzer target for every output format plugin (json, stix21, misp, ocsf, idmef, iodef,
 * cef, syslog). The plugin sources are linked into the target (tests/fuzz/plugin-*.c
 * include them with kz_plugin_entry renamed), so coverage instrumentation and the
 * sanitizers reach them; they run against the real host services (plugin_host_get()) and
 * the real struct alert, as in kizunad, only without dlopen.
 *
 * The input is decoded into one plugin configuration and one alert:
 *
 *   u8 plugin (b % 8, or pinned by KZ_FUZZ_PLUGIN=name), u8 flags (1: flip the boolean
 *   options, 2: string options from the input, 4: integer options from the input), then
 *   those option values; u8 level/kind/correlation type; str rule id, str title, u8 ntags
 *   and the tags; 8 bytes rule hash, 16 bytes alert id; 8 bytes each time, first, last
 *   (mapped into years 1..9999, the range the decoders accept), count and value (the
 *   double's bits: NaN and infinities included); u8 TLP (none or one of the five labels);
 *   str partner, str host name, str group key; u8 count and name/value pairs of the group
 *   fields and of the event fields; u8 count of evidence events, each with u8 count and
 *   pairs.
 *
 * A str is u8 L then L bytes (any bytes, NUL included where the ABI passes lengths), L =
 * 0xdf then a u16 length for long values, or L >= 0xe0 for an entry of a table of
 * interesting strings (ECS names, ATT&CK and TLP tags, addresses, ports, quoting). Reading
 * past the end gives zeros and empty strings.
 *
 * KZ_FUZZ_PRINT=1 prints each output on stderr.
 *
 * Besides crashes, the target aborts when a plugin refuses a valid alert (anything but
 * KZ_OK), formats the same alert twice differently, or writes something invalid for its
 * format: JSON plugins a document that fuzz_check_json() refuses (and more than one line
 * unless out_json's pretty is on); IDMEF and IODEF one line that fuzz_check_xml() refuses;
 * CEF a line decode_cef() cannot read back with the Signature ID, Name, alert id, host and
 * group key as written, or with an extension key out_cef could not have written, or a
 * value that does not match a value it could have come from (modulo the documented CEF
 * losses: trailing blanks, a leading quote read back as \"); syslog a line decode_syslog()
 * refuses or that does not give back the alert id and rule id.
 * Built only with configure --enable-fuzzing (CC=clang); replayed without libFuzzer by
 * tests/fuzz/replay-format in make check. See docs/OPERATIONS.md.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kizuna/plugin.h>

#include "../../plugins/common/sbuf.h"
#include "alert.h"
#include "buf.h"
#include "decode.h"
#include "event.h"
#include "fuzz-check.h"
#include "log.h"
#include "plugin-loader.h"
#include "rule.h"
#include "xmalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

const struct kz_plugin *fuzz_plugin_entry_json(void);
const struct kz_plugin *fuzz_plugin_entry_stix21(void);
const struct kz_plugin *fuzz_plugin_entry_misp(void);
const struct kz_plugin *fuzz_plugin_entry_ocsf(void);
const struct kz_plugin *fuzz_plugin_entry_idmef(void);
const struct kz_plugin *fuzz_plugin_entry_iodef(void);
const struct kz_plugin *fuzz_plugin_entry_cef(void);
const struct kz_plugin *fuzz_plugin_entry_syslog(void);

enum fuzz_kind { FUZZ_JSON, FUZZ_XML, FUZZ_CEF, FUZZ_SYSLOG };

static const struct {
    const char *name;
    const struct kz_plugin *(*entry)(void);
    enum fuzz_kind kind;
} fuzz_plugins[] = {
    {"json", fuzz_plugin_entry_json, FUZZ_JSON},  {"stix21", fuzz_plugin_entry_stix21, FUZZ_JSON},
    {"misp", fuzz_plugin_entry_misp, FUZZ_JSON},  {"ocsf", fuzz_plugin_entry_ocsf, FUZZ_JSON},
    {"idmef", fuzz_plugin_entry_idmef, FUZZ_XML}, {"iodef", fuzz_plugin_entry_iodef, FUZZ_XML},
    {"cef", fuzz_plugin_entry_cef, FUZZ_CEF},     {"syslog", fuzz_plugin_entry_syslog, FUZZ_SYSLOG},
};
#define FUZZ_NPLUGINS (sizeof(fuzz_plugins) / sizeof(fuzz_plugins[0]))

/* Interesting strings, picked by a length byte >= 0xe0 (32 entries each). */
static const char *const fuzz_names[32] = {
    "source.ip",
    "destination.ip",
    "source.port",
    "destination.port",
    "user.name",
    "source.user.name",
    "destination.user.name",
    "host.name",
    "source.domain",
    "destination.domain",
    "message",
    "event.original",
    "@timestamp",
    "event.action",
    "event.outcome",
    "network.transport",
    "url.original",
    "process.name",
    "source.mac",
    "event.dataset",
    "cef.ext.cs1",
    "cef.ext.src",
    "cef.ext.msg",
    "cef.signature_id",
    "rule.id",
    "kizuna.alert_id",
    "a",
    "a.b",
    "a.b.c",
    "event.severity",
    "file.path",
    "",
};
static const char *const fuzz_values[32] = {
    "203.0.113.7",
    "2001:db8::dead:beef",
    "::ffff:192.0.2.1",
    "10.0.0.1/8",
    "999.1.1.1",
    "22",
    "65536",
    "-1",
    "",
    " ",
    "\"quoted\"",
    "a=b c=d",
    "x\\",
    "|pipe|",
    "]\"\\",
    "<tag attr=\"v\">&amp;</tag>",
    "line\nbreak\r\n",
    "\t",
    "tab\t",
    "00:11:22:33:44:55",
    "1e308",
    "NaN",
    "GET",
    "https://example.org/a?b=c&d=e",
    "root",
    "\xc3\xa9\xe6\x97\xa5",
    "\xff\xfe",
    "\xed\xa0\x80",
    "\x01\x7f",
    "k=\"v\"]|\\",
    "\"",
    "example.org",
};
static const char *const fuzz_tags[32] = {
    "attack.t1110",
    "attack.t1110.001",
    "attack.credential_access",
    "attack.g0032",
    "attack.s0002",
    "attack.ta0001",
    "attack.initial_access",
    "attack.t1078",
    "tlp.red",
    "tlp.clear",
    "cis.5.2",
    "attack.",
    "attack.t",
    "attack.t99999",
    "attack.t1110.0011",
    "attack.persistence",
    "car.2013-02-003",
    "cve.2021-44228",
    "detection.threat",
    "attack.defense-evasion",
    "attack.T1110",
    "attack.t1110.",
    "attack.g",
    "attack.s",
    "x\"y<z>&|=\\",
    "",
    "tlp.amber+strict",
    "attack.t1059.001",
    "attack.discovery",
    "attack.impact",
    "attack.exfiltration",
    "attack.lateral_movement",
};
static const char *const fuzz_corr_types[8] = {
    NULL,        "event_count", "value_count",      "value_sum",
    "value_avg", "temporal",    "temporal_ordered", "absence",
};
static const char *const fuzz_tlps[6] = {NULL, "clear", "green", "amber", "amber+strict", "red"};

/* Event times the decoders accept: years 1..9999. */
#define FUZZ_TIME_MIN (-62135596800000000LL)
#define FUZZ_TIME_MAX 253402300799999999LL

struct fuzz_in {
    const uint8_t *p;
    size_t n;
    char **owned; /* NUL-terminated copies made for this input */
    size_t nowned;
};

static uint8_t
fuzz_u8(struct fuzz_in *in)
{
    uint8_t b = 0;

    if (in->n > 0) {
        b = in->p[0];
        in->p++;
        in->n--;
    }
    return b;
}

static uint64_t
fuzz_u64(struct fuzz_in *in)
{
    uint64_t v = 0;

    for (int i = 0; i < 8; i++) {
        v = (v << 8) | fuzz_u8(in);
    }
    return v;
}

/* A string: bytes of the input (not NUL-terminated) or a table entry. */
static const char *
fuzz_bytes(struct fuzz_in *in, const char *const *table, size_t *len)
{
    size_t l = fuzz_u8(in);
    const char *s;

    if (l >= 0xe0) {
        s = table[l - 0xe0];
        *len = strlen(s);
        return s;
    }
    if (l == 0xdf) {
        l = (size_t)fuzz_u8(in) << 8;
        l |= fuzz_u8(in);
    }
    if (l > in->n) {
        l = in->n;
    }
    s = (const char *)in->p;
    in->p += l;
    in->n -= l;
    *len = l;
    return s != NULL ? s : "";
}

/* A NUL-terminated copy of a string (cut at its first NUL), owned by the input. */
static char *
fuzz_cstr(struct fuzz_in *in, const char *const *table)
{
    size_t len;
    const char *s = fuzz_bytes(in, table, &len);
    char *c = strndup(s, len);

    if (c == NULL) {
        abort();
    }
    in->owned = realloc(in->owned, (in->nowned + 1) * sizeof(*in->owned));
    if (in->owned == NULL) {
        abort();
    }
    in->owned[in->nowned++] = c;
    return c;
}

static void
fuzz_pairs(struct fuzz_in *in, struct alert_fields *fl, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        size_t nl, vl;
        const char *name = fuzz_bytes(in, fuzz_names, &nl);
        const char *value = fuzz_bytes(in, fuzz_values, &vl);

        alert_fields_add(fl, name, nl, value, vl);
    }
}

static int64_t
fuzz_time(struct fuzz_in *in)
{
    uint64_t span = (uint64_t)(FUZZ_TIME_MAX - FUZZ_TIME_MIN) + 1;

    return FUZZ_TIME_MIN + (int64_t)(fuzz_u64(in) % span);
}

static void
fuzz_die(const char *plugin, const char *what, const char *why, const struct buf *out)
{
    fprintf(stderr, "fuzz-format: out_%s: %s%s%s\n", plugin, what, why ? ": " : "", why ? why : "");
    if (out != NULL) {
        fprintf(stderr, "output (%zu bytes): %.*s\n", out->len,
                (int)(out->len > 4000 ? 4000 : out->len), out->data != NULL ? out->data : "");
    }
    abort();
}

/* The configuration of one instance, filled the way plugin.c fills it. */
struct fuzz_conf {
    void *config;
    int pretty; /* out_json pretty (more than one line allowed) */
    const char *sd_id;
    const char *device[3];
};

static int
fuzz_conf_fill(struct fuzz_in *in, const struct kz_plugin *d, uint8_t flags, struct fuzz_conf *fc)
{
    fc->config = calloc(1, d->config_size > 0 ? d->config_size : 1);
    if (fc->config == NULL) {
        abort();
    }
    for (const struct kz_option *o = d->options; o != NULL && o->name != NULL; o++) {
        char *slot = (char *)fc->config + o->offset;
        const char *def = o->default_value;

        switch (o->type) {
        case KZ_OPT_STRING: {
            const char *v = (flags & 2) ? fuzz_cstr(in, fuzz_values) : def;
            memcpy(slot, &v, sizeof(v));
            if (strcmp(o->name, "sd_id") == 0) {
                fc->sd_id = v;
            } else if (strcmp(o->name, "device_vendor") == 0) {
                fc->device[0] = v;
            } else if (strcmp(o->name, "device_product") == 0) {
                fc->device[1] = v;
            } else if (strcmp(o->name, "device_version") == 0) {
                fc->device[2] = v;
            }
            break;
        }
        case KZ_OPT_INT: {
            int64_t v = def != NULL ? strtoll(def, NULL, 10) : 0;
            if (flags & 4) {
                uint64_t span = (uint64_t)(o->max - o->min) + 1;
                v = o->min + (int64_t)(fuzz_u64(in) % (span != 0 ? span : 1));
            }
            memcpy(slot, &v, sizeof(v));
            break;
        }
        case KZ_OPT_BOOL: {
            int v = def != NULL && strcmp(def, "true") == 0;
            if (flags & 1) {
                v = !v;
            }
            memcpy(slot, &v, sizeof(v));
            if (strcmp(o->name, "pretty") == 0) {
                fc->pretty = v;
            }
            break;
        }
        }
    }
    return 0;
}

/* out_cef's transformation of a header field (as written, then read back). */
static void
fuzz_cef_header_expect(struct sbuf *b, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t len = strlen(s), i = 0;

    sbuf_reset(b);
    while (i < len) {
        uint32_t cp;
        size_t k = sbuf_utf8_next(p + i, len - i, &cp);

        if (cp == '\r' || cp == '\n') {
            sbuf_putc(b, ' ');
        } else if (cp == SBUF_UTF8_BAD || (cp < 0x20 && cp != '\t') || cp == 0x7f) {
            sbuf_append(b, "\xef\xbf\xbd", 3);
        } else {
            sbuf_append(b, p + i, k);
        }
        i += k;
    }
}

/* out_cef's transformation of an extension value (as written, then read back). */
static void
fuzz_cef_value_expect(struct sbuf *b, const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;

    sbuf_reset(b);
    while (i < len) {
        uint32_t cp;
        size_t k = sbuf_utf8_next(p + i, len - i, &cp);

        if (cp == SBUF_UTF8_BAD || (cp < 0x20 && cp != '\t' && cp != '\n' && cp != '\r') ||
            cp == 0x7f) {
            sbuf_append(b, "\xef\xbf\xbd", 3);
        } else {
            sbuf_append(b, p + i, k);
        }
        i += k;
    }
}

/*
 * 1 when the decoded value got[0..gn) is what out_cef makes of s[0..n): equal, or equal
 * but for trailing blanks (CEF cannot carry them); a leading '"' comes back as \" (out_cef
 * writes it so, lest the decoder's quoted-value leniency take the pairs after it).
 */
static int
fuzz_cef_value_ok(struct sbuf *tmp, const char *s, size_t n, const char *got, size_t gn)
{
    fuzz_cef_value_expect(tmp, s, n);
    if (gn > 0 && got[0] == '\\' && tmp->len > 0 && tmp->data[0] == '"') {
        got++;
        gn--;
    }
    if (gn > tmp->len || (gn > 0 && memcmp(tmp->data, got, gn) != 0)) {
        return 0;
    }
    for (size_t i = gn; i < tmp->len; i++) {
        if (tmp->data[i] != ' ' && tmp->data[i] != '\t') {
            return 0;
        }
    }
    return 1;
}

static const struct event_field *
fuzz_field(const struct event *ev, const char *name)
{
    return event_get(ev, name);
}

/* 1 when the decoded field f exists and holds exactly the bytes of want. */
static int
fuzz_field_is(const struct event_field *f, const struct sbuf *want)
{
    return f != NULL && f->value_len == want->len &&
           (want->len == 0 || memcmp(f->value, want->data, want->len) == 0);
}

static int
fuzz_key_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '-';
}

/* 1 when name (n bytes) becomes the CEF key k (kn bytes) by out_cef's sanitising. */
static int
fuzz_cef_name_is_key(const char *name, size_t n, const char *k, size_t kn)
{
    if (n != kn || n == 0 || n >= 128) {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        if ((fuzz_key_char(name[i]) ? name[i] : '_') != k[i]) {
            return 0;
        }
    }
    return 1;
}

/* ECS fields out_cef writes under a CEF key (its table, reversed by the decoder). */
static const struct {
    const char *ecs;
    const char *key;
} fuzz_cef_ecs[] = {
    {"source.ip", "src"},
    {"destination.ip", "dst"},
    {"source.port", "spt"},
    {"destination.port", "dpt"},
    {"source.user.name", "suser"},
    {"user.name", "duser"},
    {"destination.user.name", "duser"},
    {"source.domain", "shost"},
    {"destination.domain", "dhost"},
    {"host.name", "dhost"},
    {"source.mac", "smac"},
    {"destination.mac", "dmac"},
    {"event.action", "act"},
    {"event.outcome", "outcome"},
    {"message", "msg"},
    {"network.transport", "proto"},
    {"network.protocol", "app"},
    {"url.original", "request"},
    {"http.request.method", "requestMethod"},
    {"user_agent.original", "requestClientApplication"},
    {"file.name", "fname"},
    {"file.path", "filePath"},
};

/* Keys the alert itself writes (values checked separately or not at all). */
static const char *const fuzz_cef_own[] = {
    "rt",       "start",    "end",      "cnt",      "externalId", "dvchost",   "cs1",
    "cs1Label", "cs2",      "cs2Label", "cs3",      "cs3Label",   "cs4",       "cs4Label",
    "cs5",      "cs5Label", "cs6",      "cs6Label", "cfp1",       "cfp1Label",
};

/*
 * A decoded extension pair key=value must have come from somewhere: an own key, a mapped
 * ECS field (its first value), a cef.ext.<key> field, or a field whose sanitised name is
 * the key. The value must match one of those sources.
 */
static int
fuzz_cef_pair_ok(const struct alert *a, struct sbuf *tmp, const char *key, size_t kn, const char *v,
                 size_t vn)
{
    int known = 0;

    for (size_t i = 0; i < sizeof(fuzz_cef_own) / sizeof(fuzz_cef_own[0]); i++) {
        if (strlen(fuzz_cef_own[i]) == kn && memcmp(fuzz_cef_own[i], key, kn) == 0) {
            return 1;
        }
    }
    for (size_t i = 0; i < sizeof(fuzz_cef_ecs) / sizeof(fuzz_cef_ecs[0]); i++) {
        const struct alert_field *f;

        if (strlen(fuzz_cef_ecs[i].key) != kn || memcmp(fuzz_cef_ecs[i].key, key, kn) != 0) {
            continue;
        }
        known = 1;
        f = alert_fields_get(&a->fields, fuzz_cef_ecs[i].ecs);
        if (f != NULL && fuzz_cef_value_ok(tmp, f->value, f->value_len, v, vn)) {
            return 1;
        }
    }
    for (size_t i = 0; i < a->fields.n; i++) {
        const struct alert_field *f = &a->fields.v[i];

        if ((f->name_len > 8 && memcmp(f->name, "cef.ext.", 8) == 0 &&
             fuzz_cef_name_is_key(f->name + 8, f->name_len - 8, key, kn)) ||
            fuzz_cef_name_is_key(f->name, f->name_len, key, kn)) {
            known = 1;
            if (fuzz_cef_value_ok(tmp, f->value, f->value_len, v, vn)) {
                return 1;
            }
        }
    }
    (void)known;
    return 0;
}

static void
fuzz_check_cef(const struct alert *a, const struct fuzz_conf *fc, const struct buf *out)
{
    static struct event ev;
    static int init;
    struct decode_ctx ctx = {0, 0};
    struct sbuf tmp = {0};
    char err[256];
    const struct event_field *f;
    const char *want_dev[3] = {"kizuna", "kizunad", NULL};
    static const char *const dev_fields[3] = {"cef.device_vendor", "cef.device_product",
                                              "cef.device_version"};

    if (!init) {
        event_init(&ev);
        init = 1;
    }
    event_reset(&ev);
    ev.max_fields = 4096;
    if (decode_cef(&ev, out->data, out->len - 1, &ctx, err, sizeof(err)) != 0) {
        fuzz_die("cef", "decode_cef refuses the line", err, out);
    }
    /* Header fields: exactly as written. */
    for (int k = 0; k < 3; k++) {
        const char *w = fc->device[k] != NULL ? fc->device[k] : want_dev[k];
        if (w == NULL) {
            continue;
        }
        fuzz_cef_header_expect(&tmp, w);
        f = fuzz_field(&ev, dev_fields[k]);
        if (!fuzz_field_is(f, &tmp)) {
            fuzz_die("cef", "a device header field did not survive", dev_fields[k], out);
        }
    }
    fuzz_cef_header_expect(&tmp, a->rule->id);
    f = fuzz_field(&ev, "cef.signature_id");
    if (!fuzz_field_is(f, &tmp)) {
        fuzz_die("cef", "Signature ID did not survive", NULL, out);
    }
    fuzz_cef_header_expect(&tmp, a->rule->title);
    f = fuzz_field(&ev, "cef.name");
    if (!fuzz_field_is(f, &tmp)) {
        fuzz_die("cef", "Name did not survive", NULL, out);
    }
    f = fuzz_field(&ev, "cef.ext.externalId");
    if (f == NULL || strcmp(f->value, a->id) != 0) {
        fuzz_die("cef", "externalId is not the alert id", NULL, out);
    }
    f = fuzz_field(&ev, "cef.ext.dvchost");
    if (a->host_name != NULL && a->host_name[0] != '\0' &&
        (f == NULL ||
         !fuzz_cef_value_ok(&tmp, a->host_name, strlen(a->host_name), f->value, f->value_len))) {
        fuzz_die("cef", "dvchost is not the host name", NULL, out);
    }
    f = fuzz_field(&ev, "cef.ext.cs2");
    if (a->group_key[0] != '\0' &&
        (f == NULL ||
         !fuzz_cef_value_ok(&tmp, a->group_key, strlen(a->group_key), f->value, f->value_len))) {
        fuzz_die("cef", "cs2 is not the group key", NULL, out);
    }
    /* Every extension pair must come from the alert. */
    for (uint32_t i = 0; i < ev.nfields; i++) {
        const struct event_field *e = &ev.fields[i];

        if (e->name_len <= 8 || memcmp(e->name, "cef.ext.", 8) != 0) {
            continue;
        }
        if (!fuzz_cef_pair_ok(a, &tmp, e->name + 8, e->name_len - 8, e->value, e->value_len)) {
            char d[300];
            snprintf(d, sizeof(d), "%.*s=%.*s", (int)(e->name_len > 100 ? 100 : e->name_len),
                     e->name, (int)(e->value_len > 150 ? 150 : e->value_len), e->value);
            fuzz_die("cef", "a decoded pair matches nothing in the alert", d, out);
        }
    }
    sbuf_free(&tmp);
}

/* out_syslog's transformation of a text: controls as spaces, bad UTF-8 as U+FFFD. */
static void
fuzz_syslog_expect(struct sbuf *b, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t len = strlen(s), i = 0;

    sbuf_reset(b);
    while (i < len) {
        uint32_t cp;
        size_t k = sbuf_utf8_next(p + i, len - i, &cp);

        if (cp == SBUF_UTF8_BAD) {
            sbuf_append(b, "\xef\xbf\xbd", 3);
        } else if (cp < 0x20 || cp == 0x7f) {
            sbuf_putc(b, ' ');
        } else {
            sbuf_append(b, p + i, k);
        }
        i += k;
    }
}

static void
fuzz_check_syslog(const struct alert *a, const struct fuzz_conf *fc, const struct buf *out)
{
    static struct event ev;
    static int init;
    struct decode_ctx ctx = {0, 0};
    struct sbuf tmp = {0};
    const struct event_field *f;
    char err[256], name[300];

    if (!init) {
        event_init(&ev);
        init = 1;
    }
    event_reset(&ev);
    ev.max_fields = 4096;
    if (decode_syslog(&ev, out->data, out->len - 1, &ctx, err, sizeof(err)) != 0) {
        fuzz_die("syslog", "decode_syslog refuses the line", err, out);
    }
    f = fuzz_field(&ev, "log.syslog.msgid");
    if (f == NULL || strcmp(f->value, a->id) != 0) {
        fuzz_die("syslog", "MSGID is not the alert id", NULL, out);
    }
    snprintf(name, sizeof(name), "sd.%s.alert_id", fc->sd_id != NULL ? fc->sd_id : "");
    f = fuzz_field(&ev, name);
    if (f == NULL || strcmp(f->value, a->id) != 0) {
        fuzz_die("syslog", "the alert_id SD-PARAM is not the alert id", name, out);
    }
    snprintf(name, sizeof(name), "sd.%s.rule_id", fc->sd_id != NULL ? fc->sd_id : "");
    f = fuzz_field(&ev, name);
    fuzz_syslog_expect(&tmp, a->rule->id);
    if (a->rule->id[0] != '\0' && !fuzz_field_is(f, &tmp)) {
        fuzz_die("syslog", "the rule_id SD-PARAM did not survive", NULL, out);
    }
    sbuf_free(&tmp);
}

static void
fuzz_check_output(size_t pi, const struct alert *a, const struct fuzz_conf *fc,
                  const struct buf *out)
{
    const char *name = fuzz_plugins[pi].name;
    char why[256];
    const char *nl;

    if (out->len == 0 || out->data[out->len - 1] != '\n') {
        fuzz_die(name, "output does not end in a newline", NULL, out);
    }
    nl = memchr(out->data, '\n', out->len - 1);
    if (nl != NULL && !(fuzz_plugins[pi].kind == FUZZ_JSON && fc->pretty)) {
        fuzz_die(name, "more than one line", NULL, out);
    }
    if (memchr(out->data, '\0', out->len) != NULL) {
        fuzz_die(name, "NUL byte in the output", NULL, out);
    }
    switch (fuzz_plugins[pi].kind) {
    case FUZZ_JSON:
        if (fuzz_check_json(out->data, out->len - 1, why, sizeof(why)) != 0) {
            fuzz_die(name, "invalid JSON", why, out);
        }
        break;
    case FUZZ_XML:
        if (memchr(out->data, '\r', out->len) != NULL) {
            fuzz_die(name, "raw CR in the document", NULL, out);
        }
        if (fuzz_check_xml(out->data, out->len - 1, why, sizeof(why)) != 0) {
            fuzz_die(name, "XML not well-formed", why, out);
        }
        break;
    case FUZZ_CEF:
        if (memchr(out->data, '\r', out->len) != NULL) {
            fuzz_die(name, "raw CR in the line", NULL, out);
        }
        fuzz_check_cef(a, fc, out);
        break;
    case FUZZ_SYSLOG:
        if (memchr(out->data, '\r', out->len) != NULL) {
            fuzz_die(name, "raw CR in the line", NULL, out);
        }
        fuzz_check_syslog(a, fc, out);
        break;
    }
}

static void
fuzz_hex(char *out, uint64_t v, int digits)
{
    static const char hex[] = "0123456789abcdef";

    for (int i = digits - 1; i >= 0; i--) {
        out[i] = hex[v & 15];
        v >>= 4;
    }
    out[digits] = '\0';
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int pinned = -2, print;
    struct fuzz_in in = {data, size, NULL, 0};
    struct fuzz_conf fc = {0};
    struct rule rule = {0};
    struct alert *a = NULL;
    const struct kz_plugin *d;
    struct buf out, again;
    void *state = NULL;
    char **tags = NULL;
    size_t pi, ntags, n;
    uint8_t flags, b;
    uint64_t vbits;
    int st;

    log_level = 0;
    if (pinned == -2) {
        const char *pin = getenv("KZ_FUZZ_PLUGIN");
        print = getenv("KZ_FUZZ_PRINT") != NULL;
        pinned = -1;
        for (size_t i = 0; pin != NULL && i < FUZZ_NPLUGINS; i++) {
            if (strcmp(pin, fuzz_plugins[i].name) == 0) {
                pinned = (int)i;
            }
        }
    }
    if (size > 256 * 1024) {
        return 0;
    }
    buf_init(&out);
    buf_init(&again);
    b = fuzz_u8(&in);
    pi = pinned >= 0 ? (size_t)pinned : b % FUZZ_NPLUGINS;
    d = fuzz_plugins[pi].entry();
    flags = fuzz_u8(&in);
    fuzz_conf_fill(&in, d, flags, &fc);

    b = fuzz_u8(&in);
    rule.level = (enum rule_level)(b % 5);
    rule.kind = (b & 8) ? RULE_CORRELATION : RULE_DETECTION;
    rule.id = fuzz_cstr(&in, fuzz_values);
    rule.title = fuzz_cstr(&in, fuzz_values);
    ntags = fuzz_u8(&in) % 8;
    tags = calloc(ntags + 1, sizeof(*tags));
    for (size_t i = 0; i < ntags; i++) {
        tags[i] = fuzz_cstr(&in, fuzz_tags);
    }
    rule.tags = tags;
    rule.ntags = ntags;
    fuzz_hex(rule.hash, fuzz_u64(&in), 16);
    a = alert_new(&rule);
    fuzz_hex(a->id, fuzz_u64(&in), 16);
    fuzz_hex(a->id + 16, fuzz_u64(&in), 16);
    a->corr_type = fuzz_corr_types[(b >> 4) % 8];
    a->time_us = fuzz_time(&in);
    a->first_us = fuzz_time(&in);
    a->last_us = fuzz_time(&in);
    a->count = fuzz_u64(&in) >> 1;
    vbits = fuzz_u64(&in);
    memcpy(&a->value, &vbits, sizeof(a->value));
    a->has_value = a->corr_type != NULL && (b & 0x80) != 0;
    a->tlp = fuzz_tlps[fuzz_u8(&in) % 6];
    a->partner = fuzz_cstr(&in, fuzz_values);
    a->host_name = fuzz_cstr(&in, fuzz_values);
    free(a->group_key);
    a->group_key = xstrdup(fuzz_cstr(&in, fuzz_values));
    fuzz_pairs(&in, &a->group, fuzz_u8(&in) % 4);
    fuzz_pairs(&in, &a->fields, fuzz_u8(&in) % 32);
    n = fuzz_u8(&in) % 12;
    for (size_t e = 0; e < n; e++) {
        struct alert_fields *ev = alert_add_evidence(a);
        size_t k = fuzz_u8(&in) % 8;
        if (ev != NULL) {
            fuzz_pairs(&in, ev, k);
        }
    }

    st = d->init(plugin_host_get(), NULL, fc.config, &state);
    if (st != KZ_OK) {
        /* Refusing options is the plugin's right (the host reports it at start-up). */
        if (!(flags & 6)) {
            fuzz_die(fuzz_plugins[pi].name, "init refused the default options", NULL, NULL);
        }
        goto out;
    }
    if (d->open != NULL && d->open(state) != KZ_OK) {
        d->close(state);
        goto out;
    }
    st = d->emit(state, plugin_host_alert(a), plugin_host_buf(&out));
    if (st != KZ_OK) {
        fuzz_die(fuzz_plugins[pi].name, "emit refused the alert", plugin_status_name(st), NULL);
    }
    if (print) {
        fprintf(stderr, "out_%s: %.*s", fuzz_plugins[pi].name, (int)out.len, out.data);
    }
    fuzz_check_output(pi, a, &fc, &out);
    st = d->emit(state, plugin_host_alert(a), plugin_host_buf(&again));
    if (st != KZ_OK || again.len != out.len ||
        (out.len > 0 && memcmp(again.data, out.data, out.len) != 0)) {
        fuzz_die(fuzz_plugins[pi].name, "the same alert formatted twice differs", NULL, &again);
    }
    if (d->flush != NULL && d->flush(state, plugin_host_buf(&again)) != KZ_OK) {
        fuzz_die(fuzz_plugins[pi].name, "flush failed", NULL, NULL);
    }
    d->close(state);
out:
    alert_free(a);
    free(tags);
    for (size_t i = 0; i < in.nowned; i++) {
        free(in.owned[i]);
    }
    free(in.owned);
    free(fc.config);
    buf_free(&out);
    buf_free(&again);
    return 0;
}
