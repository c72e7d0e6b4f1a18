/* known_hosts.h - pinned SSH host keys: parse OpenSSH known_hosts text (sshd(8) "SSH_KNOWN_HOSTS FILE
 * FORMAT": pattern lists with wildcards and negation, "[host]:port", hashed "|1|" names, @revoked) and
 * decide whether a server's host key is one we trust. Only the pinned text counts, never ~/.ssh. */
#pragma once

#include <stddef.h>

#include "base/error.h"

#define AP_KNOWN_HOSTS_MAX ((size_t)1 << 20) /* a pinned set is a few lines; 1 MiB is plenty */

struct ap_known_hosts;

/* Parse known_hosts text. Blank lines and '#' comments are skipped; @cert-authority lines are ignored
 * (certificates are not supported); any malformed line fails with -EINVAL naming its line number. */
int ap_known_hosts_parse(const char *text, size_t len, struct ap_known_hosts **ret,
                         struct ap_error *err) _warn_unused_;

struct ap_known_hosts *ap_known_hosts_free(struct ap_known_hosts *kh);
AP_DEFINE_CLEANUP(struct ap_known_hosts *, ap_known_hosts_free)

/* Number of usable host-key lines parsed. */
size_t ap_known_hosts_count(const struct ap_known_hosts *kh);

/* Write into out (NUL-terminated, comma-separated, first-seen order, no duplicates) the key types of the
 * non-revoked lines naming host:port, e.g. "ssh-ed25519,ecdsa-sha2-nistp256"; "" when none. Lets an SSH
 * client ask the server for a host key type it can check. */
void ap_known_hosts_types(const struct ap_known_hosts *kh, const char *host, unsigned port, char *out,
                          size_t outlen);

/* Check the host key blob (SSH wire format, as the server sent it) of host:port.
 *   0            a line for this host carries exactly this key
 *   -EKEYREVOKED the key is marked @revoked for this host
 *   -EKEYREJECTED lines for this host exist but none has this key (possible man-in-the-middle)
 *   -ENOKEY      no line names this host
 * The message says which and shows the key's SHA256 fingerprint as ssh-keygen -l prints it. */
int ap_known_hosts_check(const struct ap_known_hosts *kh, const char *host, unsigned port, const void *blob,
                         size_t len, struct ap_error *err) _warn_unused_;
