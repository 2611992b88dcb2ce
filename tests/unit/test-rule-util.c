/*
 * Helpers shared by the rule tests (see test-rule-util.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test-rule-util.h"
#include "xmalloc.h"

static char rt_tmp[256];

const char *
rt_dir(void)
{
    if (rt_tmp[0] == '\0') {
        const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
        snprintf(rt_tmp, sizeof(rt_tmp), "%s/kz-rule-test-XXXXXX", base);
        if (mkdtemp(rt_tmp) == NULL) {
            perror("mkdtemp");
            exit(2);
        }
        atexit(rt_cleanup);
    }
    return rt_tmp;
}

const char *
rt_write(const char *name, const char *text)
{
    static char paths[8][512];
    static int next;
    char *p = paths[next++ % 8];
    FILE *f;

    snprintf(p, 512, "%s/%s", rt_dir(), name);
    f = fopen(p, "w");
    if (f == NULL) {
        perror(p);
        exit(2);
    }
    fputs(text, f);
    fclose(f);
    return p;
}

struct ruleset *
rt_load(const char *path, const struct ruleset_opts *opts, struct errlist *errs)
{
    struct errlist local = {0};
    struct ruleset *rs = NULL;
    const char *paths[1] = {path};

    ruleset_load(paths, 1, opts, &rs, errs != NULL ? errs : &local);
    for (size_t i = 0; i < local.n; i++) {
        printf("# load error: %s\n", local.msgs[i]);
    }
    errlist_free(&local);
    return rs;
}

void
rt_event(struct event *ev, const char *const *kv)
{
    event_reset(ev);
    for (size_t i = 0; kv[i] != NULL && kv[i + 1] != NULL; i += 2) {
        event_add_copy(ev, kv[i], strlen(kv[i]), kv[i + 1], strlen(kv[i + 1]));
    }
}

void
rt_cleanup(void)
{
    char *cmd;

    if (rt_tmp[0] == '\0') {
        return;
    }
    cmd = xasprintf("rm -rf '%s'", rt_tmp);
    if (system(cmd) != 0) {
        fprintf(stderr, "could not remove %s\n", rt_tmp);
    }
    free(cmd);
    rt_tmp[0] = '\0';
}
