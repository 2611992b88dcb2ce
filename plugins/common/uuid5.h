/*
 * uuid5.h - name-based UUIDs, version 5 (SHA-1), RFC 9562 section 5.5 (formerly RFC 4122
 * 4.3), header-only. Output plugins use them for identifiers that must come out the same
 * every time the same alert is delivered (replay, re-delivery, another instance), so that
 * partners can de-duplicate.
 *
 * The namespaces kizuna uses are fixed forever: changing one changes every identifier ever
 * exported. Each is itself a version-5 UUID in the RFC's URL namespace, so anyone can
 * recompute it: uuid5(NameSpace_URL, "urn:kizuna:<format>").
 */
#ifndef KZ_PLUGIN_UUID5_H
#define KZ_PLUGIN_UUID5_H

#include <stddef.h>
#include <stdint.h>

#include "sha1.h"

/* Length of the text form, without the NUL. */
#define UUID5_TEXT_LEN 36

/* RFC 9562 NameSpace_DNS and NameSpace_URL (for tests and for deriving our own). */
static const unsigned char uuid5_ns_dns[16] = {0x6b, 0xa7, 0xb8, 0x10, 0x9d, 0xad, 0x11, 0xd1,
                                               0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8};
static const unsigned char uuid5_ns_url[16] = {0x6b, 0xa7, 0xb8, 0x11, 0x9d, 0xad, 0x11, 0xd1,
                                               0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8};

/*
 * Write the version-5 UUID of (ns, name[0..len)) as 36 lowercase characters plus a NUL
 * into out. The name may hold any bytes.
 */
static inline void
uuid5_make(const unsigned char ns[16], const void *name, size_t len, char out[UUID5_TEXT_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[SHA1_DIGEST_LEN];
    struct sha1 c;
    size_t o = 0;

    sha1_init(&c);
    sha1_update(&c, ns, 16);
    sha1_update(&c, name, len);
    sha1_final(&c, md);
    md[6] = (unsigned char)((md[6] & 0x0f) | 0x50); /* version 5 */
    md[8] = (unsigned char)((md[8] & 0x3f) | 0x80); /* variant 10 */
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) {
            out[o++] = '-';
        }
        out[o++] = hex[md[i] >> 4];
        out[o++] = hex[md[i] & 15];
    }
    out[o] = '\0';
}

#endif
