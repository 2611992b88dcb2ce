/*
 * Process statistics (procstat.h): /proc/self/statm, /proc/self/fd, /proc/self/stat and
 * /proc/stat, getrusage(), getrlimit(), and a timer that measures the loop's lag.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "procstat.h"
#include "xmalloc.h"

#define PROCSTAT_DEFAULT_INTERVAL_MS 500

struct procstat {
    uv_timer_t timer;
    struct metrics_registry *reg;
    uint64_t interval_ms;
    uint64_t armed_ns; /* uv_hrtime() when the timer was last started */
    double lag_last;
    double lag_max; /* over the lag_n measurements since the last reset */
    uint64_t lag_n;
    double start_time;
};

static int
procstat_read_memory(uint64_t *resident, uint64_t *virt)
{
    unsigned long long size;
    unsigned long long rss;
    long page = sysconf(_SC_PAGESIZE);
    FILE *f = fopen("/proc/self/statm", "re");
    int r = -1;

    *resident = 0;
    *virt = 0;
    if (f == NULL) {
        goto out;
    }
    if (fscanf(f, "%llu %llu", &size, &rss) != 2) {
        goto out;
    }
    *virt = size * (uint64_t)page;
    *resident = rss * (uint64_t)page;
    r = 0;
out:
    if (f != NULL) {
        fclose(f);
    }
    return r;
}

static int
procstat_read_fds(uint64_t *open_fds)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *de;
    uint64_t n = 0;

    *open_fds = 0;
    if (d == NULL) {
        return -1;
    }
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] != '.') {
            n++;
        }
    }
    closedir(d);
    *open_fds = n > 0 ? n - 1 : 0; /* not counting the directory's own fd */
    return 0;
}

/* Process start: btime (/proc/stat) + starttime ticks (/proc/self/stat, field 22). */
static int
procstat_read_start_time(double *start)
{
    char line[1024];
    char *p;
    unsigned long long btime = 0;
    unsigned long long ticks = 0;
    long hz = sysconf(_SC_CLK_TCK);
    FILE *f = NULL;
    int found = 0;
    int r = -1;

    *start = 0;
    f = fopen("/proc/stat", "re");
    if (f == NULL) {
        goto out;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        if (sscanf(line, "btime %llu", &btime) == 1) {
            found = 1;
            break;
        }
    }
    fclose(f);
    f = fopen("/proc/self/stat", "re");
    if (!found || f == NULL || fgets(line, sizeof(line), f) == NULL) {
        goto out;
    }
    /* The command name may hold spaces and parentheses: fields resume after the last ')'. */
    p = strrchr(line, ')');
    if (p == NULL) {
        goto out;
    }
    p++;
    for (int field = 3; field < 22; field++) {
        p = strchr(p + 1, ' ');
        if (p == NULL) {
            goto out;
        }
    }
    if (sscanf(p, " %llu", &ticks) != 1 || hz <= 0) {
        goto out;
    }
    *start = (double)btime + (double)ticks / (double)hz;
    r = 0;
out:
    if (f != NULL) {
        fclose(f);
    }
    return r;
}

static double
procstat_cpu_seconds(void)
{
    struct rusage ru;

    if (getrusage(RUSAGE_SELF, &ru) < 0) {
        return 0;
    }
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static uint64_t
procstat_max_fds(void)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY) {
        return 0;
    }
    return (uint64_t)rl.rlim_cur;
}

int
procstat_read(struct procstat_sample *s)
{
    int r = 0;

    memset(s, 0, sizeof(*s));
    r |= procstat_read_memory(&s->resident_bytes, &s->virtual_bytes);
    r |= procstat_read_fds(&s->open_fds);
    r |= procstat_read_start_time(&s->start_time);
    s->max_fds = procstat_max_fds();
    s->cpu_seconds = procstat_cpu_seconds();
    return r < 0 ? -1 : 0;
}

static void
procstat_lag_cb(uv_timer_t *timer)
{
    struct procstat *ps = timer->data;
    uint64_t now = uv_hrtime();
    uint64_t due = ps->armed_ns + ps->interval_ms * 1000000u;
    double lag = now > due ? (double)(now - due) / 1e9 : 0.0;

    /* Timers have millisecond resolution: a lag below 1 ms is noise. */
    if (lag < 0.001) {
        lag = 0;
    }
    ps->lag_last = lag;
    ps->lag_n++;
    if (lag > ps->lag_max) {
        ps->lag_max = lag;
    }
    ps->armed_ns = now;
    uv_timer_start(&ps->timer, procstat_lag_cb, ps->interval_ms, 0);
}

static void
procstat_collect_rss(struct metrics_writer *w, void *arg)
{
    uint64_t rss;
    uint64_t virt;

    procstat_read_memory(&rss, &virt);
    metrics_sample_u64(w, NULL, rss);
}

static void
procstat_collect_vsz(struct metrics_writer *w, void *arg)
{
    uint64_t rss;
    uint64_t virt;

    procstat_read_memory(&rss, &virt);
    metrics_sample_u64(w, NULL, virt);
}

static void
procstat_collect_fds(struct metrics_writer *w, void *arg)
{
    uint64_t n;

    procstat_read_fds(&n);
    metrics_sample_u64(w, NULL, n);
}

static void
procstat_collect_max_fds(struct metrics_writer *w, void *arg)
{
    metrics_sample_u64(w, NULL, procstat_max_fds());
}

static void
procstat_collect_cpu(struct metrics_writer *w, void *arg)
{
    metrics_sample(w, NULL, procstat_cpu_seconds());
}

static void
procstat_collect_start(struct metrics_writer *w, void *arg)
{
    struct procstat *ps = arg;

    metrics_sample(w, NULL, ps->start_time);
}

static void
procstat_collect_lag(struct metrics_writer *w, void *arg)
{
    metrics_sample(w, NULL, procstat_lag_last(arg));
}

static void
procstat_collect_lag_max(struct metrics_writer *w, void *arg)
{
    metrics_sample(w, NULL, procstat_lag_max(arg, 1));
}

static void
procstat_collect_build(struct metrics_writer *w, void *arg)
{
    metrics_sample_labels(w, 1, "version", KZ_VERSION, NULL);
}

int
procstat_start(uv_loop_t *loop, struct metrics_registry *reg, uint64_t interval_ms,
               struct procstat **out)
{
    struct procstat *ps = xcalloc(1, sizeof(*ps));
    struct timeval tv;
    int rc;

    *out = NULL;
    rc = uv_timer_init(loop, &ps->timer);
    if (rc < 0) {
        free(ps);
        return rc;
    }
    ps->timer.data = ps;
    ps->reg = reg;
    ps->interval_ms = interval_ms > 0 ? interval_ms : PROCSTAT_DEFAULT_INTERVAL_MS;
    if (procstat_read_start_time(&ps->start_time) < 0) {
        gettimeofday(&tv, NULL); /* no /proc: the best we know is "about now" */
        ps->start_time = (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
    }
    ps->armed_ns = uv_hrtime();
    uv_timer_start(&ps->timer, procstat_lag_cb, ps->interval_ms, 0);
    uv_unref((uv_handle_t *)&ps->timer);

    metrics_register(reg, "process_resident_memory_bytes", METRICS_GAUGE,
                     "Resident memory size in bytes.", procstat_collect_rss, ps);
    metrics_register(reg, "process_virtual_memory_bytes", METRICS_GAUGE,
                     "Virtual memory size in bytes.", procstat_collect_vsz, ps);
    metrics_register(reg, "process_open_fds", METRICS_GAUGE, "Number of open file descriptors.",
                     procstat_collect_fds, ps);
    metrics_register(reg, "process_max_fds", METRICS_GAUGE,
                     "Maximum number of open file descriptors (soft limit).",
                     procstat_collect_max_fds, ps);
    metrics_register(reg, "process_cpu_seconds_total", METRICS_COUNTER,
                     "Total user and system CPU time spent in seconds.", procstat_collect_cpu, ps);
    metrics_register(reg, "process_start_time_seconds", METRICS_GAUGE,
                     "Start time of the process since unix epoch in seconds.",
                     procstat_collect_start, ps);
    metrics_register(reg, "kizuna_loop_lag_seconds", METRICS_GAUGE,
                     "How late the event loop's periodic probe timer fired, last measurement.",
                     procstat_collect_lag, ps);
    metrics_register(reg, "kizuna_loop_lag_max_seconds", METRICS_GAUGE,
                     "Largest event loop lag measured since the previous scrape.",
                     procstat_collect_lag_max, ps);
    metrics_register(reg, "kizuna_build_info", METRICS_GAUGE,
                     "Always 1; the version label says which kizunad is running.",
                     procstat_collect_build, ps);
    *out = ps;
    return 0;
}

double
procstat_lag_last(const struct procstat *ps)
{
    return ps->lag_last;
}

double
procstat_lag_max(struct procstat *ps, int reset)
{
    /* No measurement since the reset: the last one is still the best answer. */
    double max = ps->lag_n > 0 ? ps->lag_max : ps->lag_last;

    if (reset) {
        ps->lag_max = 0;
        ps->lag_n = 0;
    }
    return max;
}

static void
procstat_close_cb(uv_handle_t *handle)
{
    free(handle->data);
}

void
procstat_stop(struct procstat *ps)
{
    if (ps == NULL) {
        return;
    }
    metrics_unregister_arg(ps->reg, ps);
    uv_timer_stop(&ps->timer);
    uv_close((uv_handle_t *)&ps->timer, procstat_close_cb);
}
