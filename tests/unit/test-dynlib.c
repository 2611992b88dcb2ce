/*
 * core/dynlib.c: a library loaded on first use fills the caller's function table, and a
 * missing library or function is refused with a message that names it.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "dynlib.h"
#include "tap.h"

struct libc_table {
    size_t (*strlen)(const char *s);
    int (*abs)(int v);
};

int
main(void)
{
    static const struct dynlib_sym syms[] = {
        {"strlen", offsetof(struct libc_table, strlen)},
        {"abs", offsetof(struct libc_table, abs)},
    };
    static const struct dynlib_sym missing[] = {
        {"strlen", offsetof(struct libc_table, strlen)},
        {"kz_no_such_function", offsetof(struct libc_table, abs)},
    };
    struct libc_table t;
    char err[256];

    memset(&t, 0, sizeof(t));
    if (ok(dynlib_load("libc.so.6", "libc6", syms, 2, &t, err, sizeof(err)) == 0,
           "libc.so.6 loads")) {
        ok(t.strlen != NULL && t.strlen("kizuna") == 6 && t.abs != NULL && t.abs(-3) == 3,
           "the table holds the library's functions");
    }
    err[0] = '\0';
    ok(dynlib_load("libkizuna-nonexistent.so.9", "kizuna-nothing", syms, 2, &t, err,
                   sizeof(err)) == -1,
       "a missing library is refused");
    ok(strstr(err, "libkizuna-nonexistent.so.9 is needed (Debian package kizuna-nothing)") ==
           err,
       "the message names the library and its package: %s", err);
    err[0] = '\0';
    ok(dynlib_load("libc.so.6", "libc6", missing, 2, &t, err, sizeof(err)) == -1,
       "a missing function is refused");
    is_str(err, "libc.so.6 has no kz_no_such_function", "the message names the function");
    return tap_done();
}
