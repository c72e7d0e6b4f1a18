/* http_curl.c - libcurl initialisation and CURLcode -> shared error mapping. */
#include "http_curl.h"

#include <errno.h>
#include <pthread.h>

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static CURLcode init_rc;

static void global_init(void)
{
        init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

int ap_http_global_init(struct ap_error *err)
{
        pthread_once(&init_once, global_init);
        if (init_rc != CURLE_OK)
                return ap_error_set(err, AP_E_UNAVAILABLE, "cannot initialise libcurl: %s",
                                    curl_easy_strerror(init_rc));
        return 0;
}

int ap_http_curl_code(CURLcode cc)
{
        switch (cc) {
        case CURLE_OK:
                return 0;
        case CURLE_OPERATION_TIMEDOUT:
                return AP_E_TIMEOUT;
        case CURLE_ABORTED_BY_CALLBACK:
                return AP_E_CANCELLED;
        case CURLE_PEER_FAILED_VERIFICATION:
#if LIBCURL_VERSION_NUM < 0x073e00
        case CURLE_SSL_CACERT:
#endif
                return AP_E_CORRUPT;
        case CURLE_SSL_CERTPROBLEM:
        case CURLE_SSL_CACERT_BADFILE:
        case CURLE_SSL_CRL_BADFILE:
        case CURLE_SSL_ISSUER_ERROR:
        case CURLE_SSL_ENGINE_NOTFOUND:
        case CURLE_SSL_ENGINE_SETFAILED:
        case CURLE_URL_MALFORMAT:
        case CURLE_UNSUPPORTED_PROTOCOL:
        case CURLE_BAD_FUNCTION_ARGUMENT:
                return AP_E_INVALID;
        case CURLE_OUT_OF_MEMORY:
                return -ENOMEM;
        case CURLE_FILESIZE_EXCEEDED:
                return AP_E_TOO_LARGE;
        default:
                return AP_E_UNAVAILABLE;
        }
}

static const char *cause(CURLcode cc)
{
        switch (cc) {
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_COULDNT_RESOLVE_PROXY:
                return "cannot resolve the host name";
        case CURLE_COULDNT_CONNECT:
                return "cannot connect";
        case CURLE_OPERATION_TIMEDOUT:
                return "no answer in time";
        case CURLE_SSL_CONNECT_ERROR:
                return "the TLS handshake failed";
        case CURLE_PEER_FAILED_VERIFICATION:
                return "the server's certificate does not verify against the trusted CA";
        case CURLE_SSL_CERTPROBLEM:
                return "the client certificate or key cannot be used";
        case CURLE_SSL_CACERT_BADFILE:
                return "the CA bundle cannot be read";
        case CURLE_SEND_ERROR:
        case CURLE_RECV_ERROR:
                return "the connection failed";
        case CURLE_GOT_NOTHING:
                return "the server closed the connection without answering";
        case CURLE_PARTIAL_FILE:
                return "the answer was cut short";
        case CURLE_HTTP2:
        case CURLE_HTTP2_STREAM:
                return "HTTP/2 framing failed";
        case CURLE_ABORTED_BY_CALLBACK:
                return "cancelled";
        default:
                return NULL;
        }
}

int ap_http_curl_error(CURLcode cc, const char *errbuf, const char *method, const char *url,
                       struct ap_error *err)
{
        int code = ap_http_curl_code(cc);
        if (code == 0)
                return 0;
        const char *why = cause(cc);
        const char *detail = errbuf && errbuf[0] ? errbuf : curl_easy_strerror(cc);
        if (cc == CURLE_ABORTED_BY_CALLBACK)
                return ap_error_set(err, code, "%s %s: cancelled", method, url);
        if (why)
                return ap_error_set(err, code, "%s %s: %s: %s", method, url, why, detail);
        return ap_error_set(err, code, "%s %s: %s", method, url, detail);
}
