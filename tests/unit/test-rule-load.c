/*
 * Loading rules: the exact FILE:LINE:COL message of every kind of load error, several
 * problems reported at once, multi-document files, directories, globs, one bad file among
 * good ones, duplicate ids across files, correlation documents.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rule.h"
#include "tap.h"
#include "test-rule-util.h"
#include "xmalloc.h"

struct ecase {
    const char *name;
    const char *yaml;
    const char *want[10]; /* messages after "PATH:" */
};

static const struct ecase ecases[] = {
    {"unknown-modifier.yml",
     "id: e1\ndetection:\n  sel:\n    message|contain: x\n  condition: sel\n",
     {"4:13: rule e1: unknown modifier 'contain' in 'message|contain'"}},
    {"modifiers.yml",
     "id: e2\ndetection:\n  sel:\n    message|base64: x\n    message|contains|re: y\n"
     "    a|: z\n  condition: sel\n",
     {"4:13: rule e2: modifier 'base64' is not supported (in 'message|base64')",
      "5:22: rule e2: modifiers 'contains' and 're' cannot be combined in 'message|contains|re'",
      "6:7: rule e2: empty modifier in 'a|'"}},
    {"unknown-selection.yml",
     "id: e3\ndetection:\n  sel: {a: 1}\n  condition: sel and nope\n",
     {"4:22: rule e3: unknown selection 'nope' in condition"}},
    {"unknown-selection-quoted.yml",
     "id: e3q\ndetection:\n  sel: {a: 1}\n  condition: 'sel or (not sel and nope)'\n",
     {"4:35: rule e3q: unknown selection 'nope' in condition"}},
    {"condition-syntax.yml",
     "id: e4\ndetection:\n  sel: {a: 1}\n  condition: sel or\n"
     "---\n"
     "id: e5\ndetection:\n  sel: {a: 1}\n  condition: sel )\n"
     "---\n"
     "id: e6\ndetection:\n  sel: {a: 1}\n  condition: all sel\n"
     "---\n"
     "id: e7\ndetection:\n  sel: {a: 1}\n  condition: (sel\n"
     "---\n"
     "id: e8\ndetection:\n  sel: {a: 1}\n  condition: ''\n"
     "---\n"
     "id: e9\ndetection:\n  sel: {a: 1}\n  condition: 1 of x*\n"
     "---\n"
     "id: e10\ndetection:\n  sel: {a: 1}\n  condition: [sel, {a: b}]\n",
     {"4:20: rule e4: syntax error in condition: expected a selection, found end of condition",
      "9:18: rule e5: syntax error in condition: unexpected ')'",
      "14:18: rule e6: syntax error in condition: expected 'of', found 'sel'",
      "19:14: rule e7: syntax error in condition: missing ')' (found end of condition)",
      "24:15: rule e8: empty condition",
      "29:19: rule e9: no selection matches 'x*' in condition",
      "34:20: rule e10: 'condition' must be a string or a list of strings"}},
    {"regex.yml",
     "id: e11\ndetection:\n  sel:\n    message|re: 'Failed (password'\n  condition: sel\n",
     {"4:34: rule e11: invalid regular expression in 'message|re': missing closing "
      "parenthesis at offset 16"}},
    {"types.yml",
     "id: e12\ntitle: [a, b]\ntags: {a: b}\nlevel: severe\ncolour: red\ngenerate: false\n"
     "detection:\n  sel: {a: {b: c}}\n  condition: sel\n",
     {"2:8: rule e12: 'title' must be a string, not a list",
      "3:7: rule e12: 'tags' must be a list of strings, not a map",
      "4:8: rule e12: unknown level 'severe' (informational, low, medium, high, critical)",
      "5:1: rule e12: unknown key 'colour'",
      "6:1: rule e12: unknown key 'generate' ('generate' belongs inside 'correlation:')",
      "8:12: rule e12: value of 'a' must be a string, a number or a list of them, not a map"}},
    {"missing.yml",
     "title: no id\ndetection:\n  sel: {a: 1}\n  condition: sel\n"
     "---\n"
     "id: e13\ntitle: no detection\n"
     "---\n"
     "id: e14\ndetection:\n  sel: {a: 1}\n"
     "---\n"
     "id: e15\ndetection:\n  condition: sel\n"
     "---\n"
     "id: 'has space'\ndetection: {sel: {a: 1}, condition: sel}\n"
     "---\n"
     "- a list\n",
     {"1:1: rule (document 1): missing required key 'id'",
      "6:1: rule e13: missing required key 'detection' (or 'correlation')",
      "11:3: rule e14: detection has no 'condition'",
      "15:3: rule e15: detection has no selections",
      "17:5: rule (document 5): 'id' must be a non-empty string without spaces",
      "20:1: rule (document 6): a rule document must be a map, not a list"}},
    {"values.yml",
     "id: e16\ndetection:\n  sel:\n    ip|cidr: 10.0.0.0/33\n    n|gt: ten\n    v: [a, null]\n"
     "    e|exists: maybe\n    m|re|cased: x\n    k|i: x\n    '': y\n    w: []\n"
     "    c|cidr: [1.2.3.4/24, nope]\n  condition: sel\n",
     {"4:14: rule e16: invalid CIDR network '10.0.0.0/33' in 'ip|cidr'",
      "5:11: rule e16: 'ten' is not a number (in 'n|gt')",
      "6:12: rule e16: null cannot be part of a list of values (in 'v'); use a separate "
      "selection",
      "7:15: rule e16: 'exists' needs true or false (in 'e|exists')",
      "8:5: rule e16: modifier 'cased' does not apply to 're' (in 'm|re|cased')",
      "9:5: rule e16: modifiers 'i', 'm' and 's' only apply to 're' (in 'k|i')",
      "10:5: rule e16: empty field name",
      "11:8: rule e16: empty list of values for 'w'",
      "12:26: rule e16: invalid CIDR network 'nope' in 'c|cidr'"}},
    {"selections.yml",
     "id: e17\ndetection:\n  empty: []\n  mixed: [{a: 1}, x]\n  nothing:\n  sel: {a: 1}\n"
     "  timeframe: 5m\n  condition: sel\nfields:\n  usr: user.name\n",
     {"3:10: rule e17: selection 'empty' is empty",
      "4:10: rule e17: selection 'mixed' must be a map, a list of maps or a list of strings",
      "5:11: rule e17: selection 'nothing' is empty",
      "7:3: rule e17: 'timeframe' is not supported in detection; use a correlation rule",
      "10:3: rule e17: 'fields': 'usr' is not a named capture of any re test"}},
    {"both.yml",
     "id: e18\ndetection:\n  sel: {a: 1}\n  condition: sel\ncorrelation:\n  type: event_count\n",
     {"6:3: rule e18: 'detection' and 'correlation' cannot both be present"}},
    {"duplicate.yml",
     "id: e19\ndetection: {sel: {a: 1}, condition: sel}\n"
     "---\n"
     "id: e19\ndetection: {sel: {b: 1}, condition: sel}\n",
     {"4:5: rule e19: duplicate id (first defined at @:1:5)"}},
    {"yaml-syntax.yml",
     "id: e20\ndetection:\n  sel: {a: 1\n  condition: sel\n",
     {"4:12: did not find expected ',' or '}'"}},
};

/* Replace '@' in a message by the path. */
static char *
expand(const char *msg, const char *path)
{
    const char *at = strchr(msg, '@');

    if (at == NULL) {
        return xasprintf("%s:%s", path, msg);
    }
    return xasprintf("%s:%.*s%s%s", path, (int)(at - msg), msg, path, at + 1);
}

static void
test_errors(void)
{
    for (size_t i = 0; i < sizeof(ecases) / sizeof(ecases[0]); i++) {
        const struct ecase *c = &ecases[i];
        const char *path = rt_write(c->name, c->yaml);
        struct errlist errs = {0};
        struct ruleset *rs = rt_load(path, NULL, &errs);
        size_t nwant = 0;

        while (nwant < 10 && c->want[nwant] != NULL) {
            nwant++;
        }
        is_int(errs.n, nwant, c->name);
        for (size_t k = 0; k < nwant; k++) {
            char *want = expand(c->want[k], path);
            char what[128];
            snprintf(what, sizeof(what), "%s: message %zu", c->name, k + 1);
            is_str(k < errs.n ? errs.msgs[k] : NULL, want, what);
            free(want);
        }
        if (nwant > 0 && errs.n > nwant) {
            for (size_t k = nwant; k < errs.n; k++) {
                printf("# extra: %s\n", errs.msgs[k]);
            }
        }
        ruleset_free(rs);
        errlist_free(&errs);
    }
}

static char *
data_path(const char *rel)
{
    const char *top = getenv("top_srcdir");

    return xasprintf("%s/tests/data/rules/%s", top != NULL ? top : ".", rel);
}

static int
has_rule(const struct ruleset *rs, const char *id)
{
    return rs != NULL && ruleset_find(rs, id) != NULL;
}

static void
test_files(void)
{
    struct errlist errs = {0};
    struct ruleset *rs = NULL;
    char *good = data_path("good"), *mixed = data_path("mixed");
    char *ssh = data_path("good/ssh.yml"), *glob_yml = data_path("good/*.yml");
    char *glob_none = data_path("good/*.nothing"), *missing = data_path("good/missing.yml");
    char *want;
    int r;

    /* A directory: *.yml and *.yaml, sorted, notes.txt ignored; multi-document file. */
    {
        const char *paths[] = {good};
        r = ruleset_load(paths, 1, NULL, &rs, &errs);
        ok(r == 0 && errs.n == 0 && rs != NULL && ruleset_count(rs) == 4,
           "directory: 4 rules from ssh.yml (3 documents) and web.yaml");
        ok(rs != NULL && strcmp(ruleset_rule(rs, 0)->id, "t-ssh-failed") == 0 &&
               strcmp(ruleset_rule(rs, 2)->id, "t-ssh-invalid") == 0 &&
               strcmp(ruleset_rule(rs, 3)->id, "t-web-404") == 0 &&
               ruleset_rule(rs, 3)->index == 3,
           "rule order: files by name, documents in order");
        ok(rs != NULL && ruleset_rule(rs, 1)->line == 15 &&
               ruleset_rule(rs, 1)->level == RULE_LEVEL_INFORMATIONAL,
           "second document: line 15, level informational");
        ruleset_free(rs);
        rs = NULL;
    }
    /* A glob; the same file given twice is loaded once. */
    {
        const char *paths[] = {glob_yml, ssh};
        r = ruleset_load(paths, 2, NULL, &rs, &errs);
        ok(r == 0 && errs.n == 0 && rs != NULL && ruleset_count(rs) == 3 &&
               !has_rule(rs, "t-web-404"),
           "glob *.yml: ssh.yml only, once");
        ruleset_free(rs);
        rs = NULL;
    }
    /* A glob matching nothing, a missing file. */
    {
        const char *paths[] = {glob_none, missing, ssh};
        r = ruleset_load(paths, 3, NULL, &rs, &errs);
        ok(r == 0 && rs != NULL && ruleset_count(rs) == 3, "bad paths do not stop good ones");
        want = xasprintf("%s:0:0: no file matches this pattern", glob_none);
        is_str(errs.n > 0 ? errs.msgs[0] : NULL, want, "glob without match reported");
        free(want);
        want = xasprintf("%s:0:0: cannot open: No such file or directory", missing);
        is_str(errs.n > 1 ? errs.msgs[1] : NULL, want, "missing file reported");
        free(want);
        errlist_free(&errs);
        ruleset_free(rs);
        rs = NULL;
    }
    /* One bad file (YAML error) and one bad rule among good ones. */
    {
        const char *paths[] = {mixed};
        char *bad = data_path("mixed/b-bad.yml"), *c = data_path("mixed/c-good.yml");
        r = ruleset_load(paths, 1, NULL, &rs, &errs);
        ok(r == 0 && rs != NULL && ruleset_count(rs) == 3 && has_rule(rs, "m-a") &&
               has_rule(rs, "m-c") && has_rule(rs, "m-e") && !has_rule(rs, "m-d"),
           "mixed: m-a, m-c, m-e load; b-bad.yml and m-d do not");
        is_int(errs.n, 2, "mixed: two errors");
        want = xasprintf("%s:4:12: did not find expected ',' or '}'", bad);
        is_str(errs.n > 0 ? errs.msgs[0] : NULL, want, "mixed: YAML error of b-bad.yml");
        free(want);
        want = xasprintf("%s:5:25: rule m-d: unknown modifier 'contians' in 'message|contians'",
                         c);
        is_str(errs.n > 1 ? errs.msgs[1] : NULL, want, "mixed: bad modifier of m-d");
        free(want);
        free(bad);
        free(c);
        errlist_free(&errs);
        ruleset_free(rs);
        rs = NULL;
    }
    /* Duplicate id across files names both places. */
    {
        const char *p2 = rt_write("dup.yml", "# again\nid: t-ssh-accepted\n"
                                             "detection: {s: {a: 1}, condition: s}\n");
        const char *paths[] = {ssh, p2};
        r = ruleset_load(paths, 2, NULL, &rs, &errs);
        want = xasprintf("%s:2:5: rule t-ssh-accepted: duplicate id (first defined at %s:15:5)",
                         p2, ssh);
        ok(r == 0 && rs != NULL && ruleset_count(rs) == 3, "duplicate refused, others kept");
        is_str(errs.n > 0 ? errs.msgs[0] : NULL, want, "duplicate names both places");
        free(want);
        errlist_free(&errs);
        ruleset_free(rs);
        rs = NULL;
    }
    /* Nothing at all: an empty set without errors; only errors: -1. */
    {
        const char *p = rt_write("empty.yml", "# nothing here\n");
        const char *paths[] = {p};
        r = ruleset_load(paths, 1, NULL, &rs, &errs);
        ok(r == 0 && rs != NULL && ruleset_count(rs) == 0 && errs.n == 0,
           "empty file: empty set, no error");
        ruleset_free(rs);
        rs = NULL;
        p = rt_write("allbad.yml", "id: x\n");
        paths[0] = p;
        r = ruleset_load(paths, 1, NULL, &rs, &errs);
        ok(r == -1 && rs == NULL && errs.n == 1, "only bad rules: -1, no set");
        errlist_free(&errs);
    }
    free(good);
    free(mixed);
    free(ssh);
    free(glob_yml);
    free(glob_none);
    free(missing);
}

static int corr_calls;

static void
corr_cb(void *arg, const struct rule *rule, struct event *ev)
{
    corr_calls++;
}

static void
test_correlation(void)
{
    const char *doc =
        "id: c-failed\ntitle: failed\ndetection: {s: {message|contains: failed}, condition: s}\n"
        "---\n"
        "id: c-brute\ntitle: brute force\nlevel: high\n"
        "correlation:\n  type: event_count\n  rules: [c-failed]\n  group-by: [source.ip]\n"
        "  timespan: 60s\n  condition: {gte: 5}\n";
    struct errlist errs = {0};
    struct ruleset *rs = rt_load(rt_write("corr.yml", doc), NULL, &errs);
    const struct rule *c, *d;
    struct event ev;
    const char *kv[] = {"message", "failed password", NULL};

    for (size_t i = 0; i < errs.n; i++) {
        printf("# %s\n", errs.msgs[i]);
    }
    ok(rs != NULL && ruleset_count(rs) == 2 && errs.n == 0, "detection + correlation load");
    c = rs != NULL ? ruleset_find(rs, "c-brute") : NULL;
    d = rs != NULL ? ruleset_find(rs, "c-failed") : NULL;
    ok(c != NULL && c->kind == RULE_CORRELATION && c->det == NULL && c->corr != NULL &&
           c->level == RULE_LEVEL_HIGH && strlen(c->hash) == 16,
       "correlation rule: kind, level, hash");
    ok(d != NULL && d->kind == RULE_DETECTION && d->generate == 0,
       "referenced detection rule: generate 0 after linking");
    event_init(&ev);
    rt_event(&ev, kv);
    ok(rs != NULL && ruleset_match(rs, &ev, corr_cb, NULL) == 1 && corr_calls == 1,
       "only the detection rule is matched per event");
    event_free(&ev);
    ruleset_free(rs);
    errlist_free(&errs);
}

/* Every rule of the SigmaHQ corpus (linux and network, read-only in ../shared) loads. */
static void
test_sigma_corpus(void)
{
    const char *top = getenv("top_srcdir");
    char *base = xasprintf("%s/../shared/corpus/sigma/sigma/rules", top != NULL ? top : ".");
    char *pats[4];
    struct errlist errs = {0};
    struct ruleset *rs = NULL;
    int r;

    pats[0] = xasprintf("%s/linux/*/*.yml", base);
    pats[1] = xasprintf("%s/linux/*/*/*.yml", base);
    pats[2] = xasprintf("%s/network/*/*.yml", base);
    pats[3] = xasprintf("%s/network/*/*/*.yml", base);
    if (access(base, R_OK) != 0) {
        tap_skip(2, "../shared/corpus/sigma not available");
    } else {
        r = ruleset_load((const char *const *)pats, 4, NULL, &rs, &errs);
        for (size_t i = 0; i < errs.n && i < 5; i++) {
            printf("# %s\n", errs.msgs[i]);
        }
        ok(r == 0 && rs != NULL && errs.n == 0, "SigmaHQ linux and network rules load (%zu)",
           rs != NULL ? ruleset_count(rs) : 0);
        ok(rs != NULL && ruleset_count(rs) >= 250, "all of them");
    }
    ruleset_free(rs);
    errlist_free(&errs);
    for (int i = 0; i < 4; i++) {
        free(pats[i]);
    }
    free(base);
}

int
main(void)
{
    test_errors();
    test_files();
    test_correlation();
    test_sigma_corpus();
    return tap_done();
}
