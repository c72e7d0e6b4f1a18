/* url.h - what a Kubernetes request addresses: a resource type (group/version/plural, namespaced or
 * cluster-scoped), the per-request options shared by every verb, and the URL builder that turns them
 * into "/api/v1/namespaces/ns/secrets/x?labelSelector=..." with every segment and value escaped. */
#pragma once

#include <stdbool.h>

#include "base/buf.h"
#include "base/error.h"

struct ap_kube_resource {
        const char *group;    /* "" for the core group */
        const char *version;  /* "v1" */
        const char *resource; /* plural, lowercase: "secrets" */
        const char *kind;     /* "Secret" (for events and object references) */
        bool namespaced;
};

extern const struct ap_kube_resource ap_kube_res_namespaces;
extern const struct ap_kube_resource ap_kube_res_secrets;
extern const struct ap_kube_resource ap_kube_res_configmaps;
extern const struct ap_kube_resource ap_kube_res_serviceaccounts;
extern const struct ap_kube_resource ap_kube_res_core_events;
extern const struct ap_kube_resource ap_kube_res_events;
extern const struct ap_kube_resource ap_kube_res_leases;
extern const struct ap_kube_resource ap_kube_res_crds;

/* Which of the client's token buckets a request counts against (ap_kube_client_options.qps/burst each). */
enum ap_kube_limit {
        AP_KUBE_LIMIT_DEFAULT = 0,
        /* bookkeeping writes (Events) that must not delay the reconcilers' requests: a bucket of their
         * own, as client-go's event recorder has with a clientset of its own */
        AP_KUBE_LIMIT_BACKGROUND,
        AP_KUBE_N_LIMITS,
};

/* Options of one request; zero-initialise and set what you need. Fields a verb does not use are ignored
 * by it (the URL builder adds every query parameter that is set). */
struct ap_kube_opts {
        const char *subresource;            /* "status", "scale" or NULL */
        const char *label_selector;         /* list/watch: "a=b,c in (d,e)" */
        const char *field_selector;         /* list/watch: "metadata.name=x" */
        long limit;                         /* list page size; 0 = unset */
        const char *continue_token;         /* list paging */
        const char *resource_version;       /* list/watch/get */
        const char *resource_version_match; /* "NotOlderThan" / "Exact" */
        bool watch;
        bool allow_watch_bookmarks;
        long timeout_seconds; /* watch: server closes the stream after this; 0 = unset */
        const char *field_manager;
        bool force;                     /* apply only */
        bool dry_run;                   /* dryRun=All */
        const char *field_validation;   /* "Strict" / "Warn" / "Ignore" */
        const char *propagation_policy; /* delete: "Foreground" / "Background" / "Orphan" */
        long grace_period_seconds;      /* delete; -1 or 0 with grace_period_set false = unset */
        bool grace_period_set;
        /* not part of the URL: */
        const char *precondition_uid;          /* delete */
        const char *precondition_rv;           /* delete */
        const char *impersonate_user;          /* Impersonate-User header */
        const char *const *impersonate_groups; /* one Impersonate-Group header each */
        size_t n_impersonate_groups;
        long timeout_ms;               /* whole-request timeout; 0 = the client's default */
        enum ap_kube_limit rate_limit; /* the client-side rate limit it counts against */
};

/* Append server + path + query to out. ns is required for namespaced resources unless listing across all
 * namespaces (name NULL); name NULL addresses the collection. Names that are empty, "." or ".." or contain
 * '/' are rejected (-EINVAL) so a name from user input cannot change which resource is addressed. */
int ap_kube_url_build(struct ap_buf *out, const char *server, const struct ap_kube_resource *r,
                      const char *ns, const char *name, const struct ap_kube_opts *o,
                      struct ap_error *err) _warn_unused_;
/* Percent-encode everything but RFC 3986 unreserved characters (A-Z a-z 0-9 - . _ ~). */
int ap_kube_url_escape(struct ap_buf *out, const char *s, size_t n) _warn_unused_;
/* "v1" for the core group, else "group/version". */
int ap_kube_resource_api_version(const struct ap_kube_resource *r, struct ap_buf *out) _warn_unused_;
/* Check a path segment (name or namespace) as the URL builder does. */
int ap_kube_check_segment(const char *what, const char *s, struct ap_error *err) _warn_unused_;
