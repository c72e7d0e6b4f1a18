/* fault_alloc.c - the Nth-allocation failure shim (see fault_alloc.h). */
#include "fault_alloc.h"

#include <errno.h>
#include <execinfo.h>
#include <unistd.h>
#include <openssl/crypto.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

void *__real_malloc(size_t n);
void *__real_calloc(size_t k, size_t n);
void *__real_realloc(void *p, size_t n);
void __real_free(void *p);
char *__real_strdup(const char *s);
int __real_posix_memalign(void **ret, size_t align, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t k, size_t n);
void *__wrap_realloc(void *p, size_t n);
void __wrap_free(void *p);
char *__wrap_strdup(const char *s);
int __wrap_posix_memalign(void **ret, size_t align, size_t n);

/* countdown to the failure (0: disarmed), allocations seen, and whether it fired; atomics because the age
 * pump may allocate from a helper thread */
static atomic_long countdown, seen;
static atomic_bool fired;
static bool trace;

void ap_fault_arm(long n)
{
        atomic_store(&fired, false);
        atomic_store(&seen, 0);
        atomic_store(&countdown, n);
}

bool ap_fault_fired(void)
{
        return atomic_load(&fired);
}

long ap_fault_seen(void)
{
        return atomic_load(&seen);
}

/* True when this allocation is the one to fail. */
static bool fail_now(void)
{
        atomic_fetch_add(&seen, 1);
        long c = atomic_load(&countdown);
        while (c > 0) {
                if (atomic_compare_exchange_weak(&countdown, &c, c - 1)) {
                        if (c == 1) {
                                atomic_store(&fired, true);
                                if (trace) { /* AP_FAULT_TRACE=1: where the failing allocation was made */
                                        void *frames[24];
                                        backtrace_symbols_fd(frames, backtrace(frames, 24), STDERR_FILENO);
                                }
                                return true;
                        }
                        return false;
                }
        }
        return false;
}

void *__wrap_malloc(size_t n)
{
        return fail_now() ? NULL : __real_malloc(n);
}

void *__wrap_calloc(size_t k, size_t n)
{
        return fail_now() ? NULL : __real_calloc(k, n);
}

void *__wrap_realloc(void *p, size_t n)
{
        return fail_now() ? NULL : __real_realloc(p, n);
}

void __wrap_free(void *p)
{
        __real_free(p);
}

char *__wrap_strdup(const char *s)
{
        return fail_now() ? NULL : __real_strdup(s);
}

int __wrap_posix_memalign(void **ret, size_t align, size_t n)
{
        return fail_now() ? ENOMEM : __real_posix_memalign(ret, align, n);
}

static void *ossl_malloc(size_t n, const char *file, int line)
{
        return fail_now() ? NULL : __real_malloc(n);
}

static void *ossl_realloc(void *p, size_t n, const char *file, int line)
{
        return fail_now() ? NULL : __real_realloc(p, n);
}

static void ossl_free(void *p, const char *file, int line)
{
        __real_free(p);
}

int ap_fault_setup(void)
{
        const char *t = getenv("AP_FAULT_TRACE");
        trace = t && *t == '1';
        return CRYPTO_set_mem_functions(ossl_malloc, ossl_realloc, ossl_free) ? 0 : -1;
}
