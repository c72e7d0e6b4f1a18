/* init.h - the process-wide set-up that every program and every test program runs first in main(), before
 * it starts a thread and before jansson or libyaml allocate anything:
 *
 *  - jansson allocates through functions that wipe each block before freeing it (json_set_alloc_funcs), so
 *    the JSON of Secrets and tokens that the kube and forge clients parse does not linger in freed memory.
 *  - libyaml's allocator is replaced: this file defines yaml_malloc, yaml_realloc, yaml_strdup and
 *    yaml_free, which libyaml calls through its PLT, so ours are used in every program that links this
 *    file (every program that calls ap_base_init). They wipe a block before freeing it and when it moves,
 *    so the plaintext documents the parser buffered (scalars, tokens, input chunks) do not linger either.
 *
 * Both wipe with OPENSSL_cleanse over malloc_usable_size() bytes rather than through a size header: blocks
 * stay ordinary malloc blocks, because callers free json_dumps() results with free() (kube, forge).
 * Memory freed with plain free() (json_dumps results) is not wiped: keep secrets out of it. */
#pragma once

#include <stdbool.h>

#include "macro.h"

/* 0, or a negative errno (nothing can fail today; callers check so that it may). */
int ap_base_init(void) _warn_unused_;

/* True once ap_base_init ran (for tests that check the allocators are in place). */
bool ap_base_initialized(void);
