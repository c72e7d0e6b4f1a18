/* hash.h - the one copy of the non-cryptographic string hash (64-bit FNV-1a) used by hash tables; never
 * for anything an attacker must not be able to collide on purpose beyond slowing a table down. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define AP_FNV64_OFFSET 0xcbf29ce484222325ULL
#define AP_FNV64_PRIME  0x100000001b3ULL

/* FNV-1a over n bytes, continuing from h (start with AP_FNV64_OFFSET). */
static inline uint64_t ap_fnv1a64_update(uint64_t h, const void *p, size_t n)
{
        const unsigned char *s = p;
        for (size_t i = 0; i < n; i++)
                h = (h ^ s[i]) * AP_FNV64_PRIME;
        return h;
}

static inline uint64_t ap_fnv1a64(const void *p, size_t n)
{
        return ap_fnv1a64_update(AP_FNV64_OFFSET, p, n);
}
