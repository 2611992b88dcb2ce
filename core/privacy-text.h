/*
 * Redaction of free text (message, event.original ...) for the privacy profiles: detectors
 * that find e-mail addresses, IPv4 and IPv6 addresses, user names and host names in text,
 * plus "known values" (what the profile pseudonymised elsewhere in the same alert), and a
 * rewrite that replaces every finding. docs/PRIVACY.md states exactly what each detector
 * matches; in short:
 *
 *   email     LOCAL@DOMAIN, LOCAL of [A-Za-z0-9._%+-], DOMAIN of [A-Za-z0-9.-]
 *   ipv4      a.b.c.d, each 0..255, not inside a longer run of digits and dots
 *   ipv6      a run of hex digits, ':' and '.' with two or more ':' that inet_pton() takes
 *             (possibly after dropping trailing groups, e.g. a ":port"), not glued to a word
 *   user      the value after user=, username=, login=, logname=, ruser=, account= (or
 *             ':' instead of '='); after "user " / "username "; after "for " unless that
 *             word is invalid/illegal/user/the/a/an. A value is a quoted string or a run of
 *             characters up to whitespace or one of , ; " ' ( ) < > [ ] { }, without a
 *             trailing '.' or ':'. Keywords match in any case, at the start of a word.
 *   hostname  the value after host=, hostname=, rhost=, shost=, dhost= (also ':'), and any
 *             dotted name of two or more labels whose last label is 2+ letters (a.example,
 *             sshd.service: deliberately broad)
 *   known     each given value, in any ASCII case, anywhere (also inside longer words)
 *
 * Findings that overlap are merged: a finding inside another one is replaced with it; two
 * that only partly overlap are replaced together by "[redacted]".
 */
#ifndef KZ_PRIVACY_TEXT_H
#define KZ_PRIVACY_TEXT_H

#include <stddef.h>

#include "buf.h"

/* Detectors (bit mask). */
#define PRIVACY_TEXT_EMAIL 0x01u
#define PRIVACY_TEXT_IPV4 0x02u
#define PRIVACY_TEXT_IPV6 0x04u
#define PRIVACY_TEXT_USER 0x08u
#define PRIVACY_TEXT_HOSTNAME 0x10u

/* Known values shorter than this are not searched (they would shred the text). */
#define PRIVACY_TEXT_KNOWN_MIN 3

/* A value to replace wherever it occurs, and its replacement (both borrowed). */
struct privacy_text_known {
    const char *value;
    size_t len;
    const char *repl;
    size_t repl_len;
};

/*
 * Append the replacement of one finding to out: kind is one PRIVACY_TEXT_* bit, s[0..len)
 * the text found (not NUL-terminated).
 */
typedef void (*privacy_text_cb)(void *arg, unsigned kind, const char *s, size_t len,
                                struct buf *out);

/* The detector bit for a name ("email", "ipv4", "ipv6", "user", "hostname"), or 0. */
unsigned privacy_text_detector(const char *name);
/* Names of the detectors, NULL-terminated (for messages and docs). */
extern const char *const privacy_text_detector_names[];

/*
 * Append s[0..len) to out with every finding of the detectors in mask and every known
 * value replaced: detector findings through cb(arg, ...), known values by their repl.
 * Returns the number of replacements made.
 */
size_t privacy_text_redact(const char *s, size_t len, unsigned mask,
                           const struct privacy_text_known *known, size_t nknown,
                           privacy_text_cb cb, void *arg, struct buf *out);

#endif
