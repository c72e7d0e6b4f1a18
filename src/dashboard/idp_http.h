/* idp_http.h - the few HTTP calls the login makes to the identity provider (discovery, JWKS, token,
 * userinfo), over libcurl: a fresh easy handle per call (logins are rare), TLS verified against the
 * system store or one CA file, no signals, a timeout and a body cap. Private to src/dashboard until a
 * shared libcurl wrapper lands in src/base. */
#pragma once

#include "base/buf.h"
#include "base/error.h"

struct ap_dash_http_call {
        const char *method; /* "GET" or "POST" */
        const char *url;
        const char *ca_file;    /* NULL = system store */
        const char *bearer;     /* Authorization: Bearer (secret), or NULL */
        const char *basic_user; /* client_secret_basic: form-URL-encoded then base64 (RFC 6749 2.3.1) */
        const char *basic_pass; /* secret */
        const char *form;       /* POST body (application/x-www-form-urlencoded), or NULL */
        long timeout_ms;        /* 0 = 5 s */
};

/* Perform the call; the body (capped at 1 MiB) goes to resp and the status to *ret_code. Transport
 * failures: AP_E_UNAVAILABLE / AP_E_TIMEOUT with err naming the URL. Any HTTP status is a success here. */
int ap_dash_http_do(const struct ap_dash_http_call *c, long *ret_code, struct ap_buf *resp,
                    struct ap_error *err);
