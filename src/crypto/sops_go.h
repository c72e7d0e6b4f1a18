/* sops_go.h - the few behaviours of Go's strconv and time packages that decide SOPS bytes: integer and
 * float parsing (ParseInt base 0, ParseUint, ParseFloat, Atoi, ParseBool), shortest float formatting
 * (FormatFloat 'f'/'g' with precision -1, encoding/json's float rule), and the timestamp layouts go-yaml
 * v3 accepts with Time.MarshalText/RFC 3339 output. Pure functions; no allocation except into out. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"

/* strconv.ParseInt(s, 0, 64) without underscores: sign, 0x/0o/0b prefixes, a leading 0 meaning octal.
 * -EINVAL on syntax, -ERANGE outside int64. */
int ap_go_parse_int(const char *s, size_t n, int64_t *ret) _warn_unused_;
/* strconv.ParseUint(s, 0, 64): as above without a sign. */
int ap_go_parse_uint(const char *s, size_t n, uint64_t *ret) _warn_unused_;
/* strconv.Atoi: optional sign and decimal digits only. */
int ap_go_atoi(const char *s, size_t n, int64_t *ret) _warn_unused_;
/* strconv.ParseFloat(s, 64): decimal with Go's underscore rules, hex floats, inf/infinity/nan in any case.
 * -ERANGE on overflow (underflow to zero or a subnormal is not an error, as in Go). */
int ap_go_parse_float(const char *s, size_t n, double *ret) _warn_unused_;
/* strconv.ParseBool: 1 t T TRUE true True 0 f F FALSE false False. */
int ap_go_parse_bool(const char *s, size_t n, bool *ret) _warn_unused_;

enum ap_go_float_fmt {
        AP_GO_FLOAT_F,    /* FormatFloat(v, 'f', -1, 64): SOPS plaintext and MAC bytes */
        AP_GO_FLOAT_G,    /* FormatFloat(v, 'g', -1, 64) with .inf/-.inf/.nan: go-yaml output */
        AP_GO_FLOAT_JSON, /* encoding/json: 'f', or 'e' below 1e-6 / from 1e21; inf and nan fail */
};
/* Append v; -EINVAL for inf/nan in JSON. */
int ap_go_format_float(struct ap_buf *out, double v, enum ap_go_float_fmt fmt) _warn_unused_;

struct ap_go_time {
        int year, month, day, hour, min, sec;
        int32_t nsec;
        int32_t offset; /* seconds east of UTC */
};
/* go-yaml v3 parseTimestamp: "2006-1-2T15:4:5.999999999Z07:00" (T or t), "2006-1-2 15:4:5.999999999"
 * (UTC) and "2006-1-2", with Go's range checks. */
bool ap_go_time_parse_yaml(const char *s, size_t n, struct ap_go_time *ret);
/* time.Parse(time.RFC3339, s) as Time.UnmarshalText and the SOPS lastmodified reader use it. */
int ap_go_time_parse_rfc3339(const char *s, size_t n, struct ap_go_time *ret) _warn_unused_;
/* Append RFC 3339 text; nanos selects RFC3339Nano (trailing zeros trimmed) over whole seconds. */
int ap_go_time_format(struct ap_buf *out, const struct ap_go_time *t, bool nanos) _warn_unused_;
