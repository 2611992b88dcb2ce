/*
 * The owner-side reveal map (docs/PRIVACY.md): an append-only JSON lines file, mode 0600,
 * that records for each pseudonym a privacy profile made what it stands for, so the owner
 * (never a partner) can answer "who is pseu:3f9a...?" with `kizunad -c CONF --reveal
 * PSEUDONYM`. Off unless `reveal_map:` is configured (globally or per profile).
 *
 * One line per pseudonym and run:
 *   {"time":"...Z","profile":"strict","kind":"pseudonym","pseudonym":"pseu:...","original":"..."}
 * kind is "pseudonym" (keyed HMAC), "ip" (Crypto-PAn output) or "alert_id" (the keyed alert
 * id a partner sees, original = the local alert id). Lines already written by this process
 * are remembered in memory (bounded; forgetting only costs a duplicate line) and not
 * written again. Loop thread only.
 */
#ifndef KZ_REVEAL_H
#define KZ_REVEAL_H

#include <stddef.h>
#include <stdio.h>

#include "buf.h"

struct reveal;

/* Pseudonyms remembered per map before the memory is cleared. */
#define REVEAL_DEDUP_MAX (1u << 20)

/*
 * Open (create with mode 0600) the map at path for appending. An existing file that group
 * or others may read or write is refused. With check_only only that check is made and *out
 * is NULL. Returns 0 (and *out, caller closes with reveal_close()) or -1 with err set.
 */
int reveal_open(const char *path, int check_only, struct reveal **out, char *err, size_t errlen);
void reveal_close(struct reveal *rv);
/* The path the map was opened with (owned by rv). */
const char *reveal_path(const struct reveal *rv);
/*
 * Record that pseudonym (NUL-terminated) stands for original[0..len) in profile; kind as
 * above. Nothing is written if this process already recorded that pseudonym in this map.
 * A failed write is logged (once until a write succeeds again) and otherwise ignored.
 */
void reveal_add(struct reveal *rv, const char *profile, const char *kind, const char *pseudonym,
                const char *original, size_t len);

/*
 * Look pseudonym up in the map at path. Every distinct original found is appended to
 * *origs (an array of n owned strings; the caller frees each and the array). Returns the
 * number found (0 when unknown or the file does not exist), or -1 with err set.
 */
int reveal_lookup(const char *path, const char *pseudonym, char ***origs, size_t *n, char *err,
                  size_t errlen);

/*
 * kizunad -c CONF --reveal PSEUDONYM: look the pseudonym up in every reveal map of the
 * config and print each original found on out, one per line. Returns the exit status: 0
 * found, 1 unknown, 2 when the config or a map cannot be read (message on stderr).
 */
int reveal_run(const char *conf_path, const char *pseudonym, FILE *out);

#endif
