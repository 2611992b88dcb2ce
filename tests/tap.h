/*
 * A tiny TAP producer for the C tests (automake's tap-driver.sh reads it).
 * Usage: tap_plan(n); ok(cond, "what"); ... return tap_done();
 */
#ifndef KZ_TAP_H
#define KZ_TAP_H

#include <stdint.h>

void tap_plan(int n);
/* Record one test point; returns cond so callers can bail out of dependent checks. */
int tap_ok(int cond, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int tap_is_str(const char *got, const char *want, const char *file, int line, const char *what);
int tap_is_int(int64_t got, int64_t want, const char *file, int line, const char *what);
void tap_skip(int n, const char *why);
void tap_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Print the plan if none was given and return the exit status (1 if any test failed). */
int tap_done(void);

#define ok(cond, ...) tap_ok(!!(cond), __FILE__, __LINE__, __VA_ARGS__)
#define is_str(got, want, what) tap_is_str((got), (want), __FILE__, __LINE__, (what))
#define is_int(got, want, what) tap_is_int((int64_t)(got), (int64_t)(want), __FILE__, __LINE__, (what))

#endif
