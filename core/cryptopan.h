/*
 * Crypto-PAn: prefix-preserving pseudonymisation of IP addresses (J. Fan, J. Xu, M. Ammar,
 * S. Moon, "Prefix-preserving IP address anonymization", Computer Networks 46(2), 2004),
 * with AES-128 from OpenSSL libcrypto (EVP, ECB on single blocks).
 *
 * The 32-byte key is an AES-128 key (first 16 bytes) and the seed of a 128-bit pad (last
 * 16 bytes, encrypted once). Bit i of the output is bit i of the input XOR the first bit of
 * AES(input bits 0..i-1 followed by pad bits i..127). So:
 *   - two addresses that share exactly k leading bits map to addresses that share exactly
 *     k leading bits (prefix-preserving), and the map is a bijection;
 *   - without the key the map looks random, so a partner sees which addresses share a
 *     /24 (or any prefix) without learning the addresses.
 * IPv4 output matches the reference implementation's published sample (same key and bit
 * order); IPv6 is the same construction over 128 bits.
 *
 * A struct cryptopan is not thread-safe (it keeps one cipher context); kizunad uses it on
 * the loop thread only.
 */
#ifndef KZ_CRYPTOPAN_H
#define KZ_CRYPTOPAN_H

#include <stdint.h>

#define CRYPTOPAN_KEY_LEN 32

struct cryptopan;

/* A new instance for key (copied). Returns 0 and *out (free with cryptopan_free()), or -1
 * if libcrypto refused (no AES-128). */
int cryptopan_new(const unsigned char key[CRYPTOPAN_KEY_LEN], struct cryptopan **out);
/* Wipe and free (NULL ok). */
void cryptopan_free(struct cryptopan *cp);
/* Map an IPv4 address given as 4 bytes in network order into out (may equal in). */
void cryptopan_ipv4(struct cryptopan *cp, const unsigned char in[4], unsigned char out[4]);
/* Map an IPv6 address given as 16 bytes in network order into out (may equal in). */
void cryptopan_ipv6(struct cryptopan *cp, const unsigned char in[16], unsigned char out[16]);

#endif
