/*
 * Crypto-PAn prefix-preserving address pseudonymisation over AES-128 (cryptopan.h).
 */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "cryptopan.h"
#include "xmalloc.h"

struct cryptopan {
    EVP_CIPHER_CTX *ctx; /* AES-128-ECB, no padding, encrypting */
    unsigned char pad[16];
};

/* out = AES_K(in) for one block. */
static void
cryptopan_block(struct cryptopan *cp, const unsigned char in[16], unsigned char out[16])
{
    int n = 0;

    if (EVP_EncryptUpdate(cp->ctx, out, &n, in, 16) != 1 || n != 16) {
        /* Cannot happen with an initialised ECB context; never leak the input. */
        memset(out, 0, 16);
    }
}

int
cryptopan_new(const unsigned char key[CRYPTOPAN_KEY_LEN], struct cryptopan **out)
{
    struct cryptopan *cp = xcalloc(1, sizeof(*cp));
    int r = -1;

    *out = NULL;
    cp->ctx = EVP_CIPHER_CTX_new();
    if (cp->ctx == NULL || EVP_EncryptInit_ex(cp->ctx, EVP_aes_128_ecb(), NULL, key, NULL) != 1 ||
        EVP_CIPHER_CTX_set_padding(cp->ctx, 0) != 1) {
        goto out;
    }
    cryptopan_block(cp, key + 16, cp->pad);
    *out = cp;
    cp = NULL;
    r = 0;
out:
    cryptopan_free(cp);
    return r;
}

void
cryptopan_free(struct cryptopan *cp)
{
    if (cp == NULL) {
        return;
    }
    EVP_CIPHER_CTX_free(cp->ctx);
    OPENSSL_cleanse(cp->pad, sizeof(cp->pad));
    free(cp);
}

/* The construction over the first nbytes (4 or 16) of in. */
static void
cryptopan_map(struct cryptopan *cp, const unsigned char *in, unsigned char *out, int nbytes)
{
    unsigned char block[16], enc[16], otp[16] = {0}, orig[16];
    int nbits = nbytes * 8;

    memcpy(orig, in, (size_t)nbytes);
    memcpy(block, cp->pad, sizeof(block));
    for (int pos = 0; pos < nbits; pos++) {
        if (pos > 0) {
            /* Bits 0..pos-1 of the block come from the address, the rest from the pad. */
            int byte = (pos - 1) / 8;
            unsigned char mask = (unsigned char)(0x80u >> ((pos - 1) % 8));
            block[byte] = (unsigned char)((block[byte] & ~mask) | (orig[byte] & mask));
        }
        cryptopan_block(cp, block, enc);
        if (enc[0] & 0x80) {
            otp[pos / 8] |= (unsigned char)(0x80u >> (pos % 8));
        }
    }
    for (int i = 0; i < nbytes; i++) {
        out[i] = orig[i] ^ otp[i];
    }
    OPENSSL_cleanse(orig, sizeof(orig));
    OPENSSL_cleanse(block, sizeof(block));
}

void
cryptopan_ipv4(struct cryptopan *cp, const unsigned char in[4], unsigned char out[4])
{
    cryptopan_map(cp, in, out, 4);
}

void
cryptopan_ipv6(struct cryptopan *cp, const unsigned char in[16], unsigned char out[16])
{
    cryptopan_map(cp, in, out, 16);
}
