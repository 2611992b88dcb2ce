/*
 * File permission checks for secrets and state directories (perm.h).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "perm.h"

int
perm_check_private(const char *path, const char *what, char *err, size_t errlen)
{
    struct stat st;
    unsigned int mode;

    if (stat(path, &st) < 0) {
        snprintf(err, errlen, "%s \"%s\": stat() failed: %s", what, path, strerror(errno));
        return -1;
    }
    mode = (unsigned int)(st.st_mode & 07777);
    if (S_ISDIR(st.st_mode)) {
        if ((mode & (S_IWGRP | S_IWOTH)) != 0) {
            snprintf(err, errlen,
                     "%s \"%s\" has mode %04o: group and others must not write it "
                     "(chmod go-w %s)",
                     what, path, mode, path);
            return -1;
        }
        return 0;
    }
    if ((mode & (S_IRGRP | S_IWGRP | S_IROTH | S_IWOTH)) != 0) {
        snprintf(err, errlen,
                 "%s \"%s\" has mode %04o: group and others must not read or write it "
                 "(chmod go-rw %s)",
                 what, path, mode, path);
        return -1;
    }
    return 0;
}
