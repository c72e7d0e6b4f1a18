/* metrics.c - Prometheus registry and text exposition, with controller-runtime's standard families. */
#include "metrics.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "keymap.h"

/* Values are updated lock-free (as client_golang does): a double kept as its bits in an atomic 64-bit
 * word, counts as atomic integers. A render may see a histogram mid-update (count ahead of a bucket by
 * one), which Prometheus tolerates. */
struct ap_kube_metric {
        struct family *fam;
        char *labels;                 /* rendered: key="value",key="value" (may be empty) */
        _Atomic uint64_t value_bits;  /* counter/gauge value; histogram sum */
        atomic_ullong count;          /* histograms */
        atomic_ullong *bucket_counts; /* histograms: per upper bound, non-cumulative */
};

struct family {
        struct ap_kube_metrics *reg;
        char *name;
        char *help;
        enum ap_kube_metric_type type;
        double *buckets;
        size_t n_buckets;
        struct ap_kube_metric **series;
        size_t n_series;
};

struct collector {
        ap_kube_collect_fn fn;
        void *userdata;
};

struct ap_kube_metrics {
        pthread_mutex_t lock; /* guards everything below and every series' values */
        struct family **fams;
        size_t n_fams;
        struct ap_keymap by_name;   /* family name -> struct family */
        struct ap_keymap by_series; /* "name{labels}" -> struct ap_kube_metric */
        struct collector *collectors;
        size_t n_collectors;
        pthread_mutex_t render_lock; /* one render at a time; collectors may update series */
};

/* controller-runtime pkg/internal/controller/metrics: ReconcileTime buckets */
static const double reconcile_buckets[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3,  0.35,
                                           0.4,   0.45, 0.5,   0.6,  0.7, 0.8,  0.9, 1.0,  1.25, 1.5,
                                           1.75,  2.0,  2.5,   3.0,  3.5, 4.0,  4.5, 5,    6,    7,
                                           8,     9,    10,    15,   20,  25,   30,  40,   50,   60};

static void process_collector(void *userdata, struct ap_kube_metrics *m);

struct ap_kube_metrics *ap_kube_metrics_new(void)
{
        struct ap_kube_metrics *m = calloc(1, sizeof(*m));
        if (!m)
                return NULL;
        pthread_mutex_init(&m->lock, NULL);
        pthread_mutex_init(&m->render_lock, NULL);
        /* workqueue buckets: prometheus.ExponentialBuckets(10e-9, 10, 12) */
        double wq[12], p10 = 1; /* exact: powers of ten up to 1e22 are doubles */
        for (size_t i = 0; i < 12; i++, p10 *= 10)
                wq[i] = 1e-8 * p10;
        static const struct {
                const char *name;
                enum ap_kube_metric_type type;
                const char *help;
        } std[] = {
            {"controller_runtime_reconcile_total", AP_KUBE_COUNTER,
             "Total number of reconciliations per controller"},
            {"controller_runtime_reconcile_errors_total", AP_KUBE_COUNTER,
             "Total number of reconciliation errors per controller"},
            {"controller_runtime_reconcile_time_seconds", AP_KUBE_HISTOGRAM,
             "Length of time per reconciliation per controller"},
            {"controller_runtime_max_concurrent_reconciles", AP_KUBE_GAUGE,
             "Maximum number of concurrent reconciles per controller"},
            {"controller_runtime_active_workers", AP_KUBE_GAUGE,
             "Number of currently used workers per controller"},
            {"workqueue_depth", AP_KUBE_GAUGE, "Current depth of workqueue"},
            {"workqueue_adds_total", AP_KUBE_COUNTER, "Total number of adds handled by workqueue"},
            {"workqueue_queue_duration_seconds", AP_KUBE_HISTOGRAM,
             "How long in seconds an item stays in workqueue before being requested"},
            {"workqueue_work_duration_seconds", AP_KUBE_HISTOGRAM,
             "How long in seconds processing an item from workqueue takes."},
            {"workqueue_unfinished_work_seconds", AP_KUBE_GAUGE,
             "How many seconds of work has been done that is in progress and hasn't been observed by "
             "work_duration. Large values indicate stuck threads. One can deduce the number of stuck "
             "threads by observing the rate at which this increases."},
            {"workqueue_longest_running_processor_seconds", AP_KUBE_GAUGE,
             "How many seconds has the longest running processor for workqueue been running."},
            {"workqueue_retries_total", AP_KUBE_COUNTER, "Total number of retries handled by workqueue"},
            {"leader_election_master_status", AP_KUBE_GAUGE,
             "Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, 1 "
             "indicates master. 'name' is the string used to identify the lease. Please make sure to group "
             "by name."},
            {"process_cpu_seconds_total", AP_KUBE_COUNTER,
             "Total user and system CPU time spent in seconds."},
            {"process_resident_memory_bytes", AP_KUBE_GAUGE, "Resident memory size in bytes."},
            {"process_virtual_memory_bytes", AP_KUBE_GAUGE, "Virtual memory size in bytes."},
            {"process_open_fds", AP_KUBE_GAUGE, "Number of open file descriptors."},
            {"process_start_time_seconds", AP_KUBE_GAUGE,
             "Start time of the process since unix epoch in seconds."},
        };
        int r = 0;
        for (size_t i = 0; i < AP_ARRAY_SIZE(std) && r >= 0; i++) {
                const double *b = NULL;
                size_t nb = 0;
                if (strcmp(std[i].name, "controller_runtime_reconcile_time_seconds") == 0) {
                        b = reconcile_buckets;
                        nb = AP_ARRAY_SIZE(reconcile_buckets);
                } else if (std[i].type == AP_KUBE_HISTOGRAM) {
                        b = wq;
                        nb = 12;
                }
                r = ap_kube_metrics_register(m, std[i].name, std[i].type, std[i].help, b, nb);
        }
        if (r >= 0)
                r = ap_kube_metrics_add_collector(m, process_collector, NULL);
        if (r < 0)
                return ap_kube_metrics_free(m);
        return m;
}

static void family_free(void *p)
{
        struct family *f = p;
        for (size_t i = 0; i < f->n_series; i++) {
                free(f->series[i]->labels);
                free(f->series[i]->bucket_counts);
                free(f->series[i]);
        }
        free(f->series);
        free(f->buckets);
        free(f->name);
        free(f->help);
        free(f);
}

struct ap_kube_metrics *ap_kube_metrics_free(struct ap_kube_metrics *m)
{
        if (!m)
                return NULL;
        for (size_t i = 0; i < m->n_fams; i++)
                family_free(m->fams[i]);
        free(m->fams);
        ap_keymap_release(&m->by_name, NULL);
        ap_keymap_release(&m->by_series, NULL);
        free(m->collectors);
        pthread_mutex_destroy(&m->lock);
        pthread_mutex_destroy(&m->render_lock);
        free(m);
        return NULL;
}

int ap_kube_metrics_register(struct ap_kube_metrics *m, const char *name, enum ap_kube_metric_type type,
                             const char *help, const double *buckets, size_t n_buckets)
{
        pthread_mutex_lock(&m->lock);
        int r = 0;
        if (ap_keymap_contains(&m->by_name, name))
                goto out;
        struct family *f = calloc(1, sizeof(*f));
        struct family **fams = realloc(m->fams, (m->n_fams + 1) * sizeof(*fams));
        if (fams)
                m->fams = fams;
        if (!f || !fams || !(f->name = strdup(name)) || !(f->help = strdup(help ? help : ""))) {
                r = -ENOMEM;
                goto fail;
        }
        f->type = type;
        f->reg = m;
        if (type == AP_KUBE_HISTOGRAM && n_buckets > 0) {
                f->buckets = malloc(n_buckets * sizeof(double));
                if (!f->buckets) {
                        r = -ENOMEM;
                        goto fail;
                }
                memcpy(f->buckets, buckets, n_buckets * sizeof(double));
                f->n_buckets = n_buckets;
        }
        r = ap_keymap_put(&m->by_name, name, f, NULL);
        if (r < 0)
                goto fail;
        m->fams[m->n_fams++] = f;
        goto out;
fail:
        if (f)
                family_free(f);
out:
        pthread_mutex_unlock(&m->lock);
        return r;
}

int ap_kube_metrics_escape(struct ap_buf *out, const char *s)
{
        int r = 0;
        for (; *s && r >= 0; s++) {
                if (*s == '\\')
                        r = ap_buf_addstr(out, "\\\\");
                else if (*s == '"')
                        r = ap_buf_addstr(out, "\\\"");
                else if (*s == '\n')
                        r = ap_buf_addstr(out, "\\n");
                else
                        r = ap_buf_addch(out, *s);
        }
        return r;
}

struct ap_kube_metric *ap_kube_metrics_series(struct ap_kube_metrics *m, const char *family, ...)
{
        if (!m)
                return NULL;
        _cleanup_buf_ struct ap_buf labels = AP_BUF_INIT;
        va_list ap;
        va_start(ap, family);
        int r = 0;
        for (const char *k; r >= 0 && (k = va_arg(ap, const char *));) {
                const char *v = va_arg(ap, const char *);
                r = ap_buf_printf(&labels, "%s%s=\"", labels.len ? "," : "", k);
                if (r >= 0)
                        r = ap_kube_metrics_escape(&labels, v ? v : "");
                if (r >= 0)
                        r = ap_buf_addch(&labels, '"');
        }
        va_end(ap);
        if (r < 0)
                return NULL;
        _cleanup_buf_ struct ap_buf key = AP_BUF_INIT;
        if (ap_buf_printf(&key, "%s{%s}", family, labels.data) < 0)
                return NULL;
        pthread_mutex_lock(&m->lock);
        struct ap_kube_metric *s = ap_keymap_get(&m->by_series, key.data);
        struct family *f = ap_keymap_get(&m->by_name, family);
        if (s || !f)
                goto out;
        s = calloc(1, sizeof(*s));
        struct ap_kube_metric **arr = realloc(f->series, (f->n_series + 1) * sizeof(*arr));
        if (arr)
                f->series = arr;
        if (!s || !arr || !(s->labels = strdup(labels.data)) ||
            (f->n_buckets && !(s->bucket_counts = calloc(f->n_buckets, sizeof(*s->bucket_counts)))) ||
            ap_keymap_put(&m->by_series, key.data, s, NULL) < 0) {
                if (s) {
                        free(s->labels);
                        free(s->bucket_counts);
                        free(s);
                }
                s = NULL;
                goto out;
        }
        s->fam = f;
        f->series[f->n_series++] = s;
out:
        pthread_mutex_unlock(&m->lock);
        return s;
}

static double bits_to_double(uint64_t b)
{
        double d;
        memcpy(&d, &b, sizeof(d));
        return d;
}

static uint64_t double_to_bits(double d)
{
        uint64_t b;
        memcpy(&b, &d, sizeof(b));
        return b;
}

static void atomic_add_double(_Atomic uint64_t *p, double v)
{
        uint64_t old = atomic_load_explicit(p, memory_order_relaxed);
        while (!atomic_compare_exchange_weak_explicit(p, &old, double_to_bits(bits_to_double(old) + v),
                                                      memory_order_relaxed, memory_order_relaxed))
                ;
}

void ap_kube_metric_add(struct ap_kube_metric *s, double v)
{
        if (s)
                atomic_add_double(&s->value_bits, v);
}

void ap_kube_metric_inc(struct ap_kube_metric *s)
{
        ap_kube_metric_add(s, 1);
}

void ap_kube_metric_set(struct ap_kube_metric *s, double v)
{
        if (s)
                atomic_store_explicit(&s->value_bits, double_to_bits(v), memory_order_relaxed);
}

void ap_kube_metric_observe(struct ap_kube_metric *s, double v)
{
        if (!s)
                return;
        for (size_t i = 0; i < s->fam->n_buckets; i++)
                if (v <= s->fam->buckets[i]) {
                        atomic_fetch_add_explicit(&s->bucket_counts[i], 1, memory_order_relaxed);
                        break;
                }
        atomic_add_double(&s->value_bits, v);
        atomic_fetch_add_explicit(&s->count, 1, memory_order_relaxed);
}

double ap_kube_metric_value(struct ap_kube_metric *s)
{
        if (!s)
                return 0;
        if (s->fam->type == AP_KUBE_HISTOGRAM)
                return (double)atomic_load(&s->count);
        return bits_to_double(atomic_load(&s->value_bits));
}

int ap_kube_metrics_add_collector(struct ap_kube_metrics *m, ap_kube_collect_fn fn, void *userdata)
{
        pthread_mutex_lock(&m->lock);
        struct collector *c = realloc(m->collectors, (m->n_collectors + 1) * sizeof(*c));
        int r = c ? 0 : -ENOMEM;
        if (c) {
                m->collectors = c;
                c[m->n_collectors++] = (struct collector){fn, userdata};
        }
        pthread_mutex_unlock(&m->lock);
        return r;
}

void ap_kube_metrics_remove_collector(struct ap_kube_metrics *m, ap_kube_collect_fn fn, void *userdata)
{
        if (!m)
                return;
        /* render_lock: a render in progress may be calling this very collector */
        pthread_mutex_lock(&m->render_lock);
        pthread_mutex_lock(&m->lock);
        for (size_t i = 0; i < m->n_collectors; i++)
                if (m->collectors[i].fn == fn && m->collectors[i].userdata == userdata) {
                        memmove(&m->collectors[i], &m->collectors[i + 1],
                                (m->n_collectors - i - 1) * sizeof(*m->collectors));
                        m->n_collectors--;
                        break;
                }
        pthread_mutex_unlock(&m->lock);
        pthread_mutex_unlock(&m->render_lock);
}

static int fmt_value(struct ap_buf *out, double v)
{
        if (isnan(v))
                return ap_buf_addstr(out, "NaN");
        if (isinf(v))
                return ap_buf_addstr(out, v > 0 ? "+Inf" : "-Inf");
        if (v == (double)(long long)v && fabs(v) < 1e15)
                return ap_buf_printf(out, "%lld", (long long)v);
        /* the shortest text that reads back as the same double, as Go's strconv 'g' -1 writes it */
        char tmp[40];
        for (int prec = 1; prec <= 17; prec++) {
                snprintf(tmp, sizeof(tmp), "%.*g", prec, v);
                if (strtod(tmp, NULL) == v)
                        break;
        }
        return ap_buf_addstr(out, tmp);
}

static int cmp_series(const void *a, const void *b)
{
        return strcmp((*(struct ap_kube_metric *const *)a)->labels,
                      (*(struct ap_kube_metric *const *)b)->labels);
}

static int render_series(struct ap_buf *out, const struct family *f, const struct ap_kube_metric *s)
{
        const char *sep = s->labels[0] ? "," : "";
        int r = 0;
        if (f->type != AP_KUBE_HISTOGRAM) {
                r = ap_buf_printf(out, "%s%s%s%s ", f->name, s->labels[0] ? "{" : "", s->labels,
                                  s->labels[0] ? "}" : "");
                if (r >= 0)
                        r = fmt_value(out, bits_to_double(atomic_load(&s->value_bits)));
                return r >= 0 ? ap_buf_addch(out, '\n') : r;
        }
        /* read the count first: buckets then never add up to more than it */
        unsigned long long count = atomic_load(&s->count);
        unsigned long long cum = 0;
        for (size_t i = 0; i < f->n_buckets && r >= 0; i++) {
                cum += atomic_load(&s->bucket_counts[i]);
                if (cum > count)
                        cum = count;
                r = ap_buf_printf(out, "%s_bucket{%s%sle=\"", f->name, s->labels, sep);
                if (r >= 0)
                        r = fmt_value(out, f->buckets[i]);
                if (r >= 0)
                        r = ap_buf_printf(out, "\"} %llu\n", cum);
        }
        if (r >= 0)
                r = ap_buf_printf(out, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", f->name, s->labels, sep,
                                  s->count);
        if (r >= 0)
                r = ap_buf_printf(out, "%s_sum%s%s%s ", f->name, s->labels[0] ? "{" : "", s->labels,
                                  s->labels[0] ? "}" : "");
        if (r >= 0)
                r = fmt_value(out, bits_to_double(atomic_load(&s->value_bits)));
        if (r >= 0)
                r = ap_buf_printf(out, "\n%s_count%s%s%s %llu\n", f->name, s->labels[0] ? "{" : "", s->labels,
                                  s->labels[0] ? "}" : "", count);
        return r;
}

int ap_kube_metrics_render(struct ap_kube_metrics *m, struct ap_buf *out)
{
        static const char *const type_names[] = {"counter", "gauge", "histogram"};
        pthread_mutex_lock(&m->render_lock);
        pthread_mutex_lock(&m->lock);
        size_t nc = m->n_collectors;
        struct collector *cs = nc ? malloc(nc * sizeof(*cs)) : NULL;
        if (cs)
                memcpy(cs, m->collectors, nc * sizeof(*cs));
        pthread_mutex_unlock(&m->lock);
        for (size_t i = 0; cs && i < nc; i++)
                cs[i].fn(cs[i].userdata, m);
        free(cs);

        int r = 0;
        pthread_mutex_lock(&m->lock);
        for (size_t i = 0; i < m->n_fams && r >= 0; i++) {
                struct family *f = m->fams[i];
                if (f->n_series == 0)
                        continue;
                qsort(f->series, f->n_series, sizeof(*f->series), cmp_series);
                r = ap_buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", f->name, f->help, f->name,
                                  type_names[f->type]);
                for (size_t j = 0; j < f->n_series && r >= 0; j++)
                        r = render_series(out, f, f->series[j]);
        }
        pthread_mutex_unlock(&m->lock);
        pthread_mutex_unlock(&m->render_lock);
        return r;
}

/* process_* from /proc/self, as the Prometheus process collector reports them. */
static void process_collector(void *userdata, struct ap_kube_metrics *m)
{
        char buf[1024];
        FILE *f = fopen("/proc/self/stat", "re");
        if (!f)
                return;
        size_t n = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        buf[n] = '\0';
        /* fields after the parenthesised command name: state is field 3 */
        char *p = strrchr(buf, ')');
        if (!p)
                return;
        p += 2;
        unsigned long long field[64] = {0};
        size_t k = 3;
        for (char *end; *p && k < 30; k++) {
                if (k == 3) { /* state: a letter */
                        p += 2;
                        continue;
                }
                field[k] = strtoull(p, &end, 10);
                if (end == p)
                        break;
                p = end;
                while (*p == ' ')
                        p++;
        }
        double ticks = (double)sysconf(_SC_CLK_TCK);
        long page = sysconf(_SC_PAGESIZE);
        ap_kube_metric_set(ap_kube_metrics_series(m, "process_cpu_seconds_total", NULL),
                           (double)(field[14] + field[15]) / ticks);
        ap_kube_metric_set(ap_kube_metrics_series(m, "process_virtual_memory_bytes", NULL),
                           (double)field[23]);
        ap_kube_metric_set(ap_kube_metrics_series(m, "process_resident_memory_bytes", NULL),
                           (double)field[24] * (double)page);
        /* start time: boot time + starttime ticks */
        FILE *s = fopen("/proc/stat", "re");
        if (s) {
                char line[256];
                while (fgets(line, sizeof(line), s))
                        if (strncmp(line, "btime ", 6) == 0) {
                                double btime = strtod(line + 6, NULL);
                                ap_kube_metric_set(
                                    ap_kube_metrics_series(m, "process_start_time_seconds", NULL),
                                    btime + (double)field[22] / ticks);
                                break;
                        }
                fclose(s);
        }
        DIR *d = opendir("/proc/self/fd");
        if (d) {
                size_t fds = 0;
                for (struct dirent *e; (e = readdir(d));)
                        if (e->d_name[0] != '.')
                                fds++;
                closedir(d);
                ap_kube_metric_set(ap_kube_metrics_series(m, "process_open_fds", NULL), (double)(fds - 1));
        }
}
