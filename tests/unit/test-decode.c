/*
 * Decoder unit tests: a table of lines per format with the exact fields, time and errors
 * expected, then the properties every decode must keep whatever the input (never reads
 * past len, one-line errors, limits on fields and depth, binary data, truncated lines).
 * Every line is handed to the decoder in a malloc'd buffer exactly len bytes long and
 * without a NUL, so AddressSanitizer builds catch any read past the end.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "decode.h"
#include "event.h"
#include "tap.h"
#include "timeutil.h"

#define NOW_US 1780272000000000LL /* 2026-06-01T00:00:00Z */
#define ARRIVAL "arrival"
#define MAXF 48

struct dcase {
    enum decode_format fmt;
    const char *line;
    const char *format;           /* expected ev->format, NULL: error expected */
    const char *time;             /* expected @timestamp, ARRIVAL, or NULL (not checked) */
    const char *fields[MAXF];     /* "name=value" (in order per name), "!name": absent */
    const char *err;              /* expected error message (exact) */
    int64_t now;                  /* ctx->now_us, 0: NOW_US */
    uint32_t max_depth;
};

/* Trailing members (err, now, max_depth) are left out where they are zero. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
static const struct dcase cases[] = {
    /* ---- syslog: RFC 3164 ---- */
    {DECODE_SYSLOG, "<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8",
     "syslog", "2025-10-11T22:14:15.000000Z",
     {"log.syslog.priority=34", "log.syslog.facility.code=4", "log.syslog.facility.name=auth",
      "log.syslog.severity.code=2", "log.syslog.severity.name=crit", "host.name=mymachine",
      "process.name=su", "log.syslog.appname=su", "!process.pid",
      "message='su root' failed for lonvick on /dev/pts/8", "!log.syslog.version"}},
    {DECODE_SYSLOG,
     "Feb 12 14:10:21 sd-126005 sshd[16378]: Invalid user pascal from 35.188.49.176 port 53502",
     "syslog", "2026-02-12T14:10:21.000000Z",
     {"!log.syslog.priority", "!log.syslog.facility.code", "host.name=sd-126005",
      "process.name=sshd", "process.pid=16378",
      "message=Invalid user pascal from 35.188.49.176 port 53502",
      "event.original=Feb 12 14:10:21 sd-126005 sshd[16378]: Invalid user pascal from "
      "35.188.49.176 port 53502"}},
    /* Year inference: the latest year in which the date is at most 31 days after now. */
    {DECODE_SYSLOG, "Jul  1 00:00:00 h a: m", "syslog", "2026-07-01T00:00:00.000000Z", {"!x"}},
    {DECODE_SYSLOG, "Jul  3 00:00:00 h a: m", "syslog", "2025-07-03T00:00:00.000000Z", {"!x"}},
    {DECODE_SYSLOG, "Dec 31 23:59:59 h a: m", "syslog", "2025-12-31T23:59:59.000000Z", {"!x"}},
    {DECODE_SYSLOG, "Jan  1 00:30:00 h a: m", "syslog", "2027-01-01T00:30:00.000000Z", {"!x"},
     NULL, 1798758000000000LL /* 2026-12-31T23:00:00Z */},
    {DECODE_SYSLOG, "Dec 31 23:50:00 h a: m", "syslog", "2025-12-31T23:50:00.000000Z", {"!x"},
     NULL, 1767226200000000LL /* 2026-01-01T00:10:00Z */},
    {DECODE_SYSLOG, "Feb 29 12:00:00 h a: m", "syslog", "2024-02-29T12:00:00.000000Z", {"!x"}},
    {DECODE_SYSLOG, "<13>Feb  5 01:02:03.123456 host app: msg", "syslog",
     "2026-02-05T01:02:03.123456Z",
     {"log.syslog.priority=13", "log.syslog.facility.name=user",
      "log.syslog.severity.name=notice", "host.name=host", "process.name=app", "message=msg"}},
    /* rsyslog high-precision timestamps in the RFC 3164 position. */
    {DECODE_SYSLOG, "<13>2024-03-01T10:00:00.5+02:00 host sshd[1]: hello", "syslog",
     "2024-03-01T08:00:00.500000Z",
     {"host.name=host", "process.name=sshd", "process.pid=1", "message=hello",
      "!log.syslog.version"}},
    {DECODE_SYSLOG, "2024-03-01T10:00:00Z host kernel: [123.456] x", "syslog",
     "2024-03-01T10:00:00.000000Z",
     {"host.name=host", "process.name=kernel", "message=[123.456] x"}},
    /* A year, and a time zone after the time. */
    {DECODE_SYSLOG, "Dec 03 2017 16:31:28 fw01 %ASA-6-302013: Built", "syslog",
     "2017-12-03T16:31:28.000000Z",
     {"host.name=fw01", "process.name=%ASA-6-302013", "message=Built"}},
    {DECODE_SYSLOG, "Dec 03 2017 16:31:28.861 IST 10.17.4.208 app: x", "syslog",
     "2017-12-03T11:01:28.861000Z", {"host.name=10.17.4.208", "process.name=app"}},
    {DECODE_SYSLOG, "Mar  8 15:18:40 UTC h a: x", "syslog", "2026-03-08T15:18:40.000000Z",
     {"host.name=h"}},
    {DECODE_SYSLOG, "Mar  8 15:18:40 +0130 h a: x", "syslog", "2026-03-08T13:48:40.000000Z",
     {"host.name=h"}},
    /* HOSTNAME and TAG edge cases. */
    {DECODE_SYSLOG, "Mar  8 15:18:40 avas: last message repeated 11 times", "syslog", NULL,
     {"host.name=avas", "!process.name", "message=last message repeated 11 times"}},
    {DECODE_SYSLOG, "Mar  8 15:18:40 sshd[12]: hi", "syslog", NULL,
     {"!host.name", "process.name=sshd", "process.pid=12", "message=hi"}},
    {DECODE_SYSLOG, "Mar  8 15:18:40 host", "syslog", NULL,
     {"host.name=host", "!message", "!process.name"}},
    {DECODE_SYSLOG, "Mar  8 15:18:40 host just words here  ", "syslog", NULL,
     {"!process.name", "message=just words here"}},
    {DECODE_SYSLOG, "Mar  8 15:18:40 host https://x.example/", "syslog", NULL,
     {"!process.name", "message=https://x.example/"}},
    {DECODE_SYSLOG, "Mar  8 15:18:40 host sshd(pam_unix)[21839]: session opened", "syslog",
     NULL, {"process.name=sshd(pam_unix)", "process.pid=21839", "message=session opened"}},
    {DECODE_SYSLOG, "Mar  8 15:18:40 host postfix/smtpd[9]:", "syslog", NULL,
     {"process.name=postfix/smtpd", "process.pid=9", "!message"}},
    {DECODE_SYSLOG, "Mar  8 15:18:40 127:0:ab::1 sshd: unauthorized request\r\n", "syslog",
     NULL,
     {"host.name=127:0:ab::1", "process.name=sshd", "message=unauthorized request",
      "event.original=Mar  8 15:18:40 127:0:ab::1 sshd: unauthorized request"}},
    {DECODE_SYSLOG, "Feb 12 14:10:21 h a: \x1b[31mred\x1b[0m caf\xe9 \xff", "syslog", NULL,
     {"message=\x1b[31mred\x1b[0m caf\xe9 \xff"}},

    /* ---- syslog: RFC 5424 ---- */
    {DECODE_SYSLOG,
     "<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 "
     "[exampleSDID@32473 iut=\"3\" eventSource=\"Application\" eventID=\"1011\"] "
     "\xef\xbb\xbf" "An application event log entry...",
     "syslog", "2003-10-11T22:14:15.003000Z",
     {"log.syslog.priority=165", "log.syslog.facility.code=20",
      "log.syslog.facility.name=local4", "log.syslog.severity.code=5", "log.syslog.version=1",
      "host.name=mymachine.example.com", "log.syslog.appname=evntslog",
      "process.name=evntslog", "!log.syslog.procid", "!process.pid", "log.syslog.msgid=ID47",
      "sd.exampleSDID@32473.iut=3", "sd.exampleSDID@32473.eventSource=Application",
      "sd.exampleSDID@32473.eventID=1011", "message=An application event log entry..."}},
    {DECODE_SYSLOG,
     "<14>1 2024-01-01T00:00:00Z h a 12 m [x@1 p=\"a\\\"b\\\\c\\]d\" q=\"e\\nf\"][y z=\"\"] m",
     "syslog", "2024-01-01T00:00:00.000000Z",
     {"sd.x@1.p=a\"b\\c]d", "sd.x@1.q=e\\nf", "sd.y.z=", "log.syslog.procid=12",
      "process.pid=12", "log.syslog.msgid=m", "message=m"}},
    {DECODE_SYSLOG, "<14>1 2024-01-01T00:00:00Z h a - - [a@1][b@2 k=\"v\"]", "syslog", NULL,
     {"sd.b@2.k=v", "!message"}},
    {DECODE_SYSLOG, "<1>1 - - - - - -", "syslog", ARRIVAL,
     {"log.syslog.priority=1", "log.syslog.version=1", "!host.name", "!process.name",
      "!log.syslog.msgid", "!message"}},
    {DECODE_SYSLOG,
     "<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - %% It's time to "
     "make the do-nuts.",
     "syslog", "2003-08-24T12:14:15.000003Z",
     {"host.name=192.0.2.1", "process.name=myproc", "log.syslog.procid=8710",
      "process.pid=8710", "!log.syslog.msgid", "message=%% It's time to make the do-nuts."}},
    {DECODE_SYSLOG, "<1>1 2024-01-01T00:00:00Z h app abc - - m", "syslog", NULL,
     {"log.syslog.procid=abc", "!process.pid"}},
    /* RFC 5424 without <PRI>, and without <PRI> and VERSION. */
    {DECODE_SYSLOG, "1 2003-10-11T22:14:15.003Z mymachine su - ID47 - hi", "syslog",
     "2003-10-11T22:14:15.003000Z",
     {"!log.syslog.priority", "log.syslog.version=1", "host.name=mymachine",
      "log.syslog.msgid=ID47", "message=hi"}},
    {DECODE_SYSLOG,
     "2003-10-11T22:14:15.003Z mymachine evntslog - ID47 [ex@1 a=\"1\"][ex@2 b=\"2\"]",
     "syslog", "2003-10-11T22:14:15.003000Z",
     {"!log.syslog.version", "host.name=mymachine", "log.syslog.appname=evntslog",
      "log.syslog.msgid=ID47", "sd.ex@1.a=1", "sd.ex@2.b=2", "!message"}},

    /* ---- syslog: errors ---- */
    {DECODE_SYSLOG, "<3444>Oct 11 22:14:15 mymachine su: x", NULL, NULL, {NULL},
     "syslog: PRI 3444 out of range (0..191)"},
    {DECODE_SYSLOG, "<192>Oct 11 22:14:15 mymachine su: x", NULL, NULL, {NULL},
     "syslog: PRI 192 out of range (0..191)"},
    {DECODE_SYSLOG, "<190)1 2003-10-11T22:14:15.003Z h a - - -", NULL, NULL, {NULL},
     "syslog: unterminated <PRI>"},
    {DECODE_SYSLOG, "<>Oct 11 22:14:15 h", NULL, NULL, {NULL}, "syslog: no digits in <PRI>"},
    {DECODE_SYSLOG, "<7>unparsable line", NULL, NULL, {NULL},
     "syslog: <PRI> not followed by a timestamp or a version"},
    {DECODE_SYSLOG, "<34>1 203-10-11T22:14:15.003Z h su - ID47 - x", NULL, NULL, {NULL},
     "syslog: invalid RFC 5424 timestamp '203-10-11T22:14:15.003Z'"},
    {DECODE_SYSLOG, "<1>1 2024-01-01T00:00:00Z h app", NULL, NULL, {NULL},
     "syslog: truncated RFC 5424 header: no PROCID"},
    {DECODE_SYSLOG, "<1>1 2024-01-01T00:00:00Z h a p m [bad", NULL, NULL, {NULL},
     "syslog: malformed structured data at byte 34"},
    {DECODE_SYSLOG, "<1>1 2024-01-01T00:00:00Z h a p m [x@1 k=v] m", NULL, NULL, {NULL},
     "syslog: malformed structured data at byte 34"},
    {DECODE_SYSLOG, "<1>1 2024-01-01T00:00:00Z h a p m -m", NULL, NULL, {NULL},
     "syslog: malformed structured data at byte 34"},
    {DECODE_SYSLOG, "<1>1 2024-01-01T00:00:00Z h a p m [x@1]m", NULL, NULL, {NULL},
     "syslog: no space after structured data at byte 39"},
    {DECODE_SYSLOG, "hello world", NULL, NULL, {NULL},
     "syslog: no syslog header (<PRI>, timestamp or version)"},
    {DECODE_SYSLOG, "Feb 30 10:00:00 h a: m", NULL, NULL, {NULL},
     "syslog: no syslog header (<PRI>, timestamp or version)"},
    {DECODE_SYSLOG, "Oct 11 25:14:15 h a: m", NULL, NULL, {NULL},
     "syslog: no syslog header (<PRI>, timestamp or version)"},
    {DECODE_SYSLOG, "Oct 11 22:14:15x h a: m", NULL, NULL, {NULL},
     "syslog: no syslog header (<PRI>, timestamp or version)"},
    {DECODE_SYSLOG, "<13>2024-13-01T10:00:00Z h a: m", NULL, NULL, {NULL},
     "syslog: invalid timestamp '2024-13-01T10:00:00Z'"},
    /* Quoted input in an error stays one printable line (found by fuzzing). */
    {DECODE_SYSLOG, "<13>2024-03-01T14:00\n:.0S+02:00 h: hello", NULL, NULL, {NULL},
     "syslog: invalid timestamp '2024-03-01T14:00?:.0S+02:00'"},
    {DECODE_SYSLOG, "<13>1 2024-03-01T14:00\x7f h a - - - m", NULL, NULL, {NULL},
     "syslog: invalid RFC 5424 timestamp '2024-03-01T14:00?'"},
    {DECODE_SYSLOG, "", NULL, NULL, {NULL}, "syslog: empty line"},
    {DECODE_SYSLOG, "\r\n", NULL, NULL, {NULL}, "syslog: empty line"},
    {DECODE_SYSLOG, "Feb 12 14:10:21 h a: x\x01y", NULL, NULL, {NULL},
     "syslog: binary data: byte 0x01 at offset 22"},

    /* ---- json ---- */
    {DECODE_JSON, "{\"a\":{\"b\":1},\"c\":\"x\"}", "json", ARRIVAL,
     {"a.b=1", "c=x", "event.original={\"a\":{\"b\":1},\"c\":\"x\"}"}},
    {DECODE_JSON, "{\"t\":[\"x\",\"y\"],\"o\":[{\"k\":1},{\"k\":2,\"j\":[3]}],\"n\":[[1,2],[3]]}",
     "json", NULL, {"t=x", "t=y", "o.k=1", "o.k=2", "o.j=3", "n=1", "n=2", "n=3"}},
    {DECODE_JSON, "{\"a\":true,\"b\":false,\"c\":null,\"d\":{},\"e\":[],\"f\":[null]}", "json",
     NULL, {"a=true", "b=false", "!c", "!d", "!e", "!f"}},
    {DECODE_JSON, "{\"n\":-1.50e+3,\"z\":0,\"f\":0.5,\"e\":1E9}", "json", NULL,
     {"n=-1.50e+3", "z=0", "f=0.5", "e=1E9"}},
    {DECODE_JSON,
     "{\"s\":\"caf\\u00e9 \\ud83d\\ude00 \\\"q\\\" \\\\ \\/ \\t|\\n|\\b\\f\\r\","
     "\"l\":\"\\ud800x\\udc00\"}",
     "json", NULL,
     {"s=caf\xc3\xa9 \xf0\x9f\x98\x80 \"q\" \\ / \t|\n|\b\f\r", "l=\xef\xbf\xbdx\xef\xbf\xbd"}},
    {DECODE_JSON, "{\"a\\u002eb\":1,\"\":2,\"x\":{\"\":3}}", "json", NULL,
     {"a.b=1", "=2", "x.=3"}},
    {DECODE_JSON, "{\"a\":1,\"a\":2}", "json", NULL, {"a=1", "a=2"}},
    {DECODE_JSON, "  {\"a\" : [ 1 , { \"b\" : \"c\" } ] }  \r\n", "json", NULL,
     {"a=1", "a.b=c"}},
    {DECODE_JSON, "\xef\xbb\xbf{\"a\":\"\xff\xfe\"}", "json", NULL, {"a=\xff\xfe"}},
    /* Event time: @timestamp, timestamp, time, ts at the top level, in that order. */
    {DECODE_JSON, "{\"@timestamp\":\"2024-05-06T07:08:09.5Z\",\"x\":1}", "json",
     "2024-05-06T07:08:09.500000Z", {"@timestamp=2024-05-06T07:08:09.500000Z", "x=1"}},
    {DECODE_JSON, "{\"timestamp\":\"2022-07-12T06:22:33.415742+0000\"}", "json",
     "2022-07-12T06:22:33.415742Z", {"timestamp=2022-07-12T06:22:33.415742+0000"}},
    {DECODE_JSON, "{\"time\":1700000000}", "json", "2023-11-14T22:13:20.000000Z",
     {"time=1700000000"}},
    {DECODE_JSON, "{\"time\":1700000000123}", "json", "2023-11-14T22:13:20.123000Z", {"!x"}},
    {DECODE_JSON, "{\"time\":\"1700000000123456\"}", "json", "2023-11-14T22:13:20.123456Z",
     {"!x"}},
    {DECODE_JSON, "{\"ts\":1700000000.25}", "json", "2023-11-14T22:13:20.250000Z", {"!x"}},
    {DECODE_JSON, "{\"time\":\"2020-01-01T00:00:00Z\",\"@timestamp\":\"2021-01-01T00:00:00Z\"}",
     "json", "2021-01-01T00:00:00.000000Z", {"time=2020-01-01T00:00:00Z"}},
    {DECODE_JSON, "{\"@timestamp\":\"junk\",\"time\":\"2020-01-01T00:00:00Z\"}", "json",
     "2020-01-01T00:00:00.000000Z", {"@timestamp=2020-01-01T00:00:00.000000Z"}},
    {DECODE_JSON, "{\"time\":\"yesterday\"}", "json", ARRIVAL, {"time=yesterday"}},
    {DECODE_JSON, "{\"time\":5}", "json", ARRIVAL, {"time=5"}},
    {DECODE_JSON, "{\"a\":{\"time\":\"2020-01-01T00:00:00Z\"}}", "json", ARRIVAL, {"!x"}},
    {DECODE_JSON, "{\"time\":[\"2020-01-01T00:00:00Z\"]}", "json", ARRIVAL, {"!x"}},
    /* Depth. */
    {DECODE_JSON, "{\"a\":{\"b\":{\"c\":1}}}", "json", NULL, {"a.b.c=1"}, NULL, 0, 3},
    {DECODE_JSON, "{\"a\":{\"b\":{\"c\":1}}}", NULL, NULL, {NULL},
     "json: nesting deeper than 2 levels at byte 10", 0, 2},
    {DECODE_JSON, "{\"a\":[[1]]}", NULL, NULL, {NULL},
     "json: nesting deeper than 2 levels at byte 6", 0, 2},
    /* Errors. */
    {DECODE_JSON, "{\"a\":1", NULL, NULL, {NULL}, "json: unexpected end at byte 6"},
    {DECODE_JSON, "{\"a\" 1}", NULL, NULL, {NULL}, "json: expected ':' at byte 5"},
    {DECODE_JSON, "{\"a\":1,}", NULL, NULL, {NULL}, "json: expected a string key at byte 7"},
    {DECODE_JSON, "{\"a\":1 \"b\":2}", NULL, NULL, {NULL},
     "json: expected ',' or '}' at byte 7"},
    {DECODE_JSON, "{\"a\":[1 2]}", NULL, NULL, {NULL}, "json: expected ',' or ']' at byte 8"},
    {DECODE_JSON, "[1,2]", NULL, NULL, {NULL},
     "json: expected '{' at byte 0 (the line must be a JSON object)"},
    {DECODE_JSON, "{\"a\":1} x", NULL, NULL, {NULL},
     "json: unexpected data after the object at byte 8"},
    {DECODE_JSON, "{\"a\":\"\\x\"}", NULL, NULL, {NULL}, "json: bad escape '\\x' at byte 6"},
    {DECODE_JSON, "{\"a\":\"\\\n\"}", NULL, NULL, {NULL}, "json: bad escape '\\?' at byte 6"},
    {DECODE_JSON, "{\"a\":\"\\u12G4\"}", NULL, NULL, {NULL}, "json: bad \\u escape at byte 6"},
    {DECODE_JSON, "{\"a\":\"\\u12\"}", NULL, NULL, {NULL}, "json: bad \\u escape at byte 6"},
    {DECODE_JSON, "{\"a\":tru}", NULL, NULL, {NULL}, "json: unexpected character at byte 5"},
    {DECODE_JSON, "{\"a\":-}", NULL, NULL, {NULL}, "json: unexpected character at byte 5"},
    {DECODE_JSON, "{\"a\":1.}", NULL, NULL, {NULL}, "json: unexpected character at byte 5"},
    {DECODE_JSON, "{\"a\":01}", NULL, NULL, {NULL}, "json: expected ',' or '}' at byte 6"},
    {DECODE_JSON, "{\"a\":\"abc", NULL, NULL, {NULL}, "json: unterminated string at byte 5"},
    {DECODE_JSON, "{\"a\":\"x\\", NULL, NULL, {NULL}, "json: unterminated string at byte 5"},
    {DECODE_JSON, "{\"a\":\"x\x01y\"}", NULL, NULL, {NULL},
     "json: control character 0x01 in a string at byte 7"},
    {DECODE_JSON, "{\"a\":\"x\ty\"}", NULL, NULL, {NULL},
     "json: control character 0x09 in a string at byte 7"},
    {DECODE_JSON, "{a:1}", NULL, NULL, {NULL}, "json: expected a string key at byte 1"},
    {DECODE_JSON, "{", NULL, NULL, {NULL}, "json: unexpected end at byte 1"},
    {DECODE_JSON, "hello", NULL, NULL, {NULL},
     "json: expected '{' at byte 0 (the line must be a JSON object)"},

    /* ---- cef ---- */
    {DECODE_CEF,
     "CEF:0|Security|threatmanager|1.0|100|worm successfully stopped|10|src=10.0.0.1 "
     "dst=2.1.2.2 spt=1232 dpt=80 suser=alice duser=bob shost=a.example dhost=b.example "
     "act=blocked msg=Worm stopped on host",
     "cef", ARRIVAL,
     {"cef.version=0", "cef.device_vendor=Security", "cef.device_product=threatmanager",
      "cef.device_version=1.0", "cef.signature_id=100", "cef.name=worm successfully stopped",
      "cef.severity=10", "observer.vendor=Security", "observer.product=threatmanager",
      "observer.version=1.0", "event.code=100", "event.severity=10", "cef.ext.src=10.0.0.1",
      "source.ip=10.0.0.1", "cef.ext.dst=2.1.2.2", "destination.ip=2.1.2.2",
      "cef.ext.spt=1232", "source.port=1232", "destination.port=80",
      "source.user.name=alice", "user.name=bob", "source.domain=a.example",
      "destination.domain=b.example", "event.action=blocked",
      "cef.ext.msg=Worm stopped on host", "message=Worm stopped on host"}},
    {DECODE_CEF, "CEF:0|ven\\|dor|pro\\\\duct|1.0|100|a\\b|5|", "cef", NULL,
     {"cef.device_vendor=ven|dor", "cef.device_product=pro\\duct", "cef.name=a\\b",
      "cef.severity=5"}},
    {DECODE_CEF, "CEF:0|a|b|c|d|e|1|msg=a\\=b c\\\\d\\ne\\rf\\|g\\\"h   cs1=x y  ", "cef", NULL,
     {"cef.ext.msg=a=b c\\d\ne\rf\\|g\\\"h", "message=a=b c\\d\ne\rf\\|g\\\"h", "cef.ext.cs1=x y"}},
    {DECODE_CEF, "CEF:0|a|b|c|d|e|1|qstr=p\\=%2f x=1", "cef", NULL,
     {"cef.ext.qstr=p=%2f", "cef.ext.x=1"}},
    {DECODE_CEF, "CEF:0|a|b|c|d|e|f", "cef", NULL,
     {"cef.severity=f", "!event.severity", "cef.name=e"}},
    {DECODE_CEF, "CEF:1|a|b|c|d|e|Medium|  rt=1453290121336 src=1.2.3.4", "cef",
     "2016-01-20T11:42:01.336000Z",
     {"cef.version=1", "cef.severity=Medium", "!event.severity", "cef.ext.rt=1453290121336",
      "source.ip=1.2.3.4"}},
    {DECODE_CEF, "CEF:0|a|b|c|d|e|1|rt=Nov 08 2020 12:30:00.111 UTC cs1=x", "cef",
     "2020-11-08T12:30:00.111000Z", {"cef.ext.rt=Nov 08 2020 12:30:00.111 UTC"}},
    {DECODE_CEF, "CEF:0|a|b|c|d|e|1|receiptTime=2021-06-18T10:55:50Z", "cef",
     "2021-06-18T10:55:50.000000Z", {"!x"}},
    /* Times RFC 3339 cannot write (year 0) are not usable (found by fuzzing). */
    {DECODE_CEF, "<13>Feb 12 14:10:21 h CEF:0|a|b|c|d|e|1|rt=Jan 01 0000 00:00:00", "cef",
     "2026-02-12T14:10:21.000000Z", {"cef.ext.rt=Jan 01 0000 00:00:00"}},
    {DECODE_JSON, "{\"time\":\"0000-06-01T00:00:00Z\"}", "json", ARRIVAL, {"!x"}},
    {DECODE_SYSLOG, "Jan 01 0001 00:30:00 +01:00 h a: m", "syslog", ARRIVAL, {"host.name=h"}},
    {DECODE_CEF, "CEF:0|a|b|c|d|e|1|rt=%EVENT_TIME%", "cef", ARRIVAL,
     {"cef.ext.rt=%EVENT_TIME%"}},
    /* Behind syslog headers; rt wins over the header's time. */
    {DECODE_CEF, "<134>Sep 19 08:26:10 host CEF:0|Security|tm|1.0|100|worm|10|src=10.0.0.1",
     "cef", "2025-09-19T08:26:10.000000Z",
     {"log.syslog.priority=134", "host.name=host", "!process.name", "!message",
      "cef.device_vendor=Security", "source.ip=10.0.0.1"}},
    {DECODE_CEF, "<134>Sep 19 08:26:10 host CEF:0|a|b|c|d|e|1|rt=1453290121336", "cef",
     "2016-01-20T11:42:01.336000Z", {"host.name=host"}},
    {DECODE_CEF,
     "<189>1 2021-06-18T10:55:50.000003Z host app - - - CEF:0|Elastic|Vaporware|1.0.0-alpha|"
     "18|Web request|low|eventId=3457 msg=hello",
     "cef", "2021-06-18T10:55:50.000003Z",
     {"log.syslog.version=1", "host.name=host", "log.syslog.appname=app",
      "cef.device_vendor=Elastic", "cef.severity=low", "cef.ext.eventId=3457",
      "message=hello"}},
    {DECODE_CEF, "Sep 19 08:26:10 host ArcSight[42]: CEF:0|a|b|c|d|e|1|x=1", "cef", NULL,
     {"host.name=host", "process.name=ArcSight", "process.pid=42", "cef.ext.x=1"}},
    {DECODE_CEF, "some prefix 10.1.1.1 CEF:0|a|b|c|d|e|1|x=1", "cef", ARRIVAL,
     {"!host.name", "cef.ext.x=1"}},
    /* Leniencies: quoted values, text before the first key. */
    {DECODE_CEF, "CEF:0|a|b|c|d|e|1|dst=\"2.1.2.2 tertgb  set s sag \" spt=1232", "cef", NULL,
     {"cef.ext.dst=2.1.2.2 tertgb  set s sag ", "cef.ext.spt=1232"}},
    {DECODE_CEF, "CEF:0|a|b|c|d|e|1|msg=\"k=v \\\"q\\\" x=y\" n=1", "cef", NULL,
     {"cef.ext.msg=k=v \"q\" x=y", "cef.ext.n=1"}},
    {DECODE_CEF, "CEF:0|a|b|c|d|e|1|msg=\"open x=1", "cef", NULL,
     {"cef.ext.msg=\"open", "cef.ext.x=1"}},
    {DECODE_CEF, "CEF:0|a|b|c|d|e|1|garbage here src=1.2.3.4", "cef", NULL,
     {"cef.ext.src=1.2.3.4", "!cef.ext.garbage"}},
    {DECODE_CEF, "CEF:0|a|b|c|d|e|1|sourceAddress=1.2.3.4 destinationPort=22 empty= x=1", "cef",
     NULL, {"source.ip=1.2.3.4", "destination.port=22", "cef.ext.empty=", "cef.ext.x=1"}},
    /* Errors. */
    {DECODE_CEF, "CEF:0|a|b|c", NULL, NULL, {NULL},
     "cef: header has 4 of 7 '|'-separated fields"},
    {DECODE_CEF, "CEF:0|a|b|c|d|e", NULL, NULL, {NULL},
     "cef: header has 6 of 7 '|'-separated fields"},
    {DECODE_CEF, "CEF:0a|b|c|d|e|f|g|", NULL, NULL, {NULL}, "cef: version '0a' is not a number"},
    {DECODE_CEF, "CEF:0\n|a|b|c|d|e|1|", NULL, NULL, {NULL}, "cef: version '0?' is not a number"},
    {DECODE_CEF, "unparsable line", NULL, NULL, {NULL},
     "cef: no CEF header (\"CEF:<version>|\")"},
    {DECODE_CEF, "CEF:x|a|b|c|d|e|1|", NULL, NULL, {NULL},
     "cef: no CEF header (\"CEF:<version>|\")"},

    /* ---- kv ---- */
    {DECODE_KV, "a=1 b=\"two words\" c='x'", "kv", ARRIVAL,
     {"a=1", "b=two words", "c=x", "message=a=1 b=\"two words\" c='x'"}},
    {DECODE_KV, "k=\"a \\\"q\\\" \\\\ \\n\\t\\x\" j='it\\'s'", "kv", NULL,
     {"k=a \"q\" \\ \n\t\\x", "j=it's"}},
    {DECODE_KV,
     "Jun  8 14:34:33 sd-126005 kernel: [50028442.088484] IN=enp1s0 OUT= "
     "MAC=00:08:a2:0c:1f:12:00:c8:8b:e2:d6:87:08:00 SRC=195.54.160.107 DST=51.15.166.67 LEN=40 "
     "TOS=0x00 PREC=0x00 TTL=245 ID=37308 PROTO=TCP SPT=8080 DPT=8123 WINDOW=1024 RES=0x00 SYN "
     "URGP=0",
     "kv", "2026-06-08T14:34:33.000000Z",
     {"host.name=sd-126005", "process.name=kernel", "IN=enp1s0",
      "observer.ingress.interface.name=enp1s0", "OUT=", "!observer.egress.interface.name",
      "SRC=195.54.160.107", "source.ip=195.54.160.107", "DST=51.15.166.67",
      "destination.ip=51.15.166.67", "PROTO=TCP", "network.transport=tcp", "SPT=8080",
      "source.port=8080", "DPT=8123", "destination.port=8123", "URGP=0", "!SYN",
      "message=[50028442.088484] IN=enp1s0 OUT= MAC=00:08:a2:0c:1f:12:00:c8:8b:e2:d6:87:08:00 "
      "SRC=195.54.160.107 DST=51.15.166.67 LEN=40 TOS=0x00 PREC=0x00 TTL=245 ID=37308 "
      "PROTO=TCP SPT=8080 DPT=8123 WINDOW=1024 RES=0x00 SYN URGP=0"}},
    {DECODE_KV, "PROTO=6 src=1.2.3.4 dport=22 user=root action=deny", "kv", NULL,
     {"network.iana_number=6", "!network.transport", "source.ip=1.2.3.4",
      "destination.port=22", "user.name=root", "event.action=deny"}},
    {DECODE_KV, "time=2024-01-02T03:04:05Z a=1", "kv", "2024-01-02T03:04:05.000000Z",
     {"time=2024-01-02T03:04:05Z"}},
    {DECODE_KV, "time=1700000000 @timestamp=2024-01-02T03:04:05Z timestamp=1", "kv",
     "2024-01-02T03:04:05.000000Z", {"@timestamp=2024-01-02T03:04:05.000000Z"}},
    {DECODE_KV, "<13>Feb  5 01:02:03 h app: time=\"Jan  2 03:04:05 2024\" a=1", "kv",
     "2026-02-05T01:02:03.000000Z", {"time=Jan  2 03:04:05 2024", "a=1"}},
    {DECODE_KV, "@foo:bar.baz-qux_1=v (uid=0) x==y", "kv", NULL,
     {"@foo:bar.baz-qux_1=v", "!uid", "x==y"}},
    {DECODE_KV, "a=\"x b=2", "kv", NULL, {"a=\"x", "b=2"}},
    {DECODE_KV, "a= b=1\tc=2", "kv", NULL, {"a=", "b=1", "c=2"}},
    {DECODE_KV, "hello world", NULL, NULL, {NULL}, "kv: no key=value pairs"},
    {DECODE_KV, "<13>Feb  5 01:02:03 h app: no pairs here", NULL, NULL, {NULL},
     "kv: no key=value pairs"},
    {DECODE_KV, "a=1 \x02", NULL, NULL, {NULL}, "kv: binary data: byte 0x02 at offset 4"},

    /* ---- auto ---- */
    {DECODE_AUTO, " {\"a\":1}", "json", NULL, {"a=1"}},
    {DECODE_AUTO, "\xef\xbb\xbf{\"a\":1}", "json", NULL, {"a=1"}},
    {DECODE_AUTO, "{\"a\":1", NULL, NULL, {NULL}, "json: unexpected end at byte 6"},
    {DECODE_AUTO, "CEF:0|a|b|c|d|e|1|x=1", "cef", NULL, {"cef.ext.x=1"}},
    {DECODE_AUTO, "<13>Feb 12 14:10:21 fw CEF:0|a|b|c|d|e|1|x=1", "cef", NULL,
     {"host.name=fw", "cef.ext.x=1"}},
    {DECODE_AUTO, "<134>Feb 12 14:10:21 CEF:0|a|b|c|d|e|1|x=1 y=2", "cef",
     "2026-02-12T14:10:21.000000Z",
     {"!host.name", "log.syslog.priority=134", "cef.ext.x=1", "cef.ext.y=2"}},
    {DECODE_CEF, "Feb 12 14:10:21 CEF:0|a|b|c|d|e|1|x=1", "cef", "2026-02-12T14:10:21.000000Z",
     {"!host.name", "cef.ext.x=1"}},
    {DECODE_AUTO, "Feb 12 14:10:21 fw cef[1]: CEF:0|a|b|c|d|e|1|x=1", "cef", NULL,
     {"process.name=cef", "cef.ext.x=1"}},
    {DECODE_AUTO,
     "Dec 03 2017 16:31:28.861 IST 10.17.4.208 CEF:0|Aruba Networks|ClearPass|6.5.0.69058|"
     "0-1-0|Insight Logs|0|Auth.Username=host/Asif-Test-PC2 src=10.17.4.208",
     "cef", "2017-12-03T11:01:28.861000Z",
     {"host.name=10.17.4.208", "cef.ext.Auth.Username=host/Asif-Test-PC2",
      "source.ip=10.17.4.208"}},
    {DECODE_AUTO, "CEF:0|a|b", NULL, NULL, {NULL}, "cef: header has 3 of 7 '|'-separated fields"},
    {DECODE_AUTO,
     "Jun 14 15:16:01 combo sshd(pam_unix)[19939]: authentication failure; logname= uid=0 "
     "euid=0 tty=NODEVssh ruser= rhost=218.188.2.4 ",
     "syslog", "2026-06-14T15:16:01.000000Z",
     {"process.name=sshd(pam_unix)", "!rhost", "!uid",
      "message=authentication failure; logname= uid=0 euid=0 tty=NODEVssh ruser= "
      "rhost=218.188.2.4"}},
    {DECODE_AUTO, "<165>1 2003-10-11T22:14:15.003Z h app - - - x=1 y=2", "syslog", NULL,
     {"message=x=1 y=2", "!x"}},
    {DECODE_AUTO,
     "0 3 PVEFW-HOST-IN 20/Jun/2022:13:09:14 +0200 policy DROP: IN=vmbr0.94 SRC=10.3.94.11 "
     "DST=10.3.94.12 PROTO=UDP SPT=49152 DPT=3784",
     "kv", ARRIVAL, {"SRC=10.3.94.11", "source.ip=10.3.94.11", "network.transport=udp"}},
    {DECODE_AUTO, "hello world", "plain", ARRIVAL, {"message=hello world"}},
    {DECODE_AUTO, "error code=5 in module", "plain", ARRIVAL,
     {"message=error code=5 in module", "!code"}},
    {DECODE_AUTO, "<7>unparsable line", "plain", ARRIVAL, {"message=<7>unparsable line"}},
    {DECODE_AUTO, "2015-10-18 18:01:47,978 INFO [main] org.apache.Foo: Created", "plain", ARRIVAL,
     {"!host.name"}},
    {DECODE_AUTO, "junk\x03junk", NULL, NULL, {NULL}, "plain: binary data: byte 0x03 at offset 4"},
    {DECODE_AUTO, "\n", NULL, NULL, {NULL}, "auto: empty line"},
};
#pragma GCC diagnostic pop

/* The value of the k-th field named name (0-based), or NULL; *count gets how many. */
static const struct event_field *
nth_field(const struct event *ev, const char *name, size_t name_len, int k, int *count)
{
    const struct event_field *found = NULL;
    int c = 0;

    for (uint32_t i = 0; i < ev->nfields; i++) {
        const struct event_field *f = &ev->fields[i];
        if (f->name_len == name_len && memcmp(f->name, name, name_len) == 0) {
            if (c == k) {
                found = f;
            }
            c++;
        }
    }
    *count = c;
    return found;
}

/* Decode a copy of line[0..len) held in a buffer of exactly len bytes. */
static int
decode_exact(enum decode_format fmt, struct event *ev, const char *line, size_t len,
             const struct decode_ctx *ctx, char *err, size_t errlen)
{
    char *buf = malloc(len > 0 ? len : 1);
    int r;

    memcpy(buf, line, len);
    r = decode_line(fmt, ev, len > 0 ? buf : NULL, len, ctx, err, errlen);
    ok(memcmp(buf, line, len) == 0, "the decoder left the line unchanged");
    free(buf);
    return r;
}

/* Properties of every successfully decoded event. */
static void
check_invariants(const struct event *ev, const char *what)
{
    int nts = 0, nul_ok = 1;

    for (uint32_t i = 0; i < ev->nfields; i++) {
        const struct event_field *f = &ev->fields[i];
        if (f->name_len == 10 && memcmp(f->name, "@timestamp", 10) == 0) {
            nts++;
        }
        if (f->value[f->value_len] != '\0' || f->name[f->name_len] != '\0' ||
            f->name_hash != event_name_hash(f->name, f->name_len)) {
            nul_ok = 0;
        }
    }
    ok(nts == 1, "%s: exactly one @timestamp (%d)", what, nts);
    ok(nul_ok, "%s: names and values are NUL-terminated and hashed", what);
}

static void
run_case(size_t idx, const struct dcase *c)
{
    struct event ev;
    struct decode_ctx ctx = {c->now != 0 ? c->now : NOW_US, c->max_depth};
    char err[256], what[80];
    size_t len = strlen(c->line);
    int r;

    snprintf(what, sizeof(what), "case %zu (%s)", idx, decode_format_name(c->fmt));
    event_init(&ev);
    event_reset(&ev);
    ev.arrival_us = ctx.now_us;
    memset(err, 'x', sizeof(err));
    r = decode_exact(c->fmt, &ev, c->line, len, &ctx, err, sizeof(err));
    if (c->format == NULL) {
        if (ok(r == -1, "%s: refused", what)) {
            is_str(err, c->err, "  error message");
        }
        event_free(&ev);
        return;
    }
    if (!ok(r == 0, "%s: decoded", what)) {
        tap_diag("line: %s", c->line);
        tap_diag("error: %s", err);
        event_free(&ev);
        return;
    }
    is_str(ev.format, c->format, "  ev->format");
    check_invariants(&ev, what);
    if (c->time != NULL && strcmp(c->time, ARRIVAL) == 0) {
        ok(ev.time_from_arrival == 1 && ev.time_us == ctx.now_us, "%s: time from arrival",
           what);
    } else if (c->time != NULL) {
        const struct event_field *f = event_get(&ev, "@timestamp");
        ok(ev.time_from_arrival == 0, "%s: time from the event", what);
        is_str(f != NULL ? f->value : NULL, c->time, "  @timestamp");
    }
    for (int k = 0; k < MAXF && c->fields[k] != NULL; k++) {
        const char *spec = c->fields[k];
        if (spec[0] == '!') {
            ok(event_get(&ev, spec + 1) == NULL, "%s: no field %s", what, spec + 1);
            continue;
        }
        {
            const char *eq = strchr(spec, '=');
            size_t nlen = (size_t)(eq - spec);
            int nth = 0, want = 0, count;
            const struct event_field *f;
            char label[200];
            /* Occurrence number of this name among the expected fields. */
            for (int j = 0; j < MAXF && c->fields[j] != NULL; j++) {
                if (strncmp(c->fields[j], spec, nlen + 1) == 0) {
                    want++;
                    if (j < k) {
                        nth++;
                    }
                }
            }
            f = nth_field(&ev, spec, nlen, nth, &count);
            snprintf(label, sizeof(label), "  %.*s [%d]", (int)nlen, spec, nth);
            is_str(f != NULL ? f->value : NULL, eq + 1, label);
            if (nth == 0) {
                ok(count == want, "  %.*s occurs %d time(s) (%d)", (int)nlen, spec, want, count);
            }
        }
    }
    event_free(&ev);
}

/* Field limit: every decoder reports "too many fields" instead of dropping fields. */
static void
test_max_fields(void)
{
    static const struct {
        enum decode_format fmt;
        const char *line;
        const char *err;
    } t[] = {
        {DECODE_SYSLOG, "<13>Feb  5 01:02:03 host app[1]: msg",
         "syslog: too many fields (limit 4)"},
        {DECODE_JSON, "{\"a\":1,\"b\":2,\"c\":3,\"d\":4}", "json: too many fields (limit 4)"},
        {DECODE_JSON, "{\"a\":[1,2,3,4,5]}", "json: too many fields (limit 4)"},
        {DECODE_CEF, "CEF:0|a|b|c|d|e|1|", "cef: too many fields (limit 4)"},
        {DECODE_KV, "a=1 b=2 c=3 d=4", "kv: too many fields (limit 4)"},
        {DECODE_AUTO, "a=1 b=2 c=3 d=4", "kv: too many fields (limit 4)"},
    };
    struct decode_ctx ctx = {NOW_US, 0};
    struct event ev;
    char err[128];

    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        event_init(&ev);
        ev.max_fields = 4;
        ok(decode_exact(t[i].fmt, &ev, t[i].line, strlen(t[i].line), &ctx, err, sizeof(err)) ==
               -1,
           "max_fields 4: %s refused", decode_format_name(t[i].fmt));
        is_str(err, t[i].err, "  error message");
        event_free(&ev);
    }
    /* Exactly at the limit is fine: event.original, a=1, message, @timestamp. */
    event_init(&ev);
    ev.max_fields = 4;
    ok(decode_exact(DECODE_KV, &ev, "a=1", 3, &ctx, err, sizeof(err)) == 0,
       "max_fields 4: 4 fields decode");
    is_int(ev.nfields, 4, "  4 fields");
    event_free(&ev);
    /* A zero limit refuses even event.original; a NULL err buffer is fine. */
    event_init(&ev);
    ev.max_fields = 0;
    ok(decode_line(DECODE_JSON, &ev, "{}", 2, &ctx, NULL, 0) == -1, "max_fields 0: refused");
    event_free(&ev);
}

/* Nesting: the default limit, and deep input that would overflow a recursive parser. */
static void
test_depth(void)
{
    struct decode_ctx ctx = {NOW_US, 0};
    struct event ev;
    char err[128], want[128];
    size_t n = 200000;
    char *s = malloc(2 * n + 16);
    size_t len = 0;

    event_init(&ev);
    /* EVENT_MAX_DEPTH_DEFAULT levels decode, one more does not. */
    for (int extra = 0; extra < 2; extra++) {
        int levels = EVENT_MAX_DEPTH_DEFAULT + extra;
        len = 0;
        for (int i = 0; i < levels; i++) {
            memcpy(s + len, "{\"a\":", 5);
            len += 5;
        }
        s[len++] = '1';
        for (int i = 0; i < levels; i++) {
            s[len++] = '}';
        }
        event_reset(&ev);
        s[0] = '{';
        if (extra == 0) {
            ok(decode_exact(DECODE_JSON, &ev, s, len, &ctx, err, sizeof(err)) == 0,
               "%d levels decode with max_depth 0 (default %d)", levels,
               EVENT_MAX_DEPTH_DEFAULT);
        } else {
            ok(decode_exact(DECODE_JSON, &ev, s, len, &ctx, err, sizeof(err)) == -1,
               "%d levels are refused", levels);
            snprintf(want, sizeof(want), "json: nesting deeper than %d levels at byte %d",
                     EVENT_MAX_DEPTH_DEFAULT, 5 * EVENT_MAX_DEPTH_DEFAULT);
            is_str(err, want, "  error message");
        }
    }
    /* 200000 '[' with a huge limit: no recursion, so no stack overflow. */
    s[0] = '{';
    memcpy(s + 1, "\"a\":", 4);
    memset(s + 5, '[', n);
    len = 5 + n;
    ctx.max_depth = UINT32_MAX;
    event_reset(&ev);
    ok(decode_exact(DECODE_JSON, &ev, s, len, &ctx, err, sizeof(err)) == -1,
       "200000 unclosed '[' are refused");
    is_str(err, "json: unexpected end at byte 200005", "  error message");
    free(s);
    event_free(&ev);
}

/* Long lines: a 1 MiB message, a JSON line of 100000 fields, an extension of 50000 quotes. */
static void
test_long_lines(void)
{
    struct decode_ctx ctx = {NOW_US, 0};
    struct event ev;
    char err[128];
    size_t n = 1 << 20, len;
    char *s = malloc(n * 8 + 64);
    const struct event_field *f;
    clock_t t0;

    event_init(&ev);
    len = (size_t)sprintf(s, "<13>Feb  5 01:02:03 host app: ");
    memset(s + len, 'x', n);
    len += n;
    ok(decode_exact(DECODE_SYSLOG, &ev, s, len, &ctx, err, sizeof(err)) == 0,
       "a 1 MiB syslog message decodes");
    f = event_get(&ev, "message");
    ok(f != NULL && f->value_len == n, "  message is 1 MiB");
    ok(ev.raw_len == len && memcmp(ev.raw, s, len) == 0, "  event.original is the line");

    len = 0;
    s[len++] = '{';
    for (int i = 0; i < 100000; i++) {
        len += (size_t)sprintf(s + len, "%s\"k%d\":%d", i ? "," : "", i, i);
    }
    s[len++] = '}';
    event_reset(&ev);
    ev.max_fields = 200000;
    ok(decode_exact(DECODE_JSON, &ev, s, len, &ctx, err, sizeof(err)) == 0,
       "a JSON line with 100000 fields decodes when max_fields allows");
    is_int(ev.nfields, 100002, "  100000 fields + event.original + @timestamp");
    event_reset(&ev);
    ev.max_fields = EVENT_MAX_FIELDS_DEFAULT;
    ok(decode_exact(DECODE_JSON, &ev, s, len, &ctx, err, sizeof(err)) == -1,
       "... and is refused with the default max_fields");

    /* Opening quotes that never close: must stay linear (no rescan per value). */
    len = (size_t)sprintf(s, "CEF:0|a|b|c|d|e|1|");
    for (int i = 0; i < 50000; i++) {
        memcpy(s + len, "a=\"x ", 5);
        len += 5;
    }
    event_reset(&ev);
    ev.max_fields = 200000;
    t0 = clock();
    ok(decode_exact(DECODE_CEF, &ev, s, len, &ctx, err, sizeof(err)) == 0,
       "CEF with 50000 unclosed quoted values decodes");
    ok(clock() - t0 < CLOCKS_PER_SEC, "  in linear time (%.3f s)",
       (double)(clock() - t0) / CLOCKS_PER_SEC);
    len = 0;
    for (int i = 0; i < 50000; i++) {
        memcpy(s + len, "a=\"x ", 5);
        len += 5;
    }
    event_reset(&ev);
    t0 = clock();
    ok(decode_exact(DECODE_KV, &ev, s, len, &ctx, err, sizeof(err)) == 0,
       "kv with 50000 unclosed quoted values decodes");
    ok(clock() - t0 < CLOCKS_PER_SEC, "  in linear time (%.3f s)",
       (double)(clock() - t0) / CLOCKS_PER_SEC);
    free(s);
    event_free(&ev);
}

/* Embedded NUL bytes: refused as binary (text formats) or as invalid JSON. */
static void
test_nul(void)
{
    static const char syslog_line[] = "<13>Feb  5 01:02:03 host app: a\0b";
    static const char json_line[] = "{\"a\":\"x\0y\"}";
    static const char json_esc[] = "{\"a\":\"x\\u0000y\"}";
    struct decode_ctx ctx = {NOW_US, 0};
    struct event ev;
    char err[128];
    const struct event_field *f;

    event_init(&ev);
    ok(decode_exact(DECODE_SYSLOG, &ev, syslog_line, sizeof(syslog_line) - 1, &ctx, err,
                    sizeof(err)) == -1,
       "syslog with an embedded NUL is refused");
    is_str(err, "syslog: binary data: byte 0x00 at offset 31", "  error message");
    event_reset(&ev);
    ok(decode_exact(DECODE_AUTO, &ev, syslog_line, sizeof(syslog_line) - 1, &ctx, err,
                    sizeof(err)) == -1,
       "auto with an embedded NUL is refused");
    event_reset(&ev);
    ok(decode_exact(DECODE_JSON, &ev, json_line, sizeof(json_line) - 1, &ctx, err,
                    sizeof(err)) == -1,
       "json with a raw NUL in a string is refused");
    is_str(err, "json: control character 0x00 in a string at byte 7", "  error message");
    event_reset(&ev);
    ok(decode_exact(DECODE_JSON, &ev, json_esc, sizeof(json_esc) - 1, &ctx, err,
                    sizeof(err)) == 0,
       "json with \\u0000 decodes");
    f = event_get(&ev, "a");
    ok(f != NULL && f->value_len == 3 && memcmp(f->value, "x\0y", 4) == 0,
       "  value is x NUL y (value_len counts it)");
    event_free(&ev);
}

/* 1 when err is a non-empty, one-line, printable reason with a "<format>: " prefix. */
static int
good_reason(const char *err)
{
    if (err[0] == '\0' || strstr(err, ": ") == NULL) {
        return 0;
    }
    for (const char *p = err; *p != '\0'; p++) {
        if ((unsigned char)*p < 0x20 || *p == 0x7f) {
            return 0;
        }
    }
    return 1;
}

/* A tiny deterministic PRNG for the garbage tests. */
static uint32_t
rng(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

/*
 * Every prefix of every table line, and random garbage, in every format: the decoder
 * returns 0 or -1, and a refusal carries a one-line reason prefixed by a format name.
 */
static void
test_robustness(void)
{
    struct decode_ctx ctx = {NOW_US, 0};
    struct event ev;
    char err[256];
    int bad = 0, runs = 0;
    uint32_t seed = 12345;
    char buf[512];

    event_init(&ev);
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        size_t len = strlen(cases[c].line);
        for (size_t cut = 0; cut <= len; cut++) {
            for (int fmt = DECODE_AUTO; fmt <= DECODE_KV; fmt++) {
                char *b = malloc(cut > 0 ? cut : 1);
                int r;
                memcpy(b, cases[c].line, cut);
                event_reset(&ev);
                err[0] = '\0';
                r = decode_line((enum decode_format)fmt, &ev, b, cut, &ctx, err, sizeof(err));
                if ((r != 0 && r != -1) || (r == -1 && !good_reason(err))) {
                    bad++;
                }
                runs++;
                free(b);
            }
        }
    }
    ok(bad == 0, "every prefix of every case line in every format: 0 or -1 with a printable "
                 "one-line reason (%d runs, %d bad)", runs, bad);
    bad = 0;
    runs = 0;
    for (int i = 0; i < 20000; i++) {
        size_t len = rng(&seed) % sizeof(buf);
        int r;
        for (size_t k = 0; k < len; k++) {
            buf[k] = (char)rng(&seed);
        }
        if (i % 3 == 0 && len > 0) {
            buf[0] = "{<C"[rng(&seed) % 3];
        }
        for (int fmt = DECODE_AUTO; fmt <= DECODE_KV; fmt++) {
            char *b = malloc(len > 0 ? len : 1);
            memcpy(b, buf, len);
            event_reset(&ev);
            err[0] = '\0';
            r = decode_line((enum decode_format)fmt, &ev, b, len, &ctx, err, sizeof(err));
            if ((r != 0 && r != -1) || (r == -1 && !good_reason(err))) {
                bad++;
            }
            runs++;
            free(b);
        }
    }
    ok(bad == 0, "random garbage in every format: 0 or -1 with a printable one-line reason "
                 "(%d runs, %d bad)", runs, bad);
    event_free(&ev);
}

/*
 * @timestamp is formatted with a per-day cache; it must equal time_format_rfc3339() for
 * any time (years 1..9999, before 1970 too), on cache hits and misses alike.
 */
static void
test_timestamp_format(void)
{
    struct decode_ctx ctx = {NOW_US, 0};
    struct event ev;
    uint32_t seed = 4242;
    int bad = 0, n = 0;
    char want[32], line[96], err[128];
    const int64_t lo = -62135596800LL, hi = 253402300799LL; /* 0001-01-01 .. 9999-12-31 */

    event_init(&ev);
    for (int i = 0; i < 3000; i++) {
        int64_t base = lo + (int64_t)(((uint64_t)rng(&seed) << 32 | rng(&seed)) %
                                      (uint64_t)(hi - lo));
        /* A few times around the same moment: same second, same day, next day. */
        for (int k = 0; k < 4; k++) {
            int64_t off[4] = {0, (int64_t)(rng(&seed) % 1000000),
                              (int64_t)(rng(&seed) % 86400) * 1000000, 86400000000LL};
            int64_t us = base * 1000000 + off[k];
            const struct event_field *f;
            if (us / 1000000 > hi) {
                continue;
            }
            time_format_rfc3339(us, want);
            snprintf(line, sizeof(line), "{\"@timestamp\":\"%s\"}", want);
            event_reset(&ev);
            n++;
            if (decode_line(DECODE_JSON, &ev, line, strlen(line), &ctx, err, sizeof(err)) != 0 ||
                ev.time_us != us || (f = event_get(&ev, "@timestamp")) == NULL ||
                strcmp(f->value, want) != 0) {
                if (bad++ < 3) {
                    tap_diag("time %lld: want %s", (long long)us, want);
                }
            }
        }
    }
    ok(bad == 0, "@timestamp equals time_format_rfc3339() for %d times (%d bad)", n, bad);
    event_free(&ev);
}

/* time_format_rfc3339() the plain way, as a reference. */
static void
reference_rfc3339(int64_t us, char *buf)
{
    int64_t secs = us / 1000000, frac = us % 1000000;
    struct tm tm;
    time_t tt;

    if (frac < 0) {
        frac += 1000000;
        secs--;
    }
    tt = (time_t)secs;
    gmtime_r(&tt, &tm);
    snprintf(buf, 64, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)frac);
}

/* time_format_rfc3339() computes the civil date itself: against gmtime_r() + snprintf(). */
static void
test_time_format_reference(void)
{
    const int64_t lo = -62135596800LL * 1000000;         /* 0001-01-01 */
    const int64_t hi = 253402300800LL * 1000000 - 1;     /* 9999-12-31T23:59:59.999999 */
    static const int64_t edges[] = {
        0, -1, 1, 951782400000000LL /* 2000-02-29 */, 951868800000000LL - 1,
        4107542400000000LL /* 2100-03-01 */, -62135596800LL * 1000000, 253402300800LL * 1000000 - 1,
        -62135596800LL * 1000000 - 1 /* year 0 */, 253402300800LL * 1000000 /* year 10000 */,
    };
    uint32_t seed = 99;
    int bad = 0, n = 0;
    char got[32], want[64];

    for (size_t i = 0; i < sizeof(edges) / sizeof(edges[0]) + 200000; i++) {
        int64_t us = i < sizeof(edges) / sizeof(edges[0])
                         ? edges[i]
                         : lo + (int64_t)((((uint64_t)rng(&seed) << 32) | rng(&seed)) %
                                          (uint64_t)(hi - lo));
        size_t len = time_format_rfc3339(us, got);
        reference_rfc3339(us, want);
        n++;
        if (strcmp(got, want) != 0 || len != strlen(want)) {
            if (bad++ < 3) {
                tap_diag("%lld: got %s, want %s", (long long)us, got, want);
            }
        }
    }
    ok(bad == 0, "time_format_rfc3339 equals gmtime_r + snprintf for %d times (%d bad)", n, bad);
}

/*
 * Year inference against a plain reference: for random "now" and year-less dates, the year
 * is the latest one (from now's year + 1 down) in which the date exists and is at most 31
 * days after now. Runs in a shuffled order so the decoder's caches are exercised.
 */
static void
test_year_inference(void)
{
    static const char *const mon_names[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    static const int dim[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    struct event ev;
    uint32_t seed = 777;
    int bad = 0, n = 0;
    char line[96], err[128];

    event_init(&ev);
    for (int i = 0; i < 20000; i++) {
        /* now: 1990..2090, often near New Year. */
        int64_t now_s = 631152000LL + (int64_t)(rng(&seed) % 3155760000u);
        struct decode_ctx ctx = {0, 0};
        int mon = (int)(rng(&seed) % 12) + 1, day = (int)(rng(&seed) % dim[mon - 1]) + 1;
        int hh = (int)(rng(&seed) % 24), mi = (int)(rng(&seed) % 60), ss = (int)(rng(&seed) % 60);
        int64_t want = INT64_MIN;
        struct tm tm;
        time_t tt;
        if (i % 4 == 0) {
            /* Within a few weeks of a New Year. */
            gmtime_r(&(time_t){(time_t)now_s}, &tm);
            now_s = (time_days_from_civil(tm.tm_year + 1900 + 1, 1, 1) * 86400) -
                    40 * 86400 + (int64_t)(rng(&seed) % (80 * 86400));
        }
        ctx.now_us = now_s * 1000000 + (int64_t)(rng(&seed) % 1000000);
        tt = (time_t)now_s;
        gmtime_r(&tt, &tm);
        for (int64_t y = tm.tm_year + 1900 + 1; y >= tm.tm_year + 1900 - 8; y--) {
            int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
            int64_t t;
            if (mon == 2 && day == 29 && !leap) {
                continue;
            }
            t = (time_days_from_civil(y, (unsigned)mon, (unsigned)day) * 86400 + hh * 3600 +
                 mi * 60 + ss) * 1000000;
            if (t <= ctx.now_us + 31LL * 86400 * 1000000) {
                want = t;
                break;
            }
        }
        snprintf(line, sizeof(line), "%s %2d %02d:%02d:%02d host app: m", mon_names[mon - 1],
                 day, hh, mi, ss);
        event_reset(&ev);
        n++;
        if (decode_line(DECODE_SYSLOG, &ev, line, strlen(line), &ctx, err, sizeof(err)) != 0 ||
            ev.time_us != want || ev.time_from_arrival) {
            if (bad++ < 3) {
                tap_diag("now %lld, '%s': got %lld, want %lld", (long long)ctx.now_us, line,
                         (long long)ev.time_us, (long long)want);
            }
        }
    }
    ok(bad == 0, "year inference matches the reference rule for %d random dates (%d bad)", n,
       bad);
    event_free(&ev);
}

/*
 * Lines of a burst share their date, and the decoder reuses the last plain date it parsed
 * for the same 15 bytes at the same now. Whatever follows those bytes (a zone, a fraction,
 * a year) and a different now must still be honoured, and @timestamp must follow.
 */
static void
test_time_reuse(void)
{
    static const struct {
        const char *line;
        int64_t now;      /* ctx.now_us */
        const char *time; /* expected @timestamp */
        const char *host;
    } seq[] = {
        {"Nov 27 05:00:00 web1 sshd[1]: a", NOW_US, "2025-11-27T05:00:00.000000Z", "web1"},
        {"Nov 27 05:00:00 web1 sshd[1]: b", NOW_US, "2025-11-27T05:00:00.000000Z", "web1"},
        {"Nov 27 05:00:00 CET web1 sshd[1]: c", NOW_US, "2025-11-27T04:00:00.000000Z", "web1"},
        {"Nov 27 05:00:00 web1 sshd[1]: d", NOW_US, "2025-11-27T05:00:00.000000Z", "web1"},
        {"Nov 27 05:00:00.250 web1 sshd[1]: e", NOW_US, "2025-11-27T05:00:00.250000Z", "web1"},
        {"Nov 27 05:00:00 +0900 web1 sshd[1]: f", NOW_US, "2025-11-26T20:00:00.000000Z",
         "web1"},
        {"Nov 27 05:00:00 web1 sshd[1]: g", NOW_US, "2025-11-27T05:00:00.000000Z", "web1"},
        /* The same bytes with now a month later: the date is now this year's. */
        {"Nov 27 05:00:00 web1 sshd[1]: h", 1793491200000000LL /* 2026-11-01 */,
         "2026-11-27T05:00:00.000000Z", "web1"},
        {"Nov 27 05:00:00 web1 sshd[1]: i", NOW_US, "2025-11-27T05:00:00.000000Z", "web1"},
        {"Nov 27 05:00:01 web1 sshd[1]: j", NOW_US, "2025-11-27T05:00:01.000000Z", "web1"},
        /* Host names that start like a zone, and one-letter and offset zones. */
        {"Nov 27 05:00:01 LabSZ sshd[1]: k", NOW_US, "2025-11-27T05:00:01.000000Z", "LabSZ"},
        {"Nov 27 05:00:01 WEB sshd[1]: l", NOW_US, "2025-11-27T05:00:01.000000Z", "WEB"},
        {"Nov 27 05:00:01 Z web1 sshd[1]: m", NOW_US, "2025-11-27T05:00:01.000000Z", "web1"},
        {"Nov 27 05:00:01 -0130 web1 sshd[1]: n", NOW_US, "2025-11-27T06:30:01.000000Z", "web1"},
        {"Nov 27 05:00:01 web1 sshd[1]: o", NOW_US, "2025-11-27T05:00:01.000000Z", "web1"},
        /* A date alone on the line. */
        {"Nov 27 05:00:01", NOW_US, "2025-11-27T05:00:01.000000Z", NULL},
        {"Nov 27 05:00:01 UTC", NOW_US, "2025-11-27T05:00:01.000000Z", NULL},
    };
    struct event ev;
    char err[128];
    int bad = 0;

    event_init(&ev);
    for (int round = 0; round < 2; round++) {
        for (size_t i = 0; i < sizeof(seq) / sizeof(seq[0]); i++) {
            struct decode_ctx ctx = {seq[i].now, 0};
            const struct event_field *ts, *host;
            event_reset(&ev);
            if (decode_line(DECODE_SYSLOG, &ev, seq[i].line, strlen(seq[i].line), &ctx, err,
                            sizeof(err)) != 0) {
                bad++;
                tap_diag("'%s': %s", seq[i].line, err);
                continue;
            }
            ts = event_get(&ev, "@timestamp");
            host = event_get(&ev, "host.name");
            if (ts == NULL || strcmp(ts->value, seq[i].time) != 0 ||
                (seq[i].host == NULL) != (host == NULL) ||
                (host != NULL && strcmp(host->value, seq[i].host) != 0)) {
                bad++;
                tap_diag("'%s': @timestamp %s, host %s; want %s, %s", seq[i].line,
                         ts != NULL ? ts->value : "(none)", host != NULL ? host->value : "(none)",
                         seq[i].time, seq[i].host != NULL ? seq[i].host : "(none)");
            }
        }
    }
    ok(bad == 0, "a repeated date is reused only when the bytes after it and now agree (%d bad)",
       bad);
    event_free(&ev);
}

static void
test_api(void)
{
    static const char *const names[] = {"auto", "syslog", "json", "cef", "kv"};
    enum decode_format f;
    struct decode_ctx ctx = {NOW_US, 0};
    struct event ev;
    char err[64];

    for (int i = 0; i < 5; i++) {
        ok(decode_format_parse(names[i], &f) == 0 && (int)f == i &&
               strcmp(decode_format_name(f), names[i]) == 0,
           "format %s parses and names itself", names[i]);
    }
    ok(decode_format_parse("xml", &f) == -1, "unknown format refused");
    ok(decode_format_parse(NULL, &f) == -1, "NULL format refused");
    is_str(decode_format_name((enum decode_format)99), "unknown", "name of a bad format");
    event_init(&ev);
    ok(decode_line((enum decode_format)99, &ev, "x", 1, &ctx, err, sizeof(err)) == -1,
       "decode_line refuses a bad format");
    /* The per-format entry points. */
    event_reset(&ev);
    ok(decode_syslog(&ev, "<13>Feb  5 01:02:03 h a: m", 26, &ctx, err, sizeof(err)) == 0 &&
           strcmp(ev.format, "syslog") == 0,
       "decode_syslog()");
    event_reset(&ev);
    ok(decode_json(&ev, "{}", 2, &ctx, err, sizeof(err)) == 0 && strcmp(ev.format, "json") == 0,
       "decode_json()");
    event_reset(&ev);
    ok(decode_cef(&ev, "CEF:0|a|b|c|d|e|1|", 18, &ctx, err, sizeof(err)) == 0 &&
           strcmp(ev.format, "cef") == 0,
       "decode_cef()");
    event_reset(&ev);
    ok(decode_kv(&ev, "a=1", 3, &ctx, err, sizeof(err)) == 0 && strcmp(ev.format, "kv") == 0,
       "decode_kv()");
    /* Without a ctx the arrival time comes from ev->arrival_us; a tiny err is truncated. */
    event_reset(&ev);
    ev.arrival_us = 42000000;
    ok(decode_line(DECODE_AUTO, &ev, "hi", 2, NULL, err, sizeof(err)) == 0 &&
           ev.time_us == 42000000 && ev.time_from_arrival == 1,
       "NULL ctx: arrival time from ev->arrival_us");
    event_reset(&ev);
    ok(decode_line(DECODE_JSON, &ev, "[", 1, &ctx, err, 5) == -1 && strcmp(err, "json") == 0,
       "a short err buffer is truncated, NUL-terminated");
    event_free(&ev);
}

int
main(void)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        run_case(i, &cases[i]);
    }
    test_max_fields();
    test_depth();
    test_long_lines();
    test_nul();
    test_robustness();
    test_timestamp_format();
    test_time_format_reference();
    test_year_inference();
    test_time_reuse();
    test_api();
    return tap_done();
}
