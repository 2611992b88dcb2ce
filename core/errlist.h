/*
 * A list of error messages, each "FILE:LINE:COL: message", collected by the config and
 * rule loaders so that --check-config can report every problem at once.
 */
#ifndef KZ_ERRLIST_H
#define KZ_ERRLIST_H

#include <stddef.h>

struct errlist {
    char **msgs; /* owned */
    size_t n;
};

/* Append a message formatted as "file:line:col: ...". */
void errlist_add(struct errlist *errs, const char *file, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* Append a preformatted message (copied). */
void errlist_add_raw(struct errlist *errs, const char *msg);
/* Move every message of src to the end of dst; src is left empty. */
void errlist_move(struct errlist *dst, struct errlist *src);
void errlist_free(struct errlist *errs);

#endif
