/*
 * Small strict checkers for the fuzz targets (and their replay in make check): is a byte
 * string one JSON text (RFC 8259) or one well-formed XML 1.0 document? Both are written
 * from the standards, independently of the plugins' writers, so that a writer's escaping
 * bug cannot hide behind a shared helper. They are deliberately stricter than most parsers
 * where the standards say SHOULD: JSON object keys must be unique and \u escapes must not
 * leave a lone surrogate; XML may only hold characters of the Char production, also as
 * character references.
 */
#ifndef KZ_FUZZ_CHECK_H
#define KZ_FUZZ_CHECK_H

#include <stddef.h>

/*
 * 0 when s[0..n) is exactly one JSON value with optional blanks around it; -1 otherwise,
 * with a one-line reason naming the byte offset in why. Nesting deeper than 1000 is refused.
 */
int fuzz_check_json(const char *s, size_t n, char *why, size_t whylen);

/*
 * 0 when s[0..n) is a well-formed XML 1.0 document: an optional XML declaration, comments,
 * processing instructions and one DOCTYPE (without an internal subset), then one root
 * element, then nothing but blanks, comments and PIs. Elements must nest and close,
 * attribute names must be unique per element, '<' and '&' only appear as markup or
 * predefined/character references, every character is valid UTF-8 and an XML Char.
 * Returns -1 otherwise, with a reason naming the byte offset in why.
 */
int fuzz_check_xml(const char *s, size_t n, char *why, size_t whylen);

/*
 * Decode one UTF-8 sequence at s[0..n) (n >= 1) strictly (no overlong forms, surrogates or
 * code points past U+10FFFF): returns its length and sets *cp, or returns 0 when invalid.
 */
size_t fuzz_check_utf8(const unsigned char *s, size_t n, unsigned long *cp);

#endif
