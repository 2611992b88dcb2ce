/*
 * Tests of the spool (core/spool.c): append/read/ack, cursor across reopen, recovery of a
 * truncated tail and of a corrupt record, kill -9 of a writer, segment rotation and deletion,
 * both full-spool policies, EFBIG under RLIMIT_FSIZE in a child, the lock.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "spool.h"
#include "tap.h"

static char tmpdir[256];
static int ndirs;

static char *
new_dir(void)
{
    static char path[512];

    snprintf(path, sizeof(path), "%s/s%d", tmpdir, ndirs++);
    return path;
}

static struct spool *
open_spool(const char *dir, uint64_t max_bytes, uint64_t seg_bytes, enum spool_policy pol)
{
    struct spool_conf sc = {dir, "test", max_bytes, seg_bytes, 1 << 20, pol, 0};
    struct spool *sp = NULL;
    char err[512];

    if (spool_open(&sc, &sp, err, sizeof(err)) != 0) {
        tap_diag("spool_open: %s", err);
        return NULL;
    }
    return sp;
}

static int
append_n(struct spool *sp, int from, int n, size_t pad)
{
    char id[32], data[4096];

    for (int i = from; i < from + n; i++) {
        int r;
        snprintf(id, sizeof(id), "id-%06d", i);
        memset(data, 'x', sizeof(data));
        snprintf(data, sizeof(data), "record %d ", i);
        data[strlen(data)] = 'x';
        r = spool_append(sp, id, strlen(id), data, pad);
        if (r != 0) {
            return r;
        }
    }
    return 0;
}

/* Read everything, check ids are consecutive from `first`, ack them. Returns count. */
static int
read_all(struct spool *sp, int first, int ack, int *bad)
{
    struct spool_rec *rec;
    int n = 0;

    *bad = 0;
    while (spool_read(sp, &rec) == 1) {
        char want[32];
        snprintf(want, sizeof(want), "id-%06d", first + n);
        if (strcmp(rec->id, want) != 0 && *bad == 0) {
            tap_diag("record %d: id %s, want %s", n, rec->id, want);
            *bad = 1;
        }
        if (ack) {
            spool_ack(sp, rec);
        }
        free(rec);
        n++;
    }
    return n;
}

static int
count_segments(const char *dir)
{
    struct dirent *de;
    DIR *d = opendir(dir);
    int n = 0;

    if (d == NULL) {
        return -1;
    }
    while ((de = readdir(d)) != NULL) {
        if (strstr(de->d_name, ".seg") != NULL) {
            n++;
        }
    }
    closedir(d);
    return n;
}

/* Path of the newest segment file in dir. */
static void
last_segment(const char *dir, char *out, size_t outlen)
{
    struct dirent *de;
    char best[256] = "";
    DIR *d = opendir(dir);

    while (d != NULL && (de = readdir(d)) != NULL) {
        if (strstr(de->d_name, ".seg") != NULL && strcmp(de->d_name, best) > 0) {
            snprintf(best, sizeof(best), "%s", de->d_name);
        }
    }
    if (d != NULL) {
        closedir(d);
    }
    snprintf(out, outlen, "%s/%s", dir, best);
}

static void
test_crc(void)
{
    is_int(spool_crc32c(0, "123456789", 9), 0xE3069283u, "CRC-32C check value");
    is_int(spool_crc32c(spool_crc32c(0, "1234", 4), "56789", 5), 0xE3069283u,
           "CRC-32C continues across calls");
}

static void
test_basic(void)
{
    char *dir = new_dir();
    struct spool *sp = open_spool(dir, 1 << 20, 1 << 16, SPOOL_BLOCK);
    struct spool_rec *rec = NULL;
    struct spool_stats st;
    int bad, n;

    ok(sp != NULL, "open a new spool");
    if (sp == NULL) {
        return;
    }
    is_int(spool_read(sp, &rec), 0, "empty spool reads nothing");
    ok(append_n(sp, 0, 3, 20) == 0, "append 3");
    is_int(spool_read(sp, &rec), 1, "read one");
    is_str(rec->id, "id-000000", "first id");
    ok(rec->len == 20 && memcmp(rec->data, "record 0 x", 10) == 0, "first data");
    spool_ack(sp, rec);
    free(rec);
    ok(append_n(sp, 3, 2, 20) == 0, "append while reading");
    n = read_all(sp, 1, 1, &bad);
    is_int(n, 4, "read the remaining 4 in order, including those appended later");
    ok(!bad, "ids in order");
    spool_get_stats(sp, &st);
    is_int(st.records, 0, "nothing pending after acks");
    is_int(spool_append(sp, "", 0, "x", 1), -EINVAL, "empty id refused");
    is_int(spool_append(sp, "big", 3, "x", 2 << 20), -EMSGSIZE, "record over max_record");
    spool_close(sp);
}

static void
test_cursor_reopen(void)
{
    char *dir = new_dir();
    struct spool *sp = open_spool(dir, 1 << 20, 1 << 16, SPOOL_BLOCK);
    struct spool_stats st;
    struct spool_rec *rec;
    int bad, n;

    append_n(sp, 0, 10, 100);
    for (int i = 0; i < 4; i++) {
        spool_read(sp, &rec);
        spool_ack(sp, rec);
        free(rec);
    }
    spool_read(sp, &rec); /* read, not acknowledged: must come back */
    free(rec);
    spool_close(sp);
    sp = open_spool(dir, 1 << 20, 1 << 16, SPOOL_BLOCK);
    spool_get_stats(sp, &st);
    is_int(st.recovered, 6, "reopen: 6 unacknowledged records recovered");
    n = read_all(sp, 4, 1, &bad);
    is_int(n, 6, "reopen: read from the cursor on");
    ok(!bad, "reopen: in order");
    ok(spool_read(sp, &rec) == 0, "reopen: then nothing");
    append_n(sp, 10, 1, 10);
    ok(spool_read(sp, &rec) == 1 && strcmp(rec->id, "id-000010") == 0,
       "append after recovery goes to a new segment and is read");
    spool_ack(sp, rec);
    free(rec);
    spool_close(sp);
    sp = open_spool(dir, 1 << 20, 1 << 16, SPOOL_BLOCK);
    spool_get_stats(sp, &st);
    is_int(st.recovered, 0, "all acknowledged: nothing recovered");
    spool_close(sp);
}

static void
test_truncated_tail(void)
{
    char *dir = new_dir(), seg[1024];
    struct spool *sp = open_spool(dir, 1 << 20, 1 << 16, SPOOL_BLOCK);
    struct spool_stats st;
    struct stat stb;
    int bad, n;

    append_n(sp, 0, 5, 100);
    spool_close(sp);
    last_segment(dir, seg, sizeof(seg));
    stat(seg, &stb);
    ok(truncate(seg, stb.st_size - 3) == 0, "cut the last record short");
    sp = open_spool(dir, 1 << 20, 1 << 16, SPOOL_BLOCK);
    spool_get_stats(sp, &st);
    is_int(st.recovered, 4, "truncated tail: 4 valid records recovered");
    is_int(st.corrupt, 1, "truncated tail: one corrupt region counted");
    n = read_all(sp, 0, 1, &bad);
    is_int(n, 4, "truncated tail: 4 read");
    ok(!bad, "truncated tail: in order");
    spool_get_stats(sp, &st);
    is_int(st.corrupt, 1, "reading does not count the region twice");
    spool_close(sp);
    is_int(count_segments(dir), 0, "read and acknowledged segments are deleted");
}

static void
test_corrupt_crc(void)
{
    char *dir = new_dir(), seg[1024];
    struct spool *sp = open_spool(dir, 1 << 20, 1 << 16, SPOOL_BLOCK);
    struct spool_rec *rec;
    struct spool_stats st;
    const char *want[] = {"id-000000", "id-000001", "id-000003", "id-000004"};
    int fd, n = 0, order = 1;
    char c;

    append_n(sp, 0, 5, 100);
    spool_close(sp);
    last_segment(dir, seg, sizeof(seg));
    /* record i starts at 16 + i * (12 + 9 + 100); flip a data byte of record 2 */
    fd = open(seg, O_RDWR);
    pread(fd, &c, 1, 16 + 2 * 121 + 12 + 9 + 50);
    c ^= 0x20;
    pwrite(fd, &c, 1, 16 + 2 * 121 + 12 + 9 + 50);
    close(fd);
    sp = open_spool(dir, 1 << 20, 1 << 16, SPOOL_BLOCK);
    spool_get_stats(sp, &st);
    is_int(st.recovered, 4, "corrupt CRC: the 4 good records recovered");
    is_int(st.corrupt, 1, "corrupt CRC: one region");
    while (spool_read(sp, &rec) == 1) {
        if (n < 4 && strcmp(rec->id, want[n]) != 0) {
            order = 0;
        }
        n++;
        spool_ack(sp, rec);
        free(rec);
    }
    is_int(n, 4, "corrupt CRC: reader resynchronises after the bad record");
    ok(order, "corrupt CRC: records around it in order");
    spool_close(sp);
}

static void
test_kill9(void)
{
    char *dir = new_dir();
    struct spool_stats st;
    struct spool *sp;
    int p[2], status, bad;
    pid_t pid;
    char c;

    if (pipe(p) != 0) {
        return;
    }
    pid = fork();
    if (pid == 0) {
        close(p[0]);
        sp = open_spool(dir, 1 << 20, 4096, SPOOL_BLOCK);
        if (sp == NULL || append_n(sp, 0, 100, 200) != 0) {
            _exit(1);
        }
        if (write(p[1], "x", 1) != 1) {
            _exit(1);
        }
        pause();
        _exit(0);
    }
    close(p[1]);
    ok(read(p[0], &c, 1) == 1, "child appended 100 records");
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    close(p[0]);
    ok(WIFSIGNALED(status), "child killed with -9 (no close, no fsync)");
    sp = open_spool(dir, 1 << 20, 4096, SPOOL_BLOCK);
    ok(sp != NULL, "spool reopens after the writer was killed (lock released)");
    if (sp == NULL) {
        return;
    }
    spool_get_stats(sp, &st);
    is_int(st.recovered, 100, "kill -9: all 100 records recovered");
    is_int(read_all(sp, 0, 1, &bad), 100, "kill -9: all read");
    ok(!bad, "kill -9: in order");
    spool_close(sp);
}

static void
test_rotation(void)
{
    char *dir = new_dir();
    struct spool *sp = open_spool(dir, 1 << 20, 4096, SPOOL_BLOCK);
    struct spool_stats st;
    int bad, segs;

    append_n(sp, 0, 100, 500); /* ~52 KB in 4 KB segments */
    segs = count_segments(dir);
    ok(segs >= 10, "segments rotate at segment_bytes (%d files)", segs);
    spool_get_stats(sp, &st);
    ok(st.bytes > 50000, "spool_bytes counts the files");
    is_int(read_all(sp, 0, 1, &bad), 100, "all read across segments");
    ok(!bad, "in order across segments");
    ok(count_segments(dir) <= 1, "delivered segments deleted; at most the open one stays");
    spool_get_stats(sp, &st);
    ok(st.bytes < 4096, "spool_bytes shrinks");
    spool_close(sp);
}

static void
test_segment_vanished(void)
{
    char *dir = new_dir(), path[1024];
    struct spool *sp = open_spool(dir, 1 << 20, 4096, SPOOL_BLOCK);
    struct spool_rec *rec;
    struct spool_stats st;
    int n = 0, first = -1;

    append_n(sp, 0, 30, 500); /* 7 records of 521 bytes per 4 KiB segment */
    snprintf(path, sizeof(path), "%s/%020d.seg", dir, 1);
    ok(unlink(path) == 0, "someone deletes the oldest segment file");
    while (spool_read(sp, &rec) == 1) {
        if (first < 0) {
            first = atoi(rec->id + 3);
        }
        n++;
        spool_ack(sp, rec);
        free(rec);
    }
    spool_get_stats(sp, &st);
    ok(n == 23 && first == 7, "the reader skips it and reads the rest (%d from %d)", n, first);
    ok(st.corrupt == 1 && st.records == 0, "counted, and the pending count stays right");
    is_int(append_n(sp, 30, 1, 10), 0, "appending goes on");
    spool_close(sp);
}

static void
test_full_block(void)
{
    char *dir = new_dir();
    struct spool *sp = open_spool(dir, 64 * 1024, 8192, SPOOL_BLOCK);
    struct spool_rec *rec;
    struct spool_stats st;
    int i, r = 0, bad;

    for (i = 0; i < 1000; i++) {
        r = append_n(sp, i, 1, 1000);
        if (r != 0) {
            break;
        }
    }
    is_int(r, -EAGAIN, "block policy: full spool returns -EAGAIN");
    ok(i > 50 && i < 65, "block policy: about max_bytes were accepted (%d records)", i);
    ok(!spool_has_room(sp, 9, 1000), "has_room says no");
    spool_get_stats(sp, &st);
    ok(st.bytes <= 64 * 1024, "never above max_bytes");
    for (int k = 0; k < 20; k++) {
        spool_read(sp, &rec);
        spool_ack(sp, rec);
        free(rec);
    }
    ok(spool_has_room(sp, 9, 1000), "room again after delivering");
    is_int(append_n(sp, i, 1, 1000), 0, "append succeeds again");
    is_int(read_all(sp, 20, 1, &bad), i + 1 - 20, "nothing was lost");
    ok(!bad, "block policy: in order");
    spool_close(sp);
}

static void
test_full_drop(void)
{
    char *dir = new_dir();
    struct spool *sp = open_spool(dir, 64 * 1024, 8192, SPOOL_DROP_OLDEST);
    struct spool_rec *rec;
    struct spool_stats st;
    int r = 0, n = 0, last = -1;

    for (int i = 0; i < 300 && r == 0; i++) {
        r = append_n(sp, i, 1, 1000);
    }
    is_int(r, 0, "drop_oldest: appends never refused");
    spool_get_stats(sp, &st);
    ok(st.bytes <= 64 * 1024, "drop_oldest: never above max_bytes");
    ok(st.dropped > 200, "drop_oldest: dropped counted (%llu)", (unsigned long long)st.dropped);
    while (spool_read(sp, &rec) == 1) {
        last = atoi(rec->id + 3);
        n++;
        spool_ack(sp, rec);
        free(rec);
    }
    is_int((uint64_t)n + st.dropped, 300, "drop_oldest: readable + dropped = appended");
    is_int(last, 299, "drop_oldest: the newest are kept");
    spool_close(sp);
}

static void
test_efbig(void)
{
    char *dir = new_dir();
    struct spool_stats st;
    struct spool *sp;
    int status, bad;
    pid_t pid;

    pid = fork();
    if (pid == 0) {
        struct rlimit rl = {20000, 20000};
        int i, r = 0;
        setrlimit(RLIMIT_FSIZE, &rl);
        sp = open_spool(dir, 1 << 20, 1 << 20, SPOOL_BLOCK);
        if (sp == NULL) {
            _exit(100);
        }
        for (i = 0; i < 1000 && r == 0; i++) {
            r = append_n(sp, i, 1, 700);
        }
        spool_close(sp);
        /* exit code: records appended before the failure; 200 when no EFBIG */
        _exit(r == -EFBIG ? i - 1 : 200);
    }
    waitpid(pid, &status, 0);
    ok(WIFEXITED(status), "RLIMIT_FSIZE: the writer is not killed by SIGXFSZ");
    ok(WIFEXITED(status) && WEXITSTATUS(status) > 0 && WEXITSTATUS(status) < 100,
       "RLIMIT_FSIZE: append returns -EFBIG (after %d records)", WEXITSTATUS(status));
    sp = open_spool(dir, 1 << 20, 1 << 20, SPOOL_BLOCK);
    spool_get_stats(sp, &st);
    is_int(st.recovered, WEXITSTATUS(status), "EFBIG: every accepted record is there");
    is_int(st.corrupt, 0, "EFBIG: the partial record was cut off");
    is_int(read_all(sp, 0, 1, &bad), WEXITSTATUS(status), "EFBIG: all read");
    spool_close(sp);
}

static void
test_lock(void)
{
    char *dir = new_dir();
    struct spool_conf sc = {dir, "test", 1 << 20, 4096, 1 << 20, SPOOL_BLOCK, 0};
    struct spool *a = open_spool(dir, 1 << 20, 4096, SPOOL_BLOCK), *b = NULL;
    char err[512] = "";
    int status;
    pid_t pid;

    pid = fork();
    if (pid == 0) {
        _exit(spool_open(&sc, &b, err, sizeof(err)) == 0 ? 1 : strstr(err, "in use") ? 0 : 2);
    }
    waitpid(pid, &status, 0);
    ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
       "a second process cannot open a spool in use");
    spool_close(a);
}

/* A child appends 3, acknowledges 1, optionally runs a sync job, and dies without close. */
static int
sync_child(const char *dir, int run_job)
{
    struct spool_sync *job;
    struct spool_rec *rec;
    struct spool *sp;
    int status;
    pid_t pid;

    pid = fork();
    if (pid == 0) {
        sp = open_spool(dir, 1 << 20, 4096, SPOOL_BLOCK);
        append_n(sp, 0, 3, 10);
        spool_read(sp, &rec);
        spool_ack(sp, rec);
        if (run_job) {
            job = spool_sync_prepare(sp);
            if (job == NULL) {
                _exit(1);
            }
            spool_sync_run(job);
            if (spool_sync_finish(sp, job) != 0 || spool_sync_prepare(sp) != NULL) {
                _exit(2);
            }
        }
        _exit(0);
    }
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void
test_sync_steps(void)
{
    char *dir = new_dir();
    struct spool_stats st;
    struct spool *sp;

    is_int(sync_child(dir, 1), 0, "sync job after appends and an ack; then nothing to sync");
    sp = open_spool(dir, 1 << 20, 4096, SPOOL_BLOCK);
    spool_get_stats(sp, &st);
    is_int(st.recovered, 2, "the sync job saved the cursor (crash right after it)");
    spool_close(sp);
    dir = new_dir();
    is_int(sync_child(dir, 0), 0, "same without a sync");
    sp = open_spool(dir, 1 << 20, 4096, SPOOL_BLOCK);
    spool_get_stats(sp, &st);
    is_int(st.recovered, 3, "without it the cursor lags: the acknowledged record comes back");
    spool_close(sp);
}

int
main(void)
{
    const char *t = getenv("TMPDIR");
    char cmd[600];

    snprintf(tmpdir, sizeof(tmpdir), "%s/kz-spool-XXXXXX", t != NULL ? t : "/tmp");
    if (mkdtemp(tmpdir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    test_crc();
    test_basic();
    test_cursor_reopen();
    test_truncated_tail();
    test_corrupt_crc();
    test_kill9();
    test_rotation();
    test_segment_vanished();
    test_full_block();
    test_full_drop();
    test_efbig();
    test_lock();
    test_sync_steps();
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) {
        tap_diag("could not remove %s", tmpdir);
    }
    return tap_done();
}
