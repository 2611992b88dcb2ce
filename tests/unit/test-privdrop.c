/*
 * Tests of the privilege drop (core/privdrop.c). Lookups and refusals run as any user.
 * When the test runs as root (CI does), the real drop to nobody:nogroup happens in forked
 * children, which report what they observed through a pipe: the ids, that setuid(0) and
 * setgid(0) fail, that a root-only file cannot be opened, the supplementary groups, and the
 * non-root branch (already the user: ok; another user: refused). As a non-root user the
 * root-only part is skipped and the non-root branch is tested directly.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "privdrop.h"
#include "tap.h"

struct child_report {
    int rc;
    char err[256];
    uid_t ruid, euid, suid;
    gid_t rgid, egid, sgid;
    int setuid0_failed;
    int setgid0_failed;
    int open_errno; /* errno of opening a root-only 0600 file */
    int ngroups;
    int has_group0; /* a supplementary group 0 left over */
    int again_rc;   /* privdrop_to() the same user again, now not root */
    int other_rc;   /* privdrop_to("root") when not root */
    char other_err[256];
};

static void
child_drop(const char *user, const char *group, const char *secret, int wfd)
{
    struct child_report rep;
    gid_t groups[64];
    int fd;

    memset(&rep, 0, sizeof(rep));
    rep.rc = privdrop_to(user, group, rep.err, sizeof(rep.err));
    getresuid(&rep.ruid, &rep.euid, &rep.suid);
    getresgid(&rep.rgid, &rep.egid, &rep.sgid);
    rep.setuid0_failed = setuid(0) < 0 && seteuid(0) < 0;
    rep.setgid0_failed = setgid(0) < 0 && setegid(0) < 0;
    fd = open(secret, O_RDONLY);
    rep.open_errno = fd < 0 ? errno : 0;
    if (fd >= 0) {
        close(fd);
    }
    rep.ngroups = getgroups(64, groups);
    for (int i = 0; i < rep.ngroups; i++) {
        if (groups[i] == 0) {
            rep.has_group0 = 1;
        }
    }
    rep.again_rc = privdrop_to(user, group, rep.other_err, sizeof(rep.other_err));
    rep.other_rc = privdrop_to("root", NULL, rep.other_err, sizeof(rep.other_err));
    if (write(wfd, &rep, sizeof(rep)) != (ssize_t)sizeof(rep)) {
        _exit(2);
    }
    _exit(0);
}

/* Fork, drop in the child, return its report (rc = -99 when the child failed). */
static struct child_report
run_child(const char *user, const char *group, const char *secret)
{
    struct child_report rep;
    int fds[2];
    pid_t pid;
    int status;

    memset(&rep, 0, sizeof(rep));
    rep.rc = -99;
    if (pipe(fds) < 0) {
        return rep;
    }
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        close(fds[0]);
        child_drop(user, group, secret, fds[1]);
    }
    close(fds[1]);
    if (pid < 0 || read(fds[0], &rep, sizeof(rep)) != (ssize_t)sizeof(rep)) {
        rep.rc = -99;
    }
    close(fds[0]);
    if (pid > 0) {
        waitpid(pid, &status, 0);
    }
    return rep;
}

static void
test_as_root(const char *secret)
{
    struct child_report rep;
    struct passwd *pw = getpwnam("nobody");
    struct group *gr = getgrnam("nogroup");
    uid_t nobody;
    gid_t nogroup;
    gid_t nobody_gid;

    if (pw == NULL || gr == NULL) {
        tap_skip(14, "no nobody user or nogroup group on this system");
        return;
    }
    nobody = pw->pw_uid;
    nobody_gid = pw->pw_gid;
    nogroup = gr->gr_gid;

    rep = run_child("nobody", "nogroup", secret);
    is_int(rep.rc, 0, "root -> nobody:nogroup");
    if (rep.rc != 0) {
        tap_diag("privdrop_to: %s", rep.err);
    }
    ok(rep.ruid == nobody && rep.euid == nobody && rep.suid == nobody,
       "real, effective and saved uid are nobody (%d/%d/%d)", (int)rep.ruid, (int)rep.euid,
       (int)rep.suid);
    ok(rep.rgid == nogroup && rep.egid == nogroup && rep.sgid == nogroup,
       "real, effective and saved gid are nogroup (%d/%d/%d)", (int)rep.rgid, (int)rep.egid,
       (int)rep.sgid);
    ok(rep.setuid0_failed, "setuid(0) and seteuid(0) fail afterwards");
    ok(rep.setgid0_failed, "setgid(0) and setegid(0) fail afterwards");
    is_int(rep.open_errno, EACCES, "a root-only 0600 file cannot be opened any more");
    ok(rep.ngroups >= 0 && !rep.has_group0,
       "root's group 0 is not kept as a supplementary "
       "group (%d groups)",
       rep.ngroups);
    is_int(rep.again_rc, 0, "privdrop_to() the same user when already that user: ok");
    is_int(rep.other_rc, -1, "privdrop_to(\"root\") without root: refused");
    ok(strstr(rep.other_err, "without root") != NULL, "message says why: %s", rep.other_err);

    rep = run_child("nobody", NULL, secret);
    is_int(rep.rc, 0, "root -> nobody with its primary group");
    ok(rep.egid == nobody_gid, "gid is nobody's primary group (%d)", (int)rep.egid);

    rep = run_child("nobody", "no-such-group-kz", secret);
    is_int(rep.rc, -1, "a missing group is refused before anything changes");
    ok(rep.euid == 0 && rep.egid == 0, "still root after the refusal");
}

static void
test_as_user(void)
{
    struct passwd *pw = getpwuid(geteuid());
    char err[256] = "";

    if (pw == NULL) {
        tap_skip(3, "the current uid has no passwd entry");
        return;
    }
    is_int(privdrop_to(pw->pw_name, NULL, err, sizeof(err)), 0,
           "not root, already the configured user: ok");
    is_int(privdrop_to("root", NULL, err, sizeof(err)), -1,
           "not root, another user configured: refused");
    ok(strstr(err, "without root") != NULL, "message says why: %s", err);
}

int
main(void)
{
    char dir[] = "/tmp/kz-privdrop-XXXXXX";
    char secret[128];
    char err[256] = "";
    uid_t uid = 1;
    gid_t gid = 1;
    int fd;

    is_int(privdrop_to(NULL, NULL, err, sizeof(err)), 0, "no user configured: nothing to do");
    is_int(privdrop_to("", "", err, sizeof(err)), 0, "empty user: nothing to do");
    is_int(privdrop_to(NULL, "nogroup", err, sizeof(err)), -1, "group without user: refused");
    is_int(privdrop_to("no-such-user-kz", NULL, err, sizeof(err)), -1, "a missing user is refused");
    is_str(err, "user \"no-such-user-kz\" does not exist", "message names the user");
    is_int(privdrop_lookup("root", NULL, &uid, &gid, err, sizeof(err)), 0, "lookup root");
    ok(uid == 0 && gid == 0, "root is 0:0");
    is_int(privdrop_lookup("root", "no-such-group-kz", &uid, &gid, err, sizeof(err)), -1,
           "lookup with a missing group fails");
    is_str(err, "group \"no-such-group-kz\" does not exist", "message names the group");

    if (geteuid() != 0) {
        tap_skip(14, "not running as root: the real drop is tested in CI");
        test_as_user();
        return tap_done();
    }
    if (mkdtemp(dir) == NULL) {
        tap_diag("mkdtemp: %s", strerror(errno));
        return 1;
    }
    chmod(dir, 0755);
    snprintf(secret, sizeof(secret), "%s/secret", dir);
    fd = open(secret, O_CREAT | O_WRONLY, 0600);
    if (fd >= 0) {
        close(fd);
    }
    test_as_root(secret);
    unlink(secret);
    rmdir(dir);
    return tap_done();
}
