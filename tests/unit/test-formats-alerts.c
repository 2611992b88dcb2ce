/*
 * Test helper: the alert corpus and plugin loading shared by the format tests
 * (test-formats-alerts.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert.h"
#include "errlist.h"
#include "plugin-loader.h"
#include "plugin-stage.h"
#include "rule.h"
#include "tap.h"
#include "test-formats-alerts.h"
#include "xmalloc.h"
#include "yaml-tree.h"

const char *const formats_plugins[] = {"stix21", "misp", "idmef", "iodef", "cef", "ocsf", "syslog"};
const size_t formats_nplugins = sizeof(formats_plugins) / sizeof(formats_plugins[0]);

static const char *const host_keys[] = {"name",   "plugin", "path",    "format", "deliver",
                                        "filter", "tlp",    "privacy", NULL};

static char *tags_ssh[] = {(char *)"attack.t1110.001", (char *)"attack.credential_access"};
static char *tags_corr[] = {(char *)"attack.t1110", (char *)"attack.t1110.003",
                            (char *)"attack.credential-access", (char *)"attack.g0032",
                            (char *)"cis.5.2"};
static char *tags_hostile[] = {(char *)"attack.t1078", (char *)"attack.initial_access",
                               (char *)"attack.persistence", (char *)"x\"y<z>&|=\\"};

static struct rule rule_ssh = {
    .id = (char *)"ssh-failed-password",
    .title = (char *)"SSH failed password",
    .level = RULE_LEVEL_HIGH,
    .tags = tags_ssh,
    .ntags = 2,
    .hash = "0123456789abcdef",
    .kind = RULE_DETECTION,
};

static struct rule rule_corr = {
    .id = (char *)"ssh-brute-force",
    .title = (char *)"SSH brute force from one source",
    .level = RULE_LEVEL_CRITICAL,
    .tags = tags_corr,
    .ntags = 5,
    .hash = "fedcba9876543210",
    .kind = RULE_CORRELATION,
};

static struct rule rule_hostile = {
    .id = (char *)"id|with\\pipe=eq",
    .title = (char *)"Title \"quoted\" <b>&amp;</b> ]bracket| pipe = eq \\ back\nnew\tline "
                     "\xc3\xa9\xe6\x97\xa5 \xff",
    .level = RULE_LEVEL_MEDIUM,
    .tags = tags_hostile,
    .ntags = 4,
    .hash = "00112233aabbccdd",
    .kind = RULE_DETECTION,
};

static struct rule rule_min = {
    .id = (char *)"minimal",
    .title = (char *)"Minimal",
    .level = RULE_LEVEL_INFORMATIONAL,
};

static struct rule rule_spray = {
    .id = (char *)"password-spray",
    .title = (char *)"Password spray against one account",
    .level = RULE_LEVEL_LOW,
    .tags = tags_ssh,
    .ntags = 1,
    .hash = "5555666677778888",
    .kind = RULE_CORRELATION,
};

static void
add(struct alert_fields *fl, const char *name, const char *value)
{
    alert_fields_add(fl, name, strlen(name), value, strlen(value));
}

static void
set_group_key(struct alert *a, const char *key)
{
    free(a->group_key);
    a->group_key = xstrdup(key);
}

/* 2026-11-27T01:02:03.000004Z */
#define T0 1795741323000004LL

static struct alert *
alert_det_ipv4(void)
{
    struct alert *a = alert_new(&rule_ssh);

    memcpy(a->id, "0123456789abcdef0123456789abcdef", 33);
    a->time_us = T0;
    add(&a->fields, "@timestamp", "2026-11-27T01:02:03.000004Z");
    add(&a->fields, "message", "Failed password for root from 203.0.113.7 port 52214 ssh2");
    add(&a->fields, "event.original",
        "<38>Nov 27 01:02:03 web-1 sshd[4242]: Failed password for root from 203.0.113.7 "
        "port 52214 ssh2");
    add(&a->fields, "host.name", "web-1");
    add(&a->fields, "process.name", "sshd");
    add(&a->fields, "process.pid", "4242");
    add(&a->fields, "source.ip", "203.0.113.7");
    add(&a->fields, "source.port", "52214");
    add(&a->fields, "destination.ip", "192.0.2.10");
    add(&a->fields, "destination.port", "22");
    add(&a->fields, "network.transport", "tcp");
    add(&a->fields, "user.name", "root");
    add(&a->fields, "event.outcome", "failure");
    a->tlp = "amber";
    a->partner = "cert";
    a->host_name = "kz-1";
    return a;
}

static struct alert *
alert_corr_ipv6(void)
{
    static const char *const users[] = {"root", "admin", "oracle", "admin", "root"};
    struct alert *a = alert_new(&rule_corr);

    memcpy(a->id, "fedcba9876543210fedcba9876543210", 33);
    a->corr_type = "event_count";
    a->time_us = T0 + 500000;
    a->first_us = T0 - 63000004;
    a->last_us = T0;
    a->count = 12;
    a->value = 12;
    a->has_value = 1;
    set_group_key(a, "2001:db8::dead:beef");
    add(&a->group, "source.ip", "2001:DB8:0:0:0:0:DEAD:BEEF");
    add(&a->fields, "source.ip", "2001:db8::dead:beef");
    add(&a->fields, "source.port", "40000");
    add(&a->fields, "destination.ip", "2001:db8::1");
    add(&a->fields, "destination.port", "22");
    add(&a->fields, "user.name", "root");
    add(&a->fields, "host.name", "bastion.example.org");
    add(&a->fields, "message", "Invalid user root from 2001:db8::dead:beef");
    for (size_t i = 0; i < sizeof(users) / sizeof(users[0]); i++) {
        struct alert_fields *ev = alert_add_evidence(a);
        char line[128];
        char port[8];

        snprintf(port, sizeof(port), "%zu", 40000 + i);
        snprintf(line, sizeof(line), "sshd[%zu]: Invalid user %s from 2001:db8::dead:beef", 900 + i,
                 users[i]);
        add(ev, "source.ip", "2001:db8::dead:beef");
        add(ev, "source.port", port);
        add(ev, "destination.ip", "2001:db8::1");
        add(ev, "user.name", users[i]);
        add(ev, "event.original", line);
    }
    a->tlp = "green";
    a->partner = "isac";
    a->host_name = "kz-2.example.org";
    return a;
}

static struct alert *
alert_hostile(void)
{
    struct alert *a = alert_new(&rule_hostile);
    struct alert_fields *ev;

    memcpy(a->id, "aaaaaaaabbbbbbbbccccccccdddddddd", 33);
    a->time_us = T0 + 1;
    add(&a->fields, "message", "line1\nline2\r\n<x>&'\"|=\\] end");
    add(&a->fields, "user.name", "a\"b\\c]d e=f|g");
    add(&a->fields, "source.ip", "not-an-ip<script>");
    add(&a->fields, "destination.ip", "198.51.100.23");
    add(&a->fields, "destination.port", "99999");
    add(&a->fields, "host.name", "bad host name!");
    add(&a->fields, "source.domain", "evil.example.com");
    add(&a->fields, "event.original", "\xff\xfe\xc0\xaf invalid \xed\xa0\x80 utf-8 \x01\x7f");
    add(&a->fields, "weird name=|\\", "v=1|2\\3\n");
    add(&a->fields, "unicode",
        "Gr\xc3\xbc\xc3\x9f"
        "e \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x8e\x8c");
    add(&a->fields, "cef.ext.cs1", "should not clash");
    ev = alert_add_evidence(a);
    add(ev, "source.ip", "198.51.100.99");
    add(ev, "user.name", "]\"\\");
    add(ev, "event.original", "<evidence> & \"quotes\"");
    set_group_key(a, "k=\"v\"]|\\");
    add(&a->group, "user.name", "a\"b\\c]d e=f|g");
    a->tlp = "amber+strict";
    a->partner = "p\"artner";
    a->host_name = "kz host<1>";
    return a;
}

static struct alert *
alert_minimal(void)
{
    struct alert *a = alert_new(&rule_min);

    memcpy(a->id, "00000000000000000000000000000001", 33);
    a->time_us = 0;
    return a;
}

static struct alert *
alert_spray(const char *tlp)
{
    struct alert *a = alert_new(&rule_spray);

    memcpy(a->id, "5555555555555555555555555555555f", 33);
    a->corr_type = "value_count";
    a->time_us = T0 + 2000000;
    a->first_us = T0 - 3600000000LL;
    a->last_us = T0 + 1000000;
    a->count = 7;
    a->value = 4;
    a->has_value = 1;
    set_group_key(a, "svc-backup");
    add(&a->group, "user.name", "svc-backup");
    add(&a->fields, "user.name", "svc-backup");
    add(&a->fields, "source.ip", "192.0.2.200");
    add(&a->fields, "destination.ip", "2001:db8::25");
    add(&a->fields, "destination.port", "443");
    add(&a->fields, "network.transport", "TCP");
    for (int i = 0; i < 4; i++) {
        struct alert_fields *ev = alert_add_evidence(a);
        char ip[32];

        snprintf(ip, sizeof(ip), "192.0.2.%d", 200 + i);
        add(ev, "source.ip", ip);
        add(ev, "user.name", "svc-backup");
    }
    a->tlp = tlp;
    a->partner = "national-cert";
    a->host_name = "kz-3";
    return a;
}

static const char *const alert_names[] = {"det-ipv4", "corr-ipv6", "hostile",
                                          "minimal",  "spray-red", "spray-clear"};

size_t
formats_nalerts(void)
{
    return sizeof(alert_names) / sizeof(alert_names[0]);
}

const char *
formats_alert_name(size_t i)
{
    return i < formats_nalerts() ? alert_names[i] : "?";
}

struct alert *
formats_alert(size_t i)
{
    switch (i) {
    case 0:
        return alert_det_ipv4();
    case 1:
        return alert_corr_ipv6();
    case 2:
        return alert_hostile();
    case 3:
        return alert_minimal();
    case 4:
        return alert_spray("red");
    case 5:
        return alert_spray("clear");
    }
    return NULL;
}

int
formats_env_open(struct formats_env *env, const char *const *names, size_t n)
{
    env->dir = plugin_stage_dir();
    env->reg = NULL;
    for (size_t i = 0; i < n; i++) {
        char file[64];

        snprintf(file, sizeof(file), "out_%s.so", names[i]);
        if (plugin_stage_copy(plugin_stage_real_so(names[i]), env->dir, file, 0755) != 0) {
            return -1;
        }
    }
    env->reg = plugin_registry_new(env->dir);
    return 0;
}

void
formats_env_close(struct formats_env *env)
{
    plugin_registry_free(env->reg);
    env->reg = NULL;
    if (env->dir != NULL) {
        plugin_stage_rm(env->dir);
        free(env->dir);
        env->dir = NULL;
    }
}

/* YAML trees of the instances made so far (kept until formats_yaml_free()). */
static struct ynode ***yaml_docs;
static size_t *yaml_ndocs;
static size_t yaml_n;

struct plugin_instance *
formats_instance(struct formats_env *env, const char *name, const char *options)
{
    struct plugin_instance *inst = NULL;
    struct errlist errs = {0};
    const struct plugin *p = NULL;
    struct ynode **docs = NULL;
    size_t ndocs = 0;
    char err[1024];
    char *text;

    if (plugin_registry_load(env->reg, name, &p, err, sizeof(err)) != 0) {
        tap_diag("load %s: %s", name, err);
        return NULL;
    }
    text = xasprintf("name: test\nplugin: %s\n%s", name, options);
    if (yaml_tree_parse("cfg.yaml", text, strlen(text), &docs, &ndocs, err, sizeof(err)) != 0 ||
        ndocs != 1) {
        tap_diag("bad test YAML: %s", err);
        free(text);
        return NULL;
    }
    free(text);
    yaml_docs = xreallocarray(yaml_docs, yaml_n + 1, sizeof(*yaml_docs));
    yaml_ndocs = xreallocarray(yaml_ndocs, yaml_n + 1, sizeof(*yaml_ndocs));
    yaml_docs[yaml_n] = docs;
    yaml_ndocs[yaml_n++] = ndocs;
    if (plugin_instance_new(p, "test", docs[0], host_keys, "cfg.yaml", &inst, &errs) != 0) {
        for (size_t i = 0; i < errs.n; i++) {
            tap_diag("%s", errs.msgs[i]);
        }
        inst = NULL;
    }
    errlist_free(&errs);
    return inst;
}

void
formats_yaml_free(void)
{
    for (size_t i = 0; i < yaml_n; i++) {
        yaml_tree_free_docs(yaml_docs[i], yaml_ndocs[i]);
    }
    free(yaml_docs);
    free(yaml_ndocs);
    yaml_docs = NULL;
    yaml_ndocs = NULL;
    yaml_n = 0;
}
