/*
 * Keyed pseudonyms: HMAC-SHA-256, key derivation and key files (pseudonym.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "perm.h"
#include "pseudonym.h"
#include "xmalloc.h"

/* A key file larger than this cannot be a valid one (PSEUDONYM_KEY_MAX bytes as hex with
 * generous comments and spacing). */
#define PSEUDONYM_FILE_MAX 65536

int
pseudonym_hmac(const void *key, size_t keylen, const void *data, size_t len,
               unsigned char out[PSEUDONYM_MD_LEN])
{
    unsigned int n = 0;

    if (keylen > 0x7fffffff || HMAC(EVP_sha256(), key, (int)keylen, data, len, out, &n) == NULL ||
        n != PSEUDONYM_MD_LEN) {
        memset(out, 0, PSEUDONYM_MD_LEN);
        return -1;
    }
    return 0;
}

void
pseudonym_derive(const unsigned char *key, size_t keylen, const char *purpose, const char *context,
                 unsigned char out[PSEUDONYM_MD_LEN])
{
    size_t plen = strlen(purpose), clen = strlen(context);
    char *info = xmalloc(plen + 1 + clen);

    memcpy(info, purpose, plen);
    info[plen] = '\0';
    memcpy(info + plen + 1, context, clen);
    pseudonym_hmac(key, keylen, info, plen + 1 + clen, out);
    free(info);
}

void
pseudonym_hex(const unsigned char *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";

    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

void
pseudonym_make(const unsigned char key[PSEUDONYM_MD_LEN], const char *s, size_t len,
               char out[PSEUDONYM_LEN + 1])
{
    unsigned char md[PSEUDONYM_MD_LEN];

    pseudonym_hmac(key, PSEUDONYM_MD_LEN, s, len, md);
    memcpy(out, PSEUDONYM_PREFIX, 5);
    pseudonym_hex(md, PSEUDONYM_HEX / 2, out + 5);
    OPENSSL_cleanse(md, sizeof(md));
}

static int
pseudonym_hexval(int c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/* Parse the text of a key file into key (PSEUDONYM_KEY_MAX bytes). 0 or -1 with err. */
static int
pseudonym_key_parse(const char *path, const char *text, size_t len, unsigned char *key,
                    size_t *keylen, char *err, size_t errlen)
{
    size_t n = 0, digits = 0;
    int line = 1, col = 0, hi = -1, bol = 1;

    for (size_t i = 0; i < len; i++) {
        int c = (unsigned char)text[i], v;

        col++;
        if (c == '\n') {
            line++;
            col = 0;
            bol = 1;
            continue;
        }
        if (bol && c == '#') {
            while (i + 1 < len && text[i + 1] != '\n') {
                i++;
            }
            continue;
        }
        if (c == ' ' || c == '\t' || c == '\r') {
            continue;
        }
        bol = 0;
        v = pseudonym_hexval(c);
        if (v < 0) {
            snprintf(err, errlen,
                     "key file \"%s\": not hex: unexpected %s at line %d, column %d (write "
                     "the key as hex digits, e.g. `openssl rand -hex 32 > %s`)",
                     path, c >= 0x21 && c < 0x7f ? "character" : "byte", line, col, path);
            return -1;
        }
        digits++;
        if (hi < 0) {
            hi = v;
            continue;
        }
        if (n == PSEUDONYM_KEY_MAX) {
            snprintf(err, errlen, "key file \"%s\": too long: more than %d bytes of key", path,
                     PSEUDONYM_KEY_MAX);
            return -1;
        }
        key[n++] = (unsigned char)(hi << 4 | v);
        hi = -1;
    }
    if (hi >= 0) {
        snprintf(err, errlen, "key file \"%s\": odd number of hex digits (%zu)", path, digits);
        return -1;
    }
    if (n < PSEUDONYM_KEY_MIN) {
        snprintf(err, errlen,
                 "key file \"%s\": too short: %zu bytes of key, at least %d (%d bits, %d hex "
                 "digits) are needed (e.g. `openssl rand -hex 32 > %s`)",
                 path, n, PSEUDONYM_KEY_MIN, PSEUDONYM_KEY_MIN * 8, PSEUDONYM_KEY_MIN * 2, path);
        return -1;
    }
    *keylen = n;
    return 0;
}

int
pseudonym_key_read(const char *path, unsigned char **key, size_t *keylen, char *err, size_t errlen)
{
    char *text = NULL;
    unsigned char *k = NULL;
    size_t len = 0;
    int fd = -1, r = -1;

    *key = NULL;
    *keylen = 0;
    if (perm_check_private(path, "key file", err, errlen) != 0) {
        goto out;
    }
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "key file \"%s\": open() failed: %s", path, strerror(errno));
        goto out;
    }
    text = xmalloc(PSEUDONYM_FILE_MAX + 1);
    for (;;) {
        ssize_t got = read(fd, text + len, PSEUDONYM_FILE_MAX + 1 - len);
        if (got < 0 && errno == EINTR) {
            continue;
        }
        if (got < 0) {
            snprintf(err, errlen, "key file \"%s\": read() failed: %s", path, strerror(errno));
            goto out;
        }
        if (got == 0) {
            break;
        }
        len += (size_t)got;
        if (len > PSEUDONYM_FILE_MAX) {
            snprintf(err, errlen, "key file \"%s\": too long (more than %d bytes)", path,
                     PSEUDONYM_FILE_MAX);
            goto out;
        }
    }
    k = xmalloc(PSEUDONYM_KEY_MAX);
    if (pseudonym_key_parse(path, text, len, k, keylen, err, errlen) != 0) {
        goto out;
    }
    *key = k;
    k = NULL;
    r = 0;
out:
    if (fd >= 0) {
        close(fd);
    }
    if (text != NULL) {
        OPENSSL_cleanse(text, PSEUDONYM_FILE_MAX + 1);
        free(text);
    }
    pseudonym_key_free(k, PSEUDONYM_KEY_MAX);
    return r;
}

void
pseudonym_key_free(unsigned char *key, size_t keylen)
{
    if (key == NULL) {
        return;
    }
    OPENSSL_cleanse(key, keylen);
    free(key);
}
