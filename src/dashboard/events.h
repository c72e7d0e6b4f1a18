/* events.h - the SSE hub: a ring of the last events (each with an increasing id, the app it concerns and
 * its JSON data), subscriptions filtered by the apps a user may see at subscribe time, replay after
 * Last-Event-ID while the ring still holds it (else a "resync" event), a heartbeat comment on every
 * stream each interval (a suspended HTTP stream cannot notice a gone client otherwise), and a limit of
 * streams per user. The transport (server.c) reads formatted bytes from a subscription and is told
 * through a notify callback when there are more. Thread-safe. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/error.h"

struct ap_dash_hub;
struct ap_dash_sub;

/* ring: events kept for replay (0 = 1024); heartbeat_ms: 0 = 15000. */
int ap_dash_hub_new(size_t ring, unsigned max_per_user, long heartbeat_ms, struct ap_dash_hub **ret,
                    struct ap_error *err);
/* Ends every stream first (see ap_dash_hub_close_all); subscriptions still held by the transport stay
 * valid until unreferenced. Accepts NULL. */
struct ap_dash_hub *ap_dash_hub_free(struct ap_dash_hub *h);
AP_DEFINE_CLEANUP(struct ap_dash_hub *, ap_dash_hub_free);

/* Publish event `name` about app (NULL: visible to platform admins only) with data (one line of JSON). */
void ap_dash_hub_publish(struct ap_dash_hub *h, const char *app, const char *name, const char *data);
/* The id the next event will get minus one (0 before any). */
uint64_t ap_dash_hub_last_id(struct ap_dash_hub *h);

/* Subscribe user (a stable key: the impersonated user name) to the events of apps (copied) and, for a
 * platform admin, of everything. last_event_id: the client's Last-Event-ID, or 0. -EUSERS when the user
 * already has the maximum of streams open. The subscription starts with one reference. */
int ap_dash_hub_subscribe(struct ap_dash_hub *h, const char *user, bool platform_admin,
                          const char *const *apps, size_t n_apps, uint64_t last_event_id,
                          struct ap_dash_sub **ret, struct ap_error *err);
/* Called (from any thread, with the hub's lock held: do not call back into the hub) when the
 * subscription has something to read or should end. */
void ap_dash_sub_set_notify(struct ap_dash_sub *s, void (*fn)(void *ud), void *ud);
/* Copy up to max formatted bytes out. Returns the count, 0 when nothing is pending (wait for notify), or
 * -1 once the stream should end (hub closing, or the subscription closed). */
ssize_t ap_dash_sub_read(struct ap_dash_sub *s, char *buf, size_t max);
/* True when a read would return something (or -1): check after deciding to wait, to close the race
 * with a notify that came in between. */
bool ap_dash_sub_ready(struct ap_dash_sub *s);
struct ap_dash_sub *ap_dash_sub_ref(struct ap_dash_sub *s);
/* Unsubscribes on the last reference. Accepts NULL. */
void ap_dash_sub_unref(struct ap_dash_sub *s);
/* Make every stream end (graceful shutdown). */
void ap_dash_hub_close_all(struct ap_dash_hub *h);
/* Open subscriptions. */
size_t ap_dash_hub_streams(struct ap_dash_hub *h);
