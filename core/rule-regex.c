/*
 * PCRE2 for rules: every `re` value is compiled once at load (JIT when available) and
 * matched through one match context and one match data per rule set, with the configured
 * match and depth limits. Running into a limit makes the test false and is counted; it
 * never aborts matching.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rule-int.h"
#include "xmalloc.h"

/*
 * Compile pat[0..len) with PCRE2 options flags into v->re and list its named groups in
 * v->caps (field = group name; the rule parser maps them afterwards). Returns 0, or -1
 * with the PCRE2 message in err and the offset of the error in *erroff.
 */
int
rule_regex_compile(struct rule_value *v, const char *pat, size_t len, uint32_t flags,
                   char *err, size_t errlen, size_t *erroff)
{
    PCRE2_UCHAR msg[256];
    PCRE2_SPTR table;
    uint32_t count = 0, entry = 0;
    int errcode = 0;

    *erroff = 0;
    v->re = pcre2_compile((PCRE2_SPTR)pat, len, flags, &errcode, erroff, NULL);
    if (v->re == NULL) {
        pcre2_get_error_message(errcode, msg, sizeof(msg));
        snprintf(err, errlen, "%s", (const char *)msg);
        return -1;
    }
    /* Without JIT (unsupported platform) the interpreter runs the same pattern. */
    (void)pcre2_jit_compile(v->re, PCRE2_JIT_COMPLETE);
    v->kind = RULE_V_RE;
    pcre2_pattern_info(v->re, PCRE2_INFO_NAMECOUNT, &count);
    pcre2_pattern_info(v->re, PCRE2_INFO_NAMEENTRYSIZE, &entry);
    pcre2_pattern_info(v->re, PCRE2_INFO_NAMETABLE, &table);
    if (count > 0) {
        v->caps = xcalloc(count, sizeof(*v->caps));
        for (uint32_t i = 0; i < count; i++) {
            PCRE2_SPTR e = table + (size_t)i * entry;
            v->caps[i].group = ((uint32_t)e[0] << 8) | e[1];
            v->caps[i].field = xstrdup((const char *)e + 2);
            v->caps[i].field_len = (uint32_t)strlen(v->caps[i].field);
        }
        v->ncaps = count;
    }
    return 0;
}

/*
 * Match s[0..len) against v->re using the rule set's match data. Returns 1 on a match (the
 * offsets are then in m->md), 0 otherwise; a match-limit, depth-limit or JIT-stack failure
 * counts in *m->limit_hits and is 0.
 */
int
rule_regex_match(struct rule_mctx *m, const struct rule_value *v, const char *s, size_t len)
{
    int rc = pcre2_match(v->re, (PCRE2_SPTR)s, len, 0, 0, m->md, m->mctx);

    if (rc >= 0) {
        return 1;
    }
    if (rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT ||
        rc == PCRE2_ERROR_JIT_STACKLIMIT || rc == PCRE2_ERROR_HEAPLIMIT) {
        (*m->limit_hits)++;
    }
    return 0;
}

/*
 * Set up the matching scratch of a rule set: match context with the limits of opts, a JIT
 * stack, match data for max_groups groups and a memo of max_sels selections. Returns 0 or
 * -1 (PCRE2 could not allocate). Free with rule_regex_mctx_free().
 */
int
rule_regex_mctx_init(struct rule_mctx *m, const struct ruleset_opts *opts, uint32_t max_groups,
                     uint32_t max_sels)
{
    m->mctx = pcre2_match_context_create(NULL);
    m->md = pcre2_match_data_create(max_groups + 1, NULL);
    m->jit_stack = pcre2_jit_stack_create(32 * 1024, 1024 * 1024, NULL);
    if (m->mctx == NULL || m->md == NULL) {
        return -1;
    }
    if (m->jit_stack != NULL) {
        pcre2_jit_stack_assign(m->mctx, NULL, m->jit_stack);
    }
    if (opts->match_limit != 0) {
        pcre2_set_match_limit(m->mctx, opts->match_limit);
    }
    if (opts->depth_limit != 0) {
        pcre2_set_depth_limit(m->mctx, opts->depth_limit);
    }
    m->memo_cap = max_sels > 0 ? max_sels : 1;
    m->memo = xcalloc(m->memo_cap, 1);
    return 0;
}

/* Release the matching scratch (accepts a partly initialised one). */
void
rule_regex_mctx_free(struct rule_mctx *m)
{
    pcre2_match_data_free(m->md);
    pcre2_match_context_free(m->mctx);
    if (m->jit_stack != NULL) {
        pcre2_jit_stack_free(m->jit_stack);
    }
    free(m->memo);
    memset(m, 0, sizeof(*m));
}
