/* init.c - process-wide set-up (see init.h): wiping allocators for jansson and libyaml. */
#include "init.h"

#include <jansson.h>
#include <malloc.h>
#include <openssl/crypto.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* libyaml's own allocator (yaml_private.h), replaced here; prototypes for -Wmissing-prototypes. */
void *yaml_malloc(size_t size);
void *yaml_realloc(void *ptr, size_t size);
void yaml_free(void *ptr);
char *yaml_strdup(const char *str);

static bool initialized;

/* free() that wipes the whole block first. */
static void wiping_free(void *p)
{
        if (!p)
                return;
        OPENSSL_cleanse(p, malloc_usable_size(p));
        free(p);
}

void *yaml_malloc(size_t size)
{
        return malloc(size ? size : 1);
}

void *yaml_realloc(void *ptr, size_t size)
{
        if (!ptr)
                return yaml_malloc(size);
        /* by hand, so that the old block is wiped rather than left behind by a moving realloc */
        size_t old = malloc_usable_size(ptr);
        void *p = malloc(size ? size : 1);
        if (!p)
                return NULL;
        memcpy(p, ptr, AP_MIN(old, size ? size : 1));
        wiping_free(ptr);
        return p;
}

void yaml_free(void *ptr)
{
        wiping_free(ptr);
}

char *yaml_strdup(const char *str)
{
        if (!str)
                return NULL;
        size_t n = strlen(str) + 1;
        char *p = yaml_malloc(n);
        if (p)
                memcpy(p, str, n);
        return p;
}

static void *json_alloc(size_t n)
{
        return malloc(n ? n : 1);
}

int ap_base_init(void)
{
        json_set_alloc_funcs(json_alloc, wiping_free);
        initialized = true;
        return 0;
}

bool ap_base_initialized(void)
{
        return initialized;
}
