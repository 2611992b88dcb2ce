/*
 * The file transport: append every record's bytes to a file ("-": stdout). A record is
 * delivered once write(2) took all of it. deliver_reopen() reopens the path (logrotate).
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "deliver-int.h"
#include "log.h"
#include "xmalloc.h"

struct deliver_file_conf {
    char *path;
};

struct deliver_file {
    struct deliver *d;
    char *path;
    int fd; /* -1: open failed, try again at the next send */
};

static const struct deliver_key deliver_file_keys[] = {
    {"path", DK_PATH, NULL, 0, 0, offsetof(struct deliver_file_conf, path), NULL, NULL, 1,
     "file the records are appended to; \"-\" for stdout"},
    {NULL, 0, NULL, 0, 0, 0, NULL, NULL, 0, NULL},
};

static int
deliver_file_open_path(const char *path, char *err, size_t errlen)
{
    int fd;

    if (strcmp(path, "-") == 0) {
        return STDOUT_FILENO;
    }
    fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0) {
        snprintf(err, errlen, "open(\"%s\") failed: %s", path, strerror(errno));
    }
    return fd;
}

static int
deliver_file_open(struct deliver *d, const void *conf, void **state, char *err, size_t errlen)
{
    const struct deliver_file_conf *c = conf;
    struct deliver_file *f;
    int fd;

    fd = deliver_file_open_path(c->path, err, errlen);
    if (fd < 0) {
        return -1;
    }
    f = xcalloc(1, sizeof(*f));
    f->d = d;
    f->path = xstrdup(c->path);
    f->fd = fd;
    *state = f;
    return 0;
}

static void
deliver_file_send(void *state, struct deliver_rec *rec)
{
    struct deliver_file *f = state;
    const char *p = rec->sr->data;
    size_t left = rec->sr->len;
    char reason[512];
    struct stat st;
    int have_size;

    if (f->fd < 0) {
        f->fd = deliver_file_open_path(f->path, reason, sizeof(reason));
        if (f->fd < 0) {
            deliver_done(f->d, rec, DELIVER_RETRY, reason);
            return;
        }
    }
    have_size = fstat(f->fd, &st) == 0 && S_ISREG(st.st_mode);
    while (left > 0) {
        ssize_t w = write(f->fd, p, left);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w < 0) {
            snprintf(reason, sizeof(reason), "write(\"%s\") failed: %s", f->path, strerror(errno));
            if (left < rec->sr->len && have_size && ftruncate(f->fd, st.st_size) != 0) {
                log_err("%s: ftruncate(\"%s\") failed: %s; a partial record is left",
                        deliver_tag(f->d), f->path, strerror(errno));
            }
            deliver_done(f->d, rec, DELIVER_RETRY, reason);
            return;
        }
        p += w;
        left -= (size_t)w;
    }
    deliver_done(f->d, rec, DELIVER_OK, NULL);
}

static void
deliver_file_reopen(void *state)
{
    struct deliver_file *f = state;
    char err[512];
    int fd;

    if (strcmp(f->path, "-") == 0) {
        return;
    }
    fd = deliver_file_open_path(f->path, err, sizeof(err));
    if (fd < 0) {
        log_err("%s: %s; keeping the old file open", deliver_tag(f->d), err);
        return;
    }
    if (f->fd >= 0) {
        close(f->fd);
    }
    f->fd = fd;
}

static void
deliver_file_close(void *state)
{
    struct deliver_file *f = state;
    struct deliver *d = f->d;

    if (f->fd >= 0 && f->fd != STDOUT_FILENO) {
        close(f->fd);
    }
    free(f->path);
    free(f);
    deliver_transport_closed(d);
}

const struct deliver_transport deliver_file_transport = {
    .type = "file",
    .keys = deliver_file_keys,
    .conf_size = sizeof(struct deliver_file_conf),
    .window = 256,
    .window_max = 100000,
    .check = NULL,
    .open = deliver_file_open,
    .send = deliver_file_send,
    .reopen = deliver_file_reopen,
    .close = deliver_file_close,
};
