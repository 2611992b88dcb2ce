/*
 * File permission checks for secrets and state: a key or password file must not be
 * readable or writable by group or others; a directory must not be writable by group or
 * others. Start-up refuses to run with a clear message rather than using such files.
 */
#ifndef KZ_PERM_H
#define KZ_PERM_H

#include <stddef.h>

/*
 * Check path (symlinks followed). what names the object in the message ("TLS key",
 * "Redis password file", "state directory"). A directory fails when group or others may
 * write it (mode & 022); anything else fails when group or others may read or write it
 * (mode & 066; execute bits are ignored). Returns 0 when private; -1 with err set to e.g.
 * `TLS key "/etc/kizuna/key.pem" has mode 0644: group and others must not read or write it
 * (chmod go-rw /etc/kizuna/key.pem)`, or naming the failed stat().
 */
int perm_check_private(const char *path, const char *what, char *err, size_t errlen);

#endif
