#!/usr/bin/env bash
# test/e2e/oidc.sh - TAP: OIDC clients end to end against the real control plane, the real operator
# process and the real Flux of tools/testenv/flux-up. Authelia itself is not run here (it cannot be built
# from the module proxy here; see docs/oidc.md);
# its namespace holds a Deployment named authelia with no replicas, which the operator rolls. Checks:
#   a labelled Secret gets a generated clientSecret and oidc-status Registered; the rendered file passes
#   the contract of Authelia v4.39.20 (authelia-contract: keys, values, https redirect URIs, digests
#   that verify the plaintexts); the Deployment carries the file's hash
#   1, 2 and 20 clients from 3 apps, sorted; conflict, bad hostname, bad callback path refused with a
#   clear Error status and an Event, nothing registered
#   a reconcile and a restart with nothing new: the file byte-identical, the Deployment not rolled, no
#   write; rotating one secret re-hashes that client only; deleting a Secret removes its client and rolls
#   target-namespaces: Flux delivers clientSecret, client-id, issuer-url, callback-url to each target;
#   the secret-reader Role names the OIDC Secret; removing the client prunes the delivered Secrets
#   --authelia-deployment "": Registered once the Secret is written, nothing rolled
#   no client secret in the operator's log, Events or the rendered file
set -uo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/oplib.sh"
[ -x "${AUTHELIA_CONTRACT:-}" ] || bail "AUTHELIA_CONTRACT is not set to the authelia-contract program"

tmp=$(mktemp -d /tmp/e2e-oidc.XXXXXX) || bail "mktemp failed"
id=$(uniq_suffix)
A=oa$id B=ob$id C=oc$id OPNS=ops-$id AU=au-$id
DOMAIN=e2e.test ISSUER=https://id.e2e.test
APPS="$A $B $C"

cleanup() {
  stop_operator
  for app in $APPS; do
    kubectl patch apr "$app" --type merge -p '{"metadata":{"finalizers":null}}' >/dev/null 2>&1
    kubectl delete apr "$app" --wait=false >/dev/null 2>&1
    kubectl delete kustomization,gitrepository --all -n "$app-platform" --wait=true --timeout=30s >/dev/null 2>&1
    for s in $(kubectl get secret -n "$app-platform" -o name 2>/dev/null); do
      kubectl patch -n "$app-platform" "$s" --type merge -p '{"metadata":{"finalizers":null}}' >/dev/null 2>&1
    done
    kubectl delete namespace "$app-platform" "$app-dev" "$app-prod" --wait=false >/dev/null 2>&1
  done
  kubectl delete namespace "$OPNS" "$AU" --wait=false >/dev/null 2>&1
  "$GITSERVER" stop "$tmp/srv" >/dev/null 2>&1
  [ -n "${KEEP_TMP:-}" ] || rm -rf "$tmp"
}
trap cleanup EXIT

e2e_platform
operator_as_sa || bail "cannot give the operator its ServiceAccount and RBAC"
kubectl create namespace "$AU" >/dev/null || bail "cannot create the Authelia namespace"
cat <<EOF | kubectl apply -f - >/dev/null || bail "cannot create the Authelia Deployment"
apiVersion: apps/v1
kind: Deployment
metadata: {name: authelia, namespace: $AU}
spec:
  replicas: 0
  selector: {matchLabels: {app: authelia}}
  template:
    metadata: {labels: {app: authelia}}
    spec: {containers: [{name: authelia, image: authelia/authelia:4.39}]}
EOF

OIDC_FLAGS=(--authelia-namespace "$AU" --base-domain "$DOMAIN" --oidc-issuer-url "$ISSUER")

# oidc_secret APP NAME CLIENT_ID KEY=VALUE... [-- ANNOTATION=VALUE...]: an OIDC client Secret.
# With OIDC_NS set: a platform client in that namespace (no labrats.work/app label).
oidc_secret() {
  local app=$1 name=$2 cid=$3 anns='{}' ns=${OIDC_NS:-$1-platform}
  shift 3
  local args=()
  while [ $# -gt 0 ] && [ "$1" != -- ]; do args+=(--from-literal="$1"); shift; done
  [ "${1:-}" = -- ] && shift
  for kv in "$@"; do anns=$(jq -c --arg k "labrats.work/${kv%%=*}" --arg v "${kv#*=}" '. + {($k): $v}' <<<"$anns"); done
  kubectl create secret generic -n "$ns" "$name" "${args[@]}" --dry-run=client -o json |
    jq --argjson a "$anns" --arg c "$cid" --arg app "${OIDC_NS:+-}$app" \
      '.metadata.labels={"labrats.work/oidc-client":$c} | .metadata.annotations=$a
       | if $app | startswith("-") then . else .metadata.labels["labrats.work/app"]=$app end' |
    kubectl apply -f - >/dev/null
}
status() { ann "$1-platform" "$2" oidc-status; }
status_is() { [ "$(status "$1" "$2")" = "$3" ]; }
client_secret() { secret_value "$1-platform" "$2" clientSecret; }
clients_file() { kubectl get secret -n "$AU" authelia-oidc-clients -o jsonpath='{.data.clients\.yml}' 2>/dev/null | base64 -d; }
rolled_hash() { kubectl get deploy -n "$AU" authelia -o jsonpath='{.spec.template.metadata.annotations.labrats\.work/oidc-clients-hash}'; }
deploy_rv() { kubectl get deploy -n "$AU" authelia -o jsonpath='{.metadata.resourceVersion}'; }
# plaintexts: "client_id<TAB>clientSecret" of every Registered OIDC Secret of the three apps (for the
# contract checker's stdin; never on a command line).
plaintexts() {
  for ns in $(printf '%s-platform ' $APPS) "$OPNS"; do
    kubectl get secret -n "$ns" -l labrats.work/oidc-client -o json 2>/dev/null |
      jq -r '.items[] | select(.metadata.annotations["labrats.work/oidc-status"] == "Registered")
        | "\(.metadata.labels["labrats.work/oidc-client"])\t\(.data.clientSecret | @base64d)"'
  done
}
# contract N: the rendered file holds N clients and passes Authelia's contract with every plaintext.
contract() {
  clients_file >"$tmp/clients.yml" && "$AUTHELIA_CONTRACT" "$tmp/clients.yml" --expect "$1" < <(plaintexts)
}
hash_matches() { [ "$(rolled_hash)" = "$(sha256sum <"$tmp/clients.yml" | cut -d' ' -f1)" ]; }
# registered APP NAME...: every named Secret of APP is Registered.
registered() {
  local app=$1
  shift
  for s in "$@"; do status_is "$app" "$s" Registered || return 1; done
}
events_of() {
  kubectl get events.events.k8s.io -n "$1-platform" --field-selector "regarding.name=$2" -o json 2>/dev/null |
    jq -r '.items[] | "\(.reason): \(.note)"'
}

start_operator "${OIDC_FLAGS[@]}" || bail "the operator did not start: $(tail -5 "$tmp/operator.log")"
ok "the operator starts and is ready"
register "$A" "$A-dev" "$A-prod"
register "$B" "$B-dev"
register "$C" "$C-dev"
for app in $APPS; do wait_for 60 kubectl get ns "$app-platform" || bail "no namespace $app-platform"; done

# --- 1. one client --------------------------------------------------------------------------------------
oidc_secret "$A" web "$A-web" hostname="web.$A.$DOMAIN"
check "a labelled Secret becomes Registered" wait_for 60 status_is "$A" web Registered
sec=$(client_secret "$A" web)
check "... with a generated clientSecret of >= 64 URL-safe characters" \
  eval "[[ \${#sec} -ge 64 && \$sec =~ ^[A-Za-z0-9_-]+\$ ]]"
check "the rendered file passes Authelia's contract (1 client, its digest verifies the secret)" contract 1
check "... and Authelia's Deployment carries its hash" hash_matches
grep -q "redirect_uris:" "$tmp/clients.yml" && grep -q "https://web.$A.$DOMAIN/api/auth/oidc/callback" "$tmp/clients.yml"
check "... the redirect URI is https://<hostname>/api/auth/oidc/callback (the default callbackPath)" test $? = 0
check "... an Event says it is registered" eval "events_of $A web | grep -q '^OIDCRegistered'"

# --- 2. two clients, then 20 from three apps ----------------------------------------------------------------
oidc_secret "$B" portal "$B-portal" hostname="$B.$DOMAIN" callbackPath=/oauth2/callback \
  authorizationPolicy=one_factor tokenEndpointAuthMethod=client_secret_post clientName="B portal"
check "a second app's client becomes Registered" wait_for 60 status_is "$B" portal Registered
check "the file holds both and passes the contract" contract 2
check "... with the custom callbackPath, policy and method" \
  eval "grep -q 'https://$B.$DOMAIN/oauth2/callback' $tmp/clients.yml && grep -q one_factor $tmp/clients.yml && grep -q client_secret_post $tmp/clients.yml"
cp "$tmp/clients.yml" "$tmp/two.yml"
for i in $(seq 1 6); do
  oidc_secret "$A" "a$i" "$A-c$i" hostname="a$i.$A.$DOMAIN"
  oidc_secret "$B" "b$i" "$B-c$i" hostname="b$i.$B.$DOMAIN"
  oidc_secret "$C" "c$i" "$C-c$i" hostname="c$i.$C.$DOMAIN"
done
all_registered() {
  registered "$A" web a1 a2 a3 a4 a5 a6 && registered "$B" portal b1 b2 b3 b4 b5 b6 &&
    registered "$C" c1 c2 c3 c4 c5 c6
}
t0=$(date +%s%N)
if wait_for 120 all_registered; then ok "20 clients from 3 apps become Registered ($(ms_since "$t0") ms)"; else
  not_ok "20 clients from 3 apps become Registered" "$(for a in $APPS; do kubectl get secret -n "$a-platform" -o json | jq -r '.items[] | "\(.metadata.name) \(.metadata.annotations["labrats.work/oidc-status"])"'; done)"
fi
check "the file holds all 20, sorted by client_id, and passes the contract" contract 20
check "... and the Deployment carries the new hash" hash_matches
two_kept() {
  for cid in "$A-web" "$B-portal"; do
    [ "$(grep -A2 "client_id: $cid\$" "$tmp/two.yml" | grep client_secret)" = "$(grep -A2 "client_id: $cid\$" "$tmp/clients.yml" | grep client_secret)" ] || return 1
  done
}
check "... the first two clients kept their digests byte for byte" two_kept

# --- 3. refusals ----------------------------------------------------------------------------------------------
cp "$tmp/clients.yml" "$tmp/before.yml"
oidc_secret "$C" steal "$A-web" hostname="x.$C.$DOMAIN"
oidc_secret "$C" badhost "$C-bad" hostname="evil.example.com"
oidc_secret "$B" badcb "$B-cb" hostname="cb.$B.$DOMAIN" callbackPath=callback
check "the same client_id in another app is refused" \
  wait_for 30 eval "status $C steal | grep -q \"^Error: client_id '$A-web' is already registered by app '$A'\""
check "a hostname outside the app's domain is refused" \
  wait_for 30 eval "status $C badhost | grep -q \"^Error: hostname 'evil.example.com' is not in the app's domain: use '$C.$DOMAIN'\""
check "a relative callbackPath is refused" \
  wait_for 30 eval "status $B badcb | grep -q \"^Error: callbackPath 'callback' is not an absolute path\""
check "... each with an OIDCRejected Event" \
  eval "events_of $C steal | grep -q '^OIDCRejected' && events_of $C badhost | grep -q '^OIDCRejected' && events_of $B badcb | grep -q '^OIDCRejected'"
check "... nothing of them is registered: the file is unchanged" eval "clients_file | cmp -s - $tmp/before.yml"
check "... and no clientSecret was generated for them" \
  eval "[ -z \"\$(client_secret $C steal)\" ] && [ -z \"\$(client_secret $C badhost)\" ]"
check "the owner of the client_id is still Registered" status_is "$A" web Registered

# --- 4. nothing new: byte-identical, not rolled ------------------------------------------------------------
sleep 2
rv0=$(deploy_rv) hash0=$(rolled_hash)
kubectl label secret -n "$A-platform" web e2e.labrats.work/touched=1 >/dev/null # a change of nothing we render
sleep 3
check "a reconcile with nothing new leaves the file byte-identical" eval "clients_file | cmp -s - $tmp/before.yml"
check "... and does not roll the Deployment" test "$(deploy_rv) $(rolled_hash)" = "$rv0 $hash0"
stop_operator
start_operator "${OIDC_FLAGS[@]}" || bail "the operator did not restart"
sleep 10 # every app and the Authelia file reconciled at least once (20 digests verified from scratch)
check "a restart with nothing new leaves the file byte-identical" eval "clients_file | cmp -s - $tmp/before.yml"
check "... does not roll the Deployment" test "$(deploy_rv) $(rolled_hash)" = "$rv0 $hash0"
writes=$(metric app_platform_kube_writes_total)
check "... and writes nothing (app_platform_kube_writes_total=$writes)" test "${writes:-x}" = 0
check "... the statuses stay Registered" all_registered

# --- 5. rotation, deletion --------------------------------------------------------------------------------
old=$(client_secret "$C" c3)
kubectl patch secret -n "$C-platform" c3 --type json -p '[{"op":"remove","path":"/data/clientSecret"}]' >/dev/null
check "removing clientSecret makes the operator generate a new one" \
  wait_for 60 eval "s=\$(client_secret $C c3); [ -n \"\$s\" ] && [ \"\$s\" != '$old' ]"
check "... which becomes Registered again" wait_for 60 status_is "$C" c3 Registered
check "... the file passes the contract with the new secret" contract 20
only_c3() {
  diff <(grep -v "client_secret" "$tmp/before.yml") <(grep -v client_secret "$tmp/clients.yml") >/dev/null &&
    [ "$(diff <(grep client_secret "$tmp/before.yml") <(grep client_secret "$tmp/clients.yml") | grep -c '^>')" = 1 ]
}
check "... only that client's digest changed" only_c3
check "... and Authelia was rolled" eval "[ \"\$(rolled_hash)\" != '$hash0' ] && hash_matches"
hash1=$(rolled_hash)
kubectl delete secret -n "$B-platform" b6 >/dev/null
check "deleting a client's Secret removes it from the file" wait_for 60 eval "contract 19 >/dev/null"
check "... and rolls Authelia" eval "[ \"\$(rolled_hash)\" != '$hash1' ] && hash_matches"

# --- 6. delivery through Flux ------------------------------------------------------------------------------
kubectl wait --for=condition=Ready "apr/$A" --timeout=120s >/dev/null 2>&1 || note "registration $A not Ready"
kubectl annotate secret -n "$A-platform" web "labrats.work/target-namespaces=$A-dev,$A-prod" >/dev/null
kubectl annotate secret -n "$A-platform" a1 "labrats.work/target-namespaces=$A-dev" labrats.work/target-name=oidc-a1 >/dev/null
sec=$(client_secret "$A" web)
delivered() {
  for ns in "$A-dev" "$A-prod"; do
    secret_is "$ns" web clientSecret "$sec" && secret_is "$ns" web client-id "$A-web" &&
      secret_is "$ns" web issuer-url "$ISSUER" &&
      secret_is "$ns" web callback-url "https://web.$A.$DOMAIN/api/auth/oidc/callback" || return 1
  done
}
t0=$(date +%s%N)
if wait_for 90 delivered; then ok "Flux delivers clientSecret, client-id, issuer-url, callback-url to both targets ($(ms_since "$t0") ms)"; else
  not_ok "Flux delivers the client's values to both targets" "$(kubectl get secret -n "$A-platform" web -o yaml | sed -n '/annotations/,/labels/p'; tail -3 "$tmp/operator.log")"
fi
check "... under labrats.work/target-name when given" wait_for 60 secret_is "$A-dev" oidc-a1 clientSecret "$(client_secret "$A" a1)"
check "... the OIDC Secret is Committed like a managed secret and still Registered" \
  eval "[ \"\$(ann $A-platform web committed)\" = true ] && status_is $A web Registered"
check "... no clear value in the platform repo" \
  eval "rm -rf $tmp/r && git clone -q $FORGE/$A-platform.git $tmp/r && [ -f $tmp/r/secrets/$A-dev/web.sops.yaml ] && ! grep -rqF -- '$sec' $tmp/r"
check "the secret-reader Role names the OIDC Secrets" \
  wait_for 30 eval "kubectl get role -n $A-platform secret-reader -o jsonpath='{.rules[0].resourceNames}' | grep -q '\"web\"'"
kubectl delete secret -n "$A-platform" web --wait=false >/dev/null
check "deleting the delivered client prunes it from both targets" wait_for 90 eval "secret_gone $A-dev web && secret_gone $A-prod web"
check "... the Secret goes (the finalizer is released)" wait_for 30 secret_gone "$A-platform" web
check "... so the client_id is free: the other app's claim is now Registered" wait_for 60 status_is "$C" steal Registered
check "... and the file holds it for the new owner" \
  wait_for 30 eval "contract 19 >/dev/null && grep -A8 'client_id: $A-web\$' $tmp/clients.yml | grep -q 'https://x.$C.$DOMAIN/'"

# --- 7. --authelia-deployment "": no rollout ------------------------------------------------------------------
stop_operator
start_operator "${OIDC_FLAGS[@]}" --authelia-deployment "" || bail "the operator did not restart"
rv0=$(deploy_rv)
oidc_secret "$B" late "$B-late" hostname="late.$B.$DOMAIN"
check "without a Deployment to roll, a client is Registered once the file is written" wait_for 60 status_is "$B" late Registered
check "... the file holds it" eval "contract 20 >/dev/null && grep -q 'client_id: $B-late\$' $tmp/clients.yml"
check "... and the Deployment was not touched" test "$(deploy_rv)" = "$rv0"

# --- 7b. a platform client: the dashboard's own, in the operator namespace, with refresh tokens -------------
OIDC_NS=$OPNS oidc_secret - dashboard-oidc "$OPNS-dashboard" hostname="dashboard.$DOMAIN" \
  callbackPath=/auth/callback offlineAccess=true clientName="App Platform"
check "a platform client (an OIDC Secret in the operator namespace) becomes Registered" \
  wait_for 60 eval "[ \"\$(ann $OPNS dashboard-oidc oidc-status)\" = Registered ]"
psec=$(secret_value "$OPNS" dashboard-oidc clientSecret)
check "... with a generated clientSecret the dashboard mounts from that Secret" test "${#psec}" -ge 64
check "the file holds it too and passes the contract" eval "contract 21 >/dev/null"
# entry ID: the client's lines of the file
entry() { grep -A22 "client_id: $1\$" "$tmp/clients.yml" | awk 'NR > 1 && /^    - client_id/ { exit } { print }'; }
entry=$(entry "$OPNS-dashboard")
check "... with https://dashboard.<base-domain>/auth/callback" grep -q "https://dashboard.$DOMAIN/auth/callback" <<<"$entry"
check "... offlineAccess: the scope offline_access and the grant refresh_token" \
  eval "grep -q -- '- offline_access' <<<\"\$entry\" && grep -q -- '- refresh_token' <<<\"\$entry\""
check "... an app's client without it has neither" \
  eval "entry $B-late | grep -q client_id && ! entry $B-late | grep -q 'offline_access\|refresh_token'"
OIDC_NS=$OPNS oidc_secret - dash-out "$OPNS-out" hostname=dashboard.example.com
OIDC_NS=$OPNS oidc_secret - dash-deliver "$OPNS-deliver" hostname="d2.$DOMAIN" -- target-namespaces="$A-dev"
check "a platform client outside the base domain is refused" \
  wait_for 60 eval "ann $OPNS dash-out oidc-status | grep -q \"^Error: hostname 'dashboard.example.com' is not in the platform's domain\""
check "... and one that asks to be delivered (the dashboard mounts its own)" \
  wait_for 60 eval "ann $OPNS dash-deliver oidc-status | grep -q '^Error: a platform client'"
check "... neither is in the file" eval "contract 21 >/dev/null && ! grep -q '$OPNS-out\|$OPNS-deliver' $tmp/clients.yml"

# --- 8. client secrets stay secret ------------------------------------------------------------------------------
stop_operator
for ns in $(printf '%s-platform ' $APPS) "$OPNS"; do kubectl get events.events.k8s.io -n "$ns" -o json; done >"$tmp/events.json" 2>/dev/null
kubectl get events.events.k8s.io -n "$AU" -o json >>"$tmp/events.json" 2>/dev/null
clients_file >"$tmp/final.yml"
kubectl get deploy -n "$AU" authelia -o json >"$tmp/deploy.json"
leak=
while IFS=$'\t' read -r cid s; do
  [ -n "$s" ] || continue
  for f in operator.log events.json final.yml before.yml deploy.json; do
    grep -qF -- "$s" "$tmp/$f" && leak="$leak $cid in $f"
  done
done < <(plaintexts; echo "$A-web	$sec"; echo "$C-c3	$old"; echo "$OPNS-dashboard	$psec")
check "no client secret in the operator's log, Events, the rendered file or the Deployment" test -z "$leak"
grep -q '"level":"error"' "$tmp/operator.log" && note "operator errors: $(grep '"level":"error"' "$tmp/operator.log" | head -3)"
finish
