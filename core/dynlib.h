/*
 * Libraries loaded when first needed instead of linked: their loading and constructors
 * then cost nothing to a kizunad that does not use them (libcurl for HTTP partners,
 * libmicrohttpd for the metrics endpoint). A caller lists the functions it uses as
 * (name, offset of a function pointer in its table) and gets the table filled.
 */
#ifndef KZ_DYNLIB_H
#define KZ_DYNLIB_H

#include <stddef.h>

struct dynlib_sym {
    const char *name;
    size_t offset; /* of the function pointer in the caller's table */
};

/*
 * dlopen() soname and resolve every symbol of syms[0..n) into table. The library stays
 * loaded for the life of the process. Returns 0, or -1 with the reason in err (what is
 * missing, and that the Debian package pkg provides it).
 */
int dynlib_load(const char *soname, const char *pkg, const struct dynlib_sym *syms, size_t n,
                void *table, char *err, size_t errlen);

#endif
