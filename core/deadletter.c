/*
 * Dead-letter sink: JSON lines, one per event that could not be processed.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "deadletter.h"
#include "log.h"
#include "timeutil.h"
#include "xmalloc.h"

struct deadletter {
    char *path; /* NULL: stderr */
    FILE *f;
    struct buf line;
    uint64_t count;
};

int
deadletter_open(const char *path, struct deadletter **out, char *err, size_t errlen)
{
    struct deadletter *dl = xcalloc(1, sizeof(*dl));

    *out = NULL;
    if (path != NULL) {
        dl->path = xstrdup(path);
        dl->f = fopen(path, "a");
        if (dl->f == NULL) {
            snprintf(err, errlen, "fopen(\"%s\") failed: %s", path, strerror(errno));
            free(dl->path);
            free(dl);
            return -1;
        }
    } else {
        dl->f = stderr;
    }
    *out = dl;
    return 0;
}

void
deadletter_write(struct deadletter *dl, const struct event_source *src, const char *reason,
                 const char *raw, size_t len)
{
    char when[32];

    time_format_rfc3339(time_now_us(), when);
    buf_reset(&dl->line);
    buf_printf(&dl->line, "{\"@timestamp\":\"%s\",\"reason\":", when);
    buf_json_string(&dl->line, reason, strlen(reason));
    buf_puts(&dl->line, ",\"source\":{\"input\":");
    buf_printf(&dl->line, "%" PRIu32 ",\"name\":", src->input);
    buf_json_string(&dl->line, src->name ? src->name : "", src->name ? strlen(src->name) : 0);
    if (src->partition >= 0) {
        buf_printf(&dl->line, ",\"partition\":%" PRId32 ",\"offset\":%" PRId64, src->partition,
                   src->offset);
    } else {
        buf_printf(&dl->line, ",\"line\":%" PRIu64 ",\"offset\":%" PRId64, src->line,
                   src->offset);
    }
    buf_puts(&dl->line, "},\"event.original\":");
    buf_json_string(&dl->line, raw, len);
    buf_puts(&dl->line, "}\n");
    if (fwrite(dl->line.data, 1, dl->line.len, dl->f) != dl->line.len) {
        log_err("dead-letter write to %s failed: %s", dl->path ? dl->path : "stderr",
                strerror(errno));
    }
    dl->count++;
}

void
deadletter_flush(struct deadletter *dl)
{
    if (fflush(dl->f) != 0) {
        log_err("dead-letter flush of %s failed: %s", dl->path ? dl->path : "stderr",
                strerror(errno));
    }
}

int
deadletter_reopen(struct deadletter *dl)
{
    FILE *f;

    if (dl->path == NULL) {
        return 0;
    }
    f = fopen(dl->path, "a");
    if (f == NULL) {
        log_err("fopen(\"%s\") failed: %s; keeping the old file open", dl->path,
                strerror(errno));
        return -1;
    }
    fclose(dl->f);
    dl->f = f;
    return 0;
}

void
deadletter_close(struct deadletter *dl)
{
    if (dl == NULL) {
        return;
    }
    deadletter_flush(dl);
    if (dl->f != stderr) {
        fclose(dl->f);
    }
    buf_free(&dl->line);
    free(dl->path);
    free(dl);
}

uint64_t
deadletter_count(const struct deadletter *dl)
{
    return dl->count;
}
