/* list_stream.c - a byte-level scanner (strings, escapes, nesting) that cuts List items out of a stream. */
#include "list_stream.h"

#include "obj.h"

#include <stdlib.h>
#include <string.h>

#define ITEM_MAX ((size_t)16 << 20)

enum { EXPECT_KEY, IN_KEY, AFTER_KEY, IN_VALUE };
enum { CAP_NONE, CAP_ITEM, CAP_META };

void ap_kube_list_stream_init(struct ap_kube_list_stream *s, ap_kube_list_item_fn fn, void *userdata,
                              size_t max_item)
{
        memset(s, 0, sizeof(*s));
        s->fn = fn;
        s->userdata = userdata;
        ap_buf_init_secret(&s->capture, max_item ? max_item : ITEM_MAX); /* items may be Secrets */
}

void ap_kube_list_stream_release(struct ap_kube_list_stream *s)
{
        ap_buf_release(&s->capture);
        json_decref(s->metadata);
        s->metadata = NULL;
}

static bool is_ws(char c)
{
        return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* A capture ended: parse what was cut out. */
static int finish_capture(struct ap_kube_list_stream *s, struct ap_error *err)
{
        json_error_t jerr;
        json_t *v = json_loadb(s->capture.data, s->capture.len, JSON_REJECT_DUPLICATES, &jerr);
        ap_buf_reset(&s->capture);
        int cap = s->cap;
        s->cap = CAP_NONE;
        if (!v) {
                char why[128];
                ap_kube_json_error_cause(&jerr, why, sizeof(why));
                return ap_error_set(err, AP_E_CORRUPT, "list %s %zu is not valid JSON: %s",
                                    cap == CAP_ITEM ? "item" : "metadata", s->items, why);
        }
        if (cap == CAP_META) {
                json_decref(s->metadata);
                s->metadata = v;
                return 0;
        }
        s->items++;
        int r = s->fn(s->userdata, v);
        json_decref(v);
        return r;
}

int ap_kube_list_stream_feed(struct ap_kube_list_stream *s, const char *data, size_t n, struct ap_error *err)
{
        size_t cap_start = 0; /* where in this chunk the bytes still to be captured begin */
        for (size_t i = 0; i < n; i++) {
                char c = data[i];
                if (s->done) {
                        if (!is_ws(c))
                                return ap_error_set(err, -EBADMSG, "trailing bytes after the list");
                        continue;
                }
                if (s->in_string) {
                        if (s->escape)
                                s->escape = false;
                        else if (c == '\\')
                                s->escape = true;
                        else if (c == '"') {
                                s->in_string = false;
                                if (s->depth == 1 && s->state == IN_KEY)
                                        s->state = AFTER_KEY;
                        } else if (s->depth == 1 && s->state == IN_KEY && s->key_len < sizeof(s->key) - 1) {
                                s->key[s->key_len++] = c;
                        }
                        continue;
                }
                if (is_ws(c))
                        continue;
                if (!s->started) {
                        if (c != '{')
                                return ap_error_set(err, -EBADMSG, "a list response must be a JSON object");
                        s->started = true;
                }
                bool item_slot = s->depth == 2 && s->in_items && s->cap == CAP_NONE;
                switch (c) {
                case '"':
                        if (item_slot)
                                return ap_error_set(err, -EBADMSG, "list item %zu is not an object",
                                                    s->items);
                        s->in_string = true;
                        if (s->depth == 1 && s->state == EXPECT_KEY) {
                                s->state = IN_KEY;
                                s->key_len = 0;
                        }
                        break;
                case '{':
                case '[':
                        if (s->depth == 1 && s->state == IN_VALUE) {
                                s->key[s->key_len] = '\0';
                                if (c == '{' && strcmp(s->key, "metadata") == 0) {
                                        s->cap = CAP_META;
                                        cap_start = i;
                                } else if (c == '[' && strcmp(s->key, "items") == 0) {
                                        s->in_items = true;
                                }
                        } else if (item_slot) {
                                if (c != '{')
                                        return ap_error_set(err, -EBADMSG, "list item %zu is not an object",
                                                            s->items);
                                s->cap = CAP_ITEM;
                                cap_start = i;
                        }
                        if (++s->depth > 512)
                                return ap_error_set(err, -EBADMSG, "list nested deeper than 512 levels");
                        break;
                case '}':
                case ']':
                        if (s->depth == 0)
                                return ap_error_set(err, -EBADMSG, "unbalanced list response");
                        s->depth--;
                        if ((s->cap == CAP_ITEM && s->depth == 2) || (s->cap == CAP_META && s->depth == 1)) {
                                if (ap_buf_add(&s->capture, data + cap_start, i + 1 - cap_start) < 0)
                                        return ap_error_set(err, -E2BIG, "list item larger than %zu bytes",
                                                            s->capture.max);
                                int r = finish_capture(s, err);
                                if (r < 0)
                                        return r;
                        } else if (s->depth == 1 && s->in_items && c == ']') {
                                s->in_items = false;
                        }
                        if (s->depth == 0)
                                s->done = true;
                        break;
                case ':':
                        if (s->depth == 1 && s->state == AFTER_KEY)
                                s->state = IN_VALUE;
                        break;
                case ',':
                        if (s->depth == 1)
                                s->state = EXPECT_KEY;
                        break;
                default:
                        if (item_slot)
                                return ap_error_set(err, -EBADMSG, "list item %zu is not an object",
                                                    s->items);
                }
        }
        if (s->cap != CAP_NONE && ap_buf_add(&s->capture, data + cap_start, n - cap_start) < 0)
                return ap_error_set(err, -E2BIG, "list item larger than %zu bytes", s->capture.max);
        return 0;
}

static int dup_meta(const json_t *meta, const char *key, char **ret)
{
        if (!ret)
                return 0;
        const char *v = json_string_value(json_object_get(meta, key));
        *ret = v && v[0] ? strdup(v) : NULL;
        return v && v[0] && !*ret ? -ENOMEM : 0;
}

int ap_kube_list_stream_finish(struct ap_kube_list_stream *s, char **ret_rv, char **ret_continue,
                               struct ap_error *err)
{
        if (!s->done)
                return ap_error_set(err, -EBADMSG, "the list response ended early (after %zu items)",
                                    s->items);
        char *rv = NULL, *cont = NULL;
        if (dup_meta(s->metadata, "resourceVersion", &rv) < 0 ||
            dup_meta(s->metadata, "continue", &cont) < 0) {
                free(rv);
                return ap_error_set(err, -ENOMEM, "out of memory");
        }
        if (ret_rv)
                *ret_rv = rv;
        else
                free(rv);
        if (ret_continue)
                *ret_continue = cont;
        else
                free(cont);
        return 0;
}
