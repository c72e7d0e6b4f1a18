# test/e2e/oplib.sh - helpers of the operator's end-to-end scripts (operator.sh, disaster.sh): start and
# stop an operator process of our own, read its metrics, register apps, write managed secrets. Sourced
# after lib.sh. The caller sets: tmp (its folder), OPNS (operator namespace), SEL (the label selector of
# its registrations, "e2e.labrats.work/run=<id>"), id, CLUSTER_RCP, FLUX_REPO (URL of the Flux repo),
# FORGE/GIT_PORT/GIT_USER (e2e_gitserver). VALUES collects every secret value written.

OP_PID=
VALUES=()

# operator_as_sa: from now on start_operator runs the operator as its own ServiceAccount in $OPNS with
# exactly the permissions of deploy/operator-rbac.yaml (the ClusterRole bound to it, the leader-election
# Role in $OPNS), through a token from the TokenRequest API: the e2e then proves those permissions suffice.
operator_as_sa() {
  kubectl apply --server-side -f "$SRCDIR/deploy/operator-rbac.yaml" >/dev/null 2>&1 # the ClusterRole (the
  # namespaced parts target app-platform-system, which may not exist: applied below for $OPNS)
  kubectl -n "$OPNS" create serviceaccount app-platform-operator >/dev/null || return 1
  kubectl create clusterrolebinding "app-platform-operator-$OPNS" --clusterrole=app-platform-operator \
    --serviceaccount="$OPNS:app-platform-operator" >/dev/null || return 1
  kubectl -n "$OPNS" create role app-platform-operator-leader-election --verb=create --resource=leases.coordination.k8s.io \
    >/dev/null || return 1
  kubectl -n "$OPNS" create role app-platform-operator-lease --verb=get,watch,update,patch \
    --resource=leases.coordination.k8s.io --resource-name=app-platform-operator >/dev/null || return 1
  for r in app-platform-operator-leader-election app-platform-operator-lease; do
    kubectl -n "$OPNS" create rolebinding "$r" --role="$r" --serviceaccount="$OPNS:app-platform-operator" >/dev/null ||
      return 1
  done
  local token
  token=$(kubectl -n "$OPNS" create token app-platform-operator --duration=3h) || return 1
  kubectl config view --raw --minify >"$tmp/operator.kubeconfig" || return 1
  local user
  user=$(kubectl --kubeconfig "$tmp/operator.kubeconfig" config view -o jsonpath='{.contexts[0].context.user}')
  kubectl --kubeconfig "$tmp/operator.kubeconfig" config unset "users.$user" >/dev/null &&
    kubectl --kubeconfig "$tmp/operator.kubeconfig" config set-credentials "$user" --token="$token" >/dev/null ||
    return 1
  OPERATOR_KUBECONFIG=$tmp/operator.kubeconfig
}

# start_operator EXTRA-FLAG...: start the operator (log appended to ${OP_LOG:-$tmp/operator.log}) and
# wait for /readyz; sets OP_PID, METRICS_PORT, HEALTH_PORT. KUBECONFIG selects the cluster.
start_operator() {
  local log=${OP_LOG:-$tmp/operator.log}
  touch "$log"
  local from
  from=$(($(wc -l <"$log" 2>/dev/null || echo 0) + 1))
  "$APP_PLATFORM_BIN" operator ${OPERATOR_KUBECONFIG:+--kubeconfig "$OPERATOR_KUBECONFIG"} --namespace "$OPNS" --forge local --local-repos-dir "$FORGE" \
    --forge-clone-url "ssh://$GIT_USER@127.0.0.1:$GIT_PORT$FORGE/{repo}.git" \
    --forge-known-hosts-secret forge-known-hosts --flux-repo-url "$FLUX_REPO" \
    --cluster-age-recipient "$CLUSTER_RCP" --cache-dir "$tmp/cache${CACHE_SUFFIX:-}" --watch-label-selector "$SEL" \
    --metrics-addr 127.0.0.1:0 --health-addr 127.0.0.1:0 --log-format json --resync-interval 15s \
    "$@" >>"$log" 2>&1 &
  OP_PID=$!
  local port
  for _ in $(seq 100); do
    port=$(tail -n "+$from" "$log" | grep -o 'serving /metrics on port [0-9]*' | tail -1 | grep -o '[0-9]*$')
    [ -n "$port" ] && break
    kill -0 "$OP_PID" 2>/dev/null || return 1
    sleep 0.1
  done
  [ -n "$port" ] || return 1
  METRICS_PORT=$port
  HEALTH_PORT=$(tail -n "+$from" "$log" | grep -o '/readyz on port [0-9]*' | tail -1 | grep -o '[0-9]*$')
  wait_for 60 curl -fs "127.0.0.1:$HEALTH_PORT/readyz"
}
metric() { curl -fs "127.0.0.1:$METRICS_PORT/metrics" | awk -v m="$1" '$1 == m { print $2 }'; }

register() { # register APP NS... [-- access yaml]
  local app=$1
  shift
  cat <<EOF | kubectl apply -f - >/dev/null
apiVersion: labrats.work/v1alpha1
kind: AppPlatformRegistration
metadata:
  name: $app
  labels: {e2e.labrats.work/run: "$id"}
spec:
  namespaces: [$(IFS=,; echo "$*")]
  access:
    - {group: $app-admins, role: admin}
    - {group: $app-readers, role: reader}
EOF
}
# managed_secret APP NAME TARGETS KEY=VALUE...
managed_secret() {
  local app=$1 name=$2 targets=$3
  shift 3
  local args=()
  for kv in "$@"; do args+=(--from-literal="$kv"); VALUES+=("${kv#*=}"); done
  kubectl create secret generic -n "$app-platform" "$name" "${args[@]}" --dry-run=client -o json |
    jq --arg t "$targets" '.metadata.labels={"labrats.work/managed-secret":"true","labrats.work/app":"'"$app"'"}
        | .metadata.annotations={"labrats.work/target-namespaces":$t,"labrats.work/requested-by":"e2e-user"}' |
    kubectl apply -f - >/dev/null
}
ann() { kubectl get secret -n "$1" "$2" -o jsonpath="{.metadata.annotations.labrats\.work/$3}" 2>/dev/null; }
repo_clone() { rm -rf "$2"; git clone -q "$FORGE/$1-platform.git" "$2" 2>/dev/null; }
cond() { kubectl get apr "$1" -o jsonpath="{.status.conditions[?(@.type==\"$2\")].status}" 2>/dev/null; }
cond_msg() { kubectl get apr "$1" -o jsonpath="{.status.conditions[?(@.type==\"$2\")].message}" 2>/dev/null; }

# e2e_platform: the SSH Git server, a bare Flux repo (FLUX_REPO=$tmp/flux.git), the cluster age key
# ($tmp/cluster.agekey, CLUSTER_RCP), the CRD and ClusterRoles, the operator namespace $OPNS with the
# forge's known_hosts Secret; SEL selects this run's registrations. Bails out on failure.
e2e_platform() {
  SEL="e2e.labrats.work/run=$id"
  e2e_gitserver "$tmp" || bail "the SSH Git server did not start"
  FLUX_REPO=$tmp/flux.git
  git init -q --bare -b main "$FLUX_REPO" || bail "cannot create the Flux repo"
  "$APP_PLATFORM_BIN" age keygen -o "$tmp/cluster.agekey" 2>/dev/null || bail "age keygen failed"
  CLUSTER_RCP=$("$APP_PLATFORM_BIN" age keygen -y "$tmp/cluster.agekey")
  kubectl apply --server-side -f "$SRCDIR/deploy/crd.yaml" -f "$SRCDIR/deploy/clusterroles.yaml" >/dev/null ||
    bail "cannot install the CRD and ClusterRoles"
  kubectl wait --for=condition=Established crd/appplatformregistrations.labrats.work --timeout=60s >/dev/null ||
    bail "the CRD is not established"
  kubectl create namespace "$OPNS" >/dev/null || bail "cannot create the operator namespace"
  kubectl -n "$OPNS" create secret generic forge-known-hosts --from-file=known_hosts="$GIT_KNOWN_HOSTS" >/dev/null ||
    bail "cannot create the known_hosts Secret"
}

# e2e_cleanup APP...: what a test leaves on a shared control plane (registrations, Flux objects, managed
# secrets, the apps' namespaces and $OPNS, the operator's ClusterRoleBinding), removed without the operator.
e2e_cleanup() {
  local app s
  for app in "$@"; do
    kubectl patch apr "$app" --type merge -p '{"metadata":{"finalizers":null}}' >/dev/null 2>&1
    kubectl delete apr "$app" --wait=false >/dev/null 2>&1
    kubectl delete kustomization,gitrepository --all -n "$app-platform" --wait=true --timeout=30s >/dev/null 2>&1
    for s in $(kubectl get secret -n "$app-platform" -l labrats.work/managed-secret=true -o name 2>/dev/null); do
      kubectl patch -n "$app-platform" "$s" --type merge -p '{"metadata":{"finalizers":null}}' >/dev/null 2>&1
    done
    kubectl delete namespace "$app-platform" "$app-dev" "$app-prod" --wait=false >/dev/null 2>&1
  done
  kubectl delete namespace "$OPNS" --wait=false >/dev/null 2>&1
  kubectl delete clusterrolebinding "app-platform-operator-$OPNS" --ignore-not-found >/dev/null 2>&1
}

stop_operator() {
  [ -n "$OP_PID" ] || return 0
  kill -TERM "$OP_PID" 2>/dev/null
  for _ in $(seq 100); do kill -0 "$OP_PID" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$OP_PID" 2>/dev/null
  wait "$OP_PID" 2>/dev/null
  OP_PID=
}
