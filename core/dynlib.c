/*
 * Loading a library on first use (dynlib.h).
 */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include "dynlib.h"

int
dynlib_load(const char *soname, const char *pkg, const struct dynlib_sym *syms, size_t n,
            void *table, char *err, size_t errlen)
{
    void *lib = dlopen(soname, RTLD_NOW | RTLD_LOCAL);

    if (lib == NULL) {
        snprintf(err, errlen, "%s is needed (Debian package %s): %s", soname, pkg, dlerror());
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        void *f = dlsym(lib, syms[i].name);
        if (f == NULL) {
            snprintf(err, errlen, "%s has no %s", soname, syms[i].name);
            dlclose(lib);
            return -1;
        }
        memcpy((char *)table + syms[i].offset, &f, sizeof(f));
    }
    return 0;
}
