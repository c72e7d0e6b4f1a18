/* assets_data.h - the web front end embedded at build time (src/dashboard/meson.build runs tools/embed
 * over the web build output, or over web-placeholder/ while there is none), looked up by base name. */
#pragma once

#include <stddef.h>

struct ap_embedded_file {
        const char *name;          /* base name, e.g. "index.html", "index-3f2a.js" */
        const unsigned char *data; /* the file's bytes, NUL-terminated */
        size_t size;               /* without the NUL */
};

extern const struct ap_embedded_file ap_dash_web_files[];
extern const size_t ap_dash_web_files_count;
