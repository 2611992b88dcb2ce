/*
 * sha1.h - SHA-1 (FIPS 180-4), header-only, for name-based UUIDs (RFC 9562 version 5) in
 * output plugins, which link nothing but libc. Not for security: UUIDv5 is defined over
 * SHA-1, and that is its only use here. Known-answer tests: tests/unit/test-formats.c.
 */
#ifndef KZ_PLUGIN_SHA1_H
#define KZ_PLUGIN_SHA1_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define SHA1_DIGEST_LEN 20

struct sha1 {
    uint32_t h[5];
    uint64_t total; /* bytes hashed so far */
    unsigned char block[64];
    size_t used; /* bytes in block */
};

static inline uint32_t
sha1_rol(uint32_t x, int n)
{
    return (x << n) | (x >> (32 - n));
}

static inline void
sha1_compress(struct sha1 *c, const unsigned char *p)
{
    uint32_t w[80], a, b, d, e, f, k, t, cc;

    for (int i = 0; i < 16; i++) {
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
               (uint32_t)p[4 * i + 2] << 8 | (uint32_t)p[4 * i + 3];
    }
    for (int i = 16; i < 80; i++) {
        w[i] = sha1_rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
    }
    a = c->h[0];
    b = c->h[1];
    cc = c->h[2];
    d = c->h[3];
    e = c->h[4];
    for (int i = 0; i < 80; i++) {
        if (i < 20) {
            f = (b & cc) | (~b & d);
            k = 0x5a827999u;
        } else if (i < 40) {
            f = b ^ cc ^ d;
            k = 0x6ed9eba1u;
        } else if (i < 60) {
            f = (b & cc) | (b & d) | (cc & d);
            k = 0x8f1bbcdcu;
        } else {
            f = b ^ cc ^ d;
            k = 0xca62c1d6u;
        }
        t = sha1_rol(a, 5) + f + e + k + w[i];
        e = d;
        d = cc;
        cc = sha1_rol(b, 30);
        b = a;
        a = t;
    }
    c->h[0] += a;
    c->h[1] += b;
    c->h[2] += cc;
    c->h[3] += d;
    c->h[4] += e;
}

/* Start a new digest. */
static inline void
sha1_init(struct sha1 *c)
{
    c->h[0] = 0x67452301u;
    c->h[1] = 0xefcdab89u;
    c->h[2] = 0x98badcfeu;
    c->h[3] = 0x10325476u;
    c->h[4] = 0xc3d2e1f0u;
    c->total = 0;
    c->used = 0;
}

/* Hash n more bytes. */
static inline void
sha1_update(struct sha1 *c, const void *data, size_t n)
{
    const unsigned char *p = data;

    c->total += n;
    while (n > 0) {
        size_t take = 64 - c->used < n ? 64 - c->used : n;

        memcpy(c->block + c->used, p, take);
        c->used += take;
        p += take;
        n -= take;
        if (c->used == 64) {
            sha1_compress(c, c->block);
            c->used = 0;
        }
    }
}

/* Finish: write the 20-byte digest to out. The context must be re-initialised to reuse. */
static inline void
sha1_final(struct sha1 *c, unsigned char out[SHA1_DIGEST_LEN])
{
    uint64_t bits = c->total * 8;

    c->block[c->used++] = 0x80;
    if (c->used > 56) {
        memset(c->block + c->used, 0, 64 - c->used);
        sha1_compress(c, c->block);
        c->used = 0;
    }
    memset(c->block + c->used, 0, 56 - c->used);
    for (int i = 0; i < 8; i++) {
        c->block[56 + i] = (unsigned char)(bits >> (56 - 8 * i));
    }
    sha1_compress(c, c->block);
    for (int i = 0; i < 5; i++) {
        out[4 * i] = (unsigned char)(c->h[i] >> 24);
        out[4 * i + 1] = (unsigned char)(c->h[i] >> 16);
        out[4 * i + 2] = (unsigned char)(c->h[i] >> 8);
        out[4 * i + 3] = (unsigned char)c->h[i];
    }
}

/* One-shot digest of data[0..n). */
static inline void
sha1_digest(const void *data, size_t n, unsigned char out[SHA1_DIGEST_LEN])
{
    struct sha1 c;

    sha1_init(&c);
    sha1_update(&c, data, n);
    sha1_final(&c, out);
}

#endif
