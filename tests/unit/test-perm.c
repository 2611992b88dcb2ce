/*
 * Tests of the permission checks (core/perm.c): key files by mode, directories by mode,
 * symlinks followed, missing files, and the text of the messages.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "perm.h"
#include "tap.h"

static char dir[] = "/tmp/kz-perm-XXXXXX";

static void
file_mode(const char *name, mode_t mode, int want, const char *want_msg)
{
    char path[256];
    char err[512] = "";
    char msg[300];
    int fd;
    int r;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0600);
    if (fd >= 0) {
        close(fd);
    }
    chmod(path, mode);
    r = perm_check_private(path, "TLS key", err, sizeof(err));
    is_int(r, want, name);
    if (want_msg != NULL) {
        snprintf(msg, sizeof(msg), want_msg, path, path);
        is_str(err, msg, "message names the path and its mode");
    }
    unlink(path);
}

static void
dir_mode(const char *name, mode_t mode, int want, const char *want_msg)
{
    char path[256];
    char err[512] = "";
    char msg[300];
    int r;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    mkdir(path, 0700);
    chmod(path, mode);
    r = perm_check_private(path, "state directory", err, sizeof(err));
    is_int(r, want, name);
    if (want_msg != NULL) {
        snprintf(msg, sizeof(msg), want_msg, path, path);
        is_str(err, msg, "message names the directory and its mode");
    }
    rmdir(path);
}

int
main(void)
{
    char path[256];
    char lnk[256];
    char err[512] = "";
    int fd;

    if (mkdtemp(dir) == NULL) {
        tap_diag("mkdtemp: %s", strerror(errno));
        return 1;
    }
    file_mode("key-0600", 0600, 0, NULL);
    file_mode("key-0400", 0400, 0, NULL);
    file_mode("key-0700", 0700, 0, NULL);
    file_mode("key-0610", 0610, 0, NULL);
    file_mode("key-0640", 0640, -1,
              "TLS key \"%s\" has mode 0640: group and others must not read or write it "
              "(chmod go-rw %s)");
    file_mode("key-0644", 0644, -1, NULL);
    file_mode("key-0604", 0604, -1, NULL);
    file_mode("key-0620", 0620, -1, NULL);
    file_mode("key-0602", 0602, -1, NULL);

    dir_mode("dir-0700", 0700, 0, NULL);
    dir_mode("dir-0755", 0755, 0, NULL);
    dir_mode("dir-0750", 0750, 0, NULL);
    dir_mode("dir-0775", 0775, -1,
             "state directory \"%s\" has mode 0775: group and others must not write it "
             "(chmod go-w %s)");
    dir_mode("dir-0757", 0757, -1, NULL);
    dir_mode("dir-1777", 01777, -1,
             "state directory \"%s\" has mode 1777: group and others must not write it "
             "(chmod go-w %s)");

    snprintf(path, sizeof(path), "%s/target", dir);
    snprintf(lnk, sizeof(lnk), "%s/link", dir);
    fd = open(path, O_CREAT | O_WRONLY, 0644);
    if (fd >= 0) {
        close(fd);
    }
    chmod(path, 0644);
    if (symlink(path, lnk) < 0) {
        tap_diag("symlink: %s", strerror(errno));
    }
    is_int(perm_check_private(lnk, "password file", err, sizeof(err)), -1,
           "a symlink to a 0644 file is checked as the file");
    chmod(path, 0600);
    is_int(perm_check_private(lnk, "password file", err, sizeof(err)), 0,
           "a symlink to a 0600 file passes (its own lrwxrwxrwx mode is irrelevant)");
    unlink(lnk);
    unlink(path);

    snprintf(path, sizeof(path), "%s/missing", dir);
    is_int(perm_check_private(path, "TLS key", err, sizeof(err)), -1, "missing file fails");
    ok(strstr(err, "stat() failed: No such file or directory") != NULL && strstr(err, path) != NULL,
       "missing file: message names stat() and the path: %s", err);
    rmdir(dir);
    return tap_done();
}
