/*
 * Dropping root for good (privdrop.h): initgroups, setresgid, setresuid, then checking
 * that root cannot be regained.
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "privdrop.h"
#include "xmalloc.h"

int
privdrop_lookup(const char *user, const char *group, uid_t *uid, gid_t *gid, char *err,
                size_t errlen)
{
    struct passwd pw;
    struct passwd *pwp = NULL;
    struct group gr;
    struct group *grp = NULL;
    size_t buflen = 4096;
    char *buf = NULL;
    int rc;
    int r = -1;

    for (;;) {
        buf = xrealloc(buf, buflen);
        rc = getpwnam_r(user, &pw, buf, buflen, &pwp);
        if (rc != ERANGE || buflen > (1u << 20)) {
            break;
        }
        buflen *= 2;
    }
    if (rc != 0) {
        snprintf(err, errlen, "getpwnam_r(\"%s\") failed: %s", user, strerror(rc));
        goto out;
    }
    if (pwp == NULL) {
        snprintf(err, errlen, "user \"%s\" does not exist", user);
        goto out;
    }
    *uid = pw.pw_uid;
    *gid = pw.pw_gid;
    if (group == NULL || group[0] == '\0') {
        r = 0;
        goto out;
    }
    for (;;) {
        buf = xrealloc(buf, buflen);
        rc = getgrnam_r(group, &gr, buf, buflen, &grp);
        if (rc != ERANGE || buflen > (1u << 20)) {
            break;
        }
        buflen *= 2;
    }
    if (rc != 0) {
        snprintf(err, errlen, "getgrnam_r(\"%s\") failed: %s", group, strerror(rc));
        goto out;
    }
    if (grp == NULL) {
        snprintf(err, errlen, "group \"%s\" does not exist", group);
        goto out;
    }
    *gid = gr.gr_gid;
    r = 0;
out:
    free(buf);
    return r;
}

/* After dropping: every id is the target and root cannot come back. */
static int
privdrop_verify(const char *user, uid_t uid, gid_t gid, char *err, size_t errlen)
{
    uid_t ruid, euid, suid;
    gid_t rgid, egid, sgid;

    if (getresuid(&ruid, &euid, &suid) < 0 || getresgid(&rgid, &egid, &sgid) < 0) {
        snprintf(err, errlen, "getresuid()/getresgid() failed: %s", strerror(errno));
        return -1;
    }
    if (ruid != uid || euid != uid || suid != uid || rgid != gid || egid != gid || sgid != gid) {
        snprintf(err, errlen, "dropping to user \"%s\" left uids %d/%d/%d gids %d/%d/%d", user,
                 (int)ruid, (int)euid, (int)suid, (int)rgid, (int)egid, (int)sgid);
        return -1;
    }
    if (uid == 0) {
        return 0; /* "user: root" asks for nothing to drop */
    }
    if (setuid(0) == 0 || seteuid(0) == 0) {
        snprintf(err, errlen, "dropped to user \"%s\" but could become root again", user);
        return -1;
    }
    if (gid != 0 && (setgid(0) == 0 || setegid(0) == 0)) {
        snprintf(err, errlen, "dropped to user \"%s\" but could regain group 0", user);
        return -1;
    }
    return 0;
}

int
privdrop_to(const char *user, const char *group, char *err, size_t errlen)
{
    uid_t uid;
    gid_t gid;

    if (user == NULL || user[0] == '\0') {
        if (group != NULL && group[0] != '\0') {
            snprintf(err, errlen, "group \"%s\" is set but user is not", group);
            return -1;
        }
        return 0;
    }
    if (privdrop_lookup(user, group, &uid, &gid, err, errlen) < 0) {
        return -1;
    }
    if (geteuid() != 0) {
        if (getuid() == uid && geteuid() == uid && getgid() == gid && getegid() == gid) {
            return 0;
        }
        snprintf(err, errlen,
                 "running as uid %d gid %d: cannot switch to user \"%s\" (uid %d gid %d) "
                 "without root",
                 (int)geteuid(), (int)getegid(), user, (int)uid, (int)gid);
        return -1;
    }
    if (initgroups(user, gid) < 0) {
        snprintf(err, errlen, "initgroups(\"%s\", %d) failed: %s", user, (int)gid, strerror(errno));
        return -1;
    }
    if (setresgid(gid, gid, gid) < 0) {
        snprintf(err, errlen, "setresgid(%d) failed: %s", (int)gid, strerror(errno));
        return -1;
    }
    if (setresuid(uid, uid, uid) < 0) {
        snprintf(err, errlen, "setresuid(%d) failed: %s", (int)uid, strerror(errno));
        return -1;
    }
    if (privdrop_verify(user, uid, gid, err, errlen) < 0) {
        return -1;
    }
    log_info("dropped privileges to user %s (uid %d) group %d", user, (int)uid, (int)gid);
    return 0;
}
