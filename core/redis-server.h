/*
 * The `url` and `password_file` of a Redis server (redis-server.c), shared by the Redis
 * state store and the Redis delivery transport.
 */
#ifndef KZ_REDIS_SERVER_H
#define KZ_REDIS_SERVER_H

#include <stddef.h>

/*
 * Parse "redis://host[:port][/db]" or "unix:/path" into host and port (*path NULL), or a
 * socket path (*host NULL), and a database (default 0). Credentials in the url are refused.
 * Returns 0 (caller frees *host and *path), or -1 with a message in err.
 */
int redis_server_parse_url(const char *url, char **host, int *port, char **path, int *db,
                           char *err, size_t errlen);
/*
 * Read a password file: private (perm_check_private), not empty; a trailing newline is
 * dropped. Returns 0 and *out (caller frees), or -1 with a message in err.
 */
int redis_server_read_password(const char *path, char **out, char *err, size_t errlen);

#endif
