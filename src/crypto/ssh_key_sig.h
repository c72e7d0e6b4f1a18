/* ssh_key_sig.h - SSH signatures ("SSHSIG", OpenSSH PROTOCOL.sshsig) made with an ed25519 key: what
 * `ssh-keygen -Y sign -n <namespace>` writes, and what git puts in a commit's gpgsig header when
 * gpg.format=ssh. Verifiable with `ssh-keygen -Y verify` and `git log --show-signature`. */
#pragma once

#include <stddef.h>

#include "base/buf.h"
#include "base/error.h"
#include "crypto/ssh_key.h"

/* Sign msg (hash sha512) under namespace (git uses "git") and append the armored signature:
 * "-----BEGIN SSH SIGNATURE-----\n<base64 wrapped at 70>\n-----END SSH SIGNATURE-----" without a final
 * newline (callers that write a file add one). */
int ap_ssh_key_sshsig(const struct ap_ssh_key *k, const char *namespace_, const void *msg, size_t len,
                      struct ap_buf *out, struct ap_error *err) _warn_unused_;
