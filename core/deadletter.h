/*
 * The dead-letter sink: events that could not be processed (undecodable, too large, too
 * many fields, late beyond the allowed lateness with policy dead_letter) are written here as
 * JSON lines with the reason, their source position and the raw bytes, so nothing is lost.
 */
#ifndef KZ_DEADLETTER_H
#define KZ_DEADLETTER_H

#include <stddef.h>
#include <stdint.h>

#include "event.h"

struct deadletter;

/*
 * Open the sink: append to path, or write to stderr when path is NULL. Returns 0 and *out
 * (caller frees with deadletter_close), or -1 with a message in err.
 */
int deadletter_open(const char *path, struct deadletter **out, char *err, size_t errlen);
/* Write one record: {"@timestamp","reason","source":{...},"event.original"}. */
void deadletter_write(struct deadletter *dl, const struct event_source *src, const char *reason,
                      const char *raw, size_t len);
void deadletter_flush(struct deadletter *dl);
/* Reopen the file (after logrotate moved it). */
int deadletter_reopen(struct deadletter *dl);
void deadletter_close(struct deadletter *dl);
uint64_t deadletter_count(const struct deadletter *dl);

#endif
