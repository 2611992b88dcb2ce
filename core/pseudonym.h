/*
 * Keyed pseudonyms for the privacy profiles (docs/PRIVACY.md): HMAC-SHA-256 from OpenSSL
 * libcrypto, the per-purpose key derivation, the printed form of a pseudonym, and the key
 * files all keyed methods read (Crypto-PAn too).
 *
 * A pseudonym is "pseu:" followed by 32 lowercase hex digits: the first 128 bits of
 * HMAC-SHA-256(Kp, value), where Kp = HMAC-SHA-256(file key, "kizuna pseudonym v1" NUL
 * profile name). The same value under the same key file and profile gives the same
 * pseudonym; another profile (or another key) gives an unrelated one. Without the key
 * nobody can compute or check a pseudonym, so a dictionary of likely values (every IPv4
 * address, common user names) does not reverse it, unlike a plain hash.
 *
 * Key files hold at least 256 bits written as hex digits; whitespace and lines starting
 * with '#' are ignored. They must not be readable by group or others.
 */
#ifndef KZ_PSEUDONYM_H
#define KZ_PSEUDONYM_H

#include <stddef.h>

#define PSEUDONYM_PREFIX "pseu:"
#define PSEUDONYM_HEX 32                  /* 128 bits */
#define PSEUDONYM_LEN (5 + PSEUDONYM_HEX) /* "pseu:" + hex, without the NUL */
#define PSEUDONYM_KEY_MIN 32              /* bytes of key material a key file needs */
#define PSEUDONYM_KEY_MAX 1024            /* bytes: longer files are refused */
#define PSEUDONYM_MD_LEN 32               /* HMAC-SHA-256 output */

/*
 * HMAC-SHA-256 of data[0..len) under key[0..keylen) into out (32 bytes). Returns 0, or -1
 * if libcrypto failed (out is then zeroed).
 */
int pseudonym_hmac(const void *key, size_t keylen, const void *data, size_t len,
                   unsigned char out[PSEUDONYM_MD_LEN]);
/*
 * Derive a 32-byte key for one purpose and context (profile name) from file key material:
 * HMAC-SHA-256(key, purpose NUL context). Different purposes or contexts give independent
 * keys, so one key file may serve several methods and profiles without linking them.
 */
void pseudonym_derive(const unsigned char *key, size_t keylen, const char *purpose,
                      const char *context, unsigned char out[PSEUDONYM_MD_LEN]);
/* Write "pseu:" + 32 hex digits of HMAC-SHA-256(key, s[0..len)) and a NUL into out. */
void pseudonym_make(const unsigned char key[PSEUDONYM_MD_LEN], const char *s, size_t len,
                    char out[PSEUDONYM_LEN + 1]);
/* Lowercase hex of in[0..n) into out (2n digits and a NUL). */
void pseudonym_hex(const unsigned char *in, size_t n, char *out);

/*
 * Read a key file: refuse it when group or others may read or write it (perm.h), when it
 * holds anything but hex digits, whitespace and '#' comment lines, an odd number of digits,
 * fewer than PSEUDONYM_KEY_MIN or more than PSEUDONYM_KEY_MAX bytes. Returns 0 with *key
 * (caller frees with pseudonym_key_free()) and *keylen, or -1 with a message naming the
 * file and what to do in err.
 */
int pseudonym_key_read(const char *path, unsigned char **key, size_t *keylen, char *err,
                       size_t errlen);
/* Wipe and free key material (NULL ok). */
void pseudonym_key_free(unsigned char *key, size_t keylen);

#endif
