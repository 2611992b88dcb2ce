/*
 * libFuzzer target for the rule loader. The input is a rule file (YAML, any number of
 * documents); it is handed to ruleset_load() through a memfd. Whatever loads is then
 * matched against a few fixed events with the prefilter on and off, and explained; the
 * target aborts when the two disagree (the prefilter must never change a result), when
 * ruleset_explain() disagrees with ruleset_match(), when a load error is not of the form
 * "FILE:LINE:COL: ...", or when captured fields are left on an event.
 * Built only with configure --enable-fuzzing (CC=clang); see docs/RULES.md.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "rule-int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const fuzz_events[][13] = {
    {"message", "Failed password for invalid user admin from 10.1.2.3 port 22 ssh2",
     "process.name", "sshd", "process.pid", "4242", "source.ip", "2001:db8::1", NULL},
    {"event.original", "GET /index.html 404 Müller", "http.response.status_code", "404",
     "tag", "a", "tag", "B", NULL},
    {"message", "", "user.name", "ROOT", "n", "-1.5e3", NULL},
};

static void
fuzz_check_errors(const struct errlist *errs, const char *path)
{
    size_t plen = strlen(path);

    for (size_t i = 0; i < errs->n; i++) {
        const char *m = errs->msgs[i];
        int line = -1, col = -1, n = 0;
        if (strncmp(m, path, plen) != 0 || m[plen] != ':' ||
            sscanf(m + plen, ":%d:%d: %n", &line, &col, &n) != 2 || n == 0 || line < 0 ||
            col < 0) {
            fprintf(stderr, "malformed error: %s\n", m);
            abort();
        }
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct event ev;
    static int init;
    static FILE *devnull;
    struct ruleset_opts opts = {.match_limit = 10000, .depth_limit = 1000};
    struct errlist errs = {0};
    struct ruleset *rs = NULL;
    char path[64];
    const char *paths[1] = {path};
    int fd;

    if (!init) {
        event_init(&ev);
        devnull = fopen("/dev/null", "w");
        init = 1;
    }
    if (size > 64 * 1024) {
        return 0;
    }
    fd = memfd_create("rules.yml", 0);
    if (fd < 0 || write(fd, data, size) != (ssize_t)size) {
        abort();
    }
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    ruleset_load(paths, 1, &opts, &rs, &errs);
    fuzz_check_errors(&errs, path);
    for (size_t e = 0; rs != NULL && e < sizeof(fuzz_events) / sizeof(fuzz_events[0]); e++) {
        int on, off, ex;
        uint32_t n0;

        event_reset(&ev);
        for (size_t i = 0; fuzz_events[e][i] != NULL; i += 2) {
            event_add(&ev, fuzz_events[e][i], strlen(fuzz_events[e][i]), fuzz_events[e][i + 1],
                      strlen(fuzz_events[e][i + 1]));
        }
        n0 = ev.nfields;
        rs->opts.no_prefilter = 0;
        on = ruleset_match(rs, &ev, NULL, NULL);
        rs->opts.no_prefilter = 1;
        off = ruleset_match(rs, &ev, NULL, NULL);
        ex = ruleset_explain(rs, &ev, devnull, 1);
        if (on != off || on != ex || ev.nfields != n0) {
            fprintf(stderr, "event %zu: prefilter %d, none %d, explain %d, fields %u/%u\n", e,
                    on, off, ex, ev.nfields, n0);
            abort();
        }
    }
    ruleset_free(rs);
    errlist_free(&errs);
    close(fd);
    return 0;
}
