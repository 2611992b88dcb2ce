/*
 * Delivery of a partner's alerts: spool + transport (see deliver.h, docs/DELIVERY.md).
 * Stub bodies so the partner layer can be written against deliver.h; the real
 * implementation follows.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "deliver.h"

int
deliver_check(const struct deliver_conf *dc, struct errlist *errs)
{
    (void)dc;
    (void)errs;
    return 0;
}

int
deliver_new(uv_loop_t *loop, const struct deliver_conf *dc, struct deliver **out,
            struct errlist *errs)
{
    (void)loop;
    (void)dc;
    *out = NULL;
    errlist_add(errs, dc->conf_file, dc->deliver != NULL ? dc->deliver->line : 0,
                dc->deliver != NULL ? dc->deliver->col : 0,
                "partner '%s': delivery is not implemented yet", dc->partner);
    return -1;
}

int
deliver_submit(struct deliver *d, const char *alert_id, const void *bytes, size_t len)
{
    (void)d;
    (void)alert_id;
    (void)bytes;
    (void)len;
    return -ENOSYS;
}

void
deliver_set_writable_cb(struct deliver *d, deliver_writable_cb cb, void *arg)
{
    (void)d;
    (void)cb;
    (void)arg;
}

void
deliver_reopen(struct deliver *d)
{
    (void)d;
}

void
deliver_stop(struct deliver *d, deliver_done_cb done, void *arg)
{
    (void)d;
    done(arg);
}

void
deliver_free(struct deliver *d)
{
    (void)d;
}

void
deliver_get_stats(const struct deliver *d, struct deliver_stats *st)
{
    (void)d;
    memset(st, 0, sizeof(*st));
}

const char *
deliver_partner(const struct deliver *d)
{
    (void)d;
    return "";
}
