/*
 * A growable byte buffer, used host-wide: plugins append an alert's bytes to one (it is the
 * struct kz_buf of the plugin ABI), the log and the outputs build lines in one. The bytes
 * are always followed by a NUL that is not counted in len, so buf.data can be used as a C
 * string when the content has no NUL of its own. Growth aborts on OOM (xmalloc.h).
 *
 * A buffer is owned by whoever declared it; buf_free() releases the memory, buf_reset()
 * keeps it for the next use (hot paths reuse one buffer instead of allocating per alert).
 */
#ifndef KZ_BUF_H
#define KZ_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
    char *data; /* owned; NULL until the first append; data[len] == '\0' otherwise */
    size_t len;
    size_t cap;
};

/* Set up an empty buffer (no allocation). A zeroed struct buf is also a valid empty one. */
void buf_init(struct buf *b);
/* Make room for n more bytes (plus the NUL) without changing len. */
void buf_reserve(struct buf *b, size_t n);
/* Append len bytes of data. */
void buf_append(struct buf *b, const void *data, size_t len);
/* Append a NUL-terminated string. */
void buf_puts(struct buf *b, const char *s);
/* Append one byte. */
void buf_putc(struct buf *b, char c);
/* Append printf-formatted text. */
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_vprintf(struct buf *b, const char *fmt, va_list ap);
/*
 * Append s[0..len) as a quoted JSON string: '"' and '\' escaped, control characters as
 * \b \f \n \r \t or \u00XX (C1 controls U+0080..U+009F too), U+2028 and U+2029 as
 * \u2028 \u2029 (so no reader splits a line inside a string), invalid UTF-8 (overlong
 * forms, surrogates, code points past U+10FFFF, truncated sequences) replaced by U+FFFD,
 * one per maximal invalid subpart as the Unicode standard recommends. The result is valid
 * JSON for any input bytes.
 */
void buf_json_string(struct buf *b, const char *s, size_t len);
/*
 * Append s[0..len) escaped for XML 1.0 character data and attribute values: & < > " ' as
 * entities; characters XML 1.0 cannot carry at all (C0 controls other than TAB, LF, CR;
 * U+FFFE, U+FFFF) and invalid UTF-8 become U+FFFD. The result is well-formed for any input.
 */
void buf_xml_text(struct buf *b, const char *s, size_t len);
/* Shorten the content to len bytes (len <= b->len); keeps the memory. */
void buf_truncate(struct buf *b, size_t len);
/* Empty the buffer, keeping its memory for reuse. */
void buf_reset(struct buf *b);
/* Release the memory; the buffer is empty and reusable afterwards. */
void buf_free(struct buf *b);
/* The content as a NUL-terminated string ("" for a buffer never appended to). */
const char *buf_cstr(const struct buf *b);

#endif
