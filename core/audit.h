/*
 * The audit log of what left the host (docs/PRIVACY.md): one JSON line per alert handed
 * to a partner or output, local only, configured with `audit: { path: ... }`:
 *
 *   {"time":"2026-11-27T01:02:03.000004Z","partner":"jp-partner","format":"stix21",
 *    "alert_id":"<local id>","shared_id":"<id the partner sees>","rule":"ssh-bruteforce",
 *    "tlp":"amber","profile":"strict","profile_hash":"<32 hex>","key_id":"<16 hex>",
 *    "dropped":["process.pid",...],"transformed":{"user.name":"pseudonym",...},
 *    "result":"spooled"}
 *
 * It names fields, never their values. result is "written" (an `outputs:` file, or
 * "failed" when that write failed), "spooled" (the partner's spool took it), "pending"
 * (the spool refused it for now; it waits in memory and a "spooled" line follows when it
 * is taken) or "refused" (still waiting at shutdown: never spooled; the source events
 * were not acknowledged, so a restart processes them again). Alerts a partner is not
 * sent (filter, TLP) get no line. profile, profile_hash and key_id are null without a
 * profile. The file is created with mode 0600 and written with one write(2) per line.
 * Loop thread only.
 */
#ifndef KZ_AUDIT_H
#define KZ_AUDIT_H

#include <stddef.h>

#include "privacy.h"

struct audit;

/* One delivery, as audit_record_body() describes it; every string borrowed. */
struct audit_record {
    const char *partner;
    const char *format;
    const char *alert_id;  /* local */
    const char *shared_id; /* what the partner sees (== alert_id without a keyed profile) */
    const char *rule_id;
    const char *tlp;
    const struct privacy_profile *profile; /* NULL: none */
    const struct privacy_report *report;   /* NULL: nothing dropped or transformed */
};

/* Open (create, mode 0600) path for appending. 0 and *out (close with audit_close()), or
 * -1 with err set. */
int audit_open(const char *path, struct audit **out, char *err, size_t errlen);
void audit_close(struct audit *au);
/* Reopen the file by path (SIGHUP, logrotate); on failure the old one stays open. */
void audit_reopen(struct audit *au);
/* The JSON members of a record between "time" and "result" (caller frees). */
char *audit_record_body(const struct audit_record *rec);
/* Write one line: the current time, body (from audit_record_body()), result. Nothing when
 * au or body is NULL. A failed write is logged (once until one succeeds) and otherwise
 * ignored. */
void audit_write(struct audit *au, const char *body, const char *result);

#endif
