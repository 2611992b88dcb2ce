/*
 * Where a Redis server is and how to log in to it: the `url` and `password_file` keys shared
 * by the Redis state store (state-redis.c) and the Redis delivery transport
 * (deliver-redis.c), so both accept and refuse exactly the same things.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "perm.h"
#include "redis-server.h"
#include "xmalloc.h"

int
redis_server_parse_url(const char *url, char **host, int *port, char **path, int *db, char *err,
                       size_t errlen)
{
    const char *p, *slash, *colon;
    char *end;

    *host = *path = NULL;
    *port = 6379;
    *db = 0;
    if (url == NULL || url[0] == '\0') {
        snprintf(err, errlen, "no url");
        return -1;
    }
    if (strncmp(url, "unix:", 5) == 0) {
        p = url + 5;
        if (strncmp(p, "//", 2) == 0) {
            p += 2;
        }
        if (p[0] != '/') {
            snprintf(err, errlen, "unix socket path must be absolute (unix:/path)");
            return -1;
        }
        *path = xstrdup(p);
        return 0;
    }
    if (strncmp(url, "redis://", 8) != 0) {
        snprintf(err, errlen, "expected redis://host[:port][/db] or unix:/path, not \"%s\"", url);
        return -1;
    }
    p = url + 8;
    slash = strchr(p, '/');
    if (memchr(p, '@', slash != NULL ? (size_t)(slash - p) : strlen(p)) != NULL) {
        snprintf(err, errlen,
                 "credentials do not belong in the url: use username and "
                 "password_file");
        return -1;
    }
    if (slash == NULL) {
        slash = p + strlen(p);
    } else if (slash[1] != '\0') {
        long v = strtol(slash + 1, &end, 10);
        if (*end != '\0' || v < 0 || v > (1 << 20)) {
            snprintf(err, errlen, "bad database number \"%s\"", slash + 1);
            return -1;
        }
        *db = (int)v;
    }
    colon = memchr(p, ':', (size_t)(slash - p));
    if (colon != NULL) {
        long v = strtol(colon + 1, &end, 10);
        if (end != slash || v <= 0 || v > 65535) {
            snprintf(err, errlen, "bad port in \"%s\"", url);
            return -1;
        }
        *port = (int)v;
    } else {
        colon = slash;
    }
    if (colon == p) {
        snprintf(err, errlen, "missing host in \"%s\"", url);
        return -1;
    }
    *host = xstrndup(p, (size_t)(colon - p));
    return 0;
}

int
redis_server_read_password(const char *path, char **out, char *err, size_t errlen)
{
    char buf[1024];
    ssize_t n;
    size_t len;
    int fd, r = -1;

    *out = NULL;
    if (perm_check_private(path, "Redis password file", err, errlen) != 0) {
        return -1;
    }
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "open(\"%s\") failed: %s", path, strerror(errno));
        return -1;
    }
    n = read(fd, buf, sizeof(buf) - 1);
    if (n < 0) {
        snprintf(err, errlen, "read(\"%s\") failed: %s", path, strerror(errno));
        goto out;
    }
    buf[n] = '\0';
    len = strlen(buf);
    while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r')) {
        buf[--len] = '\0';
    }
    if (len == 0) {
        snprintf(err, errlen, "Redis password file \"%s\" is empty", path);
        goto out;
    }
    *out = xstrdup(buf);
    r = 0;
out:
    memset(buf, 0, sizeof(buf));
    close(fd);
    return r;
}
