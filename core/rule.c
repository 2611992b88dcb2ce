/*
 * Rule sets: load every rule document from files, directories and globs, refuse duplicate
 * ids, link correlations, and assemble the immutable set (rule order, id index, matching
 * scratch, prefilter). Also the small public helpers of rule.h (levels, lookups, stats).
 */
#include <errno.h>
#include <glob.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "corr.h"
#include "rule-int.h"
#include "xmalloc.h"

static const char *const rule_level_names[] = {
    "informational", "low", "medium", "high", "critical",
};

/* The level's name ("medium"), a static string; "?" for an invalid level. */
const char *
rule_level_name(enum rule_level level)
{
    if ((unsigned)level >= sizeof(rule_level_names) / sizeof(rule_level_names[0])) {
        return "?";
    }
    return rule_level_names[level];
}

/* Parse a level name (any case) into *out. Returns 0, or -1 when unknown. */
int
rule_level_parse(const char *s, enum rule_level *out)
{
    for (size_t i = 0; i < sizeof(rule_level_names) / sizeof(rule_level_names[0]); i++) {
        if (strcasecmp(s, rule_level_names[i]) == 0) {
            *out = (enum rule_level)i;
            return 0;
        }
    }
    return -1;
}

/* Release a rule and everything it owns (accepts NULL). */
void
rule_free(struct rule *rule)
{
    if (rule == NULL) {
        return;
    }
    free(rule->id);
    free(rule->title);
    for (size_t i = 0; i < rule->ntags; i++) {
        free(rule->tags[i]);
    }
    free(rule->tags);
    free(rule->file);
    rule_parse_free_detection(rule->det);
    if (rule->corr != NULL) {
        corr_rule_free(rule->corr);
    }
    free(rule);
}

/* ---- collecting files ----------------------------------------------------------------- */

struct rule_files {
    char **paths; /* as given/expanded, for messages */
    char **real;  /* realpath, to load a file once */
    size_t n;
};

static void
rule_files_add(struct rule_files *fl, const char *path)
{
    char *rp = realpath(path, NULL);

    for (size_t i = 0; rp != NULL && i < fl->n; i++) {
        if (fl->real[i] != NULL && strcmp(fl->real[i], rp) == 0) {
            free(rp);
            return;
        }
    }
    fl->paths = xreallocarray(fl->paths, fl->n + 1, sizeof(*fl->paths));
    fl->real = xreallocarray(fl->real, fl->n + 1, sizeof(*fl->real));
    fl->paths[fl->n] = xstrdup(path);
    fl->real[fl->n++] = rp;
}

static int
rule_strcmp_p(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every *.yml and *.yaml directly in dir, sorted by name. */
static void
rule_files_dir(struct rule_files *fl, const char *dir)
{
    static const char *const pats[] = {"*.yml", "*.yaml"};
    char **names = NULL;
    size_t n = 0;

    for (size_t p = 0; p < 2; p++) {
        glob_t g;
        char *pat = xasprintf("%s/%s", dir, pats[p]);
        if (glob(pat, 0, NULL, &g) == 0) {
            for (size_t i = 0; i < g.gl_pathc; i++) {
                names = xreallocarray(names, n + 1, sizeof(*names));
                names[n++] = xstrdup(g.gl_pathv[i]);
            }
            globfree(&g);
        }
        free(pat);
    }
    if (n > 1) {
        qsort(names, n, sizeof(*names), rule_strcmp_p);
    }
    for (size_t i = 0; i < n; i++) {
        struct stat st;
        if (stat(names[i], &st) == 0 && S_ISREG(st.st_mode)) {
            rule_files_add(fl, names[i]);
        }
        free(names[i]);
    }
    free(names);
}

static void
rule_files_path(struct rule_files *fl, const char *path, struct errlist *errs)
{
    struct stat st;

    if (stat(path, &st) < 0) {
        errlist_add(errs, path, 0, 0, "cannot open: %s", strerror(errno));
        return;
    }
    if (S_ISDIR(st.st_mode)) {
        rule_files_dir(fl, path);
    } else {
        rule_files_add(fl, path);
    }
}

static void
rule_files_collect(struct rule_files *fl, const char *const *paths, size_t npaths,
                   struct errlist *errs)
{
    for (size_t i = 0; i < npaths; i++) {
        glob_t g;
        int rc;

        if (strpbrk(paths[i], "*?[") == NULL) {
            rule_files_path(fl, paths[i], errs);
            continue;
        }
        rc = glob(paths[i], 0, NULL, &g);
        if (rc == GLOB_NOMATCH) {
            errlist_add(errs, paths[i], 0, 0, "no file matches this pattern");
            continue;
        }
        if (rc != 0) {
            errlist_add(errs, paths[i], 0, 0, "cannot expand this pattern");
            continue;
        }
        for (size_t k = 0; k < g.gl_pathc; k++) {
            rule_files_path(fl, g.gl_pathv[k], errs);
        }
        globfree(&g);
    }
}

static void
rule_files_free(struct rule_files *fl)
{
    for (size_t i = 0; i < fl->n; i++) {
        free(fl->paths[i]);
        free(fl->real[i]);
    }
    free(fl->paths);
    free(fl->real);
}

/* ---- the set ------------------------------------------------------------------------ */

static uint32_t
rule_id_hash(const char *id)
{
    return event_name_hash(id, strlen(id));
}

static struct rule *
rule_by_id(struct rule **tab, size_t cap, const char *id)
{
    for (size_t i = rule_id_hash(id) & (cap - 1); tab[i] != NULL; i = (i + 1) & (cap - 1)) {
        if (strcmp(tab[i]->id, id) == 0) {
            return tab[i];
        }
    }
    return NULL;
}

static void
rule_by_id_insert(struct rule **tab, size_t cap, struct rule *rule)
{
    size_t i = rule_id_hash(rule->id) & (cap - 1);

    while (tab[i] != NULL) {
        i = (i + 1) & (cap - 1);
    }
    tab[i] = rule;
}

/* Where each loaded rule's id was written, for duplicate messages. */
struct rule_pos {
    int line;
    int col;
};

/* Index, id table, detection list, matching scratch and prefilter. */
static int
rule_set_assemble(struct ruleset *rs)
{
    uint32_t max_groups = 1, max_sels = 1;

    rs->by_id_cap = 16;
    while (rs->by_id_cap < rs->nrules * 2) {
        rs->by_id_cap *= 2;
    }
    rs->by_id = xcalloc(rs->by_id_cap, sizeof(*rs->by_id));
    rs->det = xcalloc(rs->nrules > 0 ? rs->nrules : 1, sizeof(*rs->det));
    for (size_t i = 0; i < rs->nrules; i++) {
        struct rule *r = rs->rules[i];
        r->index = (uint32_t)i;
        rule_by_id_insert(rs->by_id, rs->by_id_cap, r);
        if (r->kind == RULE_DETECTION && r->det != NULL) {
            rs->det[rs->ndet++] = r;
            if (r->det->max_groups > max_groups) {
                max_groups = r->det->max_groups;
            }
            if (r->det->nsels > max_sels) {
                max_sels = r->det->nsels;
            }
        }
    }
    rs->all_cands = xcalloc(rs->ndet > 0 ? rs->ndet : 1, sizeof(*rs->all_cands));
    for (uint32_t i = 0; i < rs->ndet; i++) {
        rs->all_cands[i] = i;
    }
    rs->m.limit_hits = &rs->stats.match_limit_hits;
    if (rule_regex_mctx_init(&rs->m, &rs->opts, max_groups, max_sels) < 0) {
        return -1;
    }
    rs->m.limit_hits = &rs->stats.match_limit_hits;
    rs->pf = rule_prefilter_build(rs->det, rs->ndet, RULE_SCAN_AUTO);
    return 0;
}

static void
rule_load_file(struct ruleset *rs, struct rule_pos **pos, size_t *cap, const char *path,
               struct errlist *errs)
{
    struct ynode **docs = NULL;
    size_t ndocs = 0;
    char err[1024];

    if (yaml_tree_load_file(path, &docs, &ndocs, err, sizeof(err)) < 0) {
        errlist_add_raw(errs, err);
        return;
    }
    for (size_t d = 0; d < ndocs; d++) {
        struct rule *rule, *prev;
        const struct ynode *id;

        if (docs[d]->type == YNODE_SCALAR && ynode_is_null(docs[d])) {
            continue; /* an empty document (a trailing ---) */
        }
        if (rule_parse_doc(path, (int)d + 1, docs[d], &rule, errs) < 0) {
            continue;
        }
        id = ynode_get(docs[d], "id");
        prev = rule_by_id(rs->by_id, rs->by_id_cap, rule->id);
        if (prev != NULL) {
            errlist_add(errs, path, id->line, id->col,
                        "rule %s: duplicate id (first defined at %s:%d:%d)", rule->id,
                        prev->file, (*pos)[prev->index].line, (*pos)[prev->index].col);
            rule_free(rule);
            continue;
        }
        if (rs->nrules == *cap) {
            *cap = *cap ? *cap * 2 : 64;
            rs->rules = xreallocarray(rs->rules, *cap, sizeof(*rs->rules));
            *pos = xreallocarray(*pos, *cap, sizeof(**pos));
        }
        rule->index = (uint32_t)rs->nrules;
        (*pos)[rs->nrules].line = id->line;
        (*pos)[rs->nrules].col = id->col;
        rs->rules[rs->nrules++] = rule;
        if (rs->nrules * 2 > rs->by_id_cap) {
            free(rs->by_id);
            rs->by_id_cap = rs->by_id_cap ? rs->by_id_cap * 2 : 64;
            rs->by_id = xcalloc(rs->by_id_cap, sizeof(*rs->by_id));
            for (size_t i = 0; i < rs->nrules; i++) {
                rule_by_id_insert(rs->by_id, rs->by_id_cap, rs->rules[i]);
            }
        } else {
            rule_by_id_insert(rs->by_id, rs->by_id_cap, rule);
        }
    }
    yaml_tree_free_docs(docs, ndocs);
}

/*
 * Load every rule of paths (files, directories, globs) into a new rule set (see rule.h).
 * Problems go to errs. Returns 0 with *out set (the caller frees it with ruleset_free()),
 * also when some rules were refused; -1 with *out NULL when no rule loaded and there were
 * errors. A path list that names no rule at all gives an empty set. Any thread; the set is
 * then used by one thread at a time.
 */
int
ruleset_load(const char *const *paths, size_t npaths, const struct ruleset_opts *opts,
             struct ruleset **out, struct errlist *errs)
{
    struct ruleset *rs = xcalloc(1, sizeof(*rs));
    struct rule_files fl = {0};
    struct rule_pos *pos = NULL;
    size_t cap = 0, nerr0 = errs->n;
    int r = -1;

    *out = NULL;
    if (opts != NULL) {
        rs->opts = *opts;
    }
    rs->by_id_cap = 64;
    rs->by_id = xcalloc(rs->by_id_cap, sizeof(*rs->by_id));
    rule_files_collect(&fl, paths, npaths, errs);
    for (size_t i = 0; i < fl.n; i++) {
        rule_load_file(rs, &pos, &cap, fl.paths[i], errs);
    }
    if (rs->nrules > 0) {
        corr_rules_link(rs->rules, rs->nrules, errs);
    }
    free(rs->by_id);
    rs->by_id = NULL;
    if (rs->nrules == 0 && errs->n > nerr0) {
        goto out; /* nothing could be built */
    }
    if (rule_set_assemble(rs) < 0) {
        errlist_add(errs, "rules", 0, 0, "cannot allocate PCRE2 match data");
        goto out;
    }
    *out = rs;
    rs = NULL;
    r = 0;
out:
    ruleset_free(rs);
    rule_files_free(&fl);
    free(pos);
    return r;
}

/* Release a rule set and every rule in it (accepts NULL). */
void
ruleset_free(struct ruleset *rs)
{
    if (rs == NULL) {
        return;
    }
    for (size_t i = 0; i < rs->nrules; i++) {
        rule_free(rs->rules[i]);
    }
    free(rs->rules);
    free(rs->det);
    free(rs->by_id);
    free(rs->all_cands);
    rule_regex_mctx_free(&rs->m);
    rule_prefilter_free(rs->pf);
    free(rs);
}

/* Number of rules (detection and correlation) in the set. */
size_t
ruleset_count(const struct ruleset *rs)
{
    return rs->nrules;
}

/* Rule number i (its index), owned by the set; NULL past the end. */
const struct rule *
ruleset_rule(const struct ruleset *rs, size_t i)
{
    return i < rs->nrules ? rs->rules[i] : NULL;
}

/* The rule with that id, owned by the set, or NULL. */
const struct rule *
ruleset_find(const struct ruleset *rs, const char *id)
{
    if (rs->by_id == NULL) {
        return NULL;
    }
    return rule_by_id(rs->by_id, rs->by_id_cap, id);
}

/* Copy the set's counters (rules evaluated, matched, regex limit hits) into *out. */
void
ruleset_get_stats(const struct ruleset *rs, struct ruleset_stats *out)
{
    *out = rs->stats;
}
