/*
 * Dropping root: after the daemon opened what needs root (privileged ports, files only
 * root may read), it becomes the configured user for good. Config keys `user` and `group`
 * (docs/OPERATIONS.md).
 */
#ifndef KZ_PRIVDROP_H
#define KZ_PRIVDROP_H

#include <stddef.h>
#include <sys/types.h>

/*
 * Look up user (and group; NULL or "" means the user's primary group) in the passwd and
 * group databases. Returns 0 with *uid and *gid set, or -1 with a message in err when the
 * user or group does not exist or the lookup failed. Lets the caller chown a state
 * directory before privdrop_to(). Start-up only (not thread-safe with respect to NSS
 * modules that are not).
 */
int privdrop_lookup(const char *user, const char *group, uid_t *uid, gid_t *gid, char *err,
                    size_t errlen);

/*
 * Become user:group, permanently.
 * - user NULL or "": nothing configured; returns 0 without doing anything (a group without
 *   a user is an error).
 * - running as root: supplementary groups from the group database (initgroups(), so
 *   "usermod -aG adm kizuna" lets the daemon read /var/log), then real, effective and saved
 *   gid, then uid; then checks that setuid(0) and setgid(0) now fail. Returns 0, or -1
 *   with err set (the process must then exit: it may be half-dropped).
 * - not root: returns 0 if the process already runs as that user (and group), e.g. under
 *   systemd's User=; otherwise -1 ("cannot switch to user ... without root").
 * Call before starting threads of your own (glibc applies set*id to every thread, but do
 * not rely on it for threads created by other libraries in unusual states).
 */
int privdrop_to(const char *user, const char *group, char *err, size_t errlen);

#endif
