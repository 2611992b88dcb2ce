/*
 * attack.h - MITRE ATT&CK references from Sigma rule tags, header-only.
 *
 * Sigma tags name techniques as "attack.t1110" or "attack.t1110.001" and tactics by their
 * short name, "attack.credential_access" (Sigma's spelling) or "attack.credential-access";
 * other attack.* tags (groups "attack.g0032", software "attack.s0002") are not techniques
 * or tactics and are left to the caller. The enterprise tactics are a small fixed set,
 * listed here with their ATT&CK ids and display names.
 */
#ifndef KZ_PLUGIN_ATTACK_H
#define KZ_PLUGIN_ATTACK_H

#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

enum attack_kind {
    ATTACK_NONE = 0,
    ATTACK_TECHNIQUE = 1, /* technique, with sub-technique when sub[0] != '\0' */
    ATTACK_TACTIC = 2,
};

struct attack_tactic {
    const char *shortname; /* ATT&CK x_mitre_shortname / kill-chain phase: "credential-access" */
    const char *id;        /* "TA0006" */
    const char *name;      /* "Credential Access" */
};

struct attack_ref {
    enum attack_kind kind;
    char technique[16]; /* "T1110" */
    char sub[16];       /* "T1110.001", or "" */
    const struct attack_tactic *tactic;
};

static const struct attack_tactic attack_tactics[] = {
    {"reconnaissance", "TA0043", "Reconnaissance"},
    {"resource-development", "TA0042", "Resource Development"},
    {"initial-access", "TA0001", "Initial Access"},
    {"execution", "TA0002", "Execution"},
    {"persistence", "TA0003", "Persistence"},
    {"privilege-escalation", "TA0004", "Privilege Escalation"},
    {"defense-evasion", "TA0005", "Defense Evasion"},
    {"credential-access", "TA0006", "Credential Access"},
    {"discovery", "TA0007", "Discovery"},
    {"lateral-movement", "TA0008", "Lateral Movement"},
    {"collection", "TA0009", "Collection"},
    {"command-and-control", "TA0011", "Command and Control"},
    {"exfiltration", "TA0010", "Exfiltration"},
    {"impact", "TA0040", "Impact"},
};

static inline int
attack_is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/*
 * Parse one rule tag. Returns 1 and fills *out for a technique or tactic tag, 0 for any
 * other tag. Case-insensitive in the "attack." prefix and the technique letter.
 */
static inline int
attack_parse_tag(const char *tag, struct attack_ref *out)
{
    const char *p;
    size_t n;

    memset(out, 0, sizeof(*out));
    if (tag == NULL || strncasecmp(tag, "attack.", 7) != 0) {
        return 0;
    }
    p = tag + 7;
    n = strlen(p);
    /* t1234 or t1234.123 */
    if (n >= 5 && (p[0] == 't' || p[0] == 'T') && attack_is_digit(p[1]) && attack_is_digit(p[2]) &&
        attack_is_digit(p[3]) && attack_is_digit(p[4])) {
        if (n == 5) {
            out->kind = ATTACK_TECHNIQUE;
            snprintf(out->technique, sizeof(out->technique), "T%.4s", p + 1);
            return 1;
        }
        if (n == 9 && p[5] == '.' && attack_is_digit(p[6]) && attack_is_digit(p[7]) &&
            attack_is_digit(p[8])) {
            out->kind = ATTACK_TECHNIQUE;
            snprintf(out->technique, sizeof(out->technique), "T%.4s", p + 1);
            snprintf(out->sub, sizeof(out->sub), "T%.4s.%.3s", p + 1, p + 6);
            return 1;
        }
        return 0;
    }
    for (size_t i = 0; i < sizeof(attack_tactics) / sizeof(attack_tactics[0]); i++) {
        const char *s = attack_tactics[i].shortname;
        size_t k = 0;

        while (s[k] != '\0' && p[k] != '\0' &&
               (p[k] == s[k] || (s[k] == '-' && p[k] == '_') ||
                (p[k] >= 'A' && p[k] <= 'Z' && p[k] - 'A' + 'a' == s[k]))) {
            k++;
        }
        if (s[k] == '\0' && p[k] == '\0') {
            out->kind = ATTACK_TACTIC;
            out->tactic = &attack_tactics[i];
            return 1;
        }
    }
    return 0;
}

/* The id the reference is about: the sub-technique when there is one. */
static inline const char *
attack_ref_id(const struct attack_ref *r)
{
    if (r->kind == ATTACK_TACTIC) {
        return r->tactic->id;
    }
    return r->sub[0] != '\0' ? r->sub : r->technique;
}

/* Most techniques, and most tactics, an attack_set holds. */
#define ATTACK_SET_MAX 16

/* The distinct techniques and tactics among a rule's tags, each in the order first seen. */
struct attack_set {
    struct attack_ref technique[ATTACK_SET_MAX]; /* kind ATTACK_TECHNIQUE */
    size_t ntechniques;
    const struct attack_tactic *tactic[ATTACK_SET_MAX];
    size_t ntactics;
};

/*
 * Add the technique or tactic of one tag to the set, unless the tag is neither, the set has
 * it already (a technique by the id attack_ref_id() gives) or has no room left.
 */
static inline void
attack_set_add(struct attack_set *set, const char *tag)
{
    struct attack_ref r;
    int dup = 0;

    if (!attack_parse_tag(tag, &r)) {
        return;
    }
    if (r.kind == ATTACK_TACTIC) {
        for (size_t k = 0; k < set->ntactics; k++) {
            dup |= set->tactic[k] == r.tactic;
        }
        if (!dup && set->ntactics < ATTACK_SET_MAX) {
            set->tactic[set->ntactics++] = r.tactic;
        }
        return;
    }
    for (size_t k = 0; k < set->ntechniques; k++) {
        dup |= strcmp(attack_ref_id(&set->technique[k]), attack_ref_id(&r)) == 0;
    }
    if (!dup && set->ntechniques < ATTACK_SET_MAX) {
        set->technique[set->ntechniques++] = r;
    }
}

/*
 * The attack.mitre.org page of a reference into out: techniques/T1110/001/,
 * techniques/T1110/, tactics/TA0006/.
 */
static inline void
attack_ref_url(const struct attack_ref *r, char *out, size_t outlen)
{
    if (r->kind == ATTACK_TACTIC) {
        snprintf(out, outlen, "https://attack.mitre.org/tactics/%s/", r->tactic->id);
    } else if (r->sub[0] != '\0') {
        snprintf(out, outlen, "https://attack.mitre.org/techniques/%s/%s/", r->technique,
                 r->sub + 6);
    } else {
        snprintf(out, outlen, "https://attack.mitre.org/techniques/%s/", r->technique);
    }
}

#endif
