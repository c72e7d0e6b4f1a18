/* sops_rules.h - which values SOPS encrypts (sops.go shouldBeEncrypted): one crypt rule per file out of
 * unencrypted/encrypted suffix, unencrypted/encrypted regex and unencrypted/encrypted comment regex, the
 * default being unencrypted_suffix "_unencrypted". Regexes are Go RE2 in sops; they are translated to POSIX
 * ERE (regcomp) and anything RE2-only that has no translation is refused with a clear error. */
#pragma once

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>

#include "base/error.h"

enum ap_sops_rule_kind {
        AP_SOPS_RULE_NONE, /* use the default: unencrypted_suffix "_unencrypted" */
        AP_SOPS_UNENCRYPTED_SUFFIX,
        AP_SOPS_ENCRYPTED_SUFFIX,
        AP_SOPS_UNENCRYPTED_REGEX,
        AP_SOPS_ENCRYPTED_REGEX,
        AP_SOPS_UNENCRYPTED_COMMENT_REGEX,
        AP_SOPS_ENCRYPTED_COMMENT_REGEX,
};
#define AP_SOPS_DEFAULT_UNENCRYPTED_SUFFIX "_unencrypted"

/* The metadata / .sops.yaml key of a rule ("encrypted_regex", ...); NULL for NONE. */
const char *ap_sops_rule_key(enum ap_sops_rule_kind kind);
/* The rule named by a metadata key, or AP_SOPS_RULE_NONE. */
enum ap_sops_rule_kind ap_sops_rule_from_key(const char *key);

/* A length-carrying string (a key of the path, a comment). */
struct ap_sops_str {
        const char *p;
        size_t n;
};

/* A compiled rule. */
struct ap_sops_rule {
        enum ap_sops_rule_kind kind; /* never NONE once initialised */
        char *value;
        regex_t re;
        bool compiled;
};

/* Compile kind/value (value may be NULL for NONE). err names the rule and the unsupported syntax. */
int ap_sops_rule_init(struct ap_sops_rule *rule, enum ap_sops_rule_kind kind, const char *value,
                      struct ap_error *err) _warn_unused_;
void ap_sops_rule_release(struct ap_sops_rule *rule);

/* The comments immediately preceding the current entry, per nesting level (sops's commentsStack). */
struct ap_sops_comment_stack {
        const struct ap_sops_str *const *levels; /* levels[i] points at n[i] comments */
        const size_t *n;
        size_t depth;
};

/* Should the leaf at path (keys from the root; list items add nothing) be encrypted? is_comment: the leaf
 * is a comment (the comment regex rules skip its own line). */
bool ap_sops_rule_encrypts(const struct ap_sops_rule *rule, const struct ap_sops_str *path, size_t depth,
                           const struct ap_sops_comment_stack *comments, bool is_comment);

/* Translate an RE2 pattern to POSIX ERE and compile it (REG_EXTENDED | REG_NOSUB, REG_ICASE for a leading
 * (?i)). what names the pattern in messages. */
int ap_sops_regex_compile(regex_t *re, const char *pattern, const char *what,
                          struct ap_error *err) _warn_unused_;
/* Unanchored search of s (n bytes, NULs allowed) as Go's regexp.Match does. */
bool ap_sops_regex_match(const regex_t *re, const char *s, size_t n);
