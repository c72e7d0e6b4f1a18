/* mux.c - a thread running a curl multi handle for transfers handed over by other threads. */
#include "mux.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/macro.h"

#define POLL_MS   100         /* how often cancel flags are looked at while nothing happens */
#define RELAY_MAX (256 << 10) /* body bytes held for a requester before the stream is paused */

struct job {
        CURL *h;
        const atomic_bool *cancel;
        struct ap_kube_mux *m;
        /* under m->lock: */
        CURLcode rc;
        bool done;
        long code; /* the answer's HTTP status, read on the mux thread */
        char *buf; /* body bytes received, not yet handed to the requester */
        size_t len, cap;
        bool oom;         /* buf could not grow */
        bool paused;      /* the mux paused the stream: buf is full */
        bool unpause;     /* the requester emptied buf: resume the stream */
        bool abort;       /* the requester's sink failed: end the transfer */
        struct job *next; /* in pending, then in active */
};

struct ap_kube_mux {
        pthread_mutex_t lock; /* guards pending, started, stop and every job's done/rc */
        pthread_cond_t cond;  /* a job finished */
        struct job *pending;  /* handed over, not yet added to the multi handle */
        bool started, stop;
        pthread_t thread;
        CURLM *multi;       /* the mux thread's only (curl_multi_wakeup is thread-safe) */
        struct job *active; /* mux thread only */
};

struct ap_kube_mux *ap_kube_mux_new(void)
{
        struct ap_kube_mux *m = calloc(1, sizeof(*m));
        if (!m)
                return NULL;
        m->multi = curl_multi_init();
        if (!m->multi) {
                free(m);
                return NULL;
        }
        /* HTTP/2 streams over one connection (libcurl's default since 7.62, said for clarity) */
        curl_multi_setopt(m->multi, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
        pthread_mutex_init(&m->lock, NULL);
        pthread_cond_init(&m->cond, NULL);
        return m;
}

/* libcurl's write function for every transfer: keep the bytes for the requester (mux thread). */
static size_t on_write(char *p, size_t size, size_t nmemb, void *ud)
{
        struct job *j = ud;
        size_t n = size * nmemb;
        long code = 0;
        curl_easy_getinfo(j->h, CURLINFO_RESPONSE_CODE, &code);
        pthread_mutex_lock(&j->m->lock);
        size_t ret = n;
        if (j->abort) {
                ret = CURL_WRITEFUNC_ERROR;
        } else if (j->len > 0 && j->len + n > RELAY_MAX) {
                j->paused = true; /* libcurl hands these bytes again after the unpause */
                ret = CURL_WRITEFUNC_PAUSE;
        } else {
                if (j->len + n > j->cap) {
                        /* bodies may hold Secrets: move by hand, so the old block is wiped */
                        size_t cap = AP_MAX(j->len + n, j->cap ? j->cap * 2 : 16384);
                        char *b = malloc(cap);
                        if (!b) {
                                j->oom = true;
                                ret = CURL_WRITEFUNC_ERROR;
                                goto out;
                        }
                        if (j->len)
                                memcpy(b, j->buf, j->len);
                        ap_secure_free(j->buf, j->cap);
                        j->buf = b;
                        j->cap = cap;
                }
                memcpy(j->buf + j->len, p, n);
                j->len += n;
                j->code = code;
        }
out:
        pthread_cond_broadcast(&j->m->cond);
        pthread_mutex_unlock(&j->m->lock);
        return ret;
}

/* End job with rc (mux thread; lock not held). */
static void finish(struct ap_kube_mux *m, struct job *j, CURLcode rc)
{
        curl_multi_remove_handle(m->multi, j->h);
        struct job **p = &m->active;
        while (*p && *p != j)
                p = &(*p)->next;
        if (*p)
                *p = j->next;
        pthread_mutex_lock(&m->lock);
        j->rc = rc;
        j->done = true;
        pthread_cond_broadcast(&m->cond);
        pthread_mutex_unlock(&m->lock);
}

static void *run(void *arg)
{
        struct ap_kube_mux *m = arg;
        for (;;) {
                pthread_mutex_lock(&m->lock);
                bool stop = m->stop;
                struct job *add = m->pending;
                m->pending = NULL;
                pthread_mutex_unlock(&m->lock);
                while (add) {
                        struct job *j = add;
                        add = j->next;
                        curl_easy_setopt(j->h, CURLOPT_PRIVATE, j);
                        curl_easy_setopt(j->h, CURLOPT_WRITEFUNCTION, on_write);
                        curl_easy_setopt(j->h, CURLOPT_WRITEDATA, j);
                        CURLMcode mc = curl_multi_add_handle(m->multi, j->h);
                        j->next = m->active;
                        m->active = j;
                        if (mc != CURLM_OK)
                                finish(m, j,
                                       mc == CURLM_OUT_OF_MEMORY ? CURLE_OUT_OF_MEMORY : CURLE_FAILED_INIT);
                }
                if (stop && !m->active)
                        break;
                int running = 0;
                curl_multi_perform(m->multi, &running);
                CURLMsg *msg;
                int left;
                while ((msg = curl_multi_info_read(m->multi, &left))) {
                        if (msg->msg != CURLMSG_DONE)
                                continue;
                        struct job *j = NULL;
                        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&j);
                        CURLcode rc = msg->data.result;
                        if (j)
                                finish(m, j, rc);
                }
                for (struct job *j = m->active, *n; j; j = n) {
                        n = j->next;
                        pthread_mutex_lock(&m->lock);
                        bool abort = j->abort, resume = j->unpause;
                        j->unpause = false;
                        if (resume)
                                j->paused = false;
                        pthread_mutex_unlock(&m->lock);
                        if (abort)
                                finish(m, j, CURLE_WRITE_ERROR);
                        else if (j->cancel && atomic_load(j->cancel))
                                finish(m, j, CURLE_ABORTED_BY_CALLBACK);
                        else if (resume)
                                curl_easy_pause(j->h, CURLPAUSE_CONT); /* may call on_write at once */
                }
                curl_multi_poll(m->multi, NULL, 0, POLL_MS, NULL);
        }
        return NULL;
}

CURLcode ap_kube_mux_perform(struct ap_kube_mux *m, CURL *h, const atomic_bool *cancel,
                             ap_kube_mux_sink_fn sink, void *userdata)
{
        struct job j = {.h = h, .cancel = cancel, .m = m};
        pthread_mutex_lock(&m->lock);
        if (!m->started) {
                if (pthread_create(&m->thread, NULL, run, m) != 0) {
                        pthread_mutex_unlock(&m->lock);
                        return CURLE_FAILED_INIT;
                }
                m->started = true;
        }
        j.next = m->pending;
        m->pending = &j;
        pthread_mutex_unlock(&m->lock);
        curl_multi_wakeup(m->multi);
        /* hand the body over as it comes, outside the lock, so the mux thread keeps running the others */
        char *spare = NULL;
        size_t spare_cap = 0;
        pthread_mutex_lock(&m->lock);
        for (;;) {
                while (j.len == 0 && !j.done)
                        pthread_cond_wait(&m->cond, &m->lock);
                if (j.len == 0 && j.done)
                        break;
                char *data = j.buf;
                size_t n = j.len, cap = j.cap;
                long code = j.code;
                j.buf = spare;
                j.cap = spare_cap;
                j.len = 0;
                bool wake = j.paused, aborted = j.abort;
                if (wake)
                        j.unpause = true;
                pthread_mutex_unlock(&m->lock);
                if (wake)
                        curl_multi_wakeup(m->multi);
                int r = aborted ? -1 : sink(userdata, code, data, n);
                ap_secure_wipe(data, n); /* handed over: no copy of the body stays behind */
                spare = data;
                spare_cap = cap;
                pthread_mutex_lock(&m->lock);
                if (r < 0 && !j.abort) {
                        j.abort = true;
                        pthread_mutex_unlock(&m->lock);
                        curl_multi_wakeup(m->multi);
                        pthread_mutex_lock(&m->lock);
                }
        }
        CURLcode rc = j.oom ? CURLE_OUT_OF_MEMORY : j.abort && j.rc == CURLE_OK ? CURLE_WRITE_ERROR : j.rc;
        pthread_mutex_unlock(&m->lock);
        ap_secure_free(spare, spare_cap);
        ap_secure_free(j.buf, j.cap);
        return rc;
}

struct ap_kube_mux *ap_kube_mux_free(struct ap_kube_mux *m)
{
        if (!m)
                return NULL;
        pthread_mutex_lock(&m->lock);
        bool started = m->started;
        m->stop = true;
        pthread_mutex_unlock(&m->lock);
        if (started) {
                curl_multi_wakeup(m->multi);
                pthread_join(m->thread, NULL);
        }
        curl_multi_cleanup(m->multi);
        pthread_mutex_destroy(&m->lock);
        pthread_cond_destroy(&m->cond);
        free(m);
        return NULL;
}
