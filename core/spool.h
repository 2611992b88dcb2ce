/*
 * A partner's spool: an on-disk FIFO of framed records in append-only segment files, with a
 * persisted cursor saying what was delivered (format and guarantees: docs/DELIVERY.md).
 *
 *   <dir>/00000000000000000007.seg   segment: 16-byte header, then records
 *   <dir>/cursor                     last acknowledged position, replaced by rename
 *   <dir>/lock                       flock()ed while a process uses the spool
 *
 * spool_append() write(2)s a record at the end of the current segment (it then survives the
 * process being killed; fsync happens in spool_sync*). spool_read() hands out the records
 * after the read position in order; spool_ack() marks them delivered, in the same order, and
 * deletes segments whose records were all read and acknowledged. spool_open() recovers what
 * an earlier process left: records after its cursor are read again, corrupt or truncated
 * regions are logged, counted and skipped.
 *
 * Single-threaded (the loop thread), except spool_sync_run() which may run on a worker
 * thread between spool_sync_prepare() and spool_sync_finish().
 */
#ifndef KZ_SPOOL_H
#define KZ_SPOOL_H

#include <stddef.h>
#include <stdint.h>

#define SPOOL_MAX_ID 1024                 /* bytes of an alert id */
#define SPOOL_FORMAT_MAX_DATA (64u << 20) /* larger lengths are corruption */
#define SPOOL_SEG_HEADER 16               /* "KZSPOOL1" + u64 LE segment number */
#define SPOOL_REC_HEADER 12               /* u32 len, u16 id_len, u16 magic, u32 crc32c */

enum spool_policy {
    SPOOL_BLOCK,       /* full: spool_append() returns -EAGAIN */
    SPOOL_DROP_OLDEST, /* full: the oldest segment is deleted, its unread records counted */
};

struct spool_conf {
    const char *dir;        /* created (0700) if missing, parent must exist */
    const char *tag;        /* log prefix, e.g. "partner 'soc'" */
    uint64_t max_bytes;     /* limit on the segment files' total size */
    uint64_t segment_bytes; /* a segment is closed once it would grow past this */
    uint32_t max_record;    /* bytes of one record's data, <= SPOOL_FORMAT_MAX_DATA */
    enum spool_policy policy;
    int sync_each; /* fdatasync after every append (slow; fsync_interval 0) */
};

struct spool;

/* One record handed out by spool_read(). */
struct spool_rec {
    uint64_t seg;  /* segment number */
    uint64_t off;  /* offset of the record in it */
    uint64_t end;  /* offset after it */
    int recovered; /* spooled by an earlier process */
    size_t id_len;
    size_t len;
    char *id;   /* NUL-terminated, points into the same allocation as the struct */
    char *data; /* NUL-terminated (not counted in len), same allocation */
};

struct spool_stats {
    uint64_t bytes;   /* size of the segment files */
    uint64_t records; /* appended or recovered, not yet acknowledged or dropped */
    uint64_t segments;
    uint64_t recovered; /* records found after the cursor by spool_open() */
    uint64_t dropped;   /* unread records deleted by SPOOL_DROP_OLDEST */
    uint64_t corrupt;   /* corrupt regions skipped */
    uint64_t corrupt_bytes;
};

/*
 * Open (creating if needed) the spool in sc->dir, lock it against other processes, read
 * the cursor and scan the segments after it. Returns 0 and *out (free with spool_close()),
 * or -1 with a message in err. Sets SIGXFSZ to SIG_IGN, so exceeding RLIMIT_FSIZE is EFBIG.
 */
int spool_open(const struct spool_conf *sc, struct spool **out, char *err, size_t errlen);

/*
 * Append one record. id: 1..SPOOL_MAX_ID bytes. Returns 0 once write(2) has put it in the
 * file, -EAGAIN when full under SPOOL_BLOCK, -EMSGSIZE when it can never fit (larger than
 * max_record or a quarter of max_bytes), -EINVAL for a bad id, or -errno of a failed
 * open/write (nothing is left of a partly written record).
 */
int spool_append(struct spool *sp, const char *id, size_t id_len, const void *data, size_t len);

/*
 * Read the next record after the read position. Returns 1 and *out (caller frees with
 * free()), 0 when every appended record was read, or -errno on a read error (the record
 * will be read again next time).
 */
int spool_read(struct spool *sp, struct spool_rec **out);

/*
 * Acknowledge a record returned by spool_read() (delivered, rejected: done with). Records
 * must be acknowledged in the order they were read. Moves the cursor, and deletes segments
 * that were read and acknowledged completely. Acks of records whose segment was dropped are
 * ignored.
 */
void spool_ack(struct spool *sp, const struct spool_rec *rec);

/* 1 when a record of len data bytes and id_len id bytes fits now. */
int spool_has_room(const struct spool *sp, size_t id_len, size_t len);

void spool_get_stats(const struct spool *sp, struct spool_stats *st);

/*
 * Durability in three steps so the slow part can run on a worker thread:
 * spool_sync_prepare() (loop thread) collects what needs fsync — data written since the last
 * sync, closed segments, the cursor if it moved, the directory if files came or went — and
 * returns a job, or NULL when there is nothing to do. spool_sync_run(job) (any thread)
 * fsyncs and replaces the cursor file. spool_sync_finish() (loop thread) logs failures and
 * frees the job; returns 0 or -errno of the first failure. One job at a time; spool_close()
 * must not be called while one is outstanding.
 */
struct spool_sync;
struct spool_sync *spool_sync_prepare(struct spool *sp);
void spool_sync_run(struct spool_sync *job);
int spool_sync_finish(struct spool *sp, struct spool_sync *job);
/* All three steps on the calling thread. */
int spool_sync(struct spool *sp);

/* Sync, save the cursor, close and free. Accepts NULL. */
void spool_close(struct spool *sp);

/* CRC-32C (Castagnoli) of len bytes, continuing from crc (0 to start). */
uint32_t spool_crc32c(uint32_t crc, const void *data, size_t len);

#endif
