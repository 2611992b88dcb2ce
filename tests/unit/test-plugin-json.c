/*
 * Tests of the out_json plugin (plugins/out_json/json.c) through the real loader: the built
 * out_json.so from $KIZUNA_PLUGIN_DIR, alerts built by hand, exact output bytes compared,
 * and every line parsed by Python's json module (skipped when python3 is missing).
 */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "alert.h"
#include "buf.h"
#include "errlist.h"
#include "plugin-loader.h"
#include "plugin-stage.h"
#include "rule.h"
#include "tap.h"
#include "yaml-tree.h"

static const char *const host_keys[] = {"name", "plugin", "path", "format", "deliver", "filter",
                                        "tlp",  "privacy", NULL};

static char *tags[] = {(char *)"attack.t1110", (char *)"attack.credential_access"};

static struct rule rule_det = {
    .id = (char *)"ssh-brute-single",
    .title = (char *)"SSH \"failed\" password",
    .level = RULE_LEVEL_HIGH,
    .tags = tags,
    .ntags = 2,
    .hash = "0123456789abcdef",
    .kind = RULE_DETECTION,
};

static struct rule rule_corr = {
    .id = (char *)"ssh-brute",
    .title = (char *)"SSH brute force",
    .level = RULE_LEVEL_CRITICAL,
    .hash = "fedcba9876543210",
    .kind = RULE_CORRELATION,
};

static struct rule rule_min = {
    .id = (char *)"r",
    .title = (char *)"t",
    .level = RULE_LEVEL_LOW,
};

static void
add(struct alert_fields *fl, const char *name, const char *value)
{
    alert_fields_add(fl, name, strlen(name), value, strlen(value));
}

/* A detection alert whose event has clashing, reserved, multi-valued and odd fields. */
static struct alert *
alert_detection(void)
{
    struct alert *a = alert_new(&rule_det);

    memcpy(a->id, "0123456789abcdef0123456789abcdef", 33);
    a->time_us = 1795741323000004;
    add(&a->fields, "@timestamp", "2026-11-27T01:02:03Z");
    add(&a->fields, "message", "Failed password for root");
    add(&a->fields, "host.name", "web-1");
    add(&a->fields, "source.ip", "10.0.0.1");
    add(&a->fields, "user.name", "root");
    add(&a->fields, "user.name", "admin");
    add(&a->fields, "event.original", "<38>sshd[42]: Failed password\tfor root");
    add(&a->fields, "event.dataset", "system.auth");
    add(&a->fields, "tags", "dropped");
    add(&a->fields, "kizuna.fake", "dropped");
    add(&a->fields, "rule", "dropped");
    add(&a->fields, "rule.ruleset", "fw");
    add(&a->fields, "a", "leaf");
    add(&a->fields, "a.b", "obj");
    add(&a->fields, "weird", "\x01\xff");
    a->tlp = "amber";
    a->partner = "soc";
    a->host_name = "kz-1";
    return a;
}

static const char want_detection[] =
    "{\"@timestamp\":\"2026-11-27T01:02:03.000004Z\","
    "\"a\":{\"b\":\"obj\",\"value\":\"leaf\"},"
    "\"event\":{\"dataset\":\"system.auth\",\"kind\":\"alert\","
    "\"original\":\"<38>sshd[42]: Failed password\\tfor root\",\"severity\":3},"
    "\"host\":{\"name\":\"web-1\"},"
    "\"kizuna\":{\"alert_id\":\"0123456789abcdef0123456789abcdef\",\"host\":\"kz-1\","
    "\"kind\":\"detection\",\"level\":\"high\",\"partner\":\"soc\"},"
    "\"message\":\"Failed password for root\","
    "\"rule\":{\"hash\":\"0123456789abcdef\",\"id\":\"ssh-brute-single\","
    "\"name\":\"SSH \\\"failed\\\" password\",\"ruleset\":\"fw\"},"
    "\"source\":{\"ip\":\"10.0.0.1\"},"
    "\"tags\":[\"attack.t1110\",\"attack.credential_access\"],"
    "\"tlp\":\"amber\","
    "\"user\":{\"name\":[\"root\",\"admin\"]},"
    "\"weird\":\"\\u0001\xef\xbf\xbd\"}\n";

/* A correlation alert with group fields, a value and evidence. */
static struct alert *
alert_correlation(void)
{
    struct alert *a = alert_new(&rule_corr);
    struct alert_fields *ev;

    memcpy(a->id, "fedcba9876543210fedcba9876543210", 33);
    a->corr_type = "event_count";
    a->time_us = 1795741323500000;
    a->first_us = 1795741260000000;
    a->last_us = 1795741323000004;
    a->count = 5;
    a->value = 5;
    a->has_value = 1;
    free(a->group_key);
    a->group_key = strdup("10.0.0.1");
    add(&a->group, "source.ip", "10.0.0.1");
    add(&a->fields, "source.ip", "10.0.0.1");
    add(&a->fields, "user.name", "root");
    for (int i = 1; i <= 2; i++) {
        char line[8];

        snprintf(line, sizeof(line), "l%d", i);
        ev = alert_add_evidence(a);
        add(ev, "source.ip", "10.0.0.1");
        add(ev, "user.name", "root");
        add(ev, "event.original", line);
    }
    return a;
}

static const char want_correlation[] =
    "{\"@timestamp\":\"2026-11-27T01:02:03.500000Z\","
    "\"event\":{\"kind\":\"alert\",\"severity\":4},"
    "\"kizuna\":{\"alert_id\":\"fedcba9876543210fedcba9876543210\","
    "\"correlation\":{\"type\":\"event_count\"},\"count\":5,"
    "\"evidence\":["
    "{\"event\":{\"original\":\"l1\"},\"source\":{\"ip\":\"10.0.0.1\"},"
    "\"user\":{\"name\":\"root\"}},"
    "{\"event\":{\"original\":\"l2\"},\"source\":{\"ip\":\"10.0.0.1\"},"
    "\"user\":{\"name\":\"root\"}}"
    "],"
    "\"first_seen\":\"2026-11-27T01:01:00.000000Z\","
    "\"group\":{\"fields\":{\"source\":{\"ip\":\"10.0.0.1\"}},\"key\":\"10.0.0.1\"},"
    "\"kind\":\"correlation\",\"last_seen\":\"2026-11-27T01:02:03.000004Z\","
    "\"level\":\"critical\",\"value\":5},"
    "\"rule\":{\"hash\":\"fedcba9876543210\",\"id\":\"ssh-brute\",\"name\":\"SSH brute force\"},"
    "\"source\":{\"ip\":\"10.0.0.1\"},"
    "\"tags\":[],"
    "\"user\":{\"name\":\"root\"}}\n";

static struct alert *
alert_minimal(void)
{
    struct alert *a = alert_new(&rule_min);

    memcpy(a->id, "00000000000000000000000000000001", 33);
    a->time_us = 1795741323000004;
    return a;
}

static const char want_pretty[] = "{\n"
                                  "  \"@timestamp\": \"2026-11-27T01:02:03.000004Z\",\n"
                                  "  \"event\": {\n"
                                  "    \"kind\": \"alert\",\n"
                                  "    \"severity\": 1\n"
                                  "  },\n"
                                  "  \"kizuna\": {\n"
                                  "    \"alert_id\": \"00000000000000000000000000000001\",\n"
                                  "    \"kind\": \"detection\",\n"
                                  "    \"level\": \"low\"\n"
                                  "  },\n"
                                  "  \"rule\": {\n"
                                  "    \"id\": \"r\",\n"
                                  "    \"name\": \"t\"\n"
                                  "  },\n"
                                  "  \"tags\": []\n"
                                  "}\n";

static struct ynode **yaml_docs[16];
static size_t yaml_ndocs[16];
static size_t yaml_n;

static struct ynode *
yaml(const char *text)
{
    char err[512];
    struct ynode **docs;
    size_t ndocs;

    if (yaml_tree_parse("cfg.yaml", text, strlen(text), &docs, &ndocs, err, sizeof(err)) != 0 ||
        ndocs != 1 || yaml_n == 16) {
        tap_diag("bad test YAML: %s", err);
        abort();
    }
    yaml_docs[yaml_n] = docs;
    yaml_ndocs[yaml_n++] = ndocs;
    return docs[0];
}

static struct plugin_instance *
instance(const struct plugin *p, const char *text)
{
    struct plugin_instance *inst = NULL;
    struct errlist errs = {0};

    if (plugin_instance_new(p, "soc", yaml(text), host_keys, "cfg.yaml", &inst, &errs) != 0) {
        for (size_t i = 0; i < errs.n; i++) {
            tap_diag("%s", errs.msgs[i]);
        }
    }
    errlist_free(&errs);
    return inst;
}

static void
emit_is(struct plugin_instance *inst, struct alert *a, const char *want, const char *what,
        struct buf *all)
{
    struct buf out;

    buf_init(&out);
    is_int(plugin_instance_emit(inst, a, &out), KZ_OK, what);
    is_str(buf_cstr(&out), want, what);
    buf_append(all, out.data, out.len);
    buf_free(&out);
}

/*
 * Parse text with Python: each line as one JSON object (whole == 0) or the whole text as
 * one (whole == 1), into the list objs; then run the assertions in checks.
 */
static void
python_check(const char *text, int whole, const char *checks, const char *what)
{
    char script[4096];
    FILE *py;
    int status;

    if (system("python3 -c 'import json' >/dev/null 2>&1") != 0) {
        tap_skip(1, "python3 not available");
        return;
    }
    snprintf(script, sizeof(script),
             "import json,sys\n"
             "text = sys.stdin.read()\n"
             "objs = [json.loads(text)] if %d else [json.loads(l) for l in text.splitlines()]\n"
             "%s\n",
             whole, checks);
    setenv("KZ_PY", script, 1);
    signal(SIGPIPE, SIG_IGN);
    py = popen("python3 -c \"$KZ_PY\"", "w");
    if (py != NULL) {
        fputs(text, py);
    }
    status = py != NULL ? pclose(py) : -1;
    ok(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s", what);
}

int
main(void)
{
    char *dir = plugin_stage_dir();
    struct plugin_registry *reg = NULL;
    const struct plugin *p = NULL;
    struct plugin_instance *inst;
    struct errlist errs = {0};
    struct alert *a;
    struct buf all;
    struct buf out;
    char err[1024];

    buf_init(&all);
    buf_init(&out);
    if (plugin_stage_copy(plugin_stage_real_so("json"), dir, "out_json.so", 0755) != 0) {
        ok(0, "stage %s", plugin_stage_real_so("json"));
        goto out;
    }
    reg = plugin_registry_new(dir);
    if (!ok(plugin_registry_load(reg, "json", &p, err, sizeof(err)) == 0, "out_json loads: %s",
            err)) {
        goto out;
    }
    is_int(plugin_descriptor(p)->abi_major, KZ_ABI_MAJOR, "built against ABI major");

    inst = instance(p, "name: soc\nplugin: json\n");
    if (ok(inst != NULL, "default instance")) {
        a = alert_detection();
        emit_is(inst, a, want_detection, "detection alert", &all);
        buf_reset(&out);
        plugin_instance_emit(inst, a, &out);
        plugin_instance_emit(inst, a, &out);
        ok(out.len == 2 * strlen(want_detection) &&
               memcmp(out.data, want_detection, strlen(want_detection)) == 0 &&
               memcmp(out.data + strlen(want_detection), want_detection,
                      strlen(want_detection)) == 0,
           "deterministic: same alert, same bytes, one line each");
        alert_free(a);

        a = alert_correlation();
        emit_is(inst, a, want_correlation, "correlation alert", &all);
        a->value = 0.1;
        buf_reset(&out);
        plugin_instance_emit(inst, a, &out);
        ok(strstr(out.data, ",\"value\":0.1}") != NULL, "fractional value");
        a->value = 1.0 / 3;
        buf_reset(&out);
        plugin_instance_emit(inst, a, &out);
        ok(strstr(out.data, ",\"value\":0.33333333333333331}") != NULL,
           "value that needs 17 digits round-trips");
        buf_append(&all, out.data, out.len);
        a->value = NAN;
        buf_reset(&out);
        plugin_instance_emit(inst, a, &out);
        ok(strstr(out.data, ",\"value\":null}") != NULL, "NaN value is null");
        buf_append(&all, out.data, out.len);
        alert_free(a);
        is_int(plugin_instance_flush(inst, &out), KZ_OK, "no flush callback: OK");

        /* Values longer than the writer's 4 KiB stage, plain and with a byte to escape
         * past the first 16-byte block: whole, escaped, and in order. */
        {
            static char big[6001];
            struct buf want;
            buf_init(&want);
            memset(big, 'x', 6000);
            a = alert_minimal();
            add(&a->fields, "message", big);
            big[4999] = '"';
            add(&a->fields, "user.name", big);
            buf_reset(&out);
            plugin_instance_emit(inst, a, &out);
            buf_puts(&want, "\"message\":\"");
            for (int i = 0; i < 6000; i++) {
                buf_putc(&want, 'x');
            }
            buf_puts(&want, "\",\"rule\"");
            ok(out.data != NULL && strstr(out.data, buf_cstr(&want)) != NULL,
               "a 6000-byte value is written whole");
            buf_reset(&want);
            buf_puts(&want, "\"user\":{\"name\":\"");
            for (int i = 0; i < 6000; i++) {
                buf_puts(&want, i == 4999 ? "\\\"" : "x");
            }
            buf_puts(&want, "\"}}\n");
            ok(out.data != NULL && out.len >= want.len &&
                   strcmp(out.data + out.len - want.len, buf_cstr(&want)) == 0,
               "a long value with a quote at byte 4999 is escaped");
            buf_free(&want);
            alert_free(a);
        }
        plugin_instance_free(inst);
    }

    inst = instance(p, "name: soc\npretty: true\n");
    if (ok(inst != NULL, "pretty instance")) {
        a = alert_minimal();
        buf_reset(&out);
        is_int(plugin_instance_emit(inst, a, &out), KZ_OK, "pretty emit");
        is_str(buf_cstr(&out), want_pretty, "pretty output");
        python_check(buf_cstr(&out), 1, "", "pretty output parses as one object");
        alert_free(a);
        plugin_instance_free(inst);
    }

    inst = instance(p, "name: soc\nmax_value_bytes: 4\ndataset: kizuna.alerts\n");
    if (ok(inst != NULL, "max_value_bytes + dataset instance")) {
        a = alert_minimal();
        add(&a->fields, "m1", "abcd\xc3\xa9");
        add(&a->fields, "m2", "abc\xc3\xa9");
        add(&a->fields, "m3", "ab");
        add(&a->fields, "event.dataset", "system.auth");
        emit_is(inst, a,
                "{\"@timestamp\":\"2026-11-27T01:02:03.000004Z\","
                "\"event\":{\"dataset\":\"kizuna.alerts\",\"kind\":\"alert\",\"severity\":1},"
                "\"kizuna\":{\"alert_id\":\"00000000000000000000000000000001\","
                "\"kind\":\"detection\",\"level\":\"low\"},"
                "\"m1\":\"abcd\",\"m2\":\"abc\",\"m3\":\"ab\","
                "\"rule\":{\"id\":\"r\",\"name\":\"t\"},\"tags\":[]}\n",
                "values cut on a UTF-8 boundary; dataset option replaces the event's", &all);
        alert_free(a);
        plugin_instance_free(inst);
    }

    /* The option table is exercised through the host. */
    inst = NULL;
    ok(plugin_instance_new(p, "soc", yaml("name: soc\npretty: sometimes\nindent: 2\n"),
                           host_keys, "cfg.yaml", &inst, &errs) == PLUGIN_ERR_OPTION &&
           inst == NULL,
       "bad options refused");
    ok(errs.n == 2 &&
           strcmp(errs.msgs[0], "cfg.yaml:2:9: output 'soc': plugin 'json' option 'pretty' must "
                                "be true or false, not 'sometimes'") == 0 &&
           strcmp(errs.msgs[1], "cfg.yaml:3:1: output 'soc': plugin 'json' has no option "
                                "'indent' (options: pretty, max_value_bytes, dataset)") == 0,
       "option messages");
    errlist_free(&errs);
    ok(plugin_instance_new(p, "soc", yaml("name: soc\nmax_value_bytes: -1\n"), host_keys,
                           "cfg.yaml", &inst, &errs) == PLUGIN_ERR_OPTION,
       "max_value_bytes below 0 refused");
    errlist_free(&errs);

    python_check(buf_cstr(&all), 0,
                 "d, c = objs[0], objs[1]\n"
                 "assert len(objs) == 5, len(objs)\n"
                 "assert d['rule']['id'] == 'ssh-brute-single'\n"
                 "assert d['user']['name'] == ['root', 'admin']\n"
                 "assert d['event']['kind'] == 'alert' and d['event']['severity'] == 3\n"
                 "assert d['weird'] == '\\x01\\ufffd'\n"
                 "assert d['a'] == {'b': 'obj', 'value': 'leaf'}\n"
                 "assert c['kizuna']['count'] == 5 and c['kizuna']['value'] == 5\n"
                 "assert len(c['kizuna']['evidence']) == 2\n"
                 "assert c['kizuna']['group']['fields']['source']['ip'] == '10.0.0.1'\n"
                 "assert objs[2]['kizuna']['value'] == 1.0 / 3\n"
                 "assert objs[3]['kizuna']['value'] is None\n",
                 "every line is one JSON object; Python reads back the right values");
out:
    for (size_t i = 0; i < yaml_n; i++) {
        yaml_tree_free_docs(yaml_docs[i], yaml_ndocs[i]);
    }
    buf_free(&all);
    buf_free(&out);
    plugin_registry_free(reg);
    plugin_stage_rm(dir);
    free(dir);
    return tap_done();
}
