/*
 * Collected load-time errors.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "errlist.h"
#include "xmalloc.h"

void
errlist_add(struct errlist *errs, const char *file, int line, int col, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    errs->msgs = xreallocarray(errs->msgs, errs->n + 1, sizeof(*errs->msgs));
    errs->msgs[errs->n++] = xasprintf("%s:%d:%d: %s", file, line, col, msg);
}

void
errlist_add_raw(struct errlist *errs, const char *msg)
{
    errs->msgs = xreallocarray(errs->msgs, errs->n + 1, sizeof(*errs->msgs));
    errs->msgs[errs->n++] = xstrdup(msg);
}

void
errlist_move(struct errlist *dst, struct errlist *src)
{
    for (size_t i = 0; i < src->n; i++) {
        dst->msgs = xreallocarray(dst->msgs, dst->n + 1, sizeof(*dst->msgs));
        dst->msgs[dst->n++] = src->msgs[i];
    }
    free(src->msgs);
    src->msgs = NULL;
    src->n = 0;
}

void
errlist_free(struct errlist *errs)
{
    for (size_t i = 0; i < errs->n; i++) {
        free(errs->msgs[i]);
    }
    free(errs->msgs);
    errs->msgs = NULL;
    errs->n = 0;
}
