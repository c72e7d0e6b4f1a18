/* age_pump.c - a whole input file descriptor through the STREAM payload to the sink. The input is cut into
 * slots of SLOT_CHUNKS chunks; each slot is read, sealed or opened, and handed to the sink by one worker,
 * with reads and sink calls taking turns in slot order. STREAM chunks are independent (the nonce is the
 * chunk number), so with a second CPU two workers (the calling thread and a helper) work on consecutive
 * slots at once, each keeping its slot in its own CPU's cache from read() to write(). Memory is two buffers
 * per worker whatever the input size; a slot's output holds only chunks that authenticated (on a failure,
 * those before the failing one) and nothing after the first failing slot reaches the sink. */
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/age_internal.h"

#define WORKERS     2 /* at most; one without a second CPU */
#define SLOT_CHUNKS 4 /* chunks per read and per sink call (256 KiB) */
/* Buffers start where their data sits modulo ALIGN in the file it comes from or goes to: the kernel's
 * copies between the page cache and user memory run at a third of their speed on some x86 CPUs when the
 * destination is a few bytes past the source modulo a cache line, and age chunks are 16 bytes longer
 * than a page multiple, so otherwise some chunks always hit that. */
#define ALIGN 64

int ap_age_pump_threads = -1;

struct pump;

struct worker {
        struct pump *p;
        EVP_CIPHER_CTX *ctx; /* the stream's key; the helper's is a copy */
        uint8_t *in_mem, *in, *out_mem, *out;
        size_t in_used, out_used; /* bytes of in_mem/out_mem written so far (wiped at the end) */
        size_t in_len, out_len;
        bool last;           /* the input ended in this slot (or reading failed) */
        bool end;            /* the stream ends with this slot: the input ended, or a chunk failed */
        int read_r;          /* the read failure that ended the input */
        struct ap_error err; /* why a chunk of the slot failed */
        pthread_t thread;
};

struct pump {
        struct ap_age_stream *s;
        int fd;
        const char *name;
        uint64_t counter0;  /* the chunk counter at the first slot */
        uint64_t sink_pos0; /* the sink position at the first slot */
        size_t out_chunk;   /* output bytes per full chunk */
        int wake_fd;        /* with two workers on a pipe, an eventfd set when the pump stops, else -1 */
        /* read turn: only the worker whose slot is next_read touches these */
        int64_t in_pos; /* the input's file offset, or -1 when it has none (a pipe) */
        bool carrying;  /* the input went on past the last full slot: carry is its next byte */
        uint8_t carry;
        pthread_mutex_t lock; /* guards everything below */
        pthread_cond_t turn;  /* a read or a sink call finished, or the pump stopped */
        uint64_t next_slot, next_read, next_write;
        bool input_ended; /* a slot was the last: no more slots */
        bool stopped;     /* the end slot went out (or its turn failed): the rest is dropped */
        int result;       /* with result_err, what the pump returns */
        struct ap_error result_err;
        bool payload_failed; /* result is a payload failure (a chunk did not authenticate, truncation,
                                trailing data) */
};

static uint8_t *aligned_buffer(size_t n)
{
        void *p = NULL;
        return posix_memalign(&p, ALIGN, n) == 0 ? p : NULL;
}

/* Read slot i: SLOT_CHUNKS whole chunks plus one byte, or up to the end of the input. A full slot is
 * therefore known not to hold the last chunk, and its extra byte starts the next slot. Called in turn. */
static void read_slot(struct pump *p, struct worker *w, uint64_t i)
{
        struct ap_age_stream *s = p->s;
        size_t cap = SLOT_CHUNKS * s->in_chunk + 1, have = 0;
        size_t head = (p->carrying ? 1 : 0) + (i == 0 ? s->pend_len : 0);
        size_t shift = p->in_pos < 0 ? 0 : (size_t)(p->in_pos - (int64_t)head) % ALIGN;
        w->in = w->in_mem + shift;
        w->read_r = 0;
        if (p->carrying)
                w->in[have++] = p->carry;
        if (i == 0 && s->pend_len) { /* what the push interface held back comes first */
                memcpy(w->in + have, s->pend, s->pend_len);
                have += s->pend_len;
        }
        while (have < cap) {
                if (p->wake_fd >= 0) {
                        /* a pipe may stall for ever: give up on it once an earlier slot ended the stream */
                        struct pollfd pf[2] = {{.fd = p->fd, .events = POLLIN},
                                               {.fd = p->wake_fd, .events = POLLIN}};
                        int ready = poll(pf, 2, -1);
                        if (ready < 0 && errno == EINTR)
                                continue;
                        if (ready < 0) {
                                w->read_r = -errno;
                                break;
                        }
                        if (pf[1].revents)
                                break;
                }
                ssize_t k = read(p->fd, w->in + have, cap - have);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0) {
                        w->read_r = -errno;
                        break;
                }
                if (k == 0)
                        break;
                have += (size_t)k;
                if (p->in_pos >= 0)
                        p->in_pos += k;
        }
        w->in_used = AP_MAX(w->in_used, shift + have);
        p->carrying = have == cap;
        p->carry = p->carrying ? w->in[cap - 1] : 0;
        w->in_len = p->carrying ? cap - 1 : have;
        w->last = !p->carrying;
}

/* Seal or open slot i into the worker's output buffer with the slot's own chunk numbers. On a payload
 * failure the output keeps the chunks before the failing one, the slot is the end, and w->err says why. */
static int crypt_slot(struct pump *p, struct worker *w, uint64_t i)
{
        struct ap_age_stream *s = p->s;
        /* the chunk rules run on a stream of the same key positioned at the slot */
        struct ap_age_stream at = {.ctx = w->ctx,
                                   .encrypt = s->encrypt,
                                   .done = i == 0 && s->done,
                                   .counter = p->counter0 + i * SLOT_CHUNKS,
                                   .in_chunk = s->in_chunk};
        w->out = w->out_mem + (p->sink_pos0 + i * SLOT_CHUNKS * p->out_chunk) % ALIGN;
        w->out_len = 0;
        w->end = w->last;
        if (w->read_r < 0 || (w->last && w->in_len == 0 && at.done))
                return 0; /* a read failure is reported in its turn */
        size_t left = w->in_len, n = !w->last    ? SLOT_CHUNKS
                                     : left == 0 ? 1
                                                 : (left + s->in_chunk - 1) / s->in_chunk;
        const uint8_t *in = w->in;
        int r = 0;
        for (size_t j = 0; j < n && r == 0; j++) {
                size_t len = AP_MIN(left, s->in_chunk), outl = 0;
                bool at_end = w->last && j == n - 1;
                const char *msg = NULL;
                r = ap_age_stream_step(&at, in, len, at_end, w->out + w->out_len, &outl, &msg);
                w->out_len += outl;
                if (r == 0 && at_end && !at.done) {
                        r = -EBADMSG;
                        msg = ap_age_msg_truncated;
                } else if (r == 0 && at.done && !at_end) {
                        /* a full chunk opened as the final one, and the input goes on */
                        r = -EBADMSG;
                        msg = ap_age_msg_trailing;
                }
                if (r < 0)
                        r = ap_error_set(&w->err, r == -EBADMSG ? AP_E_CORRUPT : r, "%s", msg);
                in += len;
                left -= len;
        }
        /* a chunk that failed to open may have left unauthenticated bytes past out_len: wipe them too */
        size_t written = (size_t)(w->out - w->out_mem) + w->out_len + (r < 0 ? AP_AGE_CT_CHUNK_LEN : 0);
        w->out_used = AP_MAX(w->out_used, AP_MIN(written, SLOT_CHUNKS * AP_AGE_CT_CHUNK_LEN + ALIGN));
        w->end = w->end || r < 0;
        return r;
}

/* Settle the result once slot i, the end slot or one whose turn failed, had its sink turn. Locked. */
static void finish(struct pump *p, struct worker *w, int crypt_r, int write_r,
                   const struct ap_error *write_err)
{
        p->stopped = true;
        if (p->wake_fd >= 0)
                (void)!eventfd_write(p->wake_fd, 1);
        if (crypt_r < 0) { /* a payload failure wins over what happened to its partial output */
                p->result = crypt_r;
                p->payload_failed = crypt_r == AP_E_CORRUPT;
                p->result_err = w->err;
        } else if (write_r < 0) {
                p->result = write_r;
                p->result_err = *write_err;
        } else if (w->read_r < 0) {
                p->result = ap_error_set(&p->result_err, w->read_r, "cannot read '%s': %s", p->name,
                                         strerror(-w->read_r));
        }
}

/* Take slots until the input ends or the pump stops: read in turn, seal or open, hand to the sink in turn. */
static void *work(void *arg)
{
        struct worker *w = arg;
        struct pump *p = w->p;
        struct ap_age_stream *s = p->s;
        pthread_mutex_lock(&p->lock);
        while (!p->input_ended && !p->stopped) {
                uint64_t i = p->next_slot++;
                while (p->next_read != i && !p->stopped)
                        pthread_cond_wait(&p->turn, &p->lock);
                if (p->input_ended || p->stopped)
                        break;
                pthread_mutex_unlock(&p->lock);
                read_slot(p, w, i);
                pthread_mutex_lock(&p->lock);
                p->next_read++;
                p->input_ended = w->last;
                pthread_cond_broadcast(&p->turn);
                pthread_mutex_unlock(&p->lock);

                int crypt_r = crypt_slot(p, w, i);

                pthread_mutex_lock(&p->lock);
                while (p->next_write != i && !p->stopped)
                        pthread_cond_wait(&p->turn, &p->lock);
                if (p->stopped) /* an earlier slot ended the stream */
                        break;
                pthread_mutex_unlock(&p->lock);
                struct ap_error write_err = AP_ERROR_INIT;
                int write_r = w->out_len ? s->sink.write(s->sink.ctx, w->out, w->out_len, &write_err) : 0;
                pthread_mutex_lock(&p->lock);
                p->next_write++;
                if (w->end || write_r < 0)
                        finish(p, w, crypt_r, write_r, &write_err);
                pthread_cond_broadcast(&p->turn);
        }
        pthread_mutex_unlock(&p->lock);
        return NULL;
}

static size_t worker_count(void)
{
        if (ap_age_pump_threads >= 0)
                return ap_age_pump_threads > 0 ? WORKERS : 1;
        cpu_set_t cpus; /* the CPUs this process may run on (taskset, cpusets), not all online ones */
        if (sched_getaffinity(0, sizeof(cpus), &cpus) == 0)
                return CPU_COUNT(&cpus) > 1 ? WORKERS : 1;
        return sysconf(_SC_NPROCESSORS_ONLN) > 1 ? WORKERS : 1;
}

static int worker_init(struct worker *w, struct pump *p, bool helper)
{
        *w = (struct worker){.p = p, .err = AP_ERROR_INIT};
        w->in_mem = aligned_buffer(SLOT_CHUNKS * p->s->in_chunk + 1 + ALIGN);
        w->out_mem = aligned_buffer(SLOT_CHUNKS * AP_AGE_CT_CHUNK_LEN + ALIGN);
        w->ctx = helper ? EVP_CIPHER_CTX_new() : p->s->ctx;
        if (!w->in_mem || !w->out_mem || !w->ctx || (helper && EVP_CIPHER_CTX_copy(w->ctx, p->s->ctx) != 1))
                return -ENOMEM;
        return 0;
}

static void worker_release(struct worker *w, bool helper)
{
        if (helper)
                EVP_CIPHER_CTX_free(w->ctx); /* wipes the key schedule */
        ap_secure_free(w->in_mem, w->in_used);
        ap_secure_free(w->out_mem, w->out_used);
}

int ap_age_stream_pump_fd(struct ap_age_stream *s, int fd, const char *name, struct ap_error *err)
{
        int r = ap_age_stream_flush(s, err); /* what the push interface already sealed or opened */
        if (r < 0)
                return r;
        struct pump p = {
            .s = s,
            .fd = fd,
            .name = name,
            .counter0 = s->counter,
            .sink_pos0 = s->sink_pos,
            .out_chunk = s->encrypt ? AP_AGE_CT_CHUNK_LEN : AP_AGE_CHUNK_LEN,
            .in_pos = lseek(fd, 0, SEEK_CUR),
            .result_err = AP_ERROR_INIT,
        };
        (void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL); /* a read-ahead hint; pipes just refuse it */
        struct worker w[WORKERS];
        size_t n = worker_count(), started = 1;
        struct stat st;
        p.wake_fd = n > 1 && fstat(fd, &st) == 0 && !S_ISREG(st.st_mode) ? eventfd(0, EFD_CLOEXEC) : -1;
        for (size_t i = 0; i < n; i++)
                if (worker_init(&w[i], &p, i > 0) < 0)
                        r = ap_error_set(err, -ENOMEM, "out of memory");
        if (r == 0) {
                pthread_mutex_init(&p.lock, NULL);
                pthread_cond_init(&p.turn, NULL);
                /* without the helper thread the calling thread does every slot itself */
                for (; started < n && pthread_create(&w[started].thread, NULL, work, &w[started]) == 0;
                     started++)
                        ;
                work(&w[0]);
                for (size_t i = 1; i < started; i++)
                        pthread_join(w[i].thread, NULL);
                pthread_cond_destroy(&p.turn);
                pthread_mutex_destroy(&p.lock);
                s->pend_len = 0;
                s->done = p.result == 0;
                s->payload_failed = p.result < 0 && p.payload_failed;
                r = p.result;
                if (r < 0)
                        *err = p.result_err;
        }
        for (size_t i = 0; i < n; i++)
                worker_release(&w[i], i > 0);
        if (p.wake_fd >= 0)
                close(p.wake_fd);
        return r;
}
