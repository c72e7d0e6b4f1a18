/* utf8.h - the one copy of the UTF-8 and line-break helpers the YAML and JSON code share: sequence length
 * from a lead byte, strict decoding (Go's utf8.DecodeRune: no overlongs, no surrogates, nothing past
 * U+10FFFF), validation, and YAML's line breaks (CR, LF, CRLF, NEL, LS, PS). Header only. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Bytes in the sequence that lead byte c starts (1 for ASCII and for bytes that start none). */
static inline size_t ap_utf8_width(unsigned char c)
{
        return c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 1;
}

/* Length (1-4) of the well-formed sequence at s[0..n) with its code point in *ret_cp, or 0 when it is
 * malformed, truncated, overlong, a surrogate or past U+10FFFF (n must be > 0). */
static inline size_t ap_utf8_decode(const char *s, size_t n, uint32_t *ret_cp)
{
        unsigned char c = (unsigned char)s[0];
        if (c < 0x80) {
                *ret_cp = c;
                return 1;
        }
        size_t k = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
        if (k == 0 || k > n)
                return 0;
        uint32_t cp = k == 2 ? c & 0x1F : k == 3 ? c & 0x0F : c & 0x07;
        for (size_t j = 1; j < k; j++) {
                unsigned char cc = (unsigned char)s[j];
                if ((cc & 0xC0) != 0x80)
                        return 0;
                cp = cp << 6 | (cc & 0x3F);
        }
        if ((k == 2 && cp < 0x80) || (k == 3 && cp < 0x800) || (k == 4 && cp < 0x10000) || cp > 0x10FFFF ||
            (cp >= 0xD800 && cp <= 0xDFFF))
                return 0;
        *ret_cp = cp;
        return k;
}

/* Go's utf8.ValidString. */
static inline bool ap_utf8_valid(const char *s, size_t n)
{
        uint32_t cp;
        for (size_t i = 0, k; i < n; i += k)
                if (!(k = ap_utf8_decode(s + i, n - i, &cp)))
                        return false;
        return true;
}

/* Length of the YAML line break at s[i] (2 for CRLF, NEL and their multi-byte kin), 0 when there is none
 * (or i >= n). */
static inline size_t ap_utf8_break_len(const char *s, size_t n, size_t i)
{
        if (i >= n)
                return 0;
        unsigned char c = (unsigned char)s[i];
        if (c == '\r')
                return i + 1 < n && s[i + 1] == '\n' ? 2 : 1;
        if (c == '\n')
                return 1;
        if (c == 0xC2 && i + 1 < n && (unsigned char)s[i + 1] == 0x85)
                return 2;
        if (c == 0xE2 && i + 2 < n && (unsigned char)s[i + 1] == 0x80 &&
            ((unsigned char)s[i + 2] == 0xA8 || (unsigned char)s[i + 2] == 0xA9))
                return 3;
        return 0;
}
