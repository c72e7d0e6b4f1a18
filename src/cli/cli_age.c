/* cli_age.c - 'app-platform age keygen|encrypt|decrypt' with age's flags and behaviour: stdin/stdout by
 * default, -o written atomically (temporary file beside the target, renamed on success, removed on
 * failure), passphrases from /dev/tty without echo or from APP_PLATFORM_AGE_PASSPHRASE. */
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/error.h"
#include "base/fileio.h"
#include "cli/cli.h"
#include "crypto/age.h"

#define PASSPHRASE_ENV "APP_PLATFORM_AGE_PASSPHRASE"
#define KEY_FILE_MAX   ((size_t)16 << 20) /* as age's identity/recipient file limit */
#define PASSPHRASE_MAX 4096
#define ENCRYPT_PERMS  0666 /* before umask, as age creates outputs */
#define DECRYPT_PERMS  0600 /* plaintext may be secret */

static int fail(const char *fmt, ...) _printf_(1, 2);
static int fail(const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        fputs("app-platform age: error: ", stderr);
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
        va_end(ap);
        return AP_EXIT_FAILURE;
}

static const char usage_text[] =
    "usage:\n"
    "  app-platform age keygen [-o OUTPUT]\n"
    "  app-platform age keygen -y [-o OUTPUT] [INPUT]\n"
    "  app-platform age encrypt (-r RECIPIENT | -R PATH)... [-a] [-o OUTPUT] [INPUT]\n"
    "  app-platform age encrypt -p [-a] [-o OUTPUT] [INPUT]\n"
    "  app-platform age decrypt [-i PATH]... [-o OUTPUT] [INPUT]\n"
    "\n"
    "options:\n"
    "  -o, --output OUTPUT          write to OUTPUT (atomically) instead of stdout\n"
    "  -y                           keygen: print the recipients of the identities in INPUT\n"
    "  -r, --recipient RECIPIENT    encrypt to an 'age1...' public key (repeatable)\n"
    "  -R, --recipients-file PATH   encrypt to the recipients listed in PATH (repeatable)\n"
    "  -p, --passphrase             encrypt with a passphrase (from the terminal or $" PASSPHRASE_ENV ")\n"
    "  -a, --armor                  write PEM-armored output\n"
    "  -i, --identity PATH          decrypt with the identities in PATH (repeatable); without -i a\n"
    "                               passphrase-encrypted file asks for its passphrase\n"
    "\n"
    "INPUT defaults to stdin ('-'). Armored input is detected when decrypting.\n";

/* ---- output: stdout, or base/fileio's atomic write (a temporary file renamed over the target, or over
 * the file a symlink points to; a device or FIFO written in place) ---- */

/* perms before the umask, as age creates its outputs */
static int output_open(struct ap_atomic_file *o, const char *path, mode_t perms, struct ap_error *err)
{
        mode_t mask = umask(0);
        umask(mask);
        return ap_atomic_open(o, path, perms & ~mask, err);
}

/* Finish: rename into place when ok, otherwise remove the temporary file. */
static int output_close(struct ap_atomic_file *o, bool ok, struct ap_error *err)
{
        if (ok)
                return ap_atomic_commit(o, err);
        ap_atomic_abort(o);
        return 0;
}

static int fd_sink_write(void *ctx, const void *p, size_t n, struct ap_error *err)
{
        const struct ap_atomic_file *o = ctx;
        int r = ap_write_all(o->fd, p, n);
        if (r < 0)
                return ap_error_set(err, r, "cannot write '%s': %s", ap_atomic_name(o), strerror(-r));
        return 0;
}

/* ---- input ---- */

static int open_input(const char *path, int *ret_fd, struct ap_error *err)
{
        if (!path || strcmp(path, "-") == 0) {
                *ret_fd = STDIN_FILENO;
                return 0;
        }
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return ap_error_set(err, -errno, "cannot open input file '%s': %s", path, strerror(errno));
        *ret_fd = fd;
        return 0;
}

static const char *input_name(const char *path)
{
        return !path || strcmp(path, "-") == 0 ? "<stdin>" : path;
}

static int read_key_file(const char *path, struct ap_buf *text, struct ap_error *err)
{
        ap_buf_init_secret(text, KEY_FILE_MAX);
        return ap_read_file(path, text, err);
}

/* ---- passphrases ---- */

static int tty_read_line(int fd, struct ap_buf *out, struct ap_error *err)
{
        for (;;) {
                char c;
                ssize_t k = read(fd, &c, 1);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return ap_error_set(err, -errno, "cannot read the passphrase: %s", strerror(errno));
                if (k == 0 || c == '\n')
                        return 0;
                if (c == '\r')
                        continue;
                if (ap_buf_addch(out, c) < 0)
                        return ap_error_set(err, -E2BIG, "the passphrase is longer than %d bytes",
                                            PASSPHRASE_MAX);
        }
}

/* Prompt on /dev/tty with echo off. */
static int tty_passphrase(const char *prompt, struct ap_buf *out, struct ap_error *err)
{
        int fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return ap_error_set(
                    err, -ENXIO, "cannot ask for a passphrase: no terminal; set " PASSPHRASE_ENV " instead");
        struct termios old, quiet;
        bool restore = tcgetattr(fd, &old) == 0;
        if (restore) {
                quiet = old;
                quiet.c_lflag &= ~(tcflag_t)ECHO;
                quiet.c_lflag |= ECHONL;
                tcsetattr(fd, TCSAFLUSH, &quiet);
        }
        (void)!write(fd, prompt, strlen(prompt));
        int r = tty_read_line(fd, out, err);
        if (restore)
                tcsetattr(fd, TCSAFLUSH, &old);
        close(fd);
        return r;
}

/* The passphrase from the environment, else from the terminal (asked twice when confirm is set). */
static int get_passphrase(bool confirm, struct ap_buf *out, struct ap_error *err)
{
        ap_buf_init_secret(out, PASSPHRASE_MAX);
        const char *env = getenv(PASSPHRASE_ENV);
        int r;
        if (env && *env) {
                r = ap_buf_addstr(out, env);
                return r < 0 ? ap_error_set(err, r, PASSPHRASE_ENV " is longer than %d bytes", PASSPHRASE_MAX)
                             : 0;
        }
        r = tty_passphrase("Enter passphrase: ", out, err);
        if (r == 0 && out->len == 0)
                r = ap_error_set(err, -EINVAL, "the passphrase is empty");
        if (r == 0 && confirm) {
                struct ap_buf again = AP_BUF_INIT_SECRET;
                again.max = PASSPHRASE_MAX;
                r = tty_passphrase("Confirm passphrase: ", &again, err);
                if (r == 0 && !ap_buf_equal(&again, out->data, out->len))
                        r = ap_error_set(err, -EINVAL, "the passphrases did not match");
                ap_buf_release(&again);
        }
        return r;
}

static int passphrase_cb(void *ctx, struct ap_buf *pass, struct ap_error *err)
{
        struct ap_buf got;
        int r = get_passphrase(false, &got, err);
        if (r == 0)
                r = ap_buf_add(pass, got.data, got.len);
        ap_buf_release(&got);
        return r;
}

/* ---- keygen ---- */

static int keygen_convert(const char *in_path, struct ap_atomic_file *out, struct ap_error *err)
{
        struct ap_buf text, line = AP_BUF_INIT;
        struct ap_age_identities ids = AP_AGE_IDENTITIES_INIT;
        int r = read_key_file(in_path ? in_path : "-", &text, err);
        if (r == 0)
                r = ap_age_identities_parse(&ids, text.data, text.len, input_name(in_path), err);
        if (r == 0 && ids.n == 0)
                r = ap_error_set(err, -ENOENT, "no identities found in '%s'", input_name(in_path));
        for (size_t i = 0; r == 0 && i < ids.n; i++) {
                r = ap_age_identity_recipient_format(ids.items[i], &line);
                if (r == 0)
                        r = ap_buf_addch(&line, '\n');
        }
        if (r == 0)
                r = fd_sink_write(out, line.data, line.len, err);
        ap_buf_release(&text);
        ap_buf_release(&line);
        ap_age_identities_release(&ids);
        return r;
}

static int keygen_generate(const char *path, struct ap_error *err)
{
        struct ap_age_identity *id = NULL;
        struct ap_buf text = AP_BUF_INIT_SECRET, pub = AP_BUF_INIT;
        int fd = STDOUT_FILENO;
        int r = ap_age_identity_generate(&id, err);
        if (r == 0 && (r = ap_age_keyfile_format(id, (long long)time(NULL), &text)) < 0)
                ap_error_set(err, r, "cannot format the key");
        if (r == 0 && (r = ap_age_identity_recipient_format(id, &pub)) < 0)
                ap_error_set(err, r, "cannot format the public key");
        if (r == 0 && path && strcmp(path, "-") != 0) {
                /* like age-keygen: never overwrite, create 0600 */
                fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
                if (fd < 0)
                        r = ap_error_set(err, -errno, "cannot create output file '%s': %s", path,
                                         strerror(errno));
        }
        if (r == 0 && !isatty(fd))
                fprintf(stderr, "Public key: %s\n", pub.data);
        if (r == 0 && (r = ap_write_all(fd, text.data, text.len)) < 0)
                ap_error_set(err, r, "cannot write '%s': %s", path ? path : "<stdout>", strerror(-r));
        if (fd != STDOUT_FILENO && close(fd) < 0 && r == 0)
                r = ap_error_set(err, -errno, "cannot write '%s': %s", path, strerror(errno));
        ap_age_identity_free(id);
        ap_buf_release(&text);
        ap_buf_release(&pub);
        return r;
}

static int cmd_keygen(int argc, char **argv)
{
        static const struct option longopts[] = {
            {"output", required_argument, NULL, 'o'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
        const char *out_path = NULL;
        bool convert = false;
        int c;
        while ((c = getopt_long(argc, argv, "o:yh", longopts, NULL)) != -1) {
                switch (c) {
                case 'o':
                        out_path = optarg;
                        break;
                case 'y':
                        convert = true;
                        break;
                case 'h':
                        fputs(usage_text, stdout);
                        return AP_EXIT_OK;
                default:
                        return cli_usage_error("age", "invalid keygen option");
                }
        }
        if (argc - optind > (convert ? 1 : 0))
                return cli_usage_error("age", "too many arguments");
        struct ap_error err = AP_ERROR_INIT;
        if (!convert)
                return keygen_generate(out_path, &err) < 0 ? fail("%s", ap_error_message(&err)) : AP_EXIT_OK;
        struct ap_atomic_file out;
        int r = output_open(&out, out_path, ENCRYPT_PERMS, &err);
        if (r < 0)
                return fail("%s", ap_error_message(&err));
        r = keygen_convert(optind < argc ? argv[optind] : NULL, &out, &err);
        if (output_close(&out, r == 0, r == 0 ? &err : NULL) < 0 && r == 0)
                r = -EIO;
        return r < 0 ? fail("%s", ap_error_message(&err)) : AP_EXIT_OK;
}

/* ---- encrypt ---- */

struct encrypt_args {
        struct ap_age_recipients recipients;
        bool passphrase, armor;
        const char *out_path, *in_path;
};

static int collect_recipients(struct encrypt_args *a, char kind, const char *value, struct ap_error *err)
{
        if (kind == 'r') {
                struct ap_age_recipient *r = NULL;
                int rc = ap_age_recipient_parse(value, strlen(value), &r, err);
                if (rc < 0)
                        return ap_error_prefix(err, "invalid recipient '%s'", value);
                return ap_age_recipients_add(&a->recipients, r, err);
        }
        struct ap_buf text;
        size_t before = a->recipients.n;
        int rc = read_key_file(value, &text, err);
        if (rc == 0)
                rc = ap_age_recipients_parse(&a->recipients, text.data, text.len, input_name(value), err);
        if (rc == 0 && a->recipients.n == before)
                rc =
                    ap_error_set(err, -ENOENT, "recipients file '%s' holds no recipients", input_name(value));
        ap_buf_release(&text);
        return rc;
}

static int run_encrypt(struct encrypt_args *a, struct ap_error *err)
{
        struct ap_age_recipient *scrypt = NULL;
        int r = 0;
        if (a->passphrase) {
                struct ap_buf pass;
                r = get_passphrase(true, &pass, err);
                if (r == 0)
                        r = ap_age_scrypt_recipient_new(pass.data, pass.len, AP_AGE_SCRYPT_WORK_FACTOR,
                                                        &scrypt, err);
                ap_buf_release(&pass);
                if (r < 0)
                        return r;
        }
        int in_fd = -1;
        struct ap_atomic_file out = AP_ATOMIC_FILE_INIT;
        r = open_input(a->in_path, &in_fd, err);
        if (r == 0)
                r = output_open(&out, a->out_path, ENCRYPT_PERMS, err);
        if (r == 0) {
                struct ap_age_sink sink = {fd_sink_write, &out};
                r = scrypt
                        ? ap_age_encrypt_fd(&scrypt, 1, a->armor, in_fd, input_name(a->in_path), &sink, err)
                        : ap_age_encrypt_fd(a->recipients.items, a->recipients.n, a->armor, in_fd,
                                            input_name(a->in_path), &sink, err);
                if (output_close(&out, r == 0, r == 0 ? err : NULL) < 0 && r == 0)
                        r = -EIO;
        }
        if (in_fd > STDIN_FILENO)
                close(in_fd);
        ap_age_recipient_free(scrypt);
        return r;
}

static int cmd_encrypt(int argc, char **argv)
{
        static const struct option longopts[] = {{"recipient", required_argument, NULL, 'r'},
                                                 {"recipients-file", required_argument, NULL, 'R'},
                                                 {"passphrase", no_argument, NULL, 'p'},
                                                 {"armor", no_argument, NULL, 'a'},
                                                 {"output", required_argument, NULL, 'o'},
                                                 {"help", no_argument, NULL, 'h'},
                                                 {NULL, 0, NULL, 0}};
        struct encrypt_args a = {.recipients = AP_AGE_RECIPIENTS_INIT};
        struct ap_error err = AP_ERROR_INIT;
        int c, r = 0;
        bool any_recipient_flag = false;
        while (r == 0 && (c = getopt_long(argc, argv, "r:R:pao:h", longopts, NULL)) != -1) {
                switch (c) {
                case 'r':
                case 'R':
                        any_recipient_flag = true;
                        r = collect_recipients(&a, (char)c, optarg, &err);
                        break;
                case 'p':
                        a.passphrase = true;
                        break;
                case 'a':
                        a.armor = true;
                        break;
                case 'o':
                        a.out_path = optarg;
                        break;
                case 'h':
                        fputs(usage_text, stdout);
                        ap_age_recipients_release(&a.recipients);
                        return AP_EXIT_OK;
                default:
                        ap_age_recipients_release(&a.recipients);
                        return cli_usage_error("age", "invalid encrypt option");
                }
        }
        int exit_code = AP_EXIT_OK;
        if (r < 0) {
                exit_code = fail("%s", ap_error_message(&err));
        } else if (argc - optind > 1) {
                exit_code = cli_usage_error("age", "too many arguments");
        } else if (a.passphrase && any_recipient_flag) {
                exit_code =
                    cli_usage_error("age", "-p/--passphrase can't be combined with -r/--recipient or -R");
        } else if (!a.passphrase && a.recipients.n == 0) {
                exit_code = cli_usage_error("age", "missing recipients: give -r, -R or -p");
        } else if (!a.armor && (!a.out_path || strcmp(a.out_path, "-") == 0) && isatty(STDOUT_FILENO)) {
                exit_code = fail("refusing to write binary output to a terminal; use -a/--armor or -o FILE");
        } else {
                a.in_path = optind < argc ? argv[optind] : NULL;
                if (run_encrypt(&a, &err) < 0)
                        exit_code =
                            fail("encrypting '%s': %s", input_name(a.in_path), ap_error_message(&err));
        }
        ap_age_recipients_release(&a.recipients);
        return exit_code;
}

/* ---- decrypt ---- */

static int load_identities(struct ap_age_identities *ids, const char *path, struct ap_error *err)
{
        struct ap_buf text;
        size_t before = ids->n;
        int r = read_key_file(path, &text, err);
        if (r == 0 && (strncmp(text.data, "age-encryption.org/", 19) == 0 ||
                       strstr(text.data, "-----BEGIN AGE ENCRYPTED FILE-----")))
                r = ap_error_set(err, -ENOTSUP,
                                 "identity file '%s' is passphrase-protected, which is not supported",
                                 input_name(path));
        else if (r == 0 && strstr(text.data, "-----BEGIN OPENSSH PRIVATE KEY-----"))
                r = ap_error_set(err, -ENOTSUP, "identity file '%s' is an SSH key, which is not supported",
                                 input_name(path));
        if (r == 0)
                r = ap_age_identities_parse(ids, text.data, text.len, input_name(path), err);
        if (r == 0 && ids->n == before)
                r = ap_error_set(err, -ENOENT, "no identities found in '%s'", input_name(path));
        ap_buf_release(&text);
        return r;
}

static int cmd_decrypt(int argc, char **argv)
{
        static const struct option longopts[] = {{"identity", required_argument, NULL, 'i'},
                                                 {"output", required_argument, NULL, 'o'},
                                                 {"help", no_argument, NULL, 'h'},
                                                 {NULL, 0, NULL, 0}};
        struct ap_age_identities ids = AP_AGE_IDENTITIES_INIT;
        struct ap_error err = AP_ERROR_INIT;
        const char *out_path = NULL;
        int c, r = 0;
        while (r == 0 && (c = getopt_long(argc, argv, "i:o:h", longopts, NULL)) != -1) {
                switch (c) {
                case 'i':
                        r = load_identities(&ids, optarg, &err);
                        break;
                case 'o':
                        out_path = optarg;
                        break;
                case 'h':
                        fputs(usage_text, stdout);
                        ap_age_identities_release(&ids);
                        return AP_EXIT_OK;
                default:
                        ap_age_identities_release(&ids);
                        return cli_usage_error("age", "invalid decrypt option");
                }
        }
        if (r < 0) {
                ap_age_identities_release(&ids);
                return fail("%s", ap_error_message(&err));
        }
        if (argc - optind > 1) {
                ap_age_identities_release(&ids);
                return cli_usage_error("age", "too many arguments");
        }
        const char *in_path = optind < argc ? argv[optind] : NULL;
        int in_fd = -1;
        struct ap_atomic_file out = AP_ATOMIC_FILE_INIT;
        r = open_input(in_path, &in_fd, &err);
        if (r == 0)
                r = output_open(&out, out_path, DECRYPT_PERMS, &err);
        if (r == 0) {
                struct ap_age_decrypt_opts opts = {.input = AP_AGE_INPUT_AUTO, .passphrase = passphrase_cb};
                struct ap_age_sink sink = {fd_sink_write, &out};
                r = ap_age_decrypt_fd(ids.items, ids.n, &opts, in_fd, input_name(in_path), &sink, &err);
                if (output_close(&out, r == 0, r == 0 ? &err : NULL) < 0 && r == 0)
                        r = -EIO;
        }
        if (in_fd > STDIN_FILENO)
                close(in_fd);
        size_t n_ids = ids.n;
        ap_age_identities_release(&ids);
        if (r < 0) {
                fail("decrypting '%s': %s", input_name(in_path), ap_error_message(&err));
                if (err.code == AP_E_NO_KEY && n_ids == 0)
                        fputs("app-platform age: hint: name an identity file with -i FILE\n", stderr);
                return AP_EXIT_FAILURE;
        }
        return AP_EXIT_OK;
}

int cli_age_main(int argc, char **argv)
{
        if (argc < 2) {
                fputs(usage_text, stderr);
                return AP_EXIT_USAGE;
        }
        const char *sub = argv[1];
        if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0 || strcmp(sub, "help") == 0) {
                fputs(usage_text, stdout);
                return AP_EXIT_OK;
        }
        optind = 1;
        if (strcmp(sub, "keygen") == 0)
                return cmd_keygen(argc - 1, argv + 1);
        if (strcmp(sub, "encrypt") == 0)
                return cmd_encrypt(argc - 1, argv + 1);
        if (strcmp(sub, "decrypt") == 0)
                return cmd_decrypt(argc - 1, argv + 1);
        return cli_usage_error("age", "unknown age command '%s'", sub);
}
