/*
 * A partner's spool: append-only segment files of CRC-framed records plus a cursor file
 * (spool.h; format and guarantees in docs/DELIVERY.md).
 *
 * Segment file: "KZSPOOL1", u64 LE segment number, then records:
 *   u32 LE data length | u16 LE id length | u16 magic "KZ" | u32 LE CRC-32C | id | data
 * The CRC covers the first 8 header bytes, the id and the data. A record that does not
 * parse (bad magic or bounds, past the end of the file, wrong CRC) starts a corrupt region;
 * the reader resynchronises on the next offset where a whole valid record starts.
 *
 * Cursor file: "KZCURSR1", u64 LE segment, u64 LE offset, u32 LE CRC-32C of the 24 bytes
 * before it. Written to cursor.tmp and renamed over cursor.
 */
#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "spool.h"
#include "xmalloc.h"

#define SPOOL_MAGIC0 'K'
#define SPOOL_MAGIC1 'Z'
#define SPOOL_SEG_MAGIC "KZSPOOL1"
#define SPOOL_CUR_MAGIC "KZCURSR1"
#define SPOOL_CUR_SIZE 28
#define SPOOL_READ_CHUNK (64 * 1024)
#define SPOOL_SEG_NAME_LEN 24 /* 20 digits + ".seg" */
#define SPOOL_DROP_LOG_S 10   /* drop_oldest: at most one log line this often */

struct spool_seg {
    uint64_t seq;
    uint64_t size;   /* bytes of the file (for the write segment: what we appended) */
    uint64_t nrec;   /* valid records (for a recovered segment: after the cursor) */
    uint64_t nread;  /* records spool_read() handed out */
    uint64_t nacked; /* records spool_ack()ed */
    int sealed;      /* nothing more will be appended */
    int read_done;   /* the reader went past its end */
    int recovered;   /* found by spool_open(): corruption was counted by the scan */
    int bad;         /* header unreadable or wrong: the whole file is one corrupt region */
};

struct spool {
    char *dir;
    char *tag;
    uint64_t max_bytes;
    uint64_t segment_bytes;
    uint32_t max_record;
    enum spool_policy policy;
    int sync_each;

    int dirfd;
    int lockfd;
    struct spool_seg *segs; /* in segment order */
    size_t nsegs;
    size_t segs_cap;

    /* writer */
    int wfd;           /* the write segment (the last one), -1: next append creates one */
    uint64_t next_seq; /* number of the next segment created */
    int *unsynced;     /* fds of closed segments, fsynced and closed by the next sync */
    size_t nunsynced;
    size_t unsynced_cap;
    int dirty;     /* appended since the last sync */
    int dir_dirty; /* files created or deleted since the last sync */

    /* reader */
    uint64_t rseq; /* segment being read (or the next one to exist) */
    uint64_t roff; /* next offset in it; 0: header not checked yet */
    int rfd;
    uint64_t rfd_seq;
    char *rbuf; /* holds [rbuf_off, rbuf_off + rbuf_len) of segment rfd_seq */
    size_t rbuf_cap;
    uint64_t rbuf_off;
    size_t rbuf_len;

    /* cursor: position after the last acknowledged record */
    uint64_t cur_seg;
    uint64_t cur_off;
    int cur_dirty;
    int sync_busy;

    struct spool_stats st;
    uint64_t drop_unlogged; /* dropped records not logged yet */
    time_t drop_logged_at;  /* CLOCK_MONOTONIC seconds of the last drop message */
};

struct spool_sync {
    int *fds; /* fdatasync, then close */
    size_t nfds;
    int dirfd;
    int write_cursor;
    uint64_t cur_seg;
    uint64_t cur_off;
    int dir_sync;
    int err;          /* errno of the first failure */
    const char *what; /* the call that failed */
};

/* CRC-32C, slicing by 8 (about 1-2 GB/s; spool records are alerts, not events). */
static uint32_t spool_crc_table[8][256];
static int spool_crc_ready;

static void
spool_crc_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) {
            c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
        }
        spool_crc_table[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++) {
        for (int t = 1; t < 8; t++) {
            uint32_t prev = spool_crc_table[t - 1][i];
            spool_crc_table[t][i] = (prev >> 8) ^ spool_crc_table[0][prev & 0xff];
        }
    }
    spool_crc_ready = 1;
}

uint32_t
spool_crc32c(uint32_t crc, const void *data, size_t len)
{
    const unsigned char *p = data;

    if (!spool_crc_ready) {
        spool_crc_init();
    }
    crc = ~crc;
    while (len >= 8) {
        uint32_t lo = crc ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                             (uint32_t)p[3] << 24);
        crc = spool_crc_table[7][lo & 0xff] ^ spool_crc_table[6][(lo >> 8) & 0xff] ^
              spool_crc_table[5][(lo >> 16) & 0xff] ^ spool_crc_table[4][lo >> 24] ^
              spool_crc_table[3][p[4]] ^ spool_crc_table[2][p[5]] ^ spool_crc_table[1][p[6]] ^
              spool_crc_table[0][p[7]];
        p += 8;
        len -= 8;
    }
    while (len-- > 0) {
        crc = (crc >> 8) ^ spool_crc_table[0][(crc ^ *p++) & 0xff];
    }
    return ~crc;
}

static void
spool_put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

static void
spool_put64(unsigned char *p, uint64_t v)
{
    spool_put32(p, (uint32_t)v);
    spool_put32(p + 4, (uint32_t)(v >> 32));
}

static uint32_t
spool_get32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t
spool_get64(const unsigned char *p)
{
    return (uint64_t)spool_get32(p) | (uint64_t)spool_get32(p + 4) << 32;
}

static void
spool_seg_name(uint64_t seq, char *name)
{
    snprintf(name, SPOOL_SEG_NAME_LEN + 1, "%020" PRIu64 ".seg", seq);
}

/* Parse "NNNNNNNNNNNNNNNNNNNN.seg"; returns 0 and *seq, or -1. */
static int
spool_seg_parse_name(const char *name, uint64_t *seq)
{
    uint64_t v = 0;

    if (strlen(name) != SPOOL_SEG_NAME_LEN || strcmp(name + 20, ".seg") != 0) {
        return -1;
    }
    for (int i = 0; i < 20; i++) {
        if (name[i] < '0' || name[i] > '9') {
            return -1;
        }
        v = v * 10 + (uint64_t)(name[i] - '0');
    }
    *seq = v;
    return 0;
}

static struct spool_seg *
spool_seg_find(struct spool *sp, uint64_t seq)
{
    for (size_t i = 0; i < sp->nsegs; i++) {
        if (sp->segs[i].seq == seq) {
            return &sp->segs[i];
        }
    }
    return NULL;
}

static struct spool_seg *
spool_seg_push(struct spool *sp, uint64_t seq)
{
    struct spool_seg *s;

    if (sp->nsegs == sp->segs_cap) {
        sp->segs_cap = sp->segs_cap ? 2 * sp->segs_cap : 8;
        sp->segs = xreallocarray(sp->segs, sp->segs_cap, sizeof(*sp->segs));
    }
    s = &sp->segs[sp->nsegs++];
    memset(s, 0, sizeof(*s));
    s->seq = seq;
    return s;
}

/* The segment being appended to, or NULL. */
static struct spool_seg *
spool_wseg(struct spool *sp)
{
    if (sp->wfd < 0 || sp->nsegs == 0) {
        return NULL;
    }
    return &sp->segs[sp->nsegs - 1];
}

static void
spool_reader_close(struct spool *sp)
{
    if (sp->rfd >= 0) {
        close(sp->rfd);
        sp->rfd = -1;
    }
    sp->rbuf_len = 0;
    sp->rbuf_off = 0;
    if (sp->rbuf_cap > 4 * SPOOL_READ_CHUNK) {
        free(sp->rbuf);
        sp->rbuf = NULL;
        sp->rbuf_cap = 0;
    }
}

/* Open segment seq for reading (keeps it open while reading it). Returns 0 or -errno. */
static int
spool_reader_open(struct spool *sp, uint64_t seq)
{
    char name[SPOOL_SEG_NAME_LEN + 1];
    int fd;

    if (sp->rfd >= 0 && sp->rfd_seq == seq) {
        return 0;
    }
    spool_reader_close(sp);
    spool_seg_name(seq, name);
    fd = openat(sp->dirfd, name, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return -errno;
    }
    sp->rfd = fd;
    sp->rfd_seq = seq;
    return 0;
}

/*
 * Make [off, off + n) of the open segment available in rbuf, reading at most up to limit.
 * Returns a pointer to byte off, or NULL (*err = -errno, or 0 when the file is shorter than
 * expected).
 */
static const unsigned char *
spool_reader_fill(struct spool *sp, uint64_t off, size_t n, uint64_t limit, int *err)
{
    size_t want, have;

    *err = 0;
    if (off >= sp->rbuf_off && off + n <= sp->rbuf_off + sp->rbuf_len) {
        return (const unsigned char *)sp->rbuf + (off - sp->rbuf_off);
    }
    want = n > SPOOL_READ_CHUNK ? n : SPOOL_READ_CHUNK;
    if (off + want > limit) {
        want = (size_t)(limit - off);
    }
    if (want < n) {
        return NULL;
    }
    if (want > sp->rbuf_cap) {
        free(sp->rbuf);
        sp->rbuf = xmalloc(want);
        sp->rbuf_cap = want;
    }
    sp->rbuf_off = off;
    sp->rbuf_len = 0;
    have = 0;
    while (have < want) {
        ssize_t r = pread(sp->rfd, sp->rbuf + have, want - have, (off_t)(off + have));
        if (r < 0) {
            if (errno == EINTR) {
                continue;
            }
            *err = -errno;
            return NULL;
        }
        if (r == 0) {
            break;
        }
        have += (size_t)r;
    }
    sp->rbuf_len = have;
    if (have < n) {
        return NULL;
    }
    return (const unsigned char *)sp->rbuf;
}

/*
 * Parse the record at off (segment open in the reader, file extent limit). Returns 1 and
 * *total (header + id + data), 0 when no valid record starts there, or -errno.
 */
static int
spool_rec_check(struct spool *sp, uint64_t off, uint64_t limit, size_t *total)
{
    const unsigned char *p;
    uint32_t len, crc;
    uint16_t id_len;
    size_t t;
    int err;

    if (limit < off + SPOOL_REC_HEADER) {
        return 0;
    }
    p = spool_reader_fill(sp, off, SPOOL_REC_HEADER, limit, &err);
    if (p == NULL) {
        return err;
    }
    if (p[6] != SPOOL_MAGIC0 || p[7] != SPOOL_MAGIC1) {
        return 0;
    }
    len = spool_get32(p);
    id_len = (uint16_t)(p[4] | p[5] << 8);
    if (len > SPOOL_FORMAT_MAX_DATA || id_len == 0 || id_len > SPOOL_MAX_ID) {
        return 0;
    }
    t = SPOOL_REC_HEADER + (size_t)id_len + len;
    if (off + t > limit) {
        return 0;
    }
    p = spool_reader_fill(sp, off, t, limit, &err);
    if (p == NULL) {
        return err;
    }
    crc = spool_crc32c(0, p, 8);
    crc = spool_crc32c(crc, p + SPOOL_REC_HEADER, t - SPOOL_REC_HEADER);
    if (crc != spool_get32(p + 8)) {
        return 0;
    }
    *total = t;
    return 1;
}

/*
 * After a corrupt record at off: the next offset where a valid record starts, or limit.
 * Returns 0 and *next, or -errno.
 */
static int
spool_resync(struct spool *sp, uint64_t off, uint64_t limit, uint64_t *next)
{
    *next = limit; /* until a valid record is found (set on every path) */
    for (uint64_t p = off + 1; p + SPOOL_REC_HEADER <= limit; p++) {
        const unsigned char *h;
        size_t total;
        int err, r;

        h = spool_reader_fill(sp, p, SPOOL_REC_HEADER, limit, &err);
        if (h == NULL) {
            if (err != 0) {
                return err;
            }
            break;
        }
        if (h[6] != SPOOL_MAGIC0 || h[7] != SPOOL_MAGIC1) {
            continue;
        }
        r = spool_rec_check(sp, p, limit, &total);
        if (r < 0) {
            return r;
        }
        if (r == 1) {
            *next = p;
            return 0;
        }
    }
    *next = limit;
    return 0;
}

/* Check the segment header of the open segment; 1 when it is right. */
static int
spool_seg_header_ok(struct spool *sp, uint64_t seq, uint64_t limit)
{
    const unsigned char *p;
    int err;

    p = spool_reader_fill(sp, 0, SPOOL_SEG_HEADER, limit, &err);
    return p != NULL && memcmp(p, SPOOL_SEG_MAGIC, 8) == 0 && spool_get64(p + 8) == seq;
}

static void
spool_corrupt(struct spool *sp, uint64_t seq, uint64_t off, uint64_t next, int count)
{
    if (count) {
        sp->st.corrupt++;
        sp->st.corrupt_bytes += next - off;
        log_err("%s: spool segment %" PRIu64 ": corrupt or truncated record at offset %" PRIu64
                ", skipped %" PRIu64 " bytes",
                sp->tag, seq, off, next - off);
    }
}

/* Delete segment i's file and forget it. */
static void
spool_seg_delete(struct spool *sp, size_t i)
{
    char name[SPOOL_SEG_NAME_LEN + 1];
    struct spool_seg *s = &sp->segs[i];

    spool_seg_name(s->seq, name);
    if (sp->rfd >= 0 && sp->rfd_seq == s->seq) {
        spool_reader_close(sp);
    }
    if (unlinkat(sp->dirfd, name, 0) != 0 && errno != ENOENT) {
        log_err("%s: unlink(\"%s/%s\") failed: %s", sp->tag, sp->dir, name, strerror(errno));
    }
    sp->st.bytes -= s->size;
    memmove(&sp->segs[i], &sp->segs[i + 1], (sp->nsegs - i - 1) * sizeof(*sp->segs));
    sp->nsegs--;
    sp->dir_dirty = 1;
}

/* Delete the leading segments that were read and acknowledged completely. */
static void
spool_gc(struct spool *sp)
{
    while (sp->nsegs > 0) {
        struct spool_seg *h = &sp->segs[0];
        if (!h->sealed || !h->read_done || h->nacked != h->nread) {
            break;
        }
        spool_seg_delete(sp, 0);
    }
}

/* Close the write segment; its fd is fsynced and closed by the next sync. */
static void
spool_seal(struct spool *sp)
{
    struct spool_seg *w = spool_wseg(sp);

    if (w == NULL) {
        return;
    }
    w->sealed = 1;
    if (sp->nunsynced == sp->unsynced_cap) {
        sp->unsynced_cap = sp->unsynced_cap ? 2 * sp->unsynced_cap : 8;
        sp->unsynced = xreallocarray(sp->unsynced, sp->unsynced_cap, sizeof(*sp->unsynced));
    }
    sp->unsynced[sp->nunsynced++] = sp->wfd;
    sp->wfd = -1;
}

/* SPOOL_DROP_OLDEST: delete the oldest segment, counting what was not delivered. */
static void
spool_drop_oldest(struct spool *sp)
{
    struct spool_seg *h = &sp->segs[0];
    uint64_t unread, unacked;
    struct timespec now;

    if (spool_wseg(sp) == h) {
        spool_seal(sp);
    }
    unread = h->nrec - h->nread;
    unacked = h->nrec - h->nacked;
    sp->st.dropped += unread;
    sp->st.records -= unacked;
    sp->drop_unlogged += unread;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (sp->drop_logged_at == 0 || now.tv_sec - sp->drop_logged_at >= SPOOL_DROP_LOG_S) {
        /* loud, but at most one line per SPOOL_DROP_LOG_S */
        log_err("%s: spool full (spool.max_bytes %" PRIu64 "): dropped %" PRIu64
                " undelivered records, oldest first (policy drop_oldest; %" PRIu64
                " dropped since start)",
                sp->tag, sp->max_bytes, sp->drop_unlogged, sp->st.dropped);
        sp->drop_unlogged = 0;
        sp->drop_logged_at = now.tv_sec > 0 ? now.tv_sec : 1;
    }
    if (sp->rseq <= h->seq) {
        sp->rseq = h->seq + 1;
        sp->roff = 0;
    }
    spool_seg_delete(sp, 0);
}

/* Start a new write segment. Returns 0 or -errno. */
static int
spool_seg_create(struct spool *sp)
{
    char name[SPOOL_SEG_NAME_LEN + 1];
    unsigned char hdr[SPOOL_SEG_HEADER];
    struct spool_seg *s;
    uint64_t seq = sp->next_seq;
    ssize_t w;
    int fd, r;

    spool_seg_name(seq, name);
    fd = openat(sp->dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) {
        r = -errno;
        log_err("%s: open(\"%s/%s\") failed: %s", sp->tag, sp->dir, name, strerror(-r));
        return r;
    }
    memcpy(hdr, SPOOL_SEG_MAGIC, 8);
    spool_put64(hdr + 8, seq);
    do {
        w = write(fd, hdr, sizeof(hdr));
    } while (w < 0 && errno == EINTR);
    if (w != (ssize_t)sizeof(hdr)) {
        r = w < 0 ? -errno : -ENOSPC;
        log_err("%s: write(\"%s/%s\") failed: %s", sp->tag, sp->dir, name, strerror(-r));
        close(fd);
        unlinkat(sp->dirfd, name, 0);
        return r;
    }
    sp->next_seq++;
    sp->wfd = fd;
    s = spool_seg_push(sp, seq);
    s->size = SPOOL_SEG_HEADER;
    sp->st.bytes += SPOOL_SEG_HEADER;
    sp->dir_dirty = 1;
    sp->dirty = 1;
    return 0;
}

/* Write all of iov; on failure cut the file back to size. Returns 0 or -errno. */
static int
spool_writev_all(struct spool *sp, struct iovec *iov, int iovcnt, uint64_t size)
{
    while (iovcnt > 0) {
        ssize_t w = writev(sp->wfd, iov, iovcnt);
        if (w < 0) {
            int r = -errno;
            if (r == -EINTR) {
                continue;
            }
            if (ftruncate(sp->wfd, (off_t)size) != 0) {
                log_err("%s: ftruncate() of spool segment failed: %s (a torn record is "
                        "left; the reader will skip it)",
                        sp->tag, strerror(errno));
            }
            return r;
        }
        while (iovcnt > 0 && (size_t)w >= iov->iov_len) {
            w -= (ssize_t)iov->iov_len;
            iov++;
            iovcnt--;
        }
        if (iovcnt > 0) {
            iov->iov_base = (char *)iov->iov_base + w;
            iov->iov_len -= (size_t)w;
        }
    }
    return 0;
}

int
spool_has_room(const struct spool *sp, size_t id_len, size_t len)
{
    uint64_t need = SPOOL_REC_HEADER + id_len + len + SPOOL_SEG_HEADER;

    return sp->st.bytes + need <= sp->max_bytes;
}

int
spool_append(struct spool *sp, const char *id, size_t id_len, const void *data, size_t len)
{
    unsigned char hdr[SPOOL_REC_HEADER];
    struct iovec iov[3];
    struct spool_seg *w;
    uint64_t need = SPOOL_REC_HEADER + id_len + len;
    uint32_t crc;
    int r;

    if (id_len == 0 || id_len > SPOOL_MAX_ID) {
        return -EINVAL;
    }
    if (len > sp->max_record || need + SPOOL_SEG_HEADER > sp->max_bytes / 4) {
        return -EMSGSIZE;
    }
    w = spool_wseg(sp);
    if (w != NULL && w->nrec > 0 && w->size + need > sp->segment_bytes) {
        spool_seal(sp);
        w = NULL;
    }
    while (sp->st.bytes + need + (w == NULL ? SPOOL_SEG_HEADER : 0) > sp->max_bytes) {
        if (sp->policy == SPOOL_BLOCK || sp->nsegs == 0) {
            return -EAGAIN;
        }
        spool_drop_oldest(sp);
        w = spool_wseg(sp);
    }
    if (w == NULL) {
        r = spool_seg_create(sp);
        if (r != 0) {
            return r;
        }
        w = spool_wseg(sp);
    }
    spool_put32(hdr, (uint32_t)len);
    hdr[4] = (unsigned char)id_len;
    hdr[5] = (unsigned char)(id_len >> 8);
    hdr[6] = SPOOL_MAGIC0;
    hdr[7] = SPOOL_MAGIC1;
    crc = spool_crc32c(0, hdr, 8);
    crc = spool_crc32c(crc, id, id_len);
    crc = spool_crc32c(crc, data, len);
    spool_put32(hdr + 8, crc);
    iov[0].iov_base = hdr;
    iov[0].iov_len = sizeof(hdr);
    iov[1].iov_base = (void *)id;
    iov[1].iov_len = id_len;
    iov[2].iov_base = (void *)data;
    iov[2].iov_len = len;
    r = spool_writev_all(sp, iov, 3, w->size);
    if (r != 0) {
        if (r == -EFBIG && w->nrec > 0) {
            spool_seal(sp); /* the next record goes to a new, small file */
        }
        return r;
    }
    w->size += need;
    w->nrec++;
    sp->st.bytes += need;
    sp->st.records++;
    sp->dirty = 1;
    if (sp->sync_each) {
        if (fdatasync(sp->wfd) != 0) {
            log_err("%s: fdatasync() of spool segment failed: %s", sp->tag, strerror(errno));
        }
        if (sp->dir_dirty && fsync(sp->dirfd) == 0) {
            sp->dir_dirty = 0;
        }
    }
    return 0;
}

int
spool_read(struct spool *sp, struct spool_rec **out)
{
    *out = NULL;
    for (;;) {
        struct spool_seg *s = NULL;
        struct spool_rec *rec;
        const unsigned char *p;
        uint64_t next;
        size_t total;
        int r, err;

        for (size_t i = 0; i < sp->nsegs; i++) {
            if (sp->segs[i].seq >= sp->rseq) {
                s = &sp->segs[i];
                break;
            }
        }
        if (s == NULL) {
            return 0;
        }
        if (s->seq != sp->rseq) {
            sp->rseq = s->seq;
            sp->roff = 0;
        }
        if (s->read_done) {
            sp->rseq++;
            continue;
        }
        if (sp->roff >= s->size || s->bad) {
            if (!s->sealed) {
                return 0; /* caught up with the writer */
            }
            s->read_done = 1;
            spool_reader_close(sp);
            sp->rseq++;
            sp->roff = 0;
            spool_gc(sp);
            continue;
        }
        r = spool_reader_open(sp, s->seq);
        if (r == -ENOENT) {
            /* removed behind our back: what it held is gone, say so and go on */
            log_err("%s: spool segment %" PRIu64 " disappeared from %s; %" PRIu64
                    " records in it are lost",
                    sp->tag, s->seq, sp->dir, s->nrec - s->nread);
            sp->st.corrupt++;
            sp->st.records -= s->nrec - s->nread;
            s->nrec = s->nread;
            s->bad = 1;
            if (spool_wseg(sp) == s) {
                spool_seal(sp); /* appends go to a new file */
            }
            continue;
        }
        if (r != 0) {
            log_err("%s: open() of spool segment %" PRIu64 " failed: %s", sp->tag, s->seq,
                    strerror(-r));
            return r;
        }
        if (sp->roff < SPOOL_SEG_HEADER) {
            if (!spool_seg_header_ok(sp, s->seq, s->size)) {
                spool_corrupt(sp, s->seq, 0, s->size, !s->recovered);
                s->bad = 1;
                continue;
            }
            sp->roff = SPOOL_SEG_HEADER;
            continue;
        }
        r = spool_rec_check(sp, sp->roff, s->size, &total);
        if (r < 0) {
            log_err("%s: read of spool segment %" PRIu64 " failed: %s", sp->tag, s->seq,
                    strerror(-r));
            return r;
        }
        if (r == 0) {
            r = spool_resync(sp, sp->roff, s->size, &next);
            if (r < 0) {
                return r;
            }
            spool_corrupt(sp, s->seq, sp->roff, next, !s->recovered);
            sp->roff = next;
            continue;
        }
        p = spool_reader_fill(sp, sp->roff, total, s->size, &err);
        assert(p != NULL);
        rec = xmalloc(sizeof(*rec) + total + 2);
        rec->seg = s->seq;
        rec->off = sp->roff;
        rec->end = sp->roff + total;
        rec->recovered = s->recovered;
        rec->len = spool_get32(p);
        rec->id_len = (size_t)(p[4] | p[5] << 8);
        rec->id = (char *)(rec + 1);
        memcpy(rec->id, p + SPOOL_REC_HEADER, rec->id_len);
        rec->id[rec->id_len] = '\0';
        rec->data = rec->id + rec->id_len + 1;
        memcpy(rec->data, p + SPOOL_REC_HEADER + rec->id_len, rec->len);
        rec->data[rec->len] = '\0';
        sp->roff = rec->end;
        s->nread++;
        *out = rec;
        return 1;
    }
}

void
spool_ack(struct spool *sp, const struct spool_rec *rec)
{
    struct spool_seg *s = spool_seg_find(sp, rec->seg);

    if (s == NULL) {
        return; /* dropped */
    }
    assert(s->nacked < s->nread);
    s->nacked++;
    sp->st.records--;
    sp->cur_seg = rec->seg;
    sp->cur_off = rec->end;
    sp->cur_dirty = 1;
    spool_gc(sp);
}

void
spool_get_stats(const struct spool *sp, struct spool_stats *st)
{
    *st = sp->st;
    st->segments = sp->nsegs;
}

/* Read the cursor file; returns 0 and the position, or -1 when absent or invalid. */
static int
spool_cursor_load(struct spool *sp, uint64_t *seg, uint64_t *off)
{
    unsigned char b[SPOOL_CUR_SIZE + 1];
    ssize_t n;
    int fd;

    fd = openat(sp->dirfd, "cursor", O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno != ENOENT) {
            log_err("%s: open(\"%s/cursor\") failed: %s; delivering from the oldest record",
                    sp->tag, sp->dir, strerror(errno));
        }
        return -1;
    }
    n = read(fd, b, sizeof(b));
    close(fd);
    if (n != SPOOL_CUR_SIZE || memcmp(b, SPOOL_CUR_MAGIC, 8) != 0 ||
        spool_crc32c(0, b, 24) != spool_get32(b + 24)) {
        log_err("%s: \"%s/cursor\" is invalid; delivering from the oldest record (partners "
                "may receive duplicates)",
                sp->tag, sp->dir);
        return -1;
    }
    *seg = spool_get64(b + 8);
    *off = spool_get64(b + 16);
    return 0;
}

static int
spool_u64_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

/*
 * Count the valid records of recovered segment s from off, logging corrupt regions.
 * Returns 0 or -errno.
 */
static int
spool_scan(struct spool *sp, struct spool_seg *s, uint64_t off)
{
    int r;

    r = spool_reader_open(sp, s->seq);
    if (r != 0) {
        return r;
    }
    if (!spool_seg_header_ok(sp, s->seq, s->size)) {
        spool_corrupt(sp, s->seq, 0, s->size, 1);
        s->bad = 1;
        goto out;
    }
    if (off < SPOOL_SEG_HEADER) {
        off = SPOOL_SEG_HEADER;
    }
    while (off < s->size) {
        size_t total;
        uint64_t next;

        r = spool_rec_check(sp, off, s->size, &total);
        if (r < 0) {
            goto out;
        }
        if (r == 1) {
            s->nrec++;
            off += total;
            continue;
        }
        r = spool_resync(sp, off, s->size, &next);
        if (r < 0) {
            goto out;
        }
        spool_corrupt(sp, s->seq, off, next, 1);
        off = next;
    }
    r = 0;
out:
    spool_reader_close(sp);
    return r;
}

/* Find the segments, drop the delivered ones, scan the rest. Returns 0 or -1 with err. */
static int
spool_recover(struct spool *sp, char *err, size_t errlen)
{
    uint64_t *seqs = NULL, cseg = 0, coff = 0;
    size_t nseqs = 0, cap = 0;
    struct dirent *de;
    DIR *dir = NULL;
    int fd, r = -1;

    if (spool_cursor_load(sp, &cseg, &coff) != 0) {
        cseg = 0;
        coff = 0;
    }
    sp->cur_seg = cseg;
    sp->cur_off = coff;
    fd = dup(sp->dirfd);
    if (fd < 0 || (dir = fdopendir(fd)) == NULL) {
        snprintf(err, errlen, "opendir(\"%s\") failed: %s", sp->dir, strerror(errno));
        if (fd >= 0) {
            close(fd);
        }
        goto out;
    }
    while ((de = readdir(dir)) != NULL) {
        uint64_t seq;
        if (spool_seg_parse_name(de->d_name, &seq) != 0) {
            continue;
        }
        if (nseqs == cap) {
            cap = cap ? 2 * cap : 16;
            seqs = xreallocarray(seqs, cap, sizeof(*seqs));
        }
        seqs[nseqs++] = seq;
    }
    if (nseqs > 1) {
        qsort(seqs, nseqs, sizeof(*seqs), spool_u64_cmp);
    }
    sp->next_seq = cseg + 1;
    for (size_t i = 0; i < nseqs; i++) {
        char name[SPOOL_SEG_NAME_LEN + 1];
        struct spool_seg *s;
        struct stat stb;

        spool_seg_name(seqs[i], name);
        if (seqs[i] + 1 > sp->next_seq) {
            sp->next_seq = seqs[i] + 1;
        }
        if (seqs[i] < cseg) {
            /* delivered; its deletion was lost in a crash */
            unlinkat(sp->dirfd, name, 0);
            sp->dir_dirty = 1;
            continue;
        }
        if (fstatat(sp->dirfd, name, &stb, 0) != 0) {
            snprintf(err, errlen, "stat(\"%s/%s\") failed: %s", sp->dir, name, strerror(errno));
            goto out;
        }
        s = spool_seg_push(sp, seqs[i]);
        s->size = (uint64_t)stb.st_size;
        s->sealed = 1;
        s->recovered = 1;
        sp->st.bytes += s->size;
        r = spool_scan(sp, s, seqs[i] == cseg ? coff : 0);
        if (r != 0) {
            snprintf(err, errlen, "reading \"%s/%s\" failed: %s", sp->dir, name, strerror(-r));
            r = -1;
            goto out;
        }
        sp->st.records += s->nrec;
        sp->st.recovered += s->nrec;
    }
    if (sp->nsegs > 0) {
        sp->rseq = sp->segs[0].seq;
        sp->roff = sp->segs[0].seq == cseg && coff > SPOOL_SEG_HEADER ? coff : 0;
    } else {
        sp->rseq = sp->next_seq;
        sp->roff = 0;
    }
    if (sp->st.recovered > 0) {
        log_notice("%s: %" PRIu64 " undelivered records in the spool from an earlier run "
                   "(%zu segments); delivering them first",
                   sp->tag, sp->st.recovered, sp->nsegs);
    }
    r = 0;
out:
    if (dir != NULL) {
        closedir(dir);
    }
    free(seqs);
    return r;
}

int
spool_open(const struct spool_conf *sc, struct spool **out, char *err, size_t errlen)
{
    struct spool *sp = xcalloc(1, sizeof(*sp));
    int r = -1;

    *out = NULL;
    signal(SIGXFSZ, SIG_IGN);
    sp->dir = xstrdup(sc->dir);
    sp->tag = xstrdup(sc->tag != NULL ? sc->tag : sc->dir);
    sp->max_bytes = sc->max_bytes;
    sp->segment_bytes = sc->segment_bytes;
    if (sp->segment_bytes > sp->max_bytes / 4) {
        sp->segment_bytes = sp->max_bytes / 4; /* so that a full spool has sealed segments */
    }
    sp->max_record =
        sc->max_record < SPOOL_FORMAT_MAX_DATA ? sc->max_record : SPOOL_FORMAT_MAX_DATA;
    sp->policy = sc->policy;
    sp->sync_each = sc->sync_each;
    sp->dirfd = sp->lockfd = sp->wfd = sp->rfd = -1;
    if (mkdir(sp->dir, 0700) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "mkdir(\"%s\") failed: %s", sp->dir, strerror(errno));
        goto out;
    }
    sp->dirfd = open(sp->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (sp->dirfd < 0) {
        snprintf(err, errlen, "open(\"%s\") failed: %s", sp->dir, strerror(errno));
        goto out;
    }
    sp->lockfd = openat(sp->dirfd, "lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (sp->lockfd < 0) {
        snprintf(err, errlen, "open(\"%s/lock\") failed: %s", sp->dir, strerror(errno));
        goto out;
    }
    if (flock(sp->lockfd, LOCK_EX | LOCK_NB) != 0) {
        if (errno == EWOULDBLOCK) {
            snprintf(err, errlen, "spool \"%s\" is in use by another process", sp->dir);
        } else {
            snprintf(err, errlen, "flock(\"%s/lock\") failed: %s", sp->dir, strerror(errno));
        }
        goto out;
    }
    if (spool_recover(sp, err, errlen) != 0) {
        goto out;
    }
    *out = sp;
    sp = NULL;
    r = 0;
out:
    spool_close(sp);
    return r;
}

struct spool_sync *
spool_sync_prepare(struct spool *sp)
{
    struct spool_sync *job;

    assert(!sp->sync_busy);
    if (!(sp->dirty && sp->wfd >= 0) && sp->nunsynced == 0 && !sp->cur_dirty && !sp->dir_dirty) {
        return NULL;
    }
    job = xcalloc(1, sizeof(*job));
    job->fds = xcalloc(sp->nunsynced + 1, sizeof(*job->fds));
    for (size_t i = 0; i < sp->nunsynced; i++) {
        job->fds[job->nfds++] = sp->unsynced[i];
    }
    sp->nunsynced = 0;
    if (sp->dirty && sp->wfd >= 0) {
        int fd = dup(sp->wfd);
        if (fd >= 0) {
            job->fds[job->nfds++] = fd;
        } else {
            job->err = errno;
            job->what = "dup";
        }
    }
    sp->dirty = 0;
    job->dirfd = dup(sp->dirfd);
    if (job->dirfd < 0 && job->err == 0) {
        job->err = errno;
        job->what = "dup";
    }
    job->write_cursor = sp->cur_dirty;
    job->cur_seg = sp->cur_seg;
    job->cur_off = sp->cur_off;
    sp->cur_dirty = 0;
    job->dir_sync = sp->dir_dirty || job->write_cursor;
    sp->dir_dirty = 0;
    sp->sync_busy = 1;
    return job;
}

static void
spool_sync_fail(struct spool_sync *job, const char *what)
{
    if (job->err == 0) {
        job->err = errno;
        job->what = what;
    }
}

void
spool_sync_run(struct spool_sync *job)
{
    unsigned char b[SPOOL_CUR_SIZE];

    for (size_t i = 0; i < job->nfds; i++) {
        if (fdatasync(job->fds[i]) != 0) {
            spool_sync_fail(job, "fdatasync");
        }
        close(job->fds[i]);
    }
    if (job->dirfd < 0) {
        return;
    }
    if (job->write_cursor) {
        int fd = openat(job->dirfd, "cursor.tmp", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        memcpy(b, SPOOL_CUR_MAGIC, 8);
        spool_put64(b + 8, job->cur_seg);
        spool_put64(b + 16, job->cur_off);
        spool_put32(b + 24, spool_crc32c(0, b, 24));
        if (fd < 0) {
            spool_sync_fail(job, "open(cursor.tmp)");
            job->write_cursor = -1;
        } else {
            if (write(fd, b, sizeof(b)) != (ssize_t)sizeof(b)) {
                spool_sync_fail(job, "write(cursor.tmp)");
                job->write_cursor = -1;
            } else if (fdatasync(fd) != 0) {
                spool_sync_fail(job, "fdatasync(cursor.tmp)");
            }
            close(fd);
            if (job->write_cursor == 1 &&
                renameat(job->dirfd, "cursor.tmp", job->dirfd, "cursor") != 0) {
                spool_sync_fail(job, "rename(cursor.tmp, cursor)");
                job->write_cursor = -1;
            }
        }
    }
    if (job->dir_sync && fsync(job->dirfd) != 0) {
        spool_sync_fail(job, "fsync(directory)");
    }
    close(job->dirfd);
    job->dirfd = -1;
}

int
spool_sync_finish(struct spool *sp, struct spool_sync *job)
{
    int r = 0;

    assert(sp->sync_busy);
    sp->sync_busy = 0;
    if (job->err != 0) {
        r = -job->err;
        log_err("%s: %s failed in spool \"%s\": %s (alerts spooled since the last successful "
                "sync may not survive a power loss)",
                sp->tag, job->what, sp->dir, strerror(job->err));
    }
    if (job->write_cursor < 0) {
        sp->cur_dirty = 1; /* try again next time */
    }
    free(job->fds);
    free(job);
    return r;
}

int
spool_sync(struct spool *sp)
{
    struct spool_sync *job = spool_sync_prepare(sp);

    if (job == NULL) {
        return 0;
    }
    spool_sync_run(job);
    return spool_sync_finish(sp, job);
}

void
spool_close(struct spool *sp)
{
    if (sp == NULL) {
        return;
    }
    assert(!sp->sync_busy);
    if (sp->drop_unlogged > 0) {
        log_err("%s: spool full: dropped %" PRIu64 " more undelivered records (%" PRIu64
                " since start)",
                sp->tag, sp->drop_unlogged, sp->st.dropped);
    }
    if (sp->dirfd >= 0 && sp->lockfd >= 0) {
        spool_seal(sp);
        spool_sync(sp);
    }
    for (size_t i = 0; i < sp->nunsynced; i++) {
        close(sp->unsynced[i]);
    }
    if (sp->wfd >= 0) {
        close(sp->wfd);
    }
    spool_reader_close(sp);
    if (sp->lockfd >= 0) {
        close(sp->lockfd);
    }
    if (sp->dirfd >= 0) {
        close(sp->dirfd);
    }
    free(sp->rbuf);
    free(sp->unsynced);
    free(sp->segs);
    free(sp->tag);
    free(sp->dir);
    free(sp);
}
