/*
 * The owner-side reveal map: append-only writer with in-memory dedupe, lookup, and
 * kizunad --reveal (reveal.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"
#include "perm.h"
#include "reveal.h"
#include "timeutil.h"
#include "xmalloc.h"

struct reveal {
    char *path;
    int fd;
    int failing; /* a write failed: logged once until one succeeds */
    char **seen; /* open addressing set of pseudonyms, cap a power of two */
    size_t nseen;
    size_t cap;
    struct buf line;
};

static uint64_t
reveal_hash(const char *s)
{
    uint64_t h = UINT64_C(14695981039346656037);

    for (; *s != '\0'; s++) {
        h ^= (unsigned char)*s;
        h *= UINT64_C(1099511628211);
    }
    return h;
}

static void
reveal_seen_clear(struct reveal *rv)
{
    for (size_t i = 0; i < rv->cap; i++) {
        free(rv->seen[i]);
        rv->seen[i] = NULL;
    }
    rv->nseen = 0;
}

/* 1 if s was seen before; otherwise remember it and return 0. */
static int
reveal_seen(struct reveal *rv, const char *s)
{
    size_t i;

    if (rv->nseen >= REVEAL_DEDUP_MAX) {
        reveal_seen_clear(rv);
    }
    if (2 * (rv->nseen + 1) > rv->cap) {
        size_t ncap = rv->cap ? 2 * rv->cap : 256;
        char **nv = xcalloc(ncap, sizeof(*nv));
        for (size_t j = 0; j < rv->cap; j++) {
            if (rv->seen[j] != NULL) {
                size_t k = (size_t)reveal_hash(rv->seen[j]) & (ncap - 1);
                while (nv[k] != NULL) {
                    k = (k + 1) & (ncap - 1);
                }
                nv[k] = rv->seen[j];
            }
        }
        free(rv->seen);
        rv->seen = nv;
        rv->cap = ncap;
    }
    i = (size_t)reveal_hash(s) & (rv->cap - 1);
    while (rv->seen[i] != NULL) {
        if (strcmp(rv->seen[i], s) == 0) {
            return 1;
        }
        i = (i + 1) & (rv->cap - 1);
    }
    rv->seen[i] = xstrdup(s);
    rv->nseen++;
    return 0;
}

int
reveal_open(const char *path, int check_only, struct reveal **out, char *err, size_t errlen)
{
    struct reveal *rv;
    struct stat st;
    int fd;

    *out = NULL;
    if (stat(path, &st) == 0 && perm_check_private(path, "reveal map", err, errlen) != 0) {
        return -1;
    }
    if (check_only) {
        return 0;
    }
    fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, errlen, "reveal map \"%s\": open() failed: %s", path, strerror(errno));
        return -1;
    }
    rv = xcalloc(1, sizeof(*rv));
    rv->path = xstrdup(path);
    rv->fd = fd;
    *out = rv;
    return 0;
}

void
reveal_close(struct reveal *rv)
{
    if (rv == NULL) {
        return;
    }
    close(rv->fd);
    reveal_seen_clear(rv);
    free(rv->seen);
    buf_free(&rv->line);
    free(rv->path);
    free(rv);
}

const char *
reveal_path(const struct reveal *rv)
{
    return rv->path;
}

void
reveal_add(struct reveal *rv, const char *profile, const char *kind, const char *pseudonym,
           const char *original, size_t len)
{
    char when[32];
    size_t off = 0;

    if (rv == NULL || reveal_seen(rv, pseudonym)) {
        return;
    }
    time_format_rfc3339(time_now_us(), when);
    buf_reset(&rv->line);
    buf_puts(&rv->line, "{\"time\":\"");
    buf_puts(&rv->line, when);
    buf_puts(&rv->line, "\",\"profile\":");
    buf_json_string(&rv->line, profile, strlen(profile));
    buf_printf(&rv->line, ",\"kind\":\"%s\",\"pseudonym\":", kind);
    buf_json_string(&rv->line, pseudonym, strlen(pseudonym));
    buf_puts(&rv->line, ",\"original\":");
    buf_json_string(&rv->line, original, len);
    buf_puts(&rv->line, "}\n");
    /* One write(2) per line with O_APPEND: lines never interleave. */
    while (off < rv->line.len) {
        ssize_t n = write(rv->fd, rv->line.data + off, rv->line.len - off);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            if (!rv->failing) {
                log_err("reveal map \"%s\": write() failed: %s", rv->path,
                        n < 0 ? strerror(errno) : "short write");
            }
            rv->failing = 1;
            return;
        }
        off += (size_t)n;
    }
    if (rv->failing) {
        log_notice("reveal map \"%s\": writing again", rv->path);
        rv->failing = 0;
    }
}

static int
reveal_hexval(int c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

static void
reveal_put_utf8(struct buf *b, uint32_t cp)
{
    if (cp < 0x80) {
        buf_putc(b, (char)cp);
    } else if (cp < 0x800) {
        buf_putc(b, (char)(0xc0 | cp >> 6));
        buf_putc(b, (char)(0x80 | (cp & 0x3f)));
    } else if (cp < 0x10000) {
        buf_putc(b, (char)(0xe0 | cp >> 12));
        buf_putc(b, (char)(0x80 | ((cp >> 6) & 0x3f)));
        buf_putc(b, (char)(0x80 | (cp & 0x3f)));
    } else {
        buf_putc(b, (char)(0xf0 | cp >> 18));
        buf_putc(b, (char)(0x80 | ((cp >> 12) & 0x3f)));
        buf_putc(b, (char)(0x80 | ((cp >> 6) & 0x3f)));
        buf_putc(b, (char)(0x80 | (cp & 0x3f)));
    }
}

/* Four hex digits at s, or -1. */
static long
reveal_hex4(const char *s)
{
    long v = 0;

    for (int i = 0; i < 4; i++) {
        int d = reveal_hexval((unsigned char)s[i]);
        if (d < 0) {
            return -1;
        }
        v = v * 16 + d;
    }
    return v;
}

/* The JSON string value of "key" in one line of a map, unescaped into out. 0 or -1. */
static int
reveal_field(const char *line, const char *key, struct buf *out)
{
    char pat[32];
    const char *p;

    snprintf(pat, sizeof(pat), "\"%s\":\"", key);
    p = strstr(line, pat);
    if (p == NULL) {
        return -1;
    }
    p += strlen(pat);
    buf_reset(out);
    while (*p != '\0' && *p != '"') {
        long u, lo;
        if (*p != '\\') {
            buf_putc(out, *p++);
            continue;
        }
        p++;
        switch (*p) {
        case 'b':
            buf_putc(out, '\b');
            break;
        case 'f':
            buf_putc(out, '\f');
            break;
        case 'n':
            buf_putc(out, '\n');
            break;
        case 'r':
            buf_putc(out, '\r');
            break;
        case 't':
            buf_putc(out, '\t');
            break;
        case 'u':
            u = reveal_hex4(p + 1);
            if (u < 0) {
                return -1;
            }
            p += 4;
            if (u >= 0xd800 && u < 0xdc00 && p[1] == '\\' && p[2] == 'u' &&
                (lo = reveal_hex4(p + 3)) >= 0xdc00 && lo < 0xe000) {
                u = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
                p += 6;
            }
            reveal_put_utf8(out, (uint32_t)u);
            break;
        case '\0':
            return -1;
        default: /* \" \\ \/ */
            buf_putc(out, *p);
            break;
        }
        p++;
    }
    return *p == '"' ? 0 : -1;
}

int
reveal_lookup(const char *path, const char *pseudonym, char ***origs, size_t *n, char *err,
              size_t errlen)
{
    struct buf key = {0}, val = {0};
    char *line = NULL;
    size_t cap = 0;
    FILE *f;
    int r = -1;

    f = fopen(path, "re");
    if (f == NULL) {
        if (errno == ENOENT) {
            return 0;
        }
        snprintf(err, errlen, "reveal map \"%s\": fopen() failed: %s", path, strerror(errno));
        return -1;
    }
    while (getline(&line, &cap, f) > 0) {
        int dup = 0;
        if (reveal_field(line, "pseudonym", &key) != 0 || strcmp(buf_cstr(&key), pseudonym) != 0 ||
            reveal_field(line, "original", &val) != 0) {
            continue;
        }
        for (size_t i = 0; i < *n && !dup; i++) {
            dup = strcmp((*origs)[i], buf_cstr(&val)) == 0;
        }
        if (!dup) {
            *origs = xreallocarray(*origs, *n + 1, sizeof(**origs));
            (*origs)[(*n)++] = xstrdup(buf_cstr(&val));
        }
    }
    if (ferror(f)) {
        snprintf(err, errlen, "reveal map \"%s\": read failed: %s", path, strerror(errno));
        goto out;
    }
    r = (int)*n;
out:
    fclose(f);
    free(line);
    buf_free(&key);
    buf_free(&val);
    return r;
}

int
reveal_run(const char *conf_path, const char *pseudonym, FILE *out)
{
    struct errlist errs = {0};
    struct conf *conf = NULL;
    const char **paths = NULL;
    char **origs = NULL;
    size_t npaths = 0, norigs = 0;
    int r = 2;

    if (conf_load(conf_path, &conf, &errs) != 0) {
        for (size_t i = 0; i < errs.n; i++) {
            fprintf(stderr, "%s\n", errs.msgs[i]);
        }
        goto out;
    }
    paths = xcalloc(conf->nprivacy + 1, sizeof(*paths));
    if (conf->reveal_map != NULL) {
        paths[npaths++] = conf->reveal_map;
    }
    for (size_t i = 0; i < conf->nprivacy; i++) {
        const char *p = conf->privacy[i].reveal_map;
        int dup = 0;
        for (size_t j = 0; p != NULL && j < npaths && !dup; j++) {
            dup = strcmp(paths[j], p) == 0;
        }
        if (p != NULL && !dup) {
            paths[npaths++] = p;
        }
    }
    if (npaths == 0) {
        fprintf(stderr, "%s: no reveal_map configured (top level or in a privacy profile)\n",
                conf_path);
        goto out;
    }
    for (size_t i = 0; i < npaths; i++) {
        char err[1024];
        if (reveal_lookup(paths[i], pseudonym, &origs, &norigs, err, sizeof(err)) < 0) {
            fprintf(stderr, "%s\n", err);
            goto out;
        }
    }
    for (size_t i = 0; i < norigs; i++) {
        fprintf(out, "%s\n", origs[i]);
    }
    if (norigs == 0) {
        fprintf(stderr, "%s: unknown pseudonym\n", pseudonym);
    }
    r = norigs > 0 ? 0 : 1;
out:
    for (size_t i = 0; i < norigs; i++) {
        free(origs[i]);
    }
    free(origs);
    free(paths);
    conf_free(conf);
    errlist_free(&errs);
    return r;
}
