/* sops_config.h - .sops.yaml (getsops/sops config/config.go): creation_rules evaluated top to bottom, the
 * first whose path_regex (RE2, unanchored, against the path relative to the config file's folder) matches
 * wins; age recipients as a comma-separated string or a list, key_groups, the crypt rule,
 * mac_only_encrypted, and stores.{yaml,json}.indent. Finding the file (cwd upwards) is the caller's job. */
#pragma once

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>

#include "base/error.h"
#include "sops_rules.h"

struct ap_sops_config_group {
        char **age; /* "age1..." recipients */
        size_t n_age;
        size_t n_other; /* pgp, kms, ... keys we cannot use */
};

struct ap_sops_creation_rule {
        char *path_regex; /* NULL: matches every file */
        regex_t re;
        bool compiled;
        struct ap_sops_config_group *groups; /* the flat keys are group 0; key_groups add one each */
        size_t n_groups;
        int shamir_threshold;
        enum ap_sops_rule_kind rule;
        char *rule_value;
        bool mac_only_encrypted;
};

struct ap_sops_config {
        struct ap_sops_creation_rule *rules;
        size_t n_rules;
        int yaml_indent; /* 0: not set */
        int json_indent; /* meaningful when has_json_indent */
        bool has_json_indent;
};

/* Parse .sops.yaml text; name is used in messages ("'.sops.yaml', creation rule 2: ..."). */
int ap_sops_config_parse(const char *text, size_t n, const char *name, struct ap_sops_config *ret,
                         struct ap_error *err) _warn_unused_;
void ap_sops_config_release(struct ap_sops_config *c);

/* The first rule matching path (already made relative to the config file's folder, as sops does), or
 * NULL. The result is borrowed from c. */
const struct ap_sops_creation_rule *ap_sops_config_match(const struct ap_sops_config *c, const char *path);
