# tools/testenv/lib.sh - shared helpers of the control-plane scripts (up, down, restart-apiserver,
# compact): paths inside a state DIR, free loopback ports, starting, waiting for and stopping processes.
# Sourced, never run. State of one control plane: DIR/env (ports, binaries), DIR/*.pid, DIR/*.log.

testenv_die() {
  echo "tools/testenv: $*" >&2
  exit 1
}

# testenv_abs DIR: print DIR as an absolute path (DIR need not exist yet).
testenv_abs() {
  local d=$1
  while [ "${#d}" -gt 1 ] && [ "${d%/}" != "$d" ]; do d=${d%/}; done
  case "$d" in
    /*) printf '%s\n' "$d" ;;
    *) printf '%s/%s\n' "$(pwd)" "$d" ;;
  esac
}

# testenv_load DIR: read DIR/env written by up (ports and binary paths) into the shell.
testenv_load() {
  [ -f "$1/env" ] || testenv_die "'$1' holds no control plane (no '$1/env'); start one with tools/testenv/up"
  # shellcheck disable=SC1091
  . "$1/env"
}

# testenv_port_used PORT: true when something on this host has a TCP socket on PORT.
testenv_port_used() {
  local hex
  hex=$(printf ':%04X ' "$1")
  grep -q "$hex" /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

# testenv_free_ports N: print N distinct free loopback ports. Ports handed out in the last 10 minutes
# are remembered in a host-wide list (under a lock), so control planes started in parallel never pick
# the same port before their servers have bound it.
testenv_free_ports() {
  local n=$1 claims=/tmp/app-platform-testenv.ports now p got=()
  now=$(date +%s)
  exec {lockfd}>>"$claims.lock"
  flock "$lockfd"
  touch "$claims"
  # Forget claims older than 10 minutes.
  awk -v now="$now" '$2 + 600 > now' "$claims" >"$claims.new" && mv "$claims.new" "$claims"
  while [ ${#got[@]} -lt "$n" ]; do
    # Below the kernel's ephemeral range (32768+), so outgoing connections never hold them.
    p=$((10000 + (RANDOM * 32768 + RANDOM) % 22000))
    testenv_port_used "$p" && continue
    grep -q "^$p " "$claims" && continue
    case " ${got[*]} " in *" $p "*) continue ;; esac
    got+=("$p")
    echo "$p $now" >>"$claims"
  done
  flock -u "$lockfd"
  exec {lockfd}>&-
  echo "${got[*]}"
}

# testenv_start NAME DIR CMD...: start CMD in its own session with stdin from /dev/null and output to
# DIR/NAME.log (appended), and record its pid in DIR/NAME.pid.
testenv_start() {
  local name=$1 dir=$2
  shift 2
  setsid "$@" </dev/null >>"$dir/$name.log" 2>&1 &
  local pid=$! i
  echo "$pid" >"$dir/$name.pid"
  # Until the forked shell has exec'd the command, /proc/PID/cmdline is still the shell's and
  # testenv_alive would call the process gone: wait (up to 10 s) for the exec, or for its exit.
  for ((i = 0; i < 1000; i++)); do
    [ -r "/proc/$pid/cmdline" ] || break
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF "$dir/" && break
    ! testenv_zombie "$pid" || break
    sleep 0.01
  done
}

# testenv_alive NAME DIR: true when the process recorded in DIR/NAME.pid runs and is ours (its command
# line mentions DIR, so a recycled pid is never mistaken for it).
testenv_alive() {
  local pid
  pid=$(cat "$2/$1.pid" 2>/dev/null) || return 1
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF "$2/" || return 1
  # A zombie (exited, not yet reaped) counts as gone.
  ! testenv_zombie "$pid"
}

# testenv_zombie PID: true when PID has exited but is not reaped yet.
testenv_zombie() { [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" = Z ]; }

# testenv_stop NAME DIR: SIGTERM the process, wait up to 15 s, then SIGKILL; remove DIR/NAME.pid.
testenv_stop() {
  local name=$1 dir=$2 pid i
  if testenv_alive "$name" "$dir"; then
    pid=$(cat "$dir/$name.pid")
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 150; i++)); do
      testenv_alive "$name" "$dir" || break
      sleep 0.1
    done
    if testenv_alive "$name" "$dir"; then
      echo "tools/testenv: '$name' ignored SIGTERM for 15 s; sending SIGKILL" >&2
      kill -KILL "$pid" 2>/dev/null || true
      for ((i = 0; i < 50; i++)); do
        testenv_alive "$name" "$dir" || break
        sleep 0.1
      done
    fi
  fi
  rm -f "$dir/$name.pid"
}

# testenv_wait_http NAME DIR SECONDS CURL_ARGS...: poll until curl succeeds; fail early when the
# process NAME exits, and show the end of its log.
testenv_wait_http() {
  local name=$1 dir=$2 secs=$3 i
  shift 3
  for ((i = 0; i < secs * 5; i++)); do
    if curl -fsS -o /dev/null --max-time 2 "$@" 2>/dev/null; then
      return 0
    fi
    # gone twice, half a second apart: one look can miss a process that is between two execs (setsid,
    # env, the program) on a loaded machine; an empty log on an "exited" controller was seen that way
    if ! testenv_alive "$name" "$dir" && ! { sleep 0.5; testenv_alive "$name" "$dir"; }; then
      echo "tools/testenv: '$name' exited during start; end of $dir/$name.log:" >&2
      tail -n 20 "$dir/$name.log" >&2
      return 1
    fi
    sleep 0.2
  done
  echo "tools/testenv: '$name' not ready after ${secs}s; end of $dir/$name.log:" >&2
  tail -n 20 "$dir/$name.log" >&2
  return 1
}

# testenv_apiserver_args: the kube-apiserver command line for the loaded env (from testenv_load).
testenv_apiserver_args() {
  local p=$DIR/pki
  # shellcheck disable=SC2206
  local extra=($APISERVER_EXTRA_ARGS)
  printf '%s\n' "$KUBE_APISERVER" \
    "--etcd-servers=http://127.0.0.1:$ETCD_PORT" \
    "--bind-address=127.0.0.1" "--advertise-address=127.0.0.1" "--secure-port=$APISERVER_PORT" \
    "--cert-dir=$p" "--tls-cert-file=$p/apiserver.crt" "--tls-private-key-file=$p/apiserver.key" \
    "--client-ca-file=$p/ca.crt" \
    "--authorization-mode=RBAC" \
    "--service-cluster-ip-range=10.0.0.0/24" \
    "--service-account-issuer=https://127.0.0.1:$APISERVER_PORT" \
    "--service-account-key-file=$p/sa.pub" "--service-account-signing-key-file=$p/sa.key" \
    "--api-audiences=https://127.0.0.1:$APISERVER_PORT" \
    "--allow-privileged=true" \
    "--endpoint-reconciler-type=none" \
    "--profiling=false" \
    "--shutdown-watch-termination-grace-period=2s" \
    "${extra[@]}"
}

# testenv_start_apiserver: start kube-apiserver for the loaded env and wait for /readyz (60 s).
testenv_start_apiserver() {
  local args=()
  mapfile -t args < <(testenv_apiserver_args)
  testenv_start kube-apiserver "$DIR" "${args[@]}"
  testenv_wait_http kube-apiserver "$DIR" 60 --cacert "$DIR/pki/ca.crt" \
    --cert "$DIR/pki/admin.crt" --key "$DIR/pki/admin.key" "https://127.0.0.1:$APISERVER_PORT/readyz"
}
