/* cli_sops.c - 'app-platform sops encrypt|decrypt' with sops's flag names: keys from --age,
 * SOPS_AGE_RECIPIENTS or the first matching .sops.yaml creation rule (found from the current directory
 * upwards, or --config); identities from SOPS_AGE_KEY, SOPS_AGE_KEY_FILE and
 * $XDG_CONFIG_HOME/sops/age/keys.txt. Output to stdout, or written atomically with --output/--in-place. */
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/error.h"
#include "base/fileio.h"
#include "cli/cli.h"
#include "crypto/age.h"
#include "crypto/sops.h"
#include "crypto/sops_config.h"

#define KEY_FILE_MAX   ((size_t)16 << 20)
#define CONFIG_LEVELS  100 /* sops looks this many folders up for .sops.yaml */
#define PLAINTEXT_MODE 0600

static const char usage_text[] =
    "usage:\n"
    "  app-platform sops encrypt [options] FILE\n"
    "  app-platform sops decrypt [options] FILE\n"
    "\n"
    "options (sops's names):\n"
    "  --age R1,R2                 encrypt to these age recipients (repeatable; else $SOPS_AGE_RECIPIENTS\n"
    "                              or the matching creation rule in .sops.yaml)\n"
    "  --encrypted-regex RE        encrypt only values under keys matching RE\n"
    "  --unencrypted-regex RE      leave values under keys matching RE in clear\n"
    "  --encrypted-suffix S        encrypt only values under keys ending in S\n"
    "  --unencrypted-suffix S      leave values under keys ending in S in clear (default _unencrypted)\n"
    "  --encrypted-comment-regex RE, --unencrypted-comment-regex RE\n"
    "  --mac-only-encrypted        compute the MAC over encrypted values only\n"
    "  --input-type yaml|json      default: from the file extension (.json is JSON, else YAML)\n"
    "  --output-type yaml|json     default: the input type\n"
    "  -i, --in-place              write the result over FILE (atomically)\n"
    "  --output FILE               write the result to FILE (atomically) instead of stdout\n"
    "  --config FILE               use this .sops.yaml instead of looking from the current folder up\n"
    "  --ignore-mac                decrypt even when the MAC does not match\n"
    "  --max-size SIZE             limit on the file, any one value and the output (default 64M;\n"
    "                              K, M, G suffixes); Kubernetes Secrets are at most 1M\n"
    "\n"
    "Decryption keys: $SOPS_AGE_KEY (key text), $SOPS_AGE_KEY_FILE (a key file), and\n"
    "$XDG_CONFIG_HOME/sops/age/keys.txt (~/.config/sops/age/keys.txt).\n";

static int fail(const char *file, const char *fmt, ...) _printf_(2, 3);
static int fail(const char *file, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        if (file)
                fprintf(stderr, "app-platform sops: '%s': ", file);
        else
                fputs("app-platform sops: ", stderr);
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
        va_end(ap);
        return AP_EXIT_FAILURE;
}

/* The library says what happened; this adds which of our flags or variables can change it. */
static int fail_with_hint(const char *file, const struct ap_error *err, const char *hint)
{
        fail(file, "%s", ap_error_message(err));
        if (hint)
                fprintf(stderr, "app-platform sops: hint: %s\n", hint);
        return AP_EXIT_FAILURE;
}

static const char *size_hint(const struct ap_error *err, size_t max_size)
{
        static char hint[160];
        if (err->code != AP_E_TOO_LARGE)
                return NULL;
        snprintf(hint, sizeof(hint),
                 "if it is the size limit (now %zu bytes) that was hit, raise it with --max-size", max_size);
        return hint;
}

struct args {
        bool encrypt;
        const char *file;
        struct ap_buf age; /* comma-joined --age values */
        enum ap_sops_rule_kind rule;
        const char *rule_value;
        bool mac_only_encrypted;
        const char *input_type, *output_type;
        bool in_place;
        const char *output;
        const char *config;
        bool ignore_mac;
        size_t max_size;
};

static int parse_format(const char *s, enum ap_sops_format *ret)
{
        if (strcmp(s, "yaml") == 0)
                *ret = AP_SOPS_FORMAT_YAML;
        else if (strcmp(s, "json") == 0)
                *ret = AP_SOPS_FORMAT_JSON;
        else
                return -EINVAL;
        return 0;
}

static enum ap_sops_format format_of(const char *path)
{
        const char *dot = strrchr(path, '.');
        return dot && strcmp(dot, ".json") == 0 ? AP_SOPS_FORMAT_JSON : AP_SOPS_FORMAT_YAML;
}

/* ---- .sops.yaml ---- */

/* Find and parse the config; *ret_dir gets its folder (malloc'd). Absent config: 0 with *found false. */
static int load_config(const char *explicit_path, struct ap_sops_config *cfg, char **ret_dir, bool *found,
                       struct ap_error *err)
{
        char path[PATH_MAX];
        *found = false;
        if (explicit_path) {
                if (!realpath(explicit_path, path))
                        return ap_error_set(err, -errno, "cannot open config '%s': %s", explicit_path,
                                            strerror(errno));
        } else {
                char dir[PATH_MAX];
                if (!getcwd(dir, sizeof(dir)))
                        return ap_error_set(err, -errno, "cannot get the current folder");
                for (int i = 0; i < CONFIG_LEVELS; i++) {
                        if (snprintf(path, sizeof(path), "%s/.sops.yaml", strcmp(dir, "/") == 0 ? "" : dir) >=
                            (int)sizeof(path))
                                return ap_error_set(err, -ENAMETOOLONG,
                                                    "the path of '%s/.sops.yaml' is too long", dir);
                        if (access(path, F_OK) == 0) {
                                *found = true;
                                break;
                        }
                        char *slash = strrchr(dir, '/');
                        if (!slash || strcmp(dir, "/") == 0)
                                break;
                        if (slash == dir)
                                slash[1] = '\0';
                        else
                                *slash = '\0';
                }
                if (!*found)
                        return 0;
        }
        _cleanup_buf_ struct ap_buf text = AP_BUF_INIT;
        ap_buf_init(&text, KEY_FILE_MAX);
        int r = ap_read_file(path, &text, err);
        if (r == 0)
                r = ap_sops_config_parse(text.data, text.len, path, cfg, err);
        if (r < 0)
                return r;
        *found = true;
        char *slash = strrchr(path, '/');
        *slash = '\0';
        *ret_dir = strdup(path[0] ? path : "/");
        return *ret_dir ? 0 : ap_error_set(err, -ENOMEM, "out of memory");
}

/* The file's path as sops matches path_regex: absolute, minus the config folder and '/'. */
static const char *rule_path(const char *file, const char *cfg_dir, char *buf, size_t size)
{
        if (!realpath(file, buf)) {
                snprintf(buf, size, "%s", file);
                return buf;
        }
        size_t n = strlen(cfg_dir);
        if (strncmp(buf, cfg_dir, n) == 0 && buf[n] == '/')
                return buf + n + 1;
        return buf;
}

/* ---- keys ---- */

static int add_recipients(struct ap_age_recipients *list, const char *csv, struct ap_error *err)
{
        const char *s = csv;
        while (*s) {
                const char *comma = strchr(s, ',');
                size_t n = comma ? (size_t)(comma - s) : strlen(s);
                const char *p = s;
                while (n && (*p == ' ' || *p == '\t'))
                        p++, n--;
                while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
                        n--;
                if (n) {
                        struct ap_age_recipient *r;
                        int rc = ap_age_recipient_parse(p, n, &r, err);
                        if (rc < 0)
                                return ap_error_prefix(err, "recipient '%.*s'", (int)n, p);
                        rc = ap_age_recipients_add(list, r, err);
                        if (rc < 0)
                                return rc;
                }
                s = comma ? comma + 1 : s + strlen(s);
        }
        return 0;
}

static int identities_from_file(struct ap_age_identities *ids, const char *path, bool must_exist,
                                struct ap_error *err)
{
        if (!must_exist && access(path, F_OK) != 0)
                return 0;
        _cleanup_buf_ struct ap_buf text = AP_BUF_INIT_SECRET;
        ap_buf_init_secret(&text, KEY_FILE_MAX);
        int r = ap_read_file(path, &text, err);
        if (r == 0)
                r = ap_age_identities_parse(ids, text.data, text.len, path, err);
        return r;
}

/* $XDG_CONFIG_HOME/sops/age/keys.txt, else ~/.config/sops/age/keys.txt; -ENOENT when neither variable is
 * set, -ENAMETOOLONG when the path does not fit. */
static int default_key_file(char *buf, size_t size)
{
        const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
        int n;
        if (xdg && *xdg)
                n = snprintf(buf, size, "%s/sops/age/keys.txt", xdg);
        else if (home && *home)
                n = snprintf(buf, size, "%s/.config/sops/age/keys.txt", home);
        else
                return -ENOENT;
        return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

static int load_identities(struct ap_age_identities *ids, struct ap_error *err)
{
        int r;
        const char *key = getenv("SOPS_AGE_KEY");
        if (key && *key && (r = ap_age_identities_parse(ids, key, strlen(key), "$SOPS_AGE_KEY", err)) < 0)
                return r;
        const char *file = getenv("SOPS_AGE_KEY_FILE");
        if (file && *file && (r = identities_from_file(ids, file, true, err)) < 0)
                return ap_error_prefix(err, "SOPS_AGE_KEY_FILE");
        char def[PATH_MAX];
        if (default_key_file(def, sizeof(def)) < 0)
                return 0;
        return identities_from_file(ids, def, false, err);
}

/* ---- output ---- */

static int write_result(const struct args *a, const struct ap_buf *out, mode_t mode, struct ap_error *err)
{
        const char *target = a->in_place ? a->file : a->output;
        if (target)
                return ap_write_file_atomic(target, out->data, out->len, mode, err);
        if (ap_write_all(STDOUT_FILENO, out->data, out->len) < 0)
                return ap_error_set(err, -errno, "cannot write to stdout: %s", strerror(errno));
        return 0;
}

static mode_t mode_of(const char *path, mode_t fallback)
{
        struct stat st;
        return stat(path, &st) == 0 ? st.st_mode & 07777 : fallback;
}

/* ---- commands ---- */

static int do_encrypt(const struct args *a, const struct ap_buf *in, enum ap_sops_format fin,
                      enum ap_sops_format fout)
{
        struct ap_error err = AP_ERROR_INIT;
        struct ap_sops_config cfg = {0};
        _cleanup_free_ char *cfg_dir = NULL;
        bool have_cfg = false;
        struct ap_age_recipients flat = AP_AGE_RECIPIENTS_INIT;
        /* one list per key group of the creation rule (ap_sops_config_parse bounds their number) */
        struct ap_age_recipients *groups = NULL;
        struct ap_sops_recipient_group *rg = NULL;
        size_t n_groups = 0;
        int rc = AP_EXIT_FAILURE;
        struct ap_sops_encrypt_opts o = AP_SOPS_ENCRYPT_OPTS_INIT;
        _cleanup_buf_ struct ap_buf out = AP_BUF_INIT;
        ap_buf_init(&out, a->max_size);
        const struct ap_sops_creation_rule *rule = NULL;
        const char *env_rcp = getenv("SOPS_AGE_RECIPIENTS");

        if (load_config(a->config, &cfg, &cfg_dir, &have_cfg, &err) < 0) {
                rc = fail(a->file, "%s", ap_error_message(&err));
                goto out;
        }
        if (have_cfg) {
                char buf[PATH_MAX];
                rule = ap_sops_config_match(&cfg, rule_path(a->file, cfg_dir, buf, sizeof(buf)));
                if (!rule && !a->age.len && !(env_rcp && *env_rcp)) {
                        rc = fail(
                            a->file,
                            "no creation rule in '%s/.sops.yaml' matches this file; add one or pass --age",
                            cfg_dir);
                        goto out;
                }
        }
        if (a->age.len || (env_rcp && *env_rcp)) {
                if (add_recipients(&flat, a->age.len ? a->age.data : env_rcp, &err) < 0) {
                        rc = fail(a->file, "%s", ap_error_message(&err));
                        goto out;
                }
        } else if (rule) {
                groups = calloc(rule->n_groups ? rule->n_groups : 1, sizeof(*groups));
                rg = calloc(rule->n_groups ? rule->n_groups : 1, sizeof(*rg));
                if (!groups || !rg) {
                        rc = fail(a->file, "out of memory");
                        goto out;
                }
                for (size_t g = 0; g < rule->n_groups; g++) {
                        if (rule->groups[g].n_other && !rule->groups[g].n_age) {
                                rc = fail(a->file,
                                          "the creation rule uses key types other than age (pgp, kms, ...), "
                                          "which this tool does not support");
                                goto out;
                        }
                        groups[n_groups] = (struct ap_age_recipients)AP_AGE_RECIPIENTS_INIT;
                        n_groups++;
                        for (size_t i = 0; i < rule->groups[g].n_age; i++) {
                                if (add_recipients(&groups[g], rule->groups[g].age[i], &err) < 0) {
                                        rc = fail(a->file, "%s", ap_error_message(&err));
                                        goto out;
                                }
                        }
                        rg[g] = (struct ap_sops_recipient_group){groups[g].items, groups[g].n};
                }
        }
        if (n_groups == 1) {
                o.recipients = rg[0].recipients;
                o.n_recipients = rg[0].n;
        } else if (n_groups > 1) {
                o.groups = rg;
                o.n_groups = n_groups;
                o.shamir_threshold = rule->shamir_threshold;
        } else {
                o.recipients = flat.items;
                o.n_recipients = flat.n;
        }
        o.rule = a->rule;
        o.rule_value = a->rule_value;
        if (a->rule == AP_SOPS_RULE_NONE && rule) {
                o.rule = rule->rule;
                o.rule_value = rule->rule_value;
        }
        o.mac_only_encrypted = a->mac_only_encrypted || (rule && rule->mac_only_encrypted);
        o.input = fin;
        o.output = fout;
        o.yaml_indent = cfg.yaml_indent;
        o.max_size = a->max_size;
        if (cfg.has_json_indent)
                o.json_indent = cfg.json_indent;
        if (o.n_recipients == 0 && o.n_groups == 0) {
                rc = fail(a->file, "no age recipient to encrypt to");
                fputs("app-platform sops: hint: pass --age, set SOPS_AGE_RECIPIENTS, or add a creation rule "
                      "with age keys to .sops.yaml\n",
                      stderr);
                goto out;
        }
        if (ap_sops_encrypt(in->data, in->len, &o, &out, &err) < 0) {
                rc = fail_with_hint(a->file, &err, size_hint(&err, a->max_size));
                goto out;
        }
        if (write_result(a, &out, a->in_place ? mode_of(a->file, 0644) : 0644, &err) < 0) {
                rc = fail(a->file, "%s", ap_error_message(&err));
                goto out;
        }
        rc = AP_EXIT_OK;
out:
        for (size_t g = 0; g < n_groups; g++)
                ap_age_recipients_release(&groups[g]);
        free(groups);
        free(rg);
        ap_age_recipients_release(&flat);
        ap_sops_config_release(&cfg);
        return rc;
}

static const char *decrypt_hint(const struct ap_error *err, size_t n_ids, bool mac_failed, size_t max_size)
{
        if (mac_failed)
                return "--ignore-mac decrypts it anyway";
        if (err->code == AP_E_NO_KEY && n_ids == 0)
                return "set SOPS_AGE_KEY_FILE to an age key file or SOPS_AGE_KEY to the key itself, or put "
                       "the "
                       "key in $XDG_CONFIG_HOME/sops/age/keys.txt (~/.config/sops/age/keys.txt)";
        if (err->code == AP_E_NO_KEY)
                return "the keys from SOPS_AGE_KEY, SOPS_AGE_KEY_FILE and ~/.config/sops/age/keys.txt do not "
                       "include one of the recipients' keys";
        return size_hint(err, max_size);
}

static int do_decrypt(const struct args *a, const struct ap_buf *in, enum ap_sops_format fin,
                      enum ap_sops_format fout)
{
        struct ap_error err = AP_ERROR_INIT;
        struct ap_age_identities ids = AP_AGE_IDENTITIES_INIT;
        struct ap_sops_config cfg = {0};
        _cleanup_free_ char *cfg_dir = NULL;
        bool have_cfg = false;
        _cleanup_buf_ struct ap_buf out = AP_BUF_INIT_SECRET;
        int rc = AP_EXIT_FAILURE;
        if (load_identities(&ids, &err) < 0) {
                rc = fail(NULL, "%s", ap_error_message(&err));
                goto out;
        }
        if (load_config(a->config, &cfg, &cfg_dir, &have_cfg, &err) < 0) {
                rc = fail(a->file, "%s", ap_error_message(&err));
                goto out;
        }
        struct ap_sops_decrypt_opts o = AP_SOPS_DECRYPT_OPTS_INIT;
        o.identities = ids.items;
        o.n_identities = ids.n;
        o.input = fin;
        o.output = fout;
        o.ignore_mac = a->ignore_mac;
        o.yaml_indent = cfg.yaml_indent;
        o.max_size = a->max_size;
        bool mac_failed = false;
        o.mac_failed = &mac_failed;
        if (cfg.has_json_indent)
                o.json_indent = cfg.json_indent;
        ap_buf_init_secret(&out, a->max_size);
        if (ap_sops_decrypt(in->data, in->len, &o, &out, &err) < 0) {
                rc = fail_with_hint(a->file, &err, decrypt_hint(&err, ids.n, mac_failed, a->max_size));
                goto out;
        }
        if (write_result(a, &out, PLAINTEXT_MODE, &err) < 0) {
                rc = fail(a->file, "%s", ap_error_message(&err));
                goto out;
        }
        rc = AP_EXIT_OK;
out:
        ap_age_identities_release(&ids);
        ap_sops_config_release(&cfg);
        return rc;
}

enum {
        OPT_AGE = 256,
        OPT_ENC_REGEX,
        OPT_UNENC_REGEX,
        OPT_ENC_SUFFIX,
        OPT_UNENC_SUFFIX,
        OPT_ENC_COMMENT,
        OPT_UNENC_COMMENT,
        OPT_MAC_ONLY,
        OPT_INPUT_TYPE,
        OPT_OUTPUT_TYPE,
        OPT_OUTPUT,
        OPT_CONFIG,
        OPT_IGNORE_MAC,
        OPT_MAX_SIZE,
};

static int parse_args(int argc, char **argv, struct args *a)
{
        static const struct option longopts[] = {
            {"age", required_argument, NULL, OPT_AGE},
            {"encrypted-regex", required_argument, NULL, OPT_ENC_REGEX},
            {"unencrypted-regex", required_argument, NULL, OPT_UNENC_REGEX},
            {"encrypted-suffix", required_argument, NULL, OPT_ENC_SUFFIX},
            {"unencrypted-suffix", required_argument, NULL, OPT_UNENC_SUFFIX},
            {"encrypted-comment-regex", required_argument, NULL, OPT_ENC_COMMENT},
            {"unencrypted-comment-regex", required_argument, NULL, OPT_UNENC_COMMENT},
            {"mac-only-encrypted", no_argument, NULL, OPT_MAC_ONLY},
            {"input-type", required_argument, NULL, OPT_INPUT_TYPE},
            {"output-type", required_argument, NULL, OPT_OUTPUT_TYPE},
            {"in-place", no_argument, NULL, 'i'},
            {"output", required_argument, NULL, OPT_OUTPUT},
            {"config", required_argument, NULL, OPT_CONFIG},
            {"ignore-mac", no_argument, NULL, OPT_IGNORE_MAC},
            {"max-size", required_argument, NULL, OPT_MAX_SIZE},
            {"help", no_argument, NULL, 'h'},
            {NULL, 0, NULL, 0},
        };
        static const enum ap_sops_rule_kind rule_of[] = {
            [OPT_ENC_REGEX - OPT_ENC_REGEX] = AP_SOPS_ENCRYPTED_REGEX,
            [OPT_UNENC_REGEX - OPT_ENC_REGEX] = AP_SOPS_UNENCRYPTED_REGEX,
            [OPT_ENC_SUFFIX - OPT_ENC_REGEX] = AP_SOPS_ENCRYPTED_SUFFIX,
            [OPT_UNENC_SUFFIX - OPT_ENC_REGEX] = AP_SOPS_UNENCRYPTED_SUFFIX,
            [OPT_ENC_COMMENT - OPT_ENC_REGEX] = AP_SOPS_ENCRYPTED_COMMENT_REGEX,
            [OPT_UNENC_COMMENT - OPT_ENC_REGEX] = AP_SOPS_UNENCRYPTED_COMMENT_REGEX,
        };
        int c;
        optind = 1;
        while ((c = getopt_long(argc, argv, "ih", longopts, NULL)) != -1) {
                switch (c) {
                case OPT_AGE:
                        if ((a->age.len && ap_buf_addch(&a->age, ',') < 0) ||
                            ap_buf_addstr(&a->age, optarg) < 0)
                                return cli_usage_error("sops", "too many --age values");
                        break;
                case OPT_ENC_REGEX:
                case OPT_UNENC_REGEX:
                case OPT_ENC_SUFFIX:
                case OPT_UNENC_SUFFIX:
                case OPT_ENC_COMMENT:
                case OPT_UNENC_COMMENT:
                        if (a->rule != AP_SOPS_RULE_NONE)
                                return cli_usage_error(
                                    "sops", "use only one of the --encrypted-*/--unencrypted-* options");
                        a->rule = rule_of[c - OPT_ENC_REGEX];
                        a->rule_value = optarg;
                        break;
                case OPT_MAC_ONLY:
                        a->mac_only_encrypted = true;
                        break;
                case OPT_INPUT_TYPE:
                        a->input_type = optarg;
                        break;
                case OPT_OUTPUT_TYPE:
                        a->output_type = optarg;
                        break;
                case 'i':
                        a->in_place = true;
                        break;
                case OPT_OUTPUT:
                        a->output = optarg;
                        break;
                case OPT_CONFIG:
                        a->config = optarg;
                        break;
                case OPT_IGNORE_MAC:
                        a->ignore_mac = true;
                        break;
                case OPT_MAX_SIZE:
                        if (cli_parse_size(optarg, &a->max_size) < 0)
                                return cli_usage_error(
                                    "sops", "--max-size takes a size such as 1048576, 512K, 64M or 1G");
                        break;
                case 'h':
                        fputs(usage_text, stdout);
                        return -1;
                default:
                        return cli_usage_error("sops", "unknown option");
                }
        }
        if (optind != argc - 1)
                return cli_usage_error("sops", optind >= argc ? "missing FILE" : "more than one FILE");
        a->file = argv[optind];
        if (a->in_place && a->output)
                return cli_usage_error("sops", "--in-place and --output exclude each other");
        if (a->in_place && strcmp(a->file, "-") == 0)
                return cli_usage_error("sops", "--in-place needs a FILE, not stdin");
        return 0;
}

int cli_sops_main(int argc, char **argv)
{
        if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
                fputs(usage_text, argc < 2 ? stderr : stdout);
                return argc < 2 ? AP_EXIT_USAGE : AP_EXIT_OK;
        }
        struct args a = {.age = AP_BUF_INIT, .max_size = AP_SOPS_MAX_SIZE_DEFAULT};
        if (strcmp(argv[1], "encrypt") == 0 || strcmp(argv[1], "-e") == 0)
                a.encrypt = true;
        else if (strcmp(argv[1], "decrypt") != 0 && strcmp(argv[1], "-d") != 0)
                return cli_usage_error("sops", "unknown command '%s'", argv[1]);
        int r = parse_args(argc - 1, argv + 1, &a);
        if (r != 0) {
                ap_buf_release(&a.age);
                return r < 0 ? AP_EXIT_OK : r;
        }
        enum ap_sops_format fin = format_of(a.file), fout;
        if (a.input_type && parse_format(a.input_type, &fin) < 0) {
                ap_buf_release(&a.age);
                return cli_usage_error("sops", "--input-type must be yaml or json");
        }
        fout = fin;
        if (a.output_type && parse_format(a.output_type, &fout) < 0) {
                ap_buf_release(&a.age);
                return cli_usage_error("sops", "--output-type must be yaml or json");
        }
        struct ap_error err = AP_ERROR_INIT;
        _cleanup_buf_ struct ap_buf in = AP_BUF_INIT_SECRET;
        ap_buf_init_secret(&in, a.max_size);
        int rc;
        if (ap_read_file(a.file, &in, &err) < 0)
                rc = fail_with_hint(NULL, &err, size_hint(&err, a.max_size));
        else
                rc = a.encrypt ? do_encrypt(&a, &in, fin, fout) : do_decrypt(&a, &in, fin, fout);
        ap_buf_release(&a.age);
        return rc;
}
