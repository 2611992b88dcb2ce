/*
 * netaddr.h - recognising network values in event fields, header-only: IP addresses (put
 * in canonical text form, so "2001:DB8:0::1" and "2001:db8::1" are one observable), ports,
 * and DNS host names. Event fields are untrusted text: a source.ip of "<script>" is not an
 * address, and formats that type their values must not be told it is.
 */
#ifndef KZ_PLUGIN_NETADDR_H
#define KZ_PLUGIN_NETADDR_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stddef.h>
#include <string.h>

/* Room for the canonical text of an IPv6 address and the NUL. */
#define NETADDR_MAX 48

enum netaddr_family { NETADDR_NONE = 0, NETADDR_V4 = 4, NETADDR_V6 = 6 };

/*
 * Classify s[0..len) as an IPv4 or IPv6 address (no prefix length, no zone) and write its
 * canonical form (dotted quad; RFC 5952 for IPv6) into out. Returns the family, or
 * NETADDR_NONE (out = "") for anything else.
 */
static inline enum netaddr_family
netaddr_parse(const char *s, size_t len, char out[NETADDR_MAX])
{
    char tmp[NETADDR_MAX];
    unsigned char bin[16];

    out[0] = '\0';
    if (s == NULL || len == 0 || len >= sizeof(tmp)) {
        return NETADDR_NONE;
    }
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    if (inet_pton(AF_INET, tmp, bin) == 1 && inet_ntop(AF_INET, bin, out, NETADDR_MAX)) {
        return NETADDR_V4;
    }
    if (inet_pton(AF_INET6, tmp, bin) == 1 && inet_ntop(AF_INET6, bin, out, NETADDR_MAX)) {
        return NETADDR_V6;
    }
    out[0] = '\0';
    return NETADDR_NONE;
}

/* Most addresses a netaddr_set holds. */
#define NETADDR_SET_MAX 16

/* Distinct addresses in canonical form, in the order first seen. */
struct netaddr_set {
    size_t n;
    enum netaddr_family fam[NETADDR_SET_MAX];
    char addr[NETADDR_SET_MAX][NETADDR_MAX];
};

/*
 * Add s[0..len) to the set if it is an address not there yet (compared in canonical form,
 * so 2001:DB8::1 and 2001:db8:0::1 are one). Returns its index, or -1 when it is no address
 * or the set is full.
 */
static inline int
netaddr_set_add(struct netaddr_set *set, const char *s, size_t len)
{
    char canon[NETADDR_MAX];
    enum netaddr_family fam = netaddr_parse(s, len, canon);

    if (fam == NETADDR_NONE) {
        return -1;
    }
    for (size_t i = 0; i < set->n; i++) {
        if (strcmp(set->addr[i], canon) == 0) {
            return (int)i;
        }
    }
    if (set->n >= NETADDR_SET_MAX) {
        return -1;
    }
    set->fam[set->n] = fam;
    memcpy(set->addr[set->n], canon, sizeof(canon));
    return (int)set->n++;
}

/* A port: 1 to 5 decimal digits, 0..65535. Returns the port, or -1. */
static inline long
netaddr_port(const char *s, size_t len)
{
    long v = 0;

    if (s == NULL || len == 0 || len > 5) {
        return -1;
    }
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return -1;
        }
        v = v * 10 + (s[i] - '0');
    }
    return v <= 65535 ? v : -1;
}

/*
 * 1 when s[0..len) is a DNS host name: dot-separated labels of 1..63 letters, digits and
 * hyphens, not starting or ending with a hyphen, 253 characters at most (one trailing dot
 * allowed). An all-numeric name (an IPv4 address) is not a host name here.
 */
static inline int
netaddr_is_hostname(const char *s, size_t len)
{
    size_t label = 0;
    int alpha = 0;

    if (s == NULL || len == 0 || len > 254 || (len == 254 && s[253] != '.')) {
        return 0;
    }
    if (s[len - 1] == '.') {
        len--;
    }
    if (len == 0) {
        return 0;
    }
    for (size_t i = 0; i < len; i++) {
        char c = s[i];

        if (c == '.') {
            if (label == 0 || s[i - 1] == '-') {
                return 0;
            }
            label = 0;
            continue;
        }
        if (c == '-') {
            if (label == 0) {
                return 0;
            }
        } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
            alpha = 1;
        } else if (c < '0' || c > '9') {
            return 0;
        }
        if (++label > 63) {
            return 0;
        }
    }
    return label > 0 && s[len - 1] != '-' && alpha;
}

#endif
