/*
 * File and stdin inputs on libuv: chunked reads, line splitting, follow with rotation.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "input-file.h"
#include "log.h"
#include "xmalloc.h"

#define FILE_INPUT_CHUNK (1024 * 1024)

struct file_input {
    uv_loop_t *loop;
    const struct conf_input *ci;
    struct pipeline *p;
    struct event_source src;
    file_input_done_cb done;
    void *done_arg;

    uv_file fd;
    int is_stdin;
    ino_t ino;
    int64_t read_offset;  /* file offset of the next read */
    int64_t line_offset;  /* file offset of buf[0] */
    uint64_t lines;

    char *buf;
    size_t cap;
    size_t len;           /* bytes in buf not yet consumed */
    size_t max_line;
    int discarding;       /* skipping the rest of an over-long line */

    uv_fs_t req;
    uv_timer_t timer;     /* follow: poll for growth */
    int reading;
    int paused;           /* the pipeline cannot take events: resume with file_input_resume */
    int at_eof;           /* paused after the last read returned end of file */
    int stopping;
    int finished;
    int timer_open;
};

static void file_input_read(struct file_input *fi);

static void
file_input_finish(struct file_input *fi)
{
    if (fi->finished) {
        return;
    }
    fi->finished = 1;
    if (fi->timer_open) {
        uv_timer_stop(&fi->timer);
    }
    fi->done(fi->done_arg, fi);
}

/* Hand one line (without newline, CR stripped) to the pipeline. */
static void
file_input_line(struct file_input *fi, const char *line, size_t len, int64_t offset)
{
    if (len > 0 && line[len - 1] == '\r') {
        len--;
    }
    if (len == 0) {
        return;
    }
    fi->lines++;
    fi->src.line++;
    fi->src.offset = offset;
    pipeline_process(fi->p, &fi->src, fi->ci->format, line, len);
}

/* Process every complete line in buf; keep the partial tail. */
static void
file_input_consume(struct file_input *fi, int at_eof)
{
    size_t start = 0;

    pipeline_begin_batch(fi->p);

    for (;;) {
        char *nl;
        if (!pipeline_ready(fi->p)) {
            fi->paused = 1;
            break;
        }
        nl = memchr(fi->buf + start, '\n', fi->len - start);
        if (nl == NULL) {
            break;
        }
        size_t end = (size_t)(nl - fi->buf);
        if (fi->discarding) {
            fi->discarding = 0;
            fi->src.line++;
        } else {
            file_input_line(fi, fi->buf + start, end - start, fi->line_offset + (int64_t)start);
        }
        start = end + 1;
    }
    if (fi->paused) {
        goto keep;
    }
    if (fi->len - start > fi->max_line && !fi->discarding) {
        /* Too long to be an event: hand it over so it is dead-lettered with the reason,
         * then skip to the next newline. */
        file_input_line(fi, fi->buf + start, fi->len - start, fi->line_offset + (int64_t)start);
        fi->discarding = 1;
        start = fi->len;
    } else if (fi->discarding) {
        start = fi->len;
    }
    if (at_eof && start < fi->len) {
        file_input_line(fi, fi->buf + start, fi->len - start, fi->line_offset + (int64_t)start);
        start = fi->len;
    }
keep:
    pipeline_end_batch(fi->p);
    memmove(fi->buf, fi->buf + start, fi->len - start);
    fi->len -= start;
    fi->line_offset += (int64_t)start;
}

static void
file_input_reopen_if_rotated(struct file_input *fi)
{
    struct stat st;
    int fd;

    if (stat(fi->ci->path, &st) != 0) {
        return; /* moved away and not yet recreated */
    }
    if (st.st_ino == fi->ino && st.st_size >= fi->read_offset) {
        return;
    }
    fd = open(fi->ci->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        log_warn("open(\"%s\") after rotation failed: %s", fi->ci->path, strerror(errno));
        return;
    }
    log_info("input %s was %s; reading the new file from the start", fi->ci->path,
             st.st_ino == fi->ino ? "truncated" : "rotated");
    if (fi->len > 0) {
        file_input_consume(fi, 1);
    }
    close(fi->fd);
    fi->fd = fd;
    fi->ino = st.st_ino;
    fi->read_offset = 0;
    fi->line_offset = 0;
    fi->src.line = 0;
    fi->len = 0;
    fi->discarding = 0;
}

static void
file_input_timer_cb(uv_timer_t *t)
{
    struct file_input *fi = t->data;

    if (fi->stopping || fi->reading || fi->paused) {
        return;
    }
    file_input_reopen_if_rotated(fi);
    file_input_read(fi);
}

/* The last read hit the end: wait for more (follow), or process the tail and finish. */
static void
file_input_eof(struct file_input *fi)
{
    if (fi->ci->follow && !fi->stopping) {
        file_input_consume(fi, 0);
        if (fi->paused) {
            fi->at_eof = 1;
        }
        pipeline_flush(fi->p);
        return; /* the timer polls for more */
    }
    file_input_consume(fi, 1);
    if (fi->paused) {
        fi->at_eof = 1;
        return;
    }
    pipeline_flush(fi->p);
    file_input_finish(fi);
}

static void
file_input_read_cb(uv_fs_t *req)
{
    struct file_input *fi = req->data;
    ssize_t n = req->result;

    uv_fs_req_cleanup(req);
    fi->reading = 0;
    if (n < 0) {
        log_err("read from %s failed: %s", fi->src.name, uv_strerror((int)n));
        file_input_consume(fi, 1);
        pipeline_flush(fi->p);
        file_input_finish(fi);
        return;
    }
    if (n == 0) {
        file_input_eof(fi);
        return;
    }
    fi->len += (size_t)n;
    fi->read_offset += n;
    file_input_consume(fi, 0);
    if (fi->paused && !fi->stopping) {
        return; /* file_input_resume() carries on */
    }
    if (fi->stopping) {
        pipeline_flush(fi->p);
        file_input_finish(fi);
        return;
    }
    file_input_read(fi);
}

static void
file_input_read(struct file_input *fi)
{
    uv_buf_t b;
    int r;

    if (fi->cap - fi->len < FILE_INPUT_CHUNK / 4) {
        fi->cap = fi->cap * 2;
        fi->buf = xrealloc(fi->buf, fi->cap);
    }
    b = uv_buf_init(fi->buf + fi->len, (unsigned int)(fi->cap - fi->len));
    fi->req.data = fi;
    fi->reading = 1;
    r = uv_fs_read(fi->loop, &fi->req, fi->fd, &b, 1, fi->is_stdin ? -1 : fi->read_offset,
                   file_input_read_cb);
    if (r < 0) {
        fi->reading = 0;
        log_err("uv_fs_read(%s) failed: %s", fi->src.name, uv_strerror(r));
        file_input_finish(fi);
    }
}

int
file_input_new(uv_loop_t *loop, const struct conf_input *ci, uint32_t index, struct pipeline *p,
               int64_t max_line, file_input_done_cb done, void *arg, struct file_input **out,
               char *err, size_t errlen)
{
    struct file_input *fi;
    struct stat st;

    *out = NULL;
    fi = xcalloc(1, sizeof(*fi));
    fi->loop = loop;
    fi->ci = ci;
    fi->p = p;
    fi->done = done;
    fi->done_arg = arg;
    fi->src.input = index;
    fi->src.partition = -1;
    fi->src.name = ci->name;
    fi->max_line = (size_t)max_line;
    fi->cap = FILE_INPUT_CHUNK;
    while (fi->cap < 2 * fi->max_line + 2) {
        fi->cap *= 2;
    }
    fi->buf = xmalloc(fi->cap);
    if (ci->type == INPUT_STDIN) {
        fi->fd = 0;
        fi->is_stdin = 1;
    } else {
        fi->fd = open(ci->path, O_RDONLY | O_CLOEXEC);
        if (fi->fd < 0) {
            snprintf(err, errlen, "open(\"%s\") failed: %s", ci->path, strerror(errno));
            free(fi->buf);
            free(fi);
            return -1;
        }
        if (fstat(fi->fd, &st) == 0) {
            fi->ino = st.st_ino;
        }
    }
    if (ci->follow) {
        uv_timer_init(loop, &fi->timer);
        fi->timer.data = fi;
        fi->timer_open = 1;
    }
    *out = fi;
    return 0;
}

void
file_input_start(struct file_input *fi)
{
    if (fi->timer_open) {
        uv_timer_start(&fi->timer, file_input_timer_cb, (uint64_t)fi->ci->poll_interval_ms,
                       (uint64_t)fi->ci->poll_interval_ms);
    }
    file_input_read(fi);
}

void
file_input_resume(struct file_input *fi)
{
    if (!fi->paused || fi->finished) {
        return;
    }
    fi->paused = 0;
    if (fi->at_eof) {
        fi->at_eof = 0;
        file_input_eof(fi);
        return;
    }
    file_input_consume(fi, 0);
    if (fi->paused) {
        return;
    }
    if (fi->stopping) {
        pipeline_flush(fi->p);
        file_input_finish(fi);
        return;
    }
    if (!fi->reading) {
        file_input_read(fi);
    }
}

void
file_input_stop(struct file_input *fi)
{
    fi->stopping = 1;
    if (!fi->reading) {
        pipeline_flush(fi->p);
        file_input_finish(fi);
    }
}

static void
file_input_timer_close_cb(uv_handle_t *h)
{
    struct file_input *fi = h->data;

    free(fi->buf);
    free(fi);
}

void
file_input_free(struct file_input *fi)
{
    if (fi == NULL) {
        return;
    }
    if (!fi->is_stdin && fi->fd >= 0) {
        close(fi->fd);
    }
    if (fi->timer_open) {
        uv_close((uv_handle_t *)&fi->timer, file_input_timer_close_cb);
        return;
    }
    free(fi->buf);
    free(fi);
}

uint64_t
file_input_lines(const struct file_input *fi)
{
    return fi->lines;
}
