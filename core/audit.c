/*
 * The delivery audit log (audit.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit.h"
#include "buf.h"
#include "log.h"
#include "timeutil.h"
#include "xmalloc.h"

struct audit {
    char *path;
    int fd;
    int failing;
    struct buf line;
};

static int
audit_open_fd(const char *path, char *err, size_t errlen)
{
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);

    if (fd < 0) {
        snprintf(err, errlen, "audit log \"%s\": open() failed: %s", path, strerror(errno));
    }
    return fd;
}

int
audit_open(const char *path, struct audit **out, char *err, size_t errlen)
{
    struct audit *au;
    int fd;

    *out = NULL;
    fd = audit_open_fd(path, err, errlen);
    if (fd < 0) {
        return -1;
    }
    au = xcalloc(1, sizeof(*au));
    au->path = xstrdup(path);
    au->fd = fd;
    *out = au;
    return 0;
}

void
audit_close(struct audit *au)
{
    if (au == NULL) {
        return;
    }
    close(au->fd);
    buf_free(&au->line);
    free(au->path);
    free(au);
}

void
audit_reopen(struct audit *au)
{
    char err[512];
    int fd;

    if (au == NULL) {
        return;
    }
    fd = audit_open_fd(au->path, err, sizeof(err));
    if (fd < 0) {
        log_err("%s; keeping the old file open", err);
        return;
    }
    close(au->fd);
    au->fd = fd;
}

static void
audit_str(struct buf *b, const char *name, const char *v)
{
    buf_printf(b, ",\"%s\":", name);
    if (v == NULL) {
        buf_puts(b, "null");
        return;
    }
    buf_json_string(b, v, strlen(v));
}

char *
audit_record_body(const struct audit_record *rec)
{
    const struct privacy_report *rep = rec->report;
    struct buf b = {0};
    char *s;

    audit_str(&b, "partner", rec->partner);
    audit_str(&b, "format", rec->format);
    audit_str(&b, "alert_id", rec->alert_id);
    audit_str(&b, "shared_id", rec->shared_id);
    audit_str(&b, "rule", rec->rule_id);
    audit_str(&b, "tlp", rec->tlp);
    if (rec->profile != NULL) {
        const char *kid = privacy_profile_key_id(rec->profile);
        audit_str(&b, "profile", privacy_profile_name(rec->profile));
        audit_str(&b, "profile_hash", privacy_profile_hash(rec->profile));
        audit_str(&b, "key_id", kid[0] != '\0' ? kid : NULL);
    } else {
        buf_puts(&b, ",\"profile\":null,\"profile_hash\":null,\"key_id\":null");
    }
    buf_puts(&b, ",\"dropped\":[");
    for (size_t i = 0; rep != NULL && i < rep->ndropped; i++) {
        if (i > 0) {
            buf_putc(&b, ',');
        }
        buf_json_string(&b, rep->dropped[i], strlen(rep->dropped[i]));
    }
    buf_puts(&b, "],\"transformed\":{");
    for (size_t i = 0; rep != NULL && i < rep->nchanged; i++) {
        if (i > 0) {
            buf_putc(&b, ',');
        }
        buf_json_string(&b, rep->changed[i], strlen(rep->changed[i]));
        buf_putc(&b, ':');
        buf_json_string(&b, rep->methods[i], strlen(rep->methods[i]));
    }
    buf_putc(&b, '}');
    s = xstrdup(buf_cstr(&b));
    buf_free(&b);
    return s;
}

void
audit_write(struct audit *au, const char *body, const char *result)
{
    char when[32];
    size_t off = 0;

    if (au == NULL || body == NULL) {
        return;
    }
    time_format_rfc3339(time_now_us(), when);
    buf_reset(&au->line);
    buf_printf(&au->line, "{\"time\":\"%s\"%s,\"result\":\"%s\"}\n", when, body, result);
    while (off < au->line.len) {
        ssize_t n = write(au->fd, au->line.data + off, au->line.len - off);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            if (!au->failing) {
                log_err("audit log \"%s\": write() failed: %s", au->path,
                        n < 0 ? strerror(errno) : "short write");
            }
            au->failing = 1;
            return;
        }
        off += (size_t)n;
    }
    if (au->failing) {
        log_notice("audit log \"%s\": writing again", au->path);
        au->failing = 0;
    }
}
