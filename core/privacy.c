/*
 * Privacy profiles: keys, classification of fields, the transforms, and the transformed
 * alert copy handed to a partner's plugin (privacy.h, docs/PRIVACY.md).
 */
#include <arpa/inet.h>
#include <fnmatch.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cryptopan.h"
#include "log.h"
#include "privacy-text.h"
#include "privacy.h"
#include "pseudonym.h"
#include "reveal.h"
#include "timeutil.h"
#include "xmalloc.h"

/* Key derivation labels (pseudonym_derive()); changing one changes every output. */
#define PV_LABEL_PSEUDONYM "kizuna pseudonym v1"
#define PV_LABEL_ALERT_ID "kizuna alert id v1"
#define PV_LABEL_CRYPTOPAN "kizuna cryptopan v1"
#define PV_LABEL_KEY_ID "kizuna key id v1"

struct privacy_profile {
    const struct conf_privacy *cp; /* borrowed from the conf */
    char hash[PSEUDONYM_HEX + 1];
    char key_id[17];
    int has_pseu_key;
    unsigned char pseu_key[PSEUDONYM_MD_LEN];
    int has_id_key;
    unsigned char id_key[PSEUDONYM_MD_LEN];
    struct cryptopan *cpan; /* prefix_preserving only */
    unsigned detectors;     /* redact_text */
    struct reveal *reveal;  /* borrowed from the set; NULL: no reveal map */
};

struct privacy_set {
    struct privacy_profile *v;
    size_t n;
    struct reveal **reveals; /* owned, one per distinct path */
    size_t nreveals;
};

/* What happens to a field. */
enum pv_action { PV_KEEP, PV_DROP, PV_IP, PV_PSEUDONYM, PV_TEXT, PV_TIME };

/* ---- report ---- */

void
privacy_report_reset(struct privacy_report *r)
{
    for (size_t i = 0; i < r->ndropped; i++) {
        free(r->dropped[i]);
    }
    for (size_t i = 0; i < r->nchanged; i++) {
        free(r->changed[i]);
    }
    free(r->dropped);
    free(r->changed);
    free(r->methods);
    memset(r, 0, sizeof(*r));
}

static void
pv_report_dropped(struct privacy_report *r, const char *name)
{
    if (r == NULL) {
        return;
    }
    for (size_t i = 0; i < r->ndropped; i++) {
        if (strcmp(r->dropped[i], name) == 0) {
            return;
        }
    }
    r->dropped = xreallocarray(r->dropped, r->ndropped + 1, sizeof(*r->dropped));
    r->dropped[r->ndropped++] = xstrdup(name);
}

static void
pv_report_changed(struct privacy_report *r, const char *name, const char *method)
{
    if (r == NULL) {
        return;
    }
    for (size_t i = 0; i < r->nchanged; i++) {
        if (strcmp(r->changed[i], name) == 0) {
            return;
        }
    }
    r->changed = xreallocarray(r->changed, r->nchanged + 1, sizeof(*r->changed));
    r->methods = xreallocarray(r->methods, r->nchanged + 1, sizeof(*r->methods));
    r->changed[r->nchanged] = xstrdup(name);
    r->methods[r->nchanged++] = method;
}

/* ---- building ---- */

static int
pv_str_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Feed a sorted copy of a list into the canonical definition. */
static void
pv_canon_list(EVP_MD_CTX *md, const char *name, char *const *v, size_t n)
{
    const char **s = xcalloc(n + 1, sizeof(*s));

    for (size_t i = 0; i < n; i++) {
        s[i] = v[i];
    }
    if (n > 1) {
        qsort(s, n, sizeof(*s), pv_str_cmp);
    }
    EVP_DigestUpdate(md, name, strlen(name) + 1);
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && strcmp(s[i], s[i - 1]) == 0) {
            continue;
        }
        EVP_DigestUpdate(md, s[i], strlen(s[i]) + 1);
    }
    EVP_DigestUpdate(md, "\n", 1);
    free(s);
}

/* The profile hash: SHA-256 of a canonical form (sorted lists, NUL separated, without key
 * material or paths), first 128 bits in hex. */
static void
pv_hash_profile(struct privacy_profile *p)
{
    const struct conf_privacy *cp = p->cp;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    char num[96];
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();

    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
    EVP_DigestUpdate(ctx, "kizuna privacy profile v1\n", 26);
    EVP_DigestUpdate(ctx, cp->name, strlen(cp->name) + 1);
    EVP_DigestUpdate(ctx, cp->has_keep ? "allowlist\n" : "no-allowlist\n", cp->has_keep ? 10 : 13);
    pv_canon_list(ctx, "keep", cp->keep, cp->nkeep);
    pv_canon_list(ctx, "drop", cp->drop, cp->ndrop);
    pv_canon_list(ctx, "pseudonymize", cp->pseudonymize, cp->npseudonymize);
    pv_canon_list(ctx, "ip.fields", cp->ip_fields, cp->nip_fields);
    if (cp->ip_method == CONF_IP_PREFIX_PRESERVING) {
        snprintf(num, sizeof(num), "ip.method=prefix_preserving\n");
    } else {
        snprintf(num, sizeof(num), "ip.method=truncate/%d/%d\n", (int)cp->truncate_v4,
                 (int)cp->truncate_v6);
    }
    EVP_DigestUpdate(ctx, num, strlen(num));
    pv_canon_list(ctx, "redact_text", cp->redact_text, cp->nredact_text);
    pv_canon_list(ctx, "text_fields", cp->text_fields, cp->ntext_fields);
    pv_canon_list(ctx, "time_fields", cp->time_fields, cp->ntime_fields);
    snprintf(num, sizeof(num), "time_granularity_us=%lld\n", (long long)cp->time_granularity_us);
    EVP_DigestUpdate(ctx, num, strlen(num));
    EVP_DigestFinal_ex(ctx, md, &mdlen);
    EVP_MD_CTX_free(ctx);
    pseudonym_hex(md, PSEUDONYM_HEX / 2, p->hash);
}

/* A key file of the profile, read once per build: the cache holds path -> key. */
struct pv_keycache {
    char **paths;
    unsigned char **keys;
    size_t *lens;
    size_t n;
};

static void
pv_keycache_free(struct pv_keycache *kc)
{
    for (size_t i = 0; i < kc->n; i++) {
        free(kc->paths[i]);
        pseudonym_key_free(kc->keys[i], kc->lens[i]);
    }
    free(kc->paths);
    free(kc->keys);
    free(kc->lens);
    memset(kc, 0, sizeof(*kc));
}

/* The key at path (cache-owned), or NULL with an error added at the node of key `what`. */
static const unsigned char *
pv_key(struct pv_keycache *kc, const struct conf *conf, const struct conf_privacy *cp,
       const char *path, const char *section, size_t *len, struct errlist *errs)
{
    const struct ynode *at = cp->entry;
    const struct ynode *sec = section != NULL ? ynode_get(cp->entry, section) : cp->entry;
    const struct ynode *kn = ynode_get(sec, "key_file");
    unsigned char *key;
    size_t klen;
    char err[1024];

    for (size_t i = 0; i < kc->n; i++) {
        if (strcmp(kc->paths[i], path) == 0) {
            *len = kc->lens[i];
            return kc->keys[i];
        }
    }
    if (kn == NULL) {
        kn = ynode_get(cp->entry, "key_file");
    }
    if (kn != NULL) {
        at = kn;
    }
    if (pseudonym_key_read(path, &key, &klen, err, sizeof(err)) != 0) {
        errlist_add(errs, conf->file, at->line, at->col, "privacy profile '%s': %s", cp->name, err);
        return NULL;
    }
    kc->paths = xreallocarray(kc->paths, kc->n + 1, sizeof(*kc->paths));
    kc->keys = xreallocarray(kc->keys, kc->n + 1, sizeof(*kc->keys));
    kc->lens = xreallocarray(kc->lens, kc->n + 1, sizeof(*kc->lens));
    kc->paths[kc->n] = xstrdup(path);
    kc->keys[kc->n] = key;
    kc->lens[kc->n] = klen;
    kc->n++;
    *len = klen;
    return key;
}

/* Read the keys of one profile and derive what it needs. 0 or -1 (errors in errs). */
static int
pv_profile_keys(struct privacy_profile *p, const struct conf *conf, struct pv_keycache *kc,
                struct errlist *errs)
{
    const struct conf_privacy *cp = p->cp;
    const char *pseu_path = cp->pseudonym_key_file ? cp->pseudonym_key_file : cp->key_file;
    const char *ip_path = cp->ip_key_file ? cp->ip_key_file : cp->key_file;
    const char *id_path = cp->key_file;
    const char *used[3];
    size_t nused = 0;
    EVP_MD_CTX *ctx;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    int r = 0;

    if (id_path == NULL) {
        id_path = cp->pseudonym_key_file ? cp->pseudonym_key_file : cp->ip_key_file;
    }
    if (cp->ip_method != CONF_IP_PREFIX_PRESERVING) {
        ip_path = NULL;
    }
    if (pseu_path != NULL) {
        size_t len;
        const unsigned char *k = pv_key(kc, conf, cp, pseu_path,
                                        cp->pseudonym_key_file ? "pseudonymize" : NULL, &len, errs);
        if (k == NULL) {
            r = -1;
        } else {
            pseudonym_derive(k, len, PV_LABEL_PSEUDONYM, cp->name, p->pseu_key);
            p->has_pseu_key = 1;
            used[nused++] = pseu_path;
        }
    }
    if (ip_path != NULL) {
        size_t len;
        const unsigned char *k =
            pv_key(kc, conf, cp, ip_path, cp->ip_key_file ? "ip" : NULL, &len, errs);
        unsigned char ck[PSEUDONYM_MD_LEN];
        if (k == NULL) {
            r = -1;
        } else {
            pseudonym_derive(k, len, PV_LABEL_CRYPTOPAN, cp->name, ck);
            if (cryptopan_new(ck, &p->cpan) != 0) {
                errlist_add(errs, conf->file, cp->line, 1,
                            "privacy profile '%s': libcrypto has no AES-128", cp->name);
                r = -1;
            }
            OPENSSL_cleanse(ck, sizeof(ck));
            used[nused++] = ip_path;
        }
    }
    if (id_path != NULL) {
        size_t len;
        const unsigned char *k = pv_key(kc, conf, cp, id_path, NULL, &len, errs);
        if (k == NULL) {
            r = -1;
        } else {
            pseudonym_derive(k, len, PV_LABEL_ALERT_ID, cp->name, p->id_key);
            p->has_id_key = 1;
            used[nused++] = id_path;
        }
    }
    if (r != 0 || nused == 0) {
        return r;
    }
    /* key_id: SHA-256 over HMAC(key, label) of every key in use. */
    ctx = EVP_MD_CTX_new();
    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
    for (size_t i = 0; i < nused; i++) {
        size_t len;
        const unsigned char *k = pv_key(kc, conf, cp, used[i], NULL, &len, errs);
        unsigned char kid[PSEUDONYM_MD_LEN];
        pseudonym_hmac(k, len, PV_LABEL_KEY_ID, strlen(PV_LABEL_KEY_ID), kid);
        EVP_DigestUpdate(ctx, kid, sizeof(kid));
    }
    EVP_DigestFinal_ex(ctx, md, &mdlen);
    EVP_MD_CTX_free(ctx);
    pseudonym_hex(md, 8, p->key_id);
    return 0;
}

/* The reveal map of path in the set, opened on first use. NULL with an error on failure. */
static struct reveal *
pv_reveal(struct privacy_set *ps, const struct conf *conf, const struct conf_privacy *cp,
          const char *path, int check_only, struct errlist *errs)
{
    const struct ynode *at = ynode_get(cp->entry, "reveal_map");
    struct reveal *rv = NULL;
    char err[1024];

    for (size_t i = 0; i < ps->nreveals; i++) {
        if (strcmp(reveal_path(ps->reveals[i]), path) == 0) {
            return ps->reveals[i];
        }
    }
    if (reveal_open(path, check_only, &rv, err, sizeof(err)) != 0) {
        if (at == NULL) {
            at = cp->entry;
        }
        errlist_add(errs, conf->file, at->line, at->col, "privacy profile '%s': %s", cp->name, err);
        return NULL;
    }
    if (rv != NULL) {
        ps->reveals = xreallocarray(ps->reveals, ps->nreveals + 1, sizeof(*ps->reveals));
        ps->reveals[ps->nreveals++] = rv;
    }
    return rv;
}

int
privacy_set_new(const struct conf *conf, int check_only, struct privacy_set **out,
                struct errlist *errs)
{
    struct privacy_set *ps = xcalloc(1, sizeof(*ps));
    struct pv_keycache kc = {0};
    int r = 0;

    *out = NULL;
    ps->v = xcalloc(conf->nprivacy + 1, sizeof(*ps->v));
    for (size_t i = 0; i < conf->nprivacy; i++) {
        const struct conf_privacy *cp = &conf->privacy[i];
        struct privacy_profile *p = &ps->v[ps->n++];
        const char *rpath = cp->reveal_map ? cp->reveal_map : conf->reveal_map;

        p->cp = cp;
        for (size_t j = 0; j < cp->nredact_text; j++) {
            p->detectors |= privacy_text_detector(cp->redact_text[j]);
        }
        pv_hash_profile(p);
        if (pv_profile_keys(p, conf, &kc, errs) != 0) {
            r = -1;
        }
        if (rpath != NULL) {
            p->reveal = pv_reveal(ps, conf, cp, rpath, check_only, errs);
            if (p->reveal == NULL && !check_only) {
                r = -1;
            }
        }
        if (!p->has_id_key && !check_only) {
            log_warn("privacy profile '%s' has no key_file: partners see the local alert ids, "
                     "a plain hash that also covers the group values",
                     cp->name);
        }
    }
    pv_keycache_free(&kc);
    if (r != 0) {
        privacy_set_free(ps);
        return -1;
    }
    *out = ps;
    return 0;
}

void
privacy_set_free(struct privacy_set *ps)
{
    if (ps == NULL) {
        return;
    }
    for (size_t i = 0; i < ps->n; i++) {
        cryptopan_free(ps->v[i].cpan);
    }
    OPENSSL_cleanse(ps->v, ps->n * sizeof(*ps->v));
    free(ps->v);
    for (size_t i = 0; i < ps->nreveals; i++) {
        reveal_close(ps->reveals[i]);
    }
    free(ps->reveals);
    free(ps);
}

struct privacy_profile *
privacy_set_find(struct privacy_set *ps, const char *name)
{
    for (size_t i = 0; ps != NULL && i < ps->n; i++) {
        if (strcmp(ps->v[i].cp->name, name) == 0) {
            return &ps->v[i];
        }
    }
    return NULL;
}

const char *
privacy_profile_name(const struct privacy_profile *p)
{
    return p->cp->name;
}

const char *
privacy_profile_hash(const struct privacy_profile *p)
{
    return p->hash;
}

const char *
privacy_profile_key_id(const struct privacy_profile *p)
{
    return p->key_id;
}

/* ---- transforms ---- */

static int
pv_match(char *const *globs, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++) {
        if (fnmatch(globs[i], name, 0) == 0) {
            return 1;
        }
    }
    return 0;
}

static enum pv_action
pv_classify(const struct privacy_profile *p, const char *name)
{
    const struct conf_privacy *cp = p->cp;
    int allowed;

    if (pv_match(cp->drop, cp->ndrop, name)) {
        return PV_DROP;
    }
    if (pv_match(cp->ip_fields, cp->nip_fields, name)) {
        return PV_IP;
    }
    if (pv_match(cp->pseudonymize, cp->npseudonymize, name)) {
        return PV_PSEUDONYM;
    }
    allowed = !cp->has_keep || pv_match(cp->keep, cp->nkeep, name);
    if (pv_match(cp->text_fields, cp->ntext_fields, name)) {
        return p->detectors != 0 || allowed ? PV_TEXT : PV_DROP;
    }
    if (!allowed) {
        return PV_DROP;
    }
    if (cp->time_granularity_us > 0 && pv_match(cp->time_fields, cp->ntime_fields, name)) {
        return PV_TIME;
    }
    return PV_KEEP;
}

/* Keep the first `bits` bits of n bytes, zero the rest. */
static void
pv_truncate(unsigned char *a, int nbytes, int bits)
{
    for (int i = 0; i < nbytes; i++) {
        int keep = bits - 8 * i;
        if (keep >= 8) {
            continue;
        }
        a[i] = keep <= 0 ? 0 : (unsigned char)(a[i] & (0xff00u >> keep));
    }
}

/* Transform the address text s[0..len) into out; 0, or -1 if it is no address. */
static int
pv_ip(struct privacy_profile *p, const char *s, size_t len, char out[INET6_ADDRSTRLEN])
{
    const struct conf_privacy *cp = p->cp;
    char tmp[INET6_ADDRSTRLEN + 1];
    unsigned char a[16];

    if (len >= sizeof(tmp)) {
        return -1;
    }
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    if (inet_pton(AF_INET, tmp, a) == 1) {
        if (p->cpan != NULL) {
            cryptopan_ipv4(p->cpan, a, a);
        } else {
            pv_truncate(a, 4, (int)cp->truncate_v4);
        }
        return inet_ntop(AF_INET, a, out, INET6_ADDRSTRLEN) != NULL ? 0 : -1;
    }
    if (inet_pton(AF_INET6, tmp, a) != 1) {
        return -1;
    }
    if (IN6_IS_ADDR_V4MAPPED((const struct in6_addr *)(const void *)a)) {
        /* ::ffff:a.b.c.d is an IPv4 address: treat it as one, keep the mapping prefix. */
        if (p->cpan != NULL) {
            cryptopan_ipv4(p->cpan, a + 12, a + 12);
        } else {
            pv_truncate(a + 12, 4, (int)cp->truncate_v4);
        }
    } else if (p->cpan != NULL) {
        cryptopan_ipv6(p->cpan, a, a);
    } else {
        pv_truncate(a, 16, (int)cp->truncate_v6);
    }
    return inet_ntop(AF_INET6, a, out, INET6_ADDRSTRLEN) != NULL ? 0 : -1;
}

static const char *
pv_ip_method(const struct privacy_profile *p)
{
    return p->cpan != NULL ? "ip-prefix-preserving" : "ip-truncate";
}

static int64_t
pv_floor(int64_t t, int64_t g)
{
    int64_t q = t / g;

    if (t % g < 0) {
        q--;
    }
    return q * g;
}

/* State of one privacy_apply(). */
struct pv_ctx {
    struct privacy_profile *p;
    struct privacy_report *rep;
    /* Values transformed so far: value -> replacement, by action (the memo, and the known
     * values scrubbed from text). repl NULL: the value cannot be transformed (dropped). */
    struct privacy_text_known *known;
    enum pv_action *kact;
    size_t nknown;
    struct buf tmp;
};

/* Replacement of value under act (PV_IP or PV_PSEUDONYM), computed once per alert. */
static const struct privacy_text_known *
pv_transform(struct pv_ctx *cx, enum pv_action act, const char *v, size_t len)
{
    struct privacy_text_known *k;
    char out[INET6_ADDRSTRLEN > PSEUDONYM_LEN + 1 ? INET6_ADDRSTRLEN : PSEUDONYM_LEN + 1];
    const char *kind = "pseudonym";
    int ok = 1;

    for (size_t i = 0; i < cx->nknown; i++) {
        if (cx->kact[i] == act && cx->known[i].len == len &&
            memcmp(cx->known[i].value, v, len) == 0) {
            return &cx->known[i];
        }
    }
    if (act == PV_IP) {
        ok = pv_ip(cx->p, v, len, out) == 0;
        kind = "ip";
    } else {
        pseudonym_make(cx->p->pseu_key, v, len, out);
    }
    cx->known = xreallocarray(cx->known, cx->nknown + 1, sizeof(*cx->known));
    cx->kact = xreallocarray(cx->kact, cx->nknown + 1, sizeof(*cx->kact));
    k = &cx->known[cx->nknown];
    cx->kact[cx->nknown++] = act;
    k->value = v;
    k->len = len;
    k->repl = ok ? xstrdup(out) : NULL;
    k->repl_len = ok ? strlen(out) : 0;
    if (ok && (act == PV_PSEUDONYM || cx->p->cpan != NULL)) {
        reveal_add(cx->p->reveal, cx->p->cp->name, kind, k->repl, v, len);
    }
    return k;
}

/* Replacement of one detector finding in text. */
static void
pv_text_cb(void *arg, unsigned kind, const char *s, size_t len, struct buf *out)
{
    struct pv_ctx *cx = arg;
    const struct privacy_text_known *k;

    switch (kind) {
    case PRIVACY_TEXT_IPV4:
    case PRIVACY_TEXT_IPV6:
        k = pv_transform(cx, PV_IP, s, len);
        if (k->repl != NULL) {
            buf_append(out, k->repl, k->repl_len);
        } else {
            buf_puts(out, kind == PRIVACY_TEXT_IPV4 ? "[ipv4]" : "[ipv6]");
        }
        return;
    default:
        if (cx->p->has_pseu_key) {
            k = pv_transform(cx, PV_PSEUDONYM, s, len);
            buf_append(out, k->repl, k->repl_len);
            return;
        }
        buf_puts(out, kind == PRIVACY_TEXT_EMAIL  ? "[email]"
                      : kind == PRIVACY_TEXT_USER ? "[user]"
                                                  : "[host]");
        return;
    }
}

/* Pass 1: transform the IP and pseudonym fields of a list (fills the known values). */
static void
pv_collect(struct pv_ctx *cx, const struct alert_fields *fl)
{
    for (size_t i = 0; i < fl->n; i++) {
        enum pv_action act = pv_classify(cx->p, fl->v[i].name);
        if (act == PV_IP || (act == PV_PSEUDONYM && cx->p->has_pseu_key)) {
            pv_transform(cx, act, fl->v[i].value, fl->v[i].value_len);
        }
    }
}

/*
 * Pass 2: the transformed copy of one field into dst. Returns 1 when the value passed
 * unchanged, 0 when it was transformed, -1 when dropped.
 */
static int
pv_field(struct pv_ctx *cx, const struct alert_field *f, struct alert_fields *dst)
{
    const struct privacy_profile *p = cx->p;
    const struct privacy_text_known *k;
    struct privacy_text_known *scrub;
    size_t nscrub = 0;
    enum pv_action act = pv_classify(p, f->name);
    int64_t t;
    char when[32];
    size_t n;

    switch (act) {
    case PV_KEEP:
        alert_fields_add(dst, f->name, f->name_len, f->value, f->value_len);
        return 1;
    case PV_DROP:
        break;
    case PV_IP:
    case PV_PSEUDONYM:
        if (act == PV_PSEUDONYM && !p->has_pseu_key) {
            break; /* cannot happen: conf requires a key */
        }
        k = pv_transform(cx, act, f->value, f->value_len);
        if (k->repl == NULL) {
            break; /* not an address */
        }
        alert_fields_add(dst, f->name, f->name_len, k->repl, k->repl_len);
        pv_report_changed(cx->rep, f->name, act == PV_IP ? pv_ip_method(p) : "pseudonym");
        return 0;
    case PV_TEXT:
        /* The callback may add known values (and move the array): scrub with a copy. */
        scrub = xcalloc(cx->nknown + 1, sizeof(*scrub));
        for (size_t i = 0; i < cx->nknown; i++) {
            if (cx->known[i].repl != NULL) {
                scrub[nscrub++] = cx->known[i];
            }
        }
        buf_reset(&cx->tmp);
        privacy_text_redact(f->value, f->value_len, p->detectors, scrub, nscrub, pv_text_cb, cx,
                            &cx->tmp);
        free(scrub);
        alert_fields_add(dst, f->name, f->name_len, buf_cstr(&cx->tmp), cx->tmp.len);
        pv_report_changed(cx->rep, f->name, "redact");
        return 0;
    case PV_TIME:
        if (time_parse_rfc3339(f->value, f->value_len, &t) != 0) {
            break; /* cannot coarsen what cannot be read */
        }
        n = time_format_rfc3339(pv_floor(t, p->cp->time_granularity_us), when);
        alert_fields_add(dst, f->name, f->name_len, when, n);
        pv_report_changed(cx->rep, f->name, "time");
        return 0;
    }
    pv_report_dropped(cx->rep, f->name);
    return -1;
}

static void
pv_fields(struct pv_ctx *cx, const struct alert_fields *src, struct alert_fields *dst)
{
    for (size_t i = 0; i < src->n; i++) {
        pv_field(cx, &src->v[i], dst);
    }
}

/* Group values (transformed, "-" for dropped) joined like corr_key_build() does. */
static void
pv_group_key(struct pv_ctx *cx, const struct alert *a, struct alert *c)
{
    struct alert_fields one = {0};
    struct buf key = {0};
    int changed = 0;

    for (size_t i = 0; i < a->group.n; i++) {
        const char *v = "-";
        size_t vl = 1;
        int st = pv_field(cx, &a->group.v[i], &one);

        changed |= st != 1;
        if (st >= 0) {
            v = one.v[one.n - 1].value;
            vl = one.v[one.n - 1].value_len;
            alert_fields_add(&c->group, one.v[one.n - 1].name, one.v[one.n - 1].name_len, v, vl);
        }
        if (i > 0) {
            buf_putc(&key, '|');
        }
        for (size_t j = 0; j < vl; j++) {
            if (v[j] == '|' || v[j] == '\\') {
                buf_putc(&key, '\\');
            }
            buf_putc(&key, v[j]);
        }
    }
    free(c->group_key);
    if (changed) {
        c->group_key = xstrdup(buf_cstr(&key));
        pv_report_changed(cx->rep, "kizuna.group.key", "rebuilt");
    } else {
        c->group_key = xstrdup(a->group_key != NULL ? a->group_key : "");
    }
    alert_fields_free(&one);
    buf_free(&key);
}

struct alert *
privacy_apply(struct privacy_profile *p, const struct alert *a, struct privacy_report *rep)
{
    struct alert *c = alert_new(a->rule);
    struct pv_ctx cx = {0};
    int64_t g = p->cp->time_granularity_us;

    if (rep != NULL) {
        privacy_report_reset(rep);
    }
    cx.p = p;
    cx.rep = rep;
    /* Pass 1: every value the profile transforms, so text can be scrubbed of them. */
    pv_collect(&cx, &a->fields);
    pv_collect(&cx, &a->group);
    for (size_t i = 0; i < a->nevidence; i++) {
        pv_collect(&cx, &a->evidence[i]);
    }
    /* Pass 2: the copy. */
    c->corr_type = a->corr_type;
    c->count = a->count;
    c->value = a->value;
    c->has_value = a->has_value;
    c->tlp = a->tlp;
    c->partner = a->partner;
    c->host_name = a->host_name;
    c->time_us = g > 0 ? pv_floor(a->time_us, g) : a->time_us;
    c->first_us = g > 0 && a->first_us != 0 ? pv_floor(a->first_us, g) : a->first_us;
    c->last_us = g > 0 && a->last_us != 0 ? pv_floor(a->last_us, g) : a->last_us;
    if (g > 0) {
        pv_report_changed(rep, "kizuna.time", "time");
    }
    if (p->has_id_key) {
        unsigned char md[PSEUDONYM_MD_LEN];
        pseudonym_hmac(p->id_key, sizeof(p->id_key), a->id, strlen(a->id), md);
        pseudonym_hex(md, 16, c->id);
        reveal_add(p->reveal, p->cp->name, "alert_id", c->id, a->id, strlen(a->id));
        pv_report_changed(rep, "kizuna.alert_id", "keyed");
    } else {
        memcpy(c->id, a->id, sizeof(c->id));
    }
    pv_fields(&cx, &a->fields, &c->fields);
    pv_group_key(&cx, a, c);
    for (size_t i = 0; i < a->nevidence; i++) {
        struct alert_fields *ev = alert_add_evidence(c);
        pv_fields(&cx, &a->evidence[i], ev);
    }
    for (size_t i = 0; i < cx.nknown; i++) {
        free((char *)cx.known[i].repl);
    }
    free(cx.known);
    free(cx.kact);
    buf_free(&cx.tmp);
    return c;
}
