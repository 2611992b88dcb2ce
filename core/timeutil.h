/*
 * Event-time helpers: parse and format RFC 3339 / ISO 8601 timestamps, and durations.
 * Times are int64 microseconds since the Unix epoch, UTC.
 */
#ifndef KZ_TIMEUTIL_H
#define KZ_TIMEUTIL_H

#include <stddef.h>
#include <stdint.h>

/*
 * Parse "2026-11-27T01:02:03[.ffffff](Z|+hh:mm|-hhmm)" (also a space instead of 'T').
 * Without a zone the time is taken as UTC. Returns 0 and *us, or -1.
 */
int time_parse_rfc3339(const char *s, size_t len, int64_t *us);
/* Format as "2026-11-27T01:02:03.000004Z" (27 chars + NUL); buf must hold 32 bytes. */
size_t time_format_rfc3339(int64_t us, char *buf);
/* Days since the epoch of a civil date (proleptic Gregorian). */
int64_t time_days_from_civil(int64_t y, unsigned m, unsigned d);
/* The civil date of a day number (days since the epoch): returns the year, sets month, day. */
int64_t time_civil_from_days(int64_t days, unsigned *month, unsigned *day);
/* Parse a duration "500ms", "60s", "10m", "2h", "1d" (bare number: seconds) into µs. */
int time_parse_duration(const char *s, int64_t *us);
/* The wall clock in µs; only inputs use it (arrival time), never correlation. */
int64_t time_now_us(void);

#endif
