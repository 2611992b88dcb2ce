/*
 * Private structures of the detection rule language, shared by rule*.c only.
 *
 * A detection rule compiles into named selections (rule_sel), each an OR of groups (one
 * group per YAML map), each group an AND of field tests (rule_test), each test a list of
 * values (rule_value) joined by OR (or AND with |all). The condition compiles into a small
 * expression tree (rule_cexpr) over selection indexes. The rule set (struct ruleset) owns
 * the rules, the prefilter and the single-threaded matching scratch (PCRE2 match data,
 * memo of selection results), so matching never allocates.
 */
#ifndef KZ_RULE_INT_H
#define KZ_RULE_INT_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdio.h>
#include <string.h>

#include "rule.h"
#include "yaml-tree.h"

/* A literal shorter than this does not gate a rule in the prefilter (it hits too often). */
#define RULE_LIT_MIN 3
/* At most this many AND-ed prefilter clauses per rule (the most selective are kept). */
#define RULE_MAX_CLAUSES 4
/* Canonical numbers ("22", "-1.5e+30") fit in this many bytes with the NUL. */
#define RULE_NUMKEY_MAX 40

enum rule_vkind {
    RULE_V_EXACT,    /* string equality */
    RULE_V_PREFIX,   /* lit* */
    RULE_V_SUFFIX,   /* *lit */
    RULE_V_CONTAINS, /* *lit* */
    RULE_V_GLOB,     /* any other pattern with * and ? wildcards */
    RULE_V_NUMEQ,    /* numeric equality (YAML number written unquoted) */
    RULE_V_NUMCMP,   /* lt / lte / gt / gte */
    RULE_V_RE,       /* PCRE2 */
    RULE_V_CIDR,     /* IPv4 or IPv6 network */
};

enum rule_cmp { RULE_CMP_LT, RULE_CMP_LTE, RULE_CMP_GT, RULE_CMP_GTE };

/* Glob pattern bytes are marked in rule_value.wild. */
#define RULE_W_LIT 0
#define RULE_W_STAR 1
#define RULE_W_QMARK 2

/* A named capture group of a regex and the event field it becomes. */
struct rule_capture {
    uint32_t group;
    char *field; /* owned */
    uint32_t field_len;
};

struct rule_value {
    enum rule_vkind kind;
    char *text;      /* the value as written (owned), for messages */
    char *lit;       /* EXACT/PREFIX/SUFFIX/CONTAINS: the literal; GLOB: the pattern bytes;
                        lowercased unless the test is cased (owned) */
    uint32_t litlen;
    uint8_t *wild;   /* GLOB: one mark per pattern byte (owned) */
    char numkey[RULE_NUMKEY_MAX]; /* NUMEQ: canonical number */
    double num;      /* NUMCMP */
    enum rule_cmp cmp;
    pcre2_code *re;  /* RE (owned) */
    struct rule_capture *caps; /* RE: named groups (owned) */
    uint32_t ncaps;
    uint8_t net[16]; /* CIDR: network, IPv4 as ::ffff:a.b.c.d */
    int prefix;      /* CIDR: prefix length over the 128-bit form */
    int line;
    int col;
};

enum rule_top {
    RULE_T_VALUES, /* compare the field against vals */
    RULE_T_EXISTS, /* the field is present (exists: true) or absent (false) */
    RULE_T_NULL,   /* the field is absent or every instance is empty */
};

struct rule_test {
    char *field;       /* owned; NULL for a keyword search */
    uint32_t field_len;
    uint32_t field_hash;
    char *key;         /* the map key as written ("message|re"), owned */
    enum rule_top op;
    int cased;
    int all;
    int neq;
    int exists;        /* RULE_T_EXISTS: wanted presence */
    int captured;      /* the field is produced by a capture of this rule */
    struct rule_value *vals; /* owned */
    uint32_t nvals;
    int line;
    int col;
};

/* One YAML map of a selection: every test must hold. */
struct rule_group {
    struct rule_test *tests; /* owned */
    uint32_t ntests;
    int line;
    int col;
};

struct rule_sel {
    char *name; /* owned */
    struct rule_group *groups; /* owned; OR of groups */
    uint32_t ngroups;
    int captures; /* some re test of it has named groups */
    int producer; /* its captures are read by another selection: evaluated first */
    int line;
    int col;
};

enum rule_cop { RULE_C_SEL, RULE_C_AND, RULE_C_OR, RULE_C_NOT };

struct rule_cexpr {
    enum rule_cop op;
    uint32_t sel;             /* RULE_C_SEL */
    struct rule_cexpr **kids; /* owned */
    uint32_t nkids;
};

struct rule_detection {
    struct rule_sel *sels; /* owned */
    uint32_t nsels;
    struct rule_cexpr *cond; /* owned */
    char *cond_text;         /* owned, as written (several conditions joined by " or ") */
    uint32_t *producers;     /* selection indexes evaluated before the condition (owned) */
    uint32_t nproducers;
    uint32_t max_groups;     /* largest capture-group count of its regexes, + 1 */
};

/* Matching scratch of a rule set; one thread uses it at a time. */
struct rule_mctx {
    pcre2_match_data *md;
    pcre2_match_context *mctx;
    pcre2_jit_stack *jit_stack;
    uint8_t *memo;   /* per selection: 0 not evaluated, 1 false, 2 true */
    uint32_t memo_cap;
    uint64_t *limit_hits;
};

struct rule_prefilter;

struct ruleset {
    struct rule **rules; /* owned, index order */
    size_t nrules;
    struct rule **det;   /* detection rules in index order (not owned) */
    uint32_t ndet;
    struct rule **by_id; /* open-addressing table (not owned) */
    size_t by_id_cap;
    struct ruleset_opts opts;
    struct rule_mctx m;
    struct rule_prefilter *pf;
    uint32_t *all_cands; /* 0..ndet-1, used without prefilter */
    struct ruleset_stats stats;
};

/* rule.c */
void rule_free(struct rule *rule);

/* rule-parse.c */
int rule_parse_doc(const char *file, int docno, const struct ynode *doc, struct rule **out,
                   struct errlist *errs);
void rule_parse_free_detection(struct rule_detection *det);

/* rule-cond.c */
struct rule_cexpr *rule_cond_parse(const char *file, const char *rule_id,
                                   const struct ynode *node, const struct rule_sel *sels,
                                   uint32_t nsels, struct errlist *errs);
void rule_cond_free(struct rule_cexpr *e);
/* Write e as text using selection names (for explanations). */
void rule_cond_print(const struct rule_cexpr *e, const struct rule_sel *sels, FILE *out);

/* rule-value.c */
int rule_value_glob_compile(struct rule_value *v, const char *s, size_t len, int cased,
                            int star_before, int star_after);
int rule_value_match_str(const struct rule_value *v, int cased, const char *s, size_t len);
int rule_value_num_parse(const char *s, size_t len, double *out);
int rule_value_num_key(const char *s, size_t len, char *key);
int rule_value_cidr_parse(const char *s, size_t len, uint8_t net[16], int *prefix);
int rule_value_cidr_match(const struct rule_value *v, const char *s, size_t len);
void rule_value_free(struct rule_value *v);

/* rule-regex.c */
int rule_regex_compile(struct rule_value *v, const char *pat, size_t len, uint32_t flags,
                       char *err, size_t errlen, size_t *erroff);
int rule_regex_match(struct rule_mctx *m, const struct rule_value *v, const char *s,
                     size_t len);
int rule_regex_mctx_init(struct rule_mctx *m, const struct ruleset_opts *opts,
                         uint32_t max_groups, uint32_t max_sels);
void rule_regex_mctx_free(struct rule_mctx *m);

/* rule-literal.c: required literals of a regex (lowercased). */
struct rule_litset {
    char **lits; /* owned; a match contains one of them */
    size_t *lens;
    size_t n;
};
struct rule_litcnf {
    struct rule_litset *sets; /* owned; a match satisfies every set */
    size_t n;
};
int rule_literal_extract(const char *pat, size_t len, struct rule_litcnf *out);
void rule_litset_free(struct rule_litset *ls);
void rule_litcnf_free(struct rule_litcnf *cnf);

/* rule-match.c */
int rule_match_rule(struct rule_mctx *m, const struct rule *rule, struct event *ev);
int rule_match_sel(struct rule_mctx *m, const struct rule *rule, uint32_t sel,
                   struct event *ev);
int rule_match_group(struct rule_mctx *m, const struct rule_group *g, struct event *ev);
int rule_match_test(struct rule_mctx *m, const struct rule_test *t, struct event *ev);
/* The fields a keyword search looks at: message, or event.original when there is none. */
const struct event_field *rule_match_keyword_field(const struct event *ev);

extern const unsigned char rule_value_lower[256];

/* ASCII-lowercase the 8 bytes of x at once (bytes 'A'..'Z' get 0x20 added). */
static inline uint64_t
rule_lower8(uint64_t x)
{
    uint64_t h = x & 0x7f7f7f7f7f7f7f7full;
    uint64_t ge_a = h + 0x3f3f3f3f3f3f3f3full; /* high bit: >= 'A' */
    uint64_t gt_z = h + 0x2525252525252525ull; /* high bit: > 'Z' */
    uint64_t upper = ~x & (ge_a ^ gt_z) & 0x8080808080808080ull;

    return x | (upper >> 2);
}

/* text[0..n) equals the lowercased lit[0..n) ignoring ASCII case (8 bytes at a time). */
static inline int
rule_lower_eq(const unsigned char *text, const char *lit, size_t n)
{
    size_t i = 0;

    for (; i + 8 <= n; i += 8) {
        uint64_t a, b;
        memcpy(&a, text + i, 8);
        memcpy(&b, lit + i, 8);
        if (rule_lower8(a) != b) {
            return 0;
        }
    }
    for (; i < n; i++) {
        if (rule_value_lower[text[i]] != (unsigned char)lit[i]) {
            return 0;
        }
    }
    return 1;
}

/* rule-ac.c: Aho-Corasick over ASCII-lowercased bytes. */
struct rule_ac;
typedef void (*rule_ac_hit_cb)(void *arg, uint32_t id);
struct rule_ac *rule_ac_new(void);
void rule_ac_add(struct rule_ac *ac, const char *lit, size_t len, uint32_t id);
void rule_ac_build(struct rule_ac *ac);
void rule_ac_scan(const struct rule_ac *ac, const char *s, size_t len, rule_ac_hit_cb cb,
                  void *arg);
size_t rule_ac_nstates(const struct rule_ac *ac);
size_t rule_ac_table_bytes(const struct rule_ac *ac);
void rule_ac_free(struct rule_ac *ac);

/* rule-gram.c: q-gram hash filter for large literal sets (literals of 3 bytes or more). */
struct rule_gram;
struct rule_gram *rule_gram_new(void);
void rule_gram_add(struct rule_gram *g, const char *lit, size_t len, uint32_t id);
void rule_gram_build(struct rule_gram *g);
void rule_gram_scan(const struct rule_gram *g, const char *s, size_t len, rule_ac_hit_cb cb,
                    void *arg);
void rule_gram_free(struct rule_gram *g);

/* rule-teddy.c: SIMD scanner for small literal sets (NULL from _new: not on this CPU). */
#define RULE_TEDDY_MAX 64
/* Sets up to this size are scanned literal by literal on two probe bytes each. */
#define RULE_TEDDY_FEW 3
struct rule_teddy;
struct rule_teddy *rule_teddy_new(void);
void rule_teddy_add(struct rule_teddy *t, const char *lit, size_t len, uint32_t id);
void rule_teddy_build(struct rule_teddy *t);
/* Reports each literal that occurs at least once (not necessarily every occurrence). */
void rule_teddy_scan(const struct rule_teddy *t, const char *s, size_t len, rule_ac_hit_cb cb,
                     void *arg);
void rule_teddy_free(struct rule_teddy *t);

/* rule-prefilter.c */
/* Which literal scanner a field gets: by literal count (AUTO), or one forced (tests). */
enum rule_scan { RULE_SCAN_AUTO, RULE_SCAN_AC, RULE_SCAN_GRAM, RULE_SCAN_TEDDY };
struct rule_prefilter *rule_prefilter_build(struct rule **det, uint32_t ndet,
                                            enum rule_scan engine);
const uint32_t *rule_prefilter_run(struct rule_prefilter *pf, const struct event *ev,
                                   uint32_t *n);
/* Print why detection rule number i is (not) a candidate for ev; returns 1 if it is. */
int rule_prefilter_explain(struct rule_prefilter *pf, uint32_t i, const struct event *ev,
                           FILE *out);
void rule_prefilter_free(struct rule_prefilter *pf);

#endif
