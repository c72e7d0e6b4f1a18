/* fault_alloc.h - a test-only allocator shim that fails the Nth allocation (sqlite's and curl's torture
 * idea). It stands between our code and malloc through the linker's --wrap (malloc, calloc, realloc,
 * strdup, posix_memalign, free) for everything linked statically into the test program - src/base,
 * src/crypto, and so the jansson and libyaml allocators of base/init.c - and OpenSSL's allocations go through
 * it via CRYPTO_set_mem_functions. libc's own internal allocations (regcomp, realpath) are not counted.
 * Link a program with fault_alloc_link_args (test/fault/meson.build) and call ap_fault_setup() first in
 * main, before anything allocates through OpenSSL. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* Install the OpenSSL hooks; 0, or -1 when OpenSSL allocated before (too late). */
int ap_fault_setup(void);
/* Fail the nth allocation from now on (1 = the next one), once; 0 disarms. Counting starts at the call. */
void ap_fault_arm(long n);
/* Whether the armed failure happened since ap_fault_arm, and how many allocations were seen. */
bool ap_fault_fired(void);
long ap_fault_seen(void);
