/* ssh_key.h - OpenSSH keys: generate ed25519 keys, write and read them in the "openssh-key-v1" private-key
 * format (unencrypted) and as the "ssh-ed25519 AAAA… comment" public line; parse public-key lines of any
 * type; build the known_hosts lines Flux needs. Private key material is wiped when freed. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/error.h"

#define AP_SSH_ED25519_LEN 32
#define AP_SSH_COMMENT_MAX 256  /* bytes of a key comment, NUL excluded */
#define AP_SSH_KEYTYPE_MAX 64   /* longest key type name we accept ("sk-ecdsa-sha2-nistp256@openssh.com") */
#define AP_SSH_KEYFILE_MAX 8192 /* an ed25519 private-key file is ~400 bytes; anything this big is wrong */
#define AP_SSH_PUBLINE_MAX 16384

/* An ed25519 key pair. Allocated by the functions below; free with ap_ssh_key_free (wipes seed). */
struct ap_ssh_key {
        uint8_t seed[AP_SSH_ED25519_LEN]; /* the private key (RFC 8032 seed) */
        uint8_t pub[AP_SSH_ED25519_LEN];
        char comment[AP_SSH_COMMENT_MAX + 1];
};

/* Generate a fresh ed25519 key. comment may be NULL (empty); it must not contain control characters. */
int ap_ssh_key_generate(const char *comment, struct ap_ssh_key **ret, struct ap_error *err) _warn_unused_;

/* Build a key from a 32-byte seed (the public half is derived). */
int ap_ssh_key_from_seed(const uint8_t seed[AP_SSH_ED25519_LEN], const char *comment, struct ap_ssh_key **ret,
                         struct ap_error *err) _warn_unused_;

/* Wipe and free; accepts NULL, returns NULL. */
struct ap_ssh_key *ap_ssh_key_free(struct ap_ssh_key *k);
AP_DEFINE_CLEANUP(struct ap_ssh_key *, ap_ssh_key_free)

/* Append the private key as an OpenSSH PEM file ("-----BEGIN OPENSSH PRIVATE KEY-----", ending in a
 * newline), as `ssh-keygen -t ed25519 -N ''` writes it. The output is a function of the key alone
 * (the check integers are derived from the public key), so writing the same key twice gives the same
 * bytes. out should be a secret buffer. */
int ap_ssh_key_write_private(const struct ap_ssh_key *k, struct ap_buf *out,
                             struct ap_error *err) _warn_unused_;

/* Append "ssh-ed25519 <base64 blob>[ <comment>]" (no newline). Not _warn_unused_ yet: test/git and
 * src/forge/local.c ignore its result (-ENOMEM, -E2BIG), which they should check first. */
int ap_ssh_key_write_public(const struct ap_ssh_key *k, struct ap_buf *out);

/* Append the public key's wire blob (string "ssh-ed25519", string pub). */
int ap_ssh_key_public_blob(const struct ap_ssh_key *k, struct ap_buf *out) _warn_unused_;

/* Parse an unencrypted OpenSSH ed25519 private-key file. Text that is no OpenSSH private key fails with
 * AP_E_INVALID, a damaged one with AP_E_CORRUPT, encrypted keys and other key types with AP_E_UNSUPPORTED,
 * more than AP_SSH_KEYFILE_MAX bytes with AP_E_TOO_LARGE; the message says which. */
int ap_ssh_key_parse_private(const char *text, size_t len, struct ap_ssh_key **ret,
                             struct ap_error *err) _warn_unused_;

/* Sign msg with the plain ed25519 algorithm (RFC 8032); sig receives 64 bytes. */
int ap_ssh_key_sign_raw(const struct ap_ssh_key *k, const void *msg, size_t len, uint8_t sig[64],
                        struct ap_error *err) _warn_unused_;

/* A public key of any type as written in authorized_keys / known_hosts: "<type> <base64 blob> [comment]". */
struct ap_ssh_pubkey {
        char type[AP_SSH_KEYTYPE_MAX + 1];
        struct ap_buf blob; /* the decoded wire blob; its first string equals type */
        struct ap_buf comment;
};

void ap_ssh_pubkey_init(struct ap_ssh_pubkey *p);
void ap_ssh_pubkey_release(struct ap_ssh_pubkey *p);

/* Parse one public-key line (leading/trailing blanks and a trailing newline allowed). p is initialised
 * by the caller; on failure it is left empty. A malformed line fails with AP_E_INVALID, one longer than
 * AP_SSH_PUBLINE_MAX with AP_E_TOO_LARGE. */
int ap_ssh_pubkey_parse(const char *line, size_t len, struct ap_ssh_pubkey *p,
                        struct ap_error *err) _warn_unused_;

/* Same key: type and blob equal (the comment is ignored). */
bool ap_ssh_pubkey_equal(const struct ap_ssh_pubkey *a, const struct ap_ssh_pubkey *b);

/* Append "<type> <base64 blob>" of a parsed key (no comment, no newline). Not _warn_unused_ yet: see
 * ap_ssh_key_write_public. */
int ap_ssh_pubkey_write(const struct ap_ssh_pubkey *p, struct ap_buf *out);

/* Append a known_hosts line for host and port: "host <type> <base64>" for port 22, "[host]:port <type>
 * <base64>" otherwise (OpenSSH's form, which Flux's knownhosts parser expects), ending in a newline.
 * host must be a plain name or address without spaces, commas, brackets or wildcards. */
int ap_ssh_known_hosts_line(const char *host, unsigned port, const struct ap_ssh_pubkey *key,
                            struct ap_buf *out, struct ap_error *err) _warn_unused_;
