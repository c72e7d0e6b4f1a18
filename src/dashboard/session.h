/* session.h - stateless sessions: a key ring read from a folder (a mounted Secret: one file per key, the
 * file name is the key id, at least 32 bytes of random content), cookies sealed with AES-256-GCM under the
 * newest key (random 12-byte IV, 16-byte tag demanded, key id and cookie name as associated data), opened
 * with any key still accepted: a key replaced by a newer one stays accepted for the grace period after
 * the newer one was first seen. The folder is re-read every 30 s, so a rotated Secret is picked up
 * without a restart. Also the CSRF token: HMAC-SHA256 over the session id, bound to the session.
 * Thread-safe. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "base/buf.h"
#include "base/error.h"

struct ap_dash_keyring;

/* dir NULL: one random key made now (a single replica; sessions end at restart). grace_s: how long a
 * replaced key is still accepted. */
int ap_dash_keyring_new(const char *dir, int64_t grace_s, struct ap_dash_keyring **ret, struct ap_error *err);
struct ap_dash_keyring *ap_dash_keyring_free(struct ap_dash_keyring *k);
AP_DEFINE_CLEANUP(struct ap_dash_keyring *, ap_dash_keyring_free);
/* Add a key from memory (tests; also what the folder loader uses). first_seen_s: wall seconds. */
int ap_dash_keyring_add(struct ap_dash_keyring *k, const char *kid, const void *material, size_t n,
                        int64_t first_seen_s, struct ap_error *err);
/* Re-read the folder now (normally done by itself every 30 s). */
int ap_dash_keyring_reload(struct ap_dash_keyring *k, struct ap_error *err);
/* The wall clock the ring uses (tests move it). NULL = real time. */
void ap_dash_keyring_set_clock(struct ap_dash_keyring *k, int64_t (*now_s)(void));

/* Seal payload (compact JSON) for cookie `name` into out: "v1.<kid>.<b64url(iv|ciphertext|tag)>". */
int ap_dash_seal(struct ap_dash_keyring *k, const char *name, const json_t *payload, struct ap_buf *out,
                 struct ap_error *err);
/* Open a sealed value: *ret gets the payload object (caller decrefs). -EBADMSG for anything tampered,
 * truncated, sealed under an unknown or retired key, or for another cookie name. Expiry is the caller's. */
int ap_dash_open(struct ap_dash_keyring *k, const char *name, const char *value, size_t len, json_t **ret,
                 struct ap_error *err);

/* The CSRF token of session id sid (b64url of HMAC-SHA256 under the newest key) appended to out. */
int ap_dash_csrf_token(struct ap_dash_keyring *k, const char *sid, struct ap_buf *out);
/* True when token is sid's token under any accepted key (constant-time compare). */
bool ap_dash_csrf_check(struct ap_dash_keyring *k, const char *sid, const char *token, size_t len);

/* n random bytes as b64url (for sids, state, nonce, PKCE verifiers). */
int ap_dash_random_b64url(size_t n, struct ap_buf *out);
