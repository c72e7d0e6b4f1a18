/* operator.h - the App Platform operator process: informers on registrations, managed secrets and the
 * platform's Flux objects; the registration and managed-secret controllers keyed by app; leader election,
 * /metrics, /healthz, /readyz; runs until SIGTERM/SIGINT (then drains) or lost leadership. */
#pragma once

#include "base/error.h"
#include "kube/client.h"
#include "operator/config.h"

/* Run the operator with cfg against the apiserver behind kube (both borrowed for the call). Reads the
 * credentials Secrets named by cfg first and fails with a message naming the flag and the Secret when one
 * cannot be read. Returns 0 after a clean shutdown. identity names this process in the Lease and in
 * Events (e.g. the pod name). */
_warn_unused_ int ap_operator_run(const struct ap_op_config *cfg, struct ap_kube_client *kube,
                                  const char *identity, struct ap_error *err);
