/*
 * TAP output for the C tests.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "tap.h"

static int tap_count;
static int tap_failed;
static int tap_planned = -1;

void
tap_plan(int n)
{
    tap_planned = n;
    printf("1..%d\n", n);
    fflush(stdout);
}

int
tap_ok(int cond, const char *file, int line, const char *fmt, ...)
{
    va_list ap;

    tap_count++;
    printf("%s %d - ", cond ? "ok" : "not ok", tap_count);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    if (!cond) {
        tap_failed++;
        printf("#   failed at %s:%d\n", file, line);
    }
    fflush(stdout);
    return cond;
}

int
tap_is_str(const char *got, const char *want, const char *file, int line, const char *what)
{
    int cond = (got == NULL && want == NULL) ||
               (got != NULL && want != NULL && strcmp(got, want) == 0);

    tap_ok(cond, file, line, "%s", what);
    if (!cond) {
        printf("#   got:  '%s'\n#   want: '%s'\n", got ? got : "(null)", want ? want : "(null)");
    }
    return cond;
}

int
tap_is_int(int64_t got, int64_t want, const char *file, int line, const char *what)
{
    int cond = got == want;

    tap_ok(cond, file, line, "%s", what);
    if (!cond) {
        printf("#   got:  %lld\n#   want: %lld\n", (long long)got, (long long)want);
    }
    return cond;
}

void
tap_skip(int n, const char *why)
{
    for (int i = 0; i < n; i++) {
        tap_count++;
        printf("ok %d # SKIP %s\n", tap_count, why);
    }
    fflush(stdout);
}

void
tap_diag(const char *fmt, ...)
{
    va_list ap;

    printf("# ");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
}

int
tap_done(void)
{
    if (tap_planned < 0) {
        printf("1..%d\n", tap_count);
    } else if (tap_planned != tap_count) {
        printf("# planned %d tests but ran %d\n", tap_planned, tap_count);
        return 1;
    }
    fflush(stdout);
    return tap_failed ? 1 : 0;
}
