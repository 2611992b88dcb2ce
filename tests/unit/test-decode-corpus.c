/*
 * Decoders on real logs. Part 1: lines copied from the CrowdSec hub tests
 * (tests/data/decode/crowdsec, MIT) with the exact fields expected. Part 2: whole files of
 * the shared corpus, read in place from "$top_srcdir/../shared/corpus/logs" (loghub is
 * read-only and never copied; skipped with a TAP SKIP when ../shared is absent): every line
 * decodes, detection picks the right format, and the fields that rules rely on are there.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"
#include "event.h"
#include "tap.h"

#define NOW_US 1780272000000000LL /* 2026-06-01T00:00:00Z */
#define SLACK_US (31LL * 86400 * 1000000)

struct ccase {
    const char *file; /* under tests/data/decode/crowdsec */
    int line;         /* 1-based */
    enum decode_format fmt;
    const char *format;
    const char *time;
    const char *fields[24]; /* "name=value" (in order per name), "!name": absent */
};

static const struct ccase crowdsec[] = {
    {"iptables-logs.log", 1, DECODE_KV, "kv", "2026-06-08T14:34:33.000000Z",
     {"host.name=sd-126005", "process.name=kernel", "IN=enp1s0",
      "observer.ingress.interface.name=enp1s0", "OUT=", "SRC=195.54.160.107",
      "source.ip=195.54.160.107", "DST=51.15.166.67", "destination.ip=51.15.166.67",
      "SPT=8080", "source.port=8080", "DPT=8123", "destination.port=8123", "PROTO=TCP",
      "network.transport=tcp", "TTL=245", "!SYN", NULL}},
    {"iptables-logs.log", 2, DECODE_KV, "kv", NULL, {"IN=enp.1s0", "SRC=195.54.160.107", NULL}},
    {"iptables-logs.log", 3, DECODE_KV, "kv", NULL, {"XX=enp1s0", "!IN", "DPT=8123", NULL}},
    {"iptables-logs.log", 1, DECODE_AUTO, "syslog", "2026-06-08T14:34:33.000000Z",
     {"process.name=kernel", "!SRC", "!source.ip", NULL}},
    {"ssh-bf.log", 1, DECODE_AUTO, "syslog", "2026-02-12T14:10:21.000000Z",
     {"host.name=sd-126005", "process.name=sshd", "process.pid=16378",
      "message=Invalid user pascal from 35.188.49.176 port 53502", NULL}},
    {"ssh-bf.log", 3, DECODE_SYSLOG, "syslog", "2026-02-12T14:10:22.000000Z",
     {"message=Invalid user pascal2 from 35.188.49.176 port 53502", NULL}},
    {"sshd-invalid-bf.log", 1, DECODE_SYSLOG, "syslog", "2026-01-24T15:32:31.000000Z",
     {"host.name=server", "process.name=sshd", "process.pid=2651912",
      "message=Disconnected from authenticating user root 179.43.183.98 port 59402 [preauth]",
      NULL}},
    {"pfsense-rfc5424-filterlog.log", 1, DECODE_AUTO, "syslog", "2025-11-06T11:32:42.868451Z",
     {"log.syslog.priority=134", "log.syslog.facility.name=local0",
      "log.syslog.severity.name=info", "log.syslog.version=1", "host.name=firewall.lan",
      "log.syslog.appname=filterlog", "log.syslog.procid=92653", "process.pid=92653",
      "message=7,,,1000000102,vtnet0.5,match,block,in,4,0x0,,64,19008,0,DF,6,tcp,60,"
      "192.168.5.6,192.168.1.100,42970,80,0,S,523876198,,64240,,mss;sackOK;TS;nop;wscale",
      NULL}},
    {"pfsense-rfc5424-filterlog.log", 3, DECODE_SYSLOG, "syslog", "2025-11-06T11:42:14.270789Z",
     {"host.name=firewall.lan", NULL}},
    {"pf-logs.log", 1, DECODE_AUTO, "syslog", "2025-09-28T10:38:09.000000Z",
     {"host.name=pfSense", "process.name=filterlog", "!process.pid",
      "message=53,,,1000000301,em0,match,block,in,4,0x0,,64,420,0,none,6,tcp,460,10.0.2.2,"
      "10.0.2.15,53742,22,420,PA,29633380:29633800,3617062173,65535,,",
      NULL}},
    {"suricata-eve-detect.log", 1, DECODE_AUTO, "json", "2022-07-12T06:22:33.415742Z",
     {"event_type=alert", "src_ip=1.2.3.4", "src_port=33270", "dest_ip=1.2.3.5",
      "dest_port=80", "proto=TCP", "alert.signature_id=2034125", "alert.severity=1",
      "alert.metadata.deployment=Internet", "alert.metadata.deployment=Perimeter",
      "http.http_method=POST", "files.stored=false", NULL}},
    {"suricata-eve-detect.log", 2, DECODE_JSON, "json", "2022-07-12T11:26:34.407881Z",
     {"src_ip=2.2.3.4", "alert.signature_id=2011716", NULL}},
    {"proxmox-iptables.log", 1, DECODE_AUTO, "kv", "arrival",
     {"IN=vmbr0.94", "SRC=10.3.94.11", "DST=10.3.94.12", "PROTO=UDP", "network.transport=udp",
      "SPT=49152", "DPT=3784", "destination.port=3784", "LEN=52", "LEN=32", NULL}},
    {"proxmox-iptables.log", 2, DECODE_KV, "kv", "arrival",
     {"PROTO=TCP", "DPT=8006", "SEQ=2853565861", "ACK=0", NULL}},
};

static const char *
srcdir(void)
{
    const char *top = getenv("top_srcdir");

    return top != NULL ? top : KZ_SRCDIR;
}

static char *
read_path(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long sz;

    if (f == NULL) {
        return NULL;
    }
    fseek(f, 0, SEEK_END);
    sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)sz + 1);
    *len = fread(buf, 1, (size_t)sz, f);
    buf[*len] = '\0';
    fclose(f);
    return buf;
}

/* Decode from a copy exactly len bytes long (ASan catches reads past the end). */
static int
decode_copy(enum decode_format fmt, struct event *ev, const char *line, size_t len,
            const struct decode_ctx *ctx, char *err, size_t errlen)
{
    char *buf = malloc(len > 0 ? len : 1);
    int r;

    memcpy(buf, line, len);
    event_reset(ev);
    ev->arrival_us = ctx->now_us;
    r = decode_line(fmt, ev, buf, len, ctx, err, errlen);
    free(buf);
    return r;
}

/* Line n (1-based) of a file. */
static int
nth_line(const char *buf, size_t len, int n, const char **p, size_t *plen)
{
    size_t i = 0;

    for (int k = 1; i < len; k++) {
        size_t j = i;
        while (j < len && buf[j] != '\n') {
            j++;
        }
        if (k == n) {
            *p = buf + i;
            *plen = j - i;
            return 0;
        }
        i = j + 1;
    }
    return -1;
}

static void
test_crowdsec(void)
{
    struct decode_ctx ctx = {NOW_US, 0};
    struct event ev;
    char path[1024], err[256];

    event_init(&ev);
    for (size_t c = 0; c < sizeof(crowdsec) / sizeof(crowdsec[0]); c++) {
        const struct ccase *t = &crowdsec[c];
        size_t len, llen = 0;
        const char *line = NULL;
        char *buf;

        snprintf(path, sizeof(path), "%s/tests/data/decode/crowdsec/%s", srcdir(), t->file);
        buf = read_path(path, &len);
        if (!ok(buf != NULL && nth_line(buf, len, t->line, &line, &llen) == 0, "%s:%d read",
                t->file, t->line)) {
            free(buf);
            continue;
        }
        if (!ok(decode_copy(t->fmt, &ev, line, llen, &ctx, err, sizeof(err)) == 0,
                "%s:%d decodes as %s", t->file, t->line, decode_format_name(t->fmt))) {
            tap_diag("error: %s", err);
            free(buf);
            continue;
        }
        is_str(ev.format, t->format, "  detected/declared format");
        if (t->time != NULL && strcmp(t->time, "arrival") == 0) {
            ok(ev.time_from_arrival, "  time from arrival");
        } else if (t->time != NULL) {
            const struct event_field *f = event_get(&ev, "@timestamp");
            ok(!ev.time_from_arrival, "  time from the event");
            is_str(f != NULL ? f->value : NULL, t->time, "  @timestamp");
        }
        for (int k = 0; t->fields[k] != NULL; k++) {
            const char *spec = t->fields[k], *eq;
            const struct event_field *f;
            int nth = 0;
            size_t nlen;
            if (spec[0] == '!') {
                ok(event_get(&ev, spec + 1) == NULL, "  no %s", spec + 1);
                continue;
            }
            eq = strchr(spec, '=');
            nlen = (size_t)(eq - spec);
            for (int j = 0; j < k; j++) {
                nth += strncmp(t->fields[j], spec, nlen + 1) == 0;
            }
            f = event_find(&ev, spec, nlen, event_name_hash(spec, nlen));
            while (f != NULL && nth-- > 0) {
                f = event_find_next(&ev, f);
            }
            is_str(f != NULL ? f->value : NULL, eq + 1, spec);
        }
        free(buf);
    }
    event_free(&ev);
}

/* Statistics of decoding every line of one file. */
struct sweep {
    int lines, errors, from_arrival, future;
    int by_format[6]; /* syslog json cef kv plain other */
    int with[4];      /* lines having the fields asked for */
    char first_err[300];
};

static int
format_index(const char *f)
{
    static const char *const names[] = {"syslog", "json", "cef", "kv", "plain"};

    for (int i = 0; i < 5; i++) {
        if (f != NULL && strcmp(f, names[i]) == 0) {
            return i;
        }
    }
    return 5;
}

/*
 * Decode buf line by line (max_fields 0: the default); fields[] (up to 4, NULL-terminated)
 * are counted in s->with.
 */
static void
sweep_lines(const char *buf, size_t len, enum decode_format fmt, const char *const *fields,
            uint32_t max_fields, struct sweep *s)
{
    struct decode_ctx ctx = {NOW_US, 0};
    struct event ev;
    char err[256];
    size_t i = 0;

    memset(s, 0, sizeof(*s));
    event_init(&ev);
    if (max_fields > 0) {
        ev.max_fields = max_fields;
    }
    while (i < len) {
        size_t j = i;
        while (j < len && buf[j] != '\n') {
            j++;
        }
        if (j > i) {
            s->lines++;
            if (decode_copy(fmt, &ev, buf + i, j - i, &ctx, err, sizeof(err)) != 0) {
                if (s->errors++ == 0) {
                    snprintf(s->first_err, sizeof(s->first_err), "%s", err);
                }
            } else {
                s->by_format[format_index(ev.format)]++;
                s->from_arrival += ev.time_from_arrival;
                s->future += ev.time_us > NOW_US + SLACK_US;
                for (int k = 0; k < 4 && fields != NULL && fields[k] != NULL; k++) {
                    s->with[k] += event_get(&ev, fields[k]) != NULL;
                }
            }
        }
        i = j + 1;
    }
    event_free(&ev);
}

/* The corpus directory, or NULL when ../shared is not there. */
static const char *
corpus_dir(void)
{
    static char dir[1024];
    DIR *d;

    snprintf(dir, sizeof(dir), "%s/../shared/corpus/logs", srcdir());
    d = opendir(dir);
    if (d == NULL) {
        return NULL;
    }
    closedir(d);
    return dir;
}

/* loghub syslog systems: every line decodes as syslog, with these field counts. */
static void
test_loghub_syslog(const char *dir)
{
    static const struct {
        const char *name;
        int proc, pid;
    } sys[] = {
        /* Linux: 8 lines without a TAG ("syslogd 1.4.1: restart.", "-- root[2421]: ..."). */
        {"Linux", 1992, 1848},
        /* Mac: "tag[pid] (context): ..." and "BezelServices 255.10[94]:" are not TAGs. */
        {"Mac", 1868, 1868},
        {"OpenSSH", 2000, 2000},
    };
    static const char *const fields[] = {"host.name", "process.name", "process.pid", "message",
                                         NULL};
    char path[1200];

    for (size_t i = 0; i < sizeof(sys) / sizeof(sys[0]); i++) {
        struct sweep s;
        size_t len;
        char *buf;
        snprintf(path, sizeof(path), "%s/loghub/%s/%s_2k.log", dir, sys[i].name, sys[i].name);
        buf = read_path(path, &len);
        if (!ok(buf != NULL, "loghub %s readable", sys[i].name)) {
            continue;
        }
        sweep_lines(buf, len, DECODE_SYSLOG, fields, 0, &s);
        ok(s.lines == 2000 && s.errors == 0, "loghub %s: 2000 lines decode as syslog (%d, %d "
           "errors%s%s)", sys[i].name, s.lines, s.errors, s.errors ? ": " : "", s.first_err);
        ok(s.from_arrival == 0 && s.future == 0,
           "  every time from the line, none more than 31 days after now");
        is_int(s.with[0], 2000, "  host.name on every line");
        is_int(s.with[1], sys[i].proc, "  process.name");
        is_int(s.with[2], sys[i].pid, "  process.pid");
        is_int(s.with[3], 2000, "  message on every line");
        sweep_lines(buf, len, DECODE_AUTO, NULL, 0, &s);
        is_int(s.by_format[0], 2000, "  auto detects syslog on every line");
        free(buf);
    }
}

/* Every loghub system in auto mode: no errors, and no false syslog/json/cef detection. */
static void
test_loghub_auto(const char *dir)
{
    static const char *const non_syslog[] = {
        "Android", "Apache", "BGL", "HDFS", "HPC", "Hadoop", "HealthApp", "OpenStack",
        "Proxifier", "Spark", "Thunderbird", "Windows", "Zookeeper",
    };
    char path[1200];

    for (size_t i = 0; i < sizeof(non_syslog) / sizeof(non_syslog[0]); i++) {
        struct sweep s;
        size_t len;
        char *buf;
        snprintf(path, sizeof(path), "%s/loghub/%s/%s_2k.log", dir, non_syslog[i],
                 non_syslog[i]);
        buf = read_path(path, &len);
        if (!ok(buf != NULL, "loghub %s readable", non_syslog[i])) {
            continue;
        }
        sweep_lines(buf, len, DECODE_AUTO, NULL, 0, &s);
        ok(s.errors == 0 && s.lines == 2000, "loghub %s: auto decodes all 2000 lines (%d "
           "errors%s%s)", non_syslog[i], s.errors, s.errors ? ": " : "", s.first_err);
        ok(s.by_format[0] + s.by_format[1] + s.by_format[2] + s.by_format[5] == 0,
           "  only kv or plain: %d kv, %d plain", s.by_format[3], s.by_format[4]);
        free(buf);
    }
}

/* Every CrowdSec test log in auto mode. */
static void
test_crowdsec_all(const char *dir)
{
    static const struct {
        const char *file;
        int format; /* index in format_index() every line must get, -1: any */
        int own_time;
        int too_many; /* lines over the default max_fields (256) */
    } logs[] = {
        {"iptables-logs/iptables-logs.log", 0, 1, 0},
        {"iptables-scan-multi-port/iptables-scan-multi-port.log", 0, 1, 0},
        {"pf-logs/pf-logs.log", 0, 1, 0},
        {"pf-scan-multi-port/pf-scan-multi-port.log", 0, 1, 0},
        {"pfsense-rfc5424-filterlog/pfsense-rfc5424-filterlog.log", 0, 1, 0},
        {"ssh-bf/ssh-bf.log", 0, 1, 0},
        {"ssh-slow-bf/ssh-slow-bf.log", 0, 1, 0},
        {"ssh-time-based-bf/ssh-time-based-bf.log", 0, 1, 0},
        {"sshd-invalid-bf/sshd-invalid-bf.log", 0, 1, 0},
        {"sshd-logs/sshd-logs.log", -1, 0, 0},
        {"suricata-eve-detect/suricata-eve-detect.log", 1, 1, 0},
        /* Two Suricata "stats" records of 290 fields: refused with the default limit. */
        {"suricata-logs-evelog/suricata-logs-evelog.log", 1, 1, 2},
        {"suricata-logs-fastlog/suricata-logs-fastlog.log", -1, 0, 0},
        {"proxmox-iptables-logs/proxmox-iptables.log", 3, 0, 0},
        {"windows-bf/windows-bf.log", -1, 0, 0},
        {"windows-logs/windows-logs.log", -1, 0, 0},
    };
    char path[1200];

    for (size_t i = 0; i < sizeof(logs) / sizeof(logs[0]); i++) {
        struct sweep s;
        size_t len;
        char *buf;
        snprintf(path, sizeof(path), "%s/crowdsec-hub-tests/%s", dir, logs[i].file);
        buf = read_path(path, &len);
        if (!ok(buf != NULL, "crowdsec %s readable", logs[i].file)) {
            continue;
        }
        if (logs[i].too_many > 0) {
            sweep_lines(buf, len, DECODE_AUTO, NULL, 0, &s);
            ok(s.errors == logs[i].too_many &&
                   strcmp(s.first_err, "json: too many fields (limit 256)") == 0,
               "crowdsec %s: %d lines refused with the default max_fields (%s)", logs[i].file,
               s.errors, s.first_err);
        }
        sweep_lines(buf, len, DECODE_AUTO, NULL, logs[i].too_many > 0 ? 4096 : 0, &s);
        ok(s.errors == 0 && s.lines > 0, "crowdsec %s: auto decodes all %d lines (%d errors%s%s)",
           logs[i].file, s.lines, s.errors, s.errors ? ": " : "", s.first_err);
        if (logs[i].format >= 0) {
            is_int(s.by_format[logs[i].format], s.lines, "  every line in the expected format");
        }
        if (logs[i].own_time) {
            is_int(s.from_arrival, 0, "  every line has its own time");
        }
        free(buf);
    }
}

/* Zeek JSON lines (gzip, as published): time from "ts" on every line. */
static void
test_zeek(const char *dir)
{
    static const char *const logs[] = {"dce_rpc", "ftp", "kerberos", "notice", "ntlm", "rdp",
                                       "smb_mapping", "ssh", "syslog", "weird"};
    static const char *const fields[] = {"_path", "ts", NULL};
    char cmd[1400];

    for (size_t i = 0; i < sizeof(logs) / sizeof(logs[0]); i++) {
        struct sweep s;
        size_t len = 0, cap = 1 << 16, n;
        char *buf = malloc(cap);
        FILE *p;
        snprintf(cmd, sizeof(cmd),
                 "gzip -dc '%s/zeek/brimdata-zed-sample-data/zeek-json/%s.json.gz'", dir,
                 logs[i]);
        p = popen(cmd, "r");
        while (p != NULL && (n = fread(buf + len, 1, cap - len, p)) > 0) {
            len += n;
            if (len == cap) {
                cap *= 2;
                buf = realloc(buf, cap);
            }
        }
        if (p == NULL || pclose(p) != 0 || len == 0) {
            tap_skip(1, "gzip -dc failed");
            free(buf);
            continue;
        }
        sweep_lines(buf, len, DECODE_JSON, fields, 0, &s);
        ok(s.errors == 0 && s.lines > 0 && s.from_arrival == 0 && s.with[0] == s.lines &&
               s.with[1] == s.lines,
           "zeek %s: %d JSON lines, time from ts, _path on all (%d errors%s%s)", logs[i],
           s.lines, s.errors, s.errors ? ": " : "", s.first_err);
        free(buf);
    }
}

/* Pretty-printed JSON files, several objects per file: split and decode each object. */
static int
split_and_decode(const char *buf, size_t len, const char *must_have, int *objects, int *errors,
                 int *with, char *first_err, size_t errlen)
{
    struct decode_ctx ctx = {NOW_US, 0};
    struct event ev;
    char err[256];
    int depth = 0, in_str = 0;
    size_t start = 0;

    event_init(&ev);
    ev.max_fields = 4096;
    for (size_t i = 0; i < len; i++) {
        char c = buf[i];
        if (in_str) {
            if (c == '\\') {
                i++;
            } else if (c == '"') {
                in_str = 0;
            }
        } else if (c == '"') {
            in_str = 1;
        } else if (c == '{') {
            if (depth++ == 0) {
                start = i;
            }
        } else if (c == '}' && --depth == 0) {
            (*objects)++;
            if (decode_copy(DECODE_JSON, &ev, buf + start, i + 1 - start, &ctx, err,
                            sizeof(err)) != 0) {
                if ((*errors)++ == 0) {
                    snprintf(first_err, errlen, "%s", err);
                }
            } else {
                *with += event_get(&ev, must_have) != NULL;
            }
        }
    }
    event_free(&ev);
    return 0;
}

static void
test_json_dirs(const char *dir)
{
    static const struct {
        const char *sub;
        const char *must_have;
        const char *label;
    } trees[] = {
        {"windows-evtx-json/sigma-regression-data", "Event.System.EventID", "Windows EVTX JSON"},
        {"suricata-eve/FrankHassanabad-suricata-sample-data/samples", "event_type",
         "Suricata eve samples"},
    };

    for (size_t t = 0; t < sizeof(trees) / sizeof(trees[0]); t++) {
        int objects = 0, errors = 0, with = 0, files = 0;
        char first_err[300] = "", cmd[1400], path[1400];
        FILE *p;
        snprintf(cmd, sizeof(cmd), "find '%s/%s' -name '*.json' | sort", dir, trees[t].sub);
        p = popen(cmd, "r");
        while (p != NULL && fgets(path, sizeof(path), p) != NULL) {
            size_t len;
            char *buf;
            path[strcspn(path, "\n")] = '\0';
            buf = read_path(path, &len);
            if (buf == NULL) {
                continue;
            }
            files++;
            split_and_decode(buf, len, trees[t].must_have, &objects, &errors, &with, first_err,
                             sizeof(first_err));
            free(buf);
        }
        if (p != NULL) {
            pclose(p);
        }
        ok(files > 0 && objects > 0 && errors == 0 && with == objects,
           "%s: %d objects in %d files decode, all with %s (%d errors%s%s)", trees[t].label,
           objects, files, trees[t].must_have, errors, errors ? ": " : "", first_err);
    }
}

int
main(void)
{
    const char *dir;

    test_crowdsec();
    dir = corpus_dir();
    if (dir == NULL) {
        tap_skip(1, "../shared/corpus/logs is absent: corpus sweeps skipped");
        return tap_done();
    }
    test_loghub_syslog(dir);
    test_loghub_auto(dir);
    test_crowdsec_all(dir);
    test_zeek(dir);
    test_json_dirs(dir);
    return tap_done();
}
