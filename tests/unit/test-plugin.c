/*
 * Tests of the plugin loader, registry and instances (core/plugin.c, core/plugin-host.c):
 * real .so files built for the tests (tests/plugins/), good and deliberately broken, staged
 * into private directories. Every refusal is checked by its exact message, which must name
 * the file; option errors by their exact FILE:LINE:COL message.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alert.h"
#include "buf.h"
#include "errlist.h"
#include "plugin-loader.h"
#include "plugin-stage.h"
#include "rule.h"
#include "tap.h"
#include "xmalloc.h"
#include "yaml-tree.h"

static const char *const host_keys[] = {"name", "plugin", "path", "format", "deliver", "filter",
                                        "tlp",  "privacy", NULL};

/* Every test plugin, staged into one directory. */
static const char *const test_plugins[] = {
    "probe",  "abimajor", "abiminor", "short",  "noentry",   "nulldesc",  "noemit",
    "noname", "mismatch", "dup",      "dup2",   "badopt",    "badoffset", "undefined",
    "hello",
};

static struct ynode **yaml_docs[64];
static size_t yaml_ndocs[64];
static size_t yaml_n;

/* Parse a YAML snippet named "cfg.yaml"; the tree is freed at the end of the test. */
static struct ynode *
yaml(const char *text)
{
    char err[512];
    struct ynode **docs;
    size_t ndocs;

    if (yaml_tree_parse("cfg.yaml", text, strlen(text), &docs, &ndocs, err, sizeof(err)) != 0 ||
        ndocs != 1 || yaml_n == 64) {
        tap_diag("bad test YAML: %s", err);
        abort();
    }
    yaml_docs[yaml_n] = docs;
    yaml_ndocs[yaml_n++] = ndocs;
    return docs[0];
}

static int
contains(const char *hay, const char *needle)
{
    return hay != NULL && strstr(hay, needle) != NULL;
}

/* Load name from reg expecting failure code and exactly the message want. */
static void
expect_refused(struct plugin_registry *reg, const char *name, int code, const char *want)
{
    const struct plugin *p = (const struct plugin *)1;
    size_t before = plugin_registry_count(reg);
    char err[1024] = "";
    int r = plugin_registry_load(reg, name, &p, err, sizeof(err));

    is_int(r, code, name);
    is_str(err, want, name);
    ok(p == NULL && plugin_registry_count(reg) == before, "%s: nothing cached, *out NULL", name);
}

static void
test_load(const char *dir)
{
    struct plugin_registry *reg = plugin_registry_new(dir);
    const struct plugin *p = NULL;
    const struct plugin *again = NULL;
    char err[1024] = "";
    char want[2048];

    is_int(plugin_registry_load(reg, "probe", &p, err, sizeof(err)), 0, "probe loads");
    ok(p != NULL && strcmp(plugin_name(p), "probe") == 0, "probe: name");
    snprintf(want, sizeof(want), "%s/out_probe.so", dir);
    is_str(p ? plugin_path(p) : NULL, want, "probe: path");
    ok(p != NULL && plugin_descriptor(p)->config_size > 0, "probe: descriptor");
    is_int(plugin_registry_load(reg, "probe", &again, err, sizeof(err)), 0, "probe again");
    ok(again == p && plugin_registry_count(reg) == 1, "second load is the cached plugin");

    snprintf(want, sizeof(want), "%s/out_nope.so: no such file (no plugin 'nope' in %s)", dir,
             dir);
    expect_refused(reg, "nope", PLUGIN_ERR_NOTFOUND, want);
    snprintf(want, sizeof(want),
             "invalid plugin name '../probe' (letters, digits, '_' and '-' only; the file is "
             "out_<name>.so in %s)",
             dir);
    expect_refused(reg, "../probe", PLUGIN_ERR_NOTFOUND, want);

    snprintf(want, sizeof(want),
             "%s/out_abimajor.so: plugin ABI major %d, this kizunad supports %d (rebuild the "
             "plugin against this kizuna's <kizuna/plugin.h>)",
             dir, KZ_ABI_MAJOR + 1, KZ_ABI_MAJOR);
    expect_refused(reg, "abimajor", PLUGIN_ERR_ABI, want);
    snprintf(want, sizeof(want),
             "%s/out_abiminor.so: plugin ABI %d.%d is newer than this kizunad's %d.%d (upgrade "
             "kizuna)",
             dir, KZ_ABI_MAJOR, KZ_ABI_MINOR + 1, KZ_ABI_MAJOR, KZ_ABI_MINOR);
    expect_refused(reg, "abiminor", PLUGIN_ERR_ABI, want);
    snprintf(want, sizeof(want),
             "%s/out_short.so: descriptor struct_size %zu is smaller than the ABI 1.0 "
             "descriptor (%zu bytes)",
             dir, offsetof(struct kz_plugin, emit), sizeof(struct kz_plugin));
    expect_refused(reg, "short", PLUGIN_ERR_ABI, want);
    snprintf(want, sizeof(want),
             "%s/out_noentry.so: no kz_plugin_entry symbol (not a kizuna plugin, or the entry "
             "point is not exported)",
             dir);
    expect_refused(reg, "noentry", PLUGIN_ERR_SYMBOL, want);
    snprintf(want, sizeof(want), "%s/out_nulldesc.so: kz_plugin_entry() returned NULL", dir);
    expect_refused(reg, "nulldesc", PLUGIN_ERR_SYMBOL, want);
    snprintf(want, sizeof(want), "%s/out_noemit.so: plugin 'noemit' has no emit callback", dir);
    expect_refused(reg, "noemit", PLUGIN_ERR_INVALID, want);
    snprintf(want, sizeof(want), "%s/out_noname.so: descriptor has no name", dir);
    expect_refused(reg, "noname", PLUGIN_ERR_INVALID, want);
    snprintf(want, sizeof(want),
             "%s/out_mismatch.so: plugin declares name 'other' but its file name says "
             "'mismatch' (out_mismatch.so must declare \"mismatch\")",
             dir);
    expect_refused(reg, "mismatch", PLUGIN_ERR_INVALID, want);
    snprintf(want, sizeof(want),
             "%s/out_badopt.so: default of option 'n' is 11, out of bounds [1, 10]", dir);
    expect_refused(reg, "badopt", PLUGIN_ERR_INVALID, want);
    snprintf(want, sizeof(want),
             "%s/out_badoffset.so: option 'n' (int) at offset 8 does not fit a config struct "
             "of 8 bytes, or is misaligned",
             dir);
    expect_refused(reg, "badoffset", PLUGIN_ERR_INVALID, want);

    /* dlopen failures carry dlerror()'s text after the file name. */
    is_int(plugin_registry_load(reg, "undefined", &p, err, sizeof(err)), PLUGIN_ERR_DLOPEN,
           "undefined symbol: dlopen refused");
    snprintf(want, sizeof(want), "%s/out_undefined.so: dlopen failed: ", dir);
    ok(strncmp(err, want, strlen(want)) == 0 && contains(err, "kz_test_no_such_function"),
       "undefined symbol: message names file and symbol: %s", err);

    /* A file declaring a name another file already declared. Alone, dup2 is a mismatch. */
    is_int(plugin_registry_load(reg, "dup", &p, err, sizeof(err)), 0, "dup loads");
    snprintf(want, sizeof(want), "%s/out_dup2.so: plugin name 'dup' is already loaded from %s/"
             "out_dup.so", dir, dir);
    expect_refused(reg, "dup2", PLUGIN_ERR_DUPLICATE, want);
    plugin_registry_free(reg);

    reg = plugin_registry_new(dir);
    snprintf(want, sizeof(want),
             "%s/out_dup2.so: plugin declares name 'dup' but its file name says 'dup2' "
             "(out_dup2.so must declare \"dup2\")",
             dir);
    expect_refused(reg, "dup2", PLUGIN_ERR_INVALID, want);
    plugin_registry_free(reg);
}

static void
test_load_all(const char *dir)
{
    struct plugin_registry *reg = plugin_registry_new(dir);
    struct errlist errs = {0};
    char want[2048];
    int found_dup = 0;
    int found_garbage = 0;
    int r = plugin_registry_load_all(reg, &errs);

    ok(r < 0, "load_all reports that some files were refused (%d)", r);
    /* Good: dup, hello, probe. Refused: the 12 broken ones and the garbage file. */
    is_int(plugin_registry_count(reg), 3, "load_all: three plugins loaded");
    is_str(plugin_registry_count(reg) == 3 ? plugin_name(plugin_registry_get(reg, 0)) : NULL,
           "dup", "load_all: sorted by name (0)");
    is_str(plugin_registry_count(reg) == 3 ? plugin_name(plugin_registry_get(reg, 1)) : NULL,
           "hello", "load_all: sorted by name (1)");
    is_str(plugin_registry_count(reg) == 3 ? plugin_name(plugin_registry_get(reg, 2)) : NULL,
           "probe", "load_all: sorted by name (2)");
    ok(plugin_registry_get(reg, 3) == NULL, "load_all: get past the end is NULL");
    is_int(errs.n, 13, "load_all: one message per refused file");
    snprintf(want, sizeof(want), "%s/out_dup2.so: plugin name 'dup' is already loaded from %s/"
             "out_dup.so", dir, dir);
    for (size_t i = 0; i < errs.n; i++) {
        char prefix[1024];

        snprintf(prefix, sizeof(prefix), "%s/out_", dir);
        ok(strncmp(errs.msgs[i], prefix, strlen(prefix)) == 0,
           "load_all message names its file: %s", errs.msgs[i]);
        found_dup |= strcmp(errs.msgs[i], want) == 0;
        found_garbage |= contains(errs.msgs[i], "out_garbage.so: dlopen failed: ");
    }
    ok(found_dup, "load_all: duplicate name refused, naming both files");
    ok(found_garbage, "load_all: a file that is not a shared object is refused");
    errlist_free(&errs);
    plugin_registry_free(reg);
}

static void
test_permissions(void)
{
    char *dir = plugin_stage_dir();
    struct plugin_registry *reg;
    struct errlist errs = {0};
    const struct plugin *p;
    char err[1024];
    char want[2048];
    char *sub;

    plugin_stage_copy(plugin_stage_test_so("probe"), dir, "out_probe.so", 0664);
    reg = plugin_registry_new(dir);
    snprintf(want, sizeof(want),
             "%s/out_probe.so: plugin file is group/world-writable (mode 0664); refusing to load "
             "it (chmod go-w)",
             dir);
    expect_refused(reg, "probe", PLUGIN_ERR_PERM, want);
    {
        char path[1024];
        snprintf(path, sizeof(path), "%s/out_probe.so", dir);
        chmod(path, 0646);
        snprintf(want, sizeof(want),
                 "%s: plugin file is group/world-writable (mode 0646); refusing to load it "
                 "(chmod go-w)",
                 path);
        expect_refused(reg, "probe", PLUGIN_ERR_PERM, want);
        chmod(path, 0755);
        is_int(plugin_registry_load(reg, "probe", &p, err, sizeof(err)), 0,
               "after chmod go-w the plugin loads");
    }
    plugin_registry_free(reg);

    chmod(dir, 0770);
    reg = plugin_registry_new(dir);
    snprintf(want, sizeof(want),
             "%s: plugin directory is group/world-writable (mode 0770); refusing to load plugins "
             "from it (chmod go-w)",
             dir);
    expect_refused(reg, "probe", PLUGIN_ERR_PERM, want);
    is_int(plugin_registry_load_all(reg, &errs), PLUGIN_ERR_PERM, "load_all: unsafe directory");
    ok(errs.n == 1 && strcmp(errs.msgs[0], want) == 0, "load_all: directory message");
    errlist_free(&errs);
    plugin_registry_free(reg);
    chmod(dir, 0700);

    /* Owned by another user (only root can give a file away to test this). */
    if (geteuid() == 0) {
        char path[1024];

        snprintf(path, sizeof(path), "%s/out_probe.so", dir);
        if (chown(path, 65534, (gid_t)-1) == 0) {
            reg = plugin_registry_new(dir);
            snprintf(want, sizeof(want),
                     "%s: plugin file is owned by uid 65534, neither root nor kizunad's user "
                     "(uid 0); refusing to load it",
                     path);
            expect_refused(reg, "probe", PLUGIN_ERR_PERM, want);
            plugin_registry_free(reg);
            chown(path, 0, (gid_t)-1);
        } else {
            tap_skip(3, "chown failed");
        }
    } else {
        tap_skip(3, "not root: cannot give a file to another user");
    }

    /* Not a regular file. */
    sub = xasprintf("%s/out_adir.so", dir);
    mkdir(sub, 0700);
    reg = plugin_registry_new(dir);
    snprintf(want, sizeof(want), "%s: plugin is not a regular file", sub);
    expect_refused(reg, "adir", PLUGIN_ERR_PERM, want);
    plugin_registry_free(reg);
    free(sub);

    /* A directory that does not exist. */
    sub = xasprintf("%s/missing", dir);
    reg = plugin_registry_new(sub);
    snprintf(want, sizeof(want), "%s: No such file or directory", sub);
    expect_refused(reg, "probe", PLUGIN_ERR_NOTFOUND, want);
    plugin_registry_free(reg);
    free(sub);
    plugin_stage_rm(dir);
    free(dir);
}

/* A hand-made rule and alert for the instance tests. */
static struct rule test_rule = {
    .id = (char *)"R1",
    .title = (char *)"rule one",
    .level = RULE_LEVEL_HIGH,
    .hash = "0123456789abcdef",
};

static int
new_instance(const struct plugin *p, const char *text, struct plugin_instance **inst,
             struct errlist *errs)
{
    return plugin_instance_new(p, "soc", yaml(text), host_keys, "cfg.yaml", inst, errs);
}

static void
test_options(const struct plugin *p)
{
    struct plugin_instance *inst = NULL;
    struct errlist errs = {0};
    struct alert *a = alert_new(&test_rule);
    struct buf out;
    char *log;
    int r;

    buf_init(&out);

    plugin_stage_capture_begin();
    r = new_instance(p, "name: soc\nplugin: probe\nlevel: 7\nverbose: yes\nlabel: hello\n"
                        "nodefault: set\ndeliver: {file: /x}\n",
                     &inst, &errs);
    log = plugin_stage_capture_end();
    is_int(r, 0, "options: instance created");
    is_int(errs.n, 0, "options: no errors (host keys skipped)");
    ok(contains(log, "[out_probe:soc] init level=7 verbose=1 label=hello"),
       "plugin log lines are tagged [out_probe:soc]: %s", log);
    ok(contains(log, "[out_probe:soc] open"), "open was called");
    free(log);
    is_str(inst ? plugin_instance_tag(inst) : NULL, "out_probe:soc", "instance tag");
    is_str(inst ? plugin_instance_name(inst) : NULL, "soc", "instance name");
    ok(inst != NULL && plugin_instance_plugin(inst) == p, "instance plugin");
    if (inst != NULL) {
        is_int(plugin_instance_emit(inst, a, &out), KZ_OK, "emit OK");
        is_str(buf_cstr(&out), "partial level=7 verbose=1 label=hello nodefault=set rule=R1\n",
               "config struct filled from YAML, strings host-owned");
    }
    plugin_stage_capture_begin();
    plugin_instance_free(inst);
    log = plugin_stage_capture_end();
    ok(contains(log, "[out_probe:soc] close after 1 alerts"), "free calls close: %s", log);
    free(log);

    /* Defaults; a null value keeps the default. */
    buf_reset(&out);
    r = new_instance(p, "name: soc\nplugin: probe\nlevel: ~\nverbose:\n", &inst, &errs);
    is_int(r, 0, "defaults: instance created");
    if (inst != NULL) {
        plugin_instance_emit(inst, a, &out);
        is_str(buf_cstr(&out),
               "partial level=5 verbose=0 label=dflt nodefault=(null) rule=R1\n",
               "defaults applied; no default leaves NULL");
        plugin_instance_free(inst);
    }
    inst = NULL;
    /* Booleans and integers in their accepted spellings. */
    buf_reset(&out);
    r = new_instance(p, "name: soc\nlevel: '10'\nverbose: 'On'\nlabel: 42\n", &inst, &errs);
    if (inst != NULL) {
        plugin_instance_emit(inst, a, &out);
        plugin_instance_free(inst);
    }
    is_str(buf_cstr(&out), "partial level=10 verbose=1 label=42 nodefault=(null) rule=R1\n",
           "quoted int, On, number as string");
    inst = NULL;

    /* Errors: every problem reported, file order, FILE:LINE:COL of the key or value. */
    plugin_stage_capture_begin();
    r = new_instance(p, "name: soc\nplugin: probe\nfoo: 1\nlevel: 11\nverbose: maybe\n"
                        "label: {a: 1}\ninit_status: five\nemit_status: 99999999999999999999\n",
                     &inst, &errs);
    log = plugin_stage_capture_end();
    is_int(r, PLUGIN_ERR_OPTION, "option errors: refused");
    ok(inst == NULL, "option errors: no instance");
    ok(!contains(log, "init"), "option errors: init never called");
    free(log);
    is_int(errs.n, 6, "option errors: six messages");
    if (errs.n == 6) {
        is_str(errs.msgs[0],
               "cfg.yaml:3:1: output 'soc': plugin 'probe' has no option 'foo' (options: level, "
               "verbose, label, nodefault, init_status, open_status, emit_status, flush_status)",
               "unknown key");
        is_str(errs.msgs[1],
               "cfg.yaml:4:8: output 'soc': plugin 'probe' option 'level' is 11, out of bounds "
               "[1, 10]",
               "int out of bounds");
        is_str(errs.msgs[2],
               "cfg.yaml:5:10: output 'soc': plugin 'probe' option 'verbose' must be true or "
               "false, not 'maybe'",
               "bad bool");
        is_str(errs.msgs[3],
               "cfg.yaml:6:8: output 'soc': plugin 'probe' option 'label' must be a string, not "
               "a map",
               "map for a string");
        is_str(errs.msgs[4],
               "cfg.yaml:7:14: output 'soc': plugin 'probe' option 'init_status' must be an "
               "integer, not 'five'",
               "not an integer");
        is_str(errs.msgs[5],
               "cfg.yaml:8:14: output 'soc': plugin 'probe' option 'emit_status' is "
               "99999999999999999999, out of bounds [-100, 0]",
               "int overflow is out of bounds");
    }
    errlist_free(&errs);

    /* --check-config path: same checks, no instance, no init. */
    r = plugin_options_check(p, "soc", yaml("name: soc\nlevel: 0\n"), host_keys, "cfg.yaml",
                             &errs);
    is_int(r, PLUGIN_ERR_OPTION, "options_check: refused");
    ok(errs.n == 1 && strcmp(errs.msgs[0], "cfg.yaml:2:8: output 'soc': plugin 'probe' option "
                                           "'level' is 0, out of bounds [1, 10]") == 0,
       "options_check: message");
    errlist_free(&errs);
    is_int(plugin_options_check(p, "soc", yaml("name: soc\nlevel: 1\n"), host_keys, "cfg.yaml",
                                &errs),
           0, "options_check: good entry");
    r = plugin_options_check(p, "soc", yaml("- a\n- b\n"), host_keys, "cfg.yaml", &errs);
    ok(r == PLUGIN_ERR_OPTION && errs.n == 1 &&
           strcmp(errs.msgs[0], "cfg.yaml:1:1: output 'soc': expected a map, got a list") == 0,
       "options_check: entry must be a map");
    errlist_free(&errs);

    alert_free(a);
    buf_free(&out);
}

static void
test_lifecycle(const struct plugin *p)
{
    struct plugin_instance *inst = NULL;
    struct plugin_instance_stats st;
    struct errlist errs = {0};
    struct alert *a = alert_new(&test_rule);
    struct buf out;
    char *log;
    int r;

    buf_init(&out);

    plugin_stage_capture_begin();
    r = new_instance(p, "name: soc\ninit_status: -3\n", &inst, &errs);
    log = plugin_stage_capture_end();
    is_int(r, PLUGIN_ERR_INIT, "init failure refused");
    ok(errs.n == 1 &&
           strcmp(errs.msgs[0], "cfg.yaml:1:1: output 'soc': plugin 'probe' init failed (ERR)") ==
               0,
       "init failure message");
    ok(!contains(log, "close"), "no close after a failed init");
    free(log);
    errlist_free(&errs);

    plugin_stage_capture_begin();
    r = new_instance(p, "name: soc\nopen_status: -1\n", &inst, &errs);
    log = plugin_stage_capture_end();
    is_int(r, PLUGIN_ERR_INIT, "open failure refused");
    ok(errs.n == 1 &&
           strcmp(errs.msgs[0], "cfg.yaml:1:1: output 'soc': plugin 'probe' open failed (RETRY)") ==
               0,
       "open failure message");
    ok(contains(log, "[out_probe:soc] close after 0 alerts"), "close after a failed open");
    free(log);
    errlist_free(&errs);

    /* Emit statuses: the buffer is rolled back unless OK; unknown codes count as ERR. */
    {
        static const struct {
            const char *yaml;
            int want;
        } cases[] = {
            {"emit_status: -1\n", KZ_RETRY},
            {"emit_status: -2\n", KZ_AGAIN},
            {"emit_status: -3\n", KZ_ERR},
            {"emit_status: -42\n", KZ_ERR},
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
            inst = NULL;
            new_instance(p, cases[i].yaml, &inst, &errs);
            if (inst == NULL) {
                ok(0, "instance for %s", cases[i].yaml);
                continue;
            }
            buf_reset(&out);
            buf_puts(&out, "keep");
            plugin_stage_capture_begin();
            r = plugin_instance_emit(inst, a, &out);
            log = plugin_stage_capture_end();
            is_int(r, cases[i].want, cases[i].yaml);
            is_str(buf_cstr(&out), "keep", "partial output rolled back");
            plugin_instance_get_stats(inst, &st);
            ok(st.emitted == 0 && st.retry == (cases[i].want == KZ_RETRY) &&
                   st.again == (cases[i].want == KZ_AGAIN) &&
                   st.errors == (cases[i].want == KZ_ERR),
               "stats count the status");
            if (i == 3) {
                ok(contains(log, "[out_probe:soc] emit returned unknown status -42, taken as ERR"),
                   "unknown status logged: %s", log);
            }
            free(log);
            plugin_stage_capture_begin();
            plugin_instance_free(inst);
            free(plugin_stage_capture_end());
        }
    }

    /* Flush appends; a failed flush is rolled back too. */
    inst = NULL;
    new_instance(p, "name: soc\n", &inst, &errs);
    if (inst != NULL) {
        buf_reset(&out);
        plugin_instance_emit(inst, a, &out);
        plugin_instance_emit(inst, a, &out);
        buf_reset(&out);
        is_int(plugin_instance_flush(inst, &out), KZ_OK, "flush OK");
        is_str(buf_cstr(&out), "flushed 2\n", "flush appended");
        plugin_instance_get_stats(inst, &st);
        is_int(st.emitted, 2, "stats: emitted");
        plugin_stage_capture_begin();
        plugin_instance_free(inst);
        free(plugin_stage_capture_end());
    }
    inst = NULL;
    new_instance(p, "name: soc\nflush_status: -2\n", &inst, &errs);
    if (inst != NULL) {
        buf_reset(&out);
        is_int(plugin_instance_flush(inst, &out), KZ_AGAIN, "flush AGAIN");
        is_str(buf_cstr(&out), "", "failed flush rolled back");
        plugin_stage_capture_begin();
        plugin_instance_free(inst);
        free(plugin_stage_capture_end());
    }
    is_int(errs.n, 0, "no unexpected errors");
    errlist_free(&errs);
    alert_free(a);
    buf_free(&out);
}

static void
test_describe(const struct plugin *p)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    char want[4096];

    plugin_describe(p, f);
    fclose(f);
    snprintf(want, sizeof(want),
             "probe 0.0.1 (ABI %d.%d): test plugin that does what its options say\n"
             "  file: %s\n"
             "  option level (int, default 5, 1..10): a bounded int\n"
             "  option verbose (bool, default false): a bool\n"
             "  option label (string, default dflt): a string\n"
             "  option nodefault (string, no default): a string without default\n"
             "  option init_status (int, default 0, -3..0): what init returns\n"
             "  option open_status (int, default 0, -3..0): what open returns\n"
             "  option emit_status (int, default 0, -100..0): what emit returns (after appending "
             "partial bytes)\n"
             "  option flush_status (int, default 0, -100..0): what flush returns\n",
             KZ_ABI_MAJOR, KZ_ABI_MINOR, plugin_path(p));
    is_str(text, want, "plugin_describe");
    free(text);
}

static void
test_strings(void)
{
    is_str(plugin_strerror(PLUGIN_ERR_ABI), "plugin ABI mismatch", "plugin_strerror");
    is_str(plugin_strerror(-1000), "unknown error", "plugin_strerror: unknown");
    is_str(plugin_status_name(KZ_AGAIN), "AGAIN", "plugin_status_name");
    is_str(plugin_status_name(7), "unknown status", "plugin_status_name: unknown");
}

/* The kz_host accessors over struct alert, called directly as a plugin would. */
static void
test_host(void)
{
    const struct kz_host *h = plugin_host_get();
    static char *tags[] = {(char *)"t1", (char *)"t2"};
    struct rule r = {.id = (char *)"R9", .title = (char *)"nine", .level = RULE_LEVEL_MEDIUM,
                     .tags = tags, .ntags = 2, .hash = "00112233aabbccdd",
                     .kind = RULE_CORRELATION};
    struct alert *a = alert_new(&r);
    const struct kz_alert *ka = plugin_host_alert(a);
    struct alert_fields *ev;
    struct kz_field f;
    struct buf b;
    double v = -1;
    size_t len = 0;

    ok(h->abi_major == KZ_ABI_MAJOR && h->abi_minor == KZ_ABI_MINOR &&
           h->struct_size == sizeof(struct kz_host),
       "host: version and size");
    ok(h->alert_str(ka, KZ_ALERT_ID) == NULL, "host: no id before alert_compute_id");
    alert_compute_id(a, "g1", 60000000);
    ok(h->alert_str(ka, KZ_ALERT_ID) != NULL && strlen(h->alert_str(ka, KZ_ALERT_ID)) == 32,
       "host: id is 32 hex digits");
    is_str(h->alert_str(ka, KZ_ALERT_RULE_ID), "R9", "host: rule id");
    is_str(h->alert_str(ka, KZ_ALERT_RULE_TITLE), "nine", "host: rule title");
    is_str(h->alert_str(ka, KZ_ALERT_LEVEL), "medium", "host: level");
    is_str(h->alert_str(ka, KZ_ALERT_KIND), "correlation", "host: kind");
    ok(h->alert_str(ka, KZ_ALERT_CORR_TYPE) == NULL, "host: no corr type set");
    is_str(h->alert_str(ka, KZ_ALERT_GROUP_KEY), "g1", "host: group key");
    is_str(h->alert_str(ka, KZ_ALERT_RULE_HASH), "00112233aabbccdd", "host: rule hash");
    ok(h->alert_str(ka, KZ_ALERT_TLP) == NULL && h->alert_str(ka, KZ_ALERT_PARTNER) == NULL &&
           h->alert_str(ka, KZ_ALERT_HOST) == NULL,
       "host: delivery attributes NULL until set");
    a->tlp = "amber+strict";
    a->partner = "cert";
    a->host_name = "kz-2";
    ok(strcmp(h->alert_str(ka, KZ_ALERT_TLP), "amber+strict") == 0 &&
           strcmp(h->alert_str(ka, KZ_ALERT_PARTNER), "cert") == 0 &&
           strcmp(h->alert_str(ka, KZ_ALERT_HOST), "kz-2") == 0,
       "host: tlp, partner, host");
    ok(h->alert_str(ka, (enum kz_alert_attr)99) == NULL, "host: unknown attribute is NULL");

    a->time_us = 3000000;
    is_int(h->alert_time(ka, KZ_TIME_FIRST), 3000000, "host: first seen defaults to the time");
    is_int(h->alert_time(ka, KZ_TIME_LAST), 3000000, "host: last seen defaults to the time");
    a->first_us = 1000000;
    a->last_us = 2000000;
    ok(h->alert_time(ka, KZ_TIME_ALERT) == 3000000 && h->alert_time(ka, KZ_TIME_FIRST) == 1000000 &&
           h->alert_time(ka, KZ_TIME_LAST) == 2000000,
       "host: times");
    is_int(h->alert_count(ka), 1, "host: count of a new alert is 1");
    ok(h->alert_value(ka, &v) == 0 && v == 0, "host: no value -> 0, *value 0");
    a->value = 2.5;
    a->has_value = 1;
    ok(h->alert_value(ka, &v) == 1 && v == 2.5, "host: value -> 1, *value");
    is_int(h->alert_severity(ka), 2, "host: severity of medium is 2");
    ok(h->alert_ntags(ka) == 2 && strcmp(h->alert_tag(ka, 1), "t2") == 0 &&
           h->alert_tag(ka, 2) == NULL,
       "host: tags, NULL past the end");

    alert_fields_add(&a->fields, "user.name", 9, "root", 4);
    alert_fields_add(&a->group, "source.ip", 9, "10.0.0.9", 8);
    ok(h->alert_nfields(ka, KZ_FIELDS_EVENT) == 1 && h->alert_nfields(ka, KZ_FIELDS_GROUP) == 1 &&
           h->alert_nfields(ka, (enum kz_field_set)7) == 0,
       "host: field counts");
    ok(h->alert_field(ka, KZ_FIELDS_GROUP, 0, &f) == KZ_OK && f.name_len == 9 &&
           memcmp(f.name, "source.ip", 9) == 0 && f.value_len == 8,
       "host: group field");
    ok(h->alert_field(ka, KZ_FIELDS_EVENT, 1, &f) == KZ_ERR &&
           h->alert_field(ka, (enum kz_field_set)7, 0, &f) == KZ_ERR,
       "host: KZ_ERR past the end or for an unknown set");
    ok(h->alert_get(ka, "user.name", &len) != NULL && len == 4 &&
           h->alert_get(ka, "user.name", NULL) != NULL && h->alert_get(ka, "nope", &len) == NULL,
       "host: alert_get");
    ev = alert_add_evidence(a);
    alert_fields_add(ev, "message", 7, "m", 1);
    ok(h->alert_nevidence(ka) == 1 && h->evidence_nfields(ka, 0) == 1 &&
           h->evidence_nfields(ka, 1) == 0,
       "host: evidence counts");
    ok(h->evidence_field(ka, 0, 0, &f) == KZ_OK && f.value_len == 1 &&
           h->evidence_field(ka, 0, 1, &f) == KZ_ERR && h->evidence_field(ka, 3, 0, &f) == KZ_ERR,
       "host: evidence fields");

    buf_init(&b);
    h->buf_append(plugin_host_buf(&b), "x", 1);
    h->buf_printf(plugin_host_buf(&b), "%d|", 7);
    h->buf_time(plugin_host_buf(&b), 1795741323000004);
    h->buf_append(plugin_host_buf(&b), "|", 1);
    h->buf_json_string(plugin_host_buf(&b), "q\"", 2);
    h->buf_xml_text(plugin_host_buf(&b), "<&>", 3);
    h->buf_json_string(plugin_host_buf(&b), NULL, 5);
    is_str(buf_cstr(&b), "x7|2026-11-27T01:02:03.000004Z|\"q\\\"\"&lt;&amp;&gt;\"\"",
           "host: buffer functions");
    is_int(h->buf_len(plugin_host_buf(&b)), b.len, "host: buf_len");
    buf_free(&b);
    alert_free(a);
}

/* The documented example plugin (docs/PLUGINS.md) loads and does what the guide says. */
static void
test_hello(struct plugin_registry *reg)
{
    const struct plugin *p = NULL;
    struct plugin_instance *inst = NULL;
    struct errlist errs = {0};
    struct alert *a = alert_new(&test_rule);
    struct buf out;
    char err[1024];

    buf_init(&out);
    a->time_us = 1795741323000004;
    if (!ok(plugin_registry_load(reg, "hello", &p, err, sizeof(err)) == 0,
            "documented example loads: %s", err)) {
        goto out;
    }
    plugin_instance_new(p, "soc", yaml("name: soc\nplugin: hello\ngreeting: alert\n"),
                        host_keys, "cfg.yaml", &inst, &errs);
    if (ok(inst != NULL, "documented example: instance")) {
        plugin_instance_emit(inst, a, &out);
        plugin_instance_free(inst);
    }
    inst = NULL;
    plugin_instance_new(p, "soc", yaml("name: soc\n"), host_keys, "cfg.yaml", &inst, &errs);
    if (inst != NULL) {
        plugin_instance_emit(inst, a, &out);
        plugin_instance_free(inst);
    }
    is_str(buf_cstr(&out),
           "alert R1 2026-11-27T01:02:03.000004Z\nhello R1 2026-11-27T01:02:03.000004Z\n",
           "documented example: output as the guide says, option and default");
    is_int(errs.n, 0, "documented example: no errors");
out:
    errlist_free(&errs);
    alert_free(a);
    buf_free(&out);
}

int
main(void)
{
    char *dir = plugin_stage_dir();
    struct plugin_registry *reg;
    const struct plugin *probe = NULL;
    char err[1024];
    FILE *f;
    char *path;

    for (size_t i = 0; i < sizeof(test_plugins) / sizeof(test_plugins[0]); i++) {
        char name[64];

        snprintf(name, sizeof(name), "out_%s.so", test_plugins[i]);
        if (plugin_stage_copy(plugin_stage_test_so(test_plugins[i]), dir, name, 0755) != 0) {
            tap_plan(1);
            ok(0, "stage %s", plugin_stage_test_so(test_plugins[i]));
            return tap_done();
        }
    }
    path = xasprintf("%s/out_garbage.so", dir);
    f = fopen(path, "w");
    fputs("not an ELF file\n", f);
    fclose(f);
    chmod(path, 0644);
    free(path);

    test_strings();
    test_host();
    test_load(dir);
    test_load_all(dir);
    test_permissions();

    reg = plugin_registry_new(dir);
    if (plugin_registry_load(reg, "probe", &probe, err, sizeof(err)) != 0) {
        ok(0, "probe loads: %s", err);
    } else {
        test_options(probe);
        test_lifecycle(probe);
        test_describe(probe);
    }
    test_hello(reg);
    plugin_registry_free(reg);

    for (size_t i = 0; i < yaml_n; i++) {
        yaml_tree_free_docs(yaml_docs[i], yaml_ndocs[i]);
    }
    plugin_stage_rm(dir);
    free(dir);
    return tap_done();
}
