/*
 * Privacy profiles for sharing alerts with partners (docs/PRIVACY.md). A profile turns an
 * alert into a copy fit for one partner, and the partner's format plugin only ever sees
 * that copy (plugins read alerts through kz_host, so every format is covered at once):
 *
 *   - every field set is filtered: event fields, group-by fields, each evidence sample;
 *   - per field, in this order: `drop` globs drop it; `ip.fields` truncate it or map it
 *     with Crypto-PAn (a value that is no address is dropped); `pseudonymize.fields`
 *     replace it by "pseu:" + 32 hex digits (keyed HMAC-SHA-256); text fields are redacted
 *     by the `redact_text` detectors (privacy-text.h); with an allowlist (`keep`), a field
 *     that none of these names and `keep` does not list is dropped; a time field passes
 *     rounded down to `time_granularity`;
 *   - values pseudonymised or transformed anywhere in the alert are also replaced wherever
 *     they appear in the text fields, in any ASCII case;
 *   - the group key is rebuilt from the transformed group values; alert times are rounded
 *     down; the alert id partners see is HMAC(profile key, alert id) (the original id is a
 *     plain hash over the group values, which a dictionary could reverse).
 * Rule id, title, tags and level, and the analyzer's own host name pass unchanged.
 *
 * A privacy set holds every profile of a config with its keys read from the key files; it
 * is built beside the output set it belongs to (output.c), so a reload re-reads the keys
 * (rotation) and a bad key refuses the reload. Loop thread only.
 */
#ifndef KZ_PRIVACY_H
#define KZ_PRIVACY_H

#include <stddef.h>

#include "alert.h"
#include "conf.h"
#include "errlist.h"

struct privacy_set;
struct privacy_profile;

/* What a profile did to one alert, for the audit log: field names and methods, never
 * values. Names are deduplicated; a zeroed struct is an empty report. */
struct privacy_report {
    char **dropped; /* owned */
    size_t ndropped;
    char **changed;       /* owned field names */
    const char **methods; /* static: "pseudonym", "ip-truncate", "ip-prefix-preserving",
                             "redact", "time", "keyed" (alert id), "rebuilt" (group key) */
    size_t nchanged;
};
/* Empty the report, keeping nothing. */
void privacy_report_reset(struct privacy_report *r);

/*
 * Build the profiles of conf: read and check every key file (pseudonym.h) and open the
 * reveal maps (reveal.h). With check_only nothing is opened or created, but keys and the
 * permissions of existing reveal maps are checked. Returns 0 and *out (caller frees with
 * privacy_set_free(); it borrows from conf, which must outlive it), or -1 with the problems
 * in errs as "FILE:LINE:COL: privacy profile 'X': ...".
 */
int privacy_set_new(const struct conf *conf, int check_only, struct privacy_set **out,
                    struct errlist *errs);
void privacy_set_free(struct privacy_set *ps);
/* The profile called name (set-owned), or NULL. */
struct privacy_profile *privacy_set_find(struct privacy_set *ps, const char *name);

const char *privacy_profile_name(const struct privacy_profile *p);
/* Hash of the profile's canonical definition (32 hex digits; keys and paths excluded). */
const char *privacy_profile_hash(const struct privacy_profile *p);
/* Identifier of the key material in use (16 hex digits, a keyed hash that does not reveal
 * the keys), "" for a profile without keys; changes when a key is rotated. */
const char *privacy_profile_key_id(const struct privacy_profile *p);

/*
 * A transformed copy of a for the partner (caller frees with alert_free()); the copy
 * shares a's rule and carries its tlp/partner/host_name pointers. rep (may be NULL) is
 * reset and filled with what was dropped and transformed. Writes to the reveal map when the
 * profile has one.
 */
struct alert *privacy_apply(struct privacy_profile *p, const struct alert *a,
                            struct privacy_report *rep);

#endif
