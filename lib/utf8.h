/*
 * utf8.h -- incremental UTF-8 validation (RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF).  The state is one small integer so
 * that a connection can validate a message across frames and reads.  An
 * invalid byte is reported as soon as it is fed (fail fast), not at the
 * end of the message.
 */
#ifndef GW_UTF8_H
#define GW_UTF8_H

#include <stddef.h>
#include <stdint.h>

#define UTF8_ACCEPT	0	/* at a character boundary */
#define UTF8_REJECT	1	/* invalid; sticky */

uint32_t utf8_feed(uint32_t, const void *, size_t);
int	 utf8_valid(const void *, size_t);

#endif
