/* json_escape.c - JSON string escaping into an ap_buf. */
#include "json_escape.h"

#include <stdio.h>

int ap_json_escape(struct ap_buf *out, const char *s, size_t n)
{
        int r = ap_buf_addch(out, '"');
        for (size_t i = 0; r == 0 && i < n; i++) {
                unsigned char c = (unsigned char)s[i];
                switch (c) {
                case '"':
                        r = ap_buf_addstr(out, "\\\"");
                        break;
                case '\\':
                        r = ap_buf_addstr(out, "\\\\");
                        break;
                case '\n':
                        r = ap_buf_addstr(out, "\\n");
                        break;
                case '\r':
                        r = ap_buf_addstr(out, "\\r");
                        break;
                case '\t':
                        r = ap_buf_addstr(out, "\\t");
                        break;
                default:
                        if (c < 0x20)
                                r = ap_buf_printf(out, "\\u%04x", c);
                        else
                                r = ap_buf_addch(out, (char)c);
                }
        }
        return r < 0 ? r : ap_buf_addch(out, '"');
}
