/* fuzz_kube_watch.c - libFuzzer target for the watch stream: the input, cut into chunks at positions
 * taken from its first bytes, goes through the bounded line splitter; every line is parsed as a watch
 * event, ERROR objects as a Status, and the whole input is also parsed as an error response body. Nothing
 * may crash or leak, and a line handed out is never longer than the cap or empty. The same chunks also go
 * through the streaming List parser, whose items must be objects. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kube/list_stream.h"
#include "kube/status.h"
#include "kube/obj.h"
#include "kube/watch_stream.h"

#define LINE_CAP 4096

static int on_line(void *userdata, const char *line, size_t len)
{
        if (len == 0 || len > LINE_CAP || memchr(line, '\n', len))
                abort();
        enum ap_kube_watch_type type;
        json_t *obj = NULL;
        struct ap_error err = AP_ERROR_INIT;
        if (ap_kube_watch_event_parse(line, len, &type, &obj, &err) == 0) {
                if (!obj)
                        abort();
                if (type == AP_KUBE_WATCH_ERROR) {
                        struct ap_kube_status st = AP_KUBE_STATUS_INIT;
                        int r = ap_kube_status_from_json(obj, 500, &st);
                        if (r >= 0)
                                abort();
                        ap_kube_status_error(&st, &err, "watching");
                        ap_kube_status_release(&st);
                } else {
                        struct ap_buf key = AP_BUF_INIT;
                        /* an event that parsed has a name: the key always builds */
                        if (ap_kube_obj_key(obj, &key) < 0 && type != AP_KUBE_WATCH_BOOKMARK)
                                abort();
                        ap_buf_release(&key);
                        ap_kube_obj_label(obj, "a");
                }
                json_decref(obj);
        } else if (err.code >= 0) {
                abort();
        }
        return 0;
}

static int on_item(void *userdata, json_t *item)
{
        if (!json_is_object(item))
                abort();
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        size_t c1 = size ? data[0] % (size + 1) : 0;
        size_t c2 = size > 1 ? c1 + data[1] % (size - c1 + 1) : c1;
        struct ap_kube_lines l;
        ap_kube_lines_init(&l, LINE_CAP);
        struct ap_error err = AP_ERROR_INIT;
        const char *p = (const char *)data;
        if (ap_kube_lines_feed(&l, p, c1, on_line, NULL, &err) == 0 &&
            ap_kube_lines_feed(&l, p + c1, c2 - c1, on_line, NULL, &err) == 0 &&
            ap_kube_lines_feed(&l, p + c2, size - c2, on_line, NULL, &err) < 0 && err.code >= 0)
                abort(); /* a failure always says why */
        if (ap_kube_lines_pending(&l) > LINE_CAP)
                abort();
        ap_kube_lines_release(&l);

        struct ap_kube_list_stream ls;
        ap_kube_list_stream_init(&ls, on_item, NULL, LINE_CAP);
        if (ap_kube_list_stream_feed(&ls, p, c1, &err) == 0 &&
            ap_kube_list_stream_feed(&ls, p + c1, size - c1, &err) == 0) {
                char *rv = NULL, *cont = NULL;
                if (ap_kube_list_stream_finish(&ls, &rv, &cont, &err) == 0) {
                        free(rv);
                        free(cont);
                }
        }
        ap_kube_list_stream_release(&ls);

        struct ap_kube_status st = AP_KUBE_STATUS_INIT;
        long code = size ? 400 + data[0] % 200 : 500;
        if (ap_kube_status_parse(code, p, size, 0, &st) >= 0)
                abort();
        ap_kube_status_error(&st, &err, "fuzz");
        ap_kube_status_release(&st);
        return 0;
}
