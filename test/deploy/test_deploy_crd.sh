#!/usr/bin/env bash
# test/deploy/test_deploy_crd.sh - TAP: the AppPlatformRegistration CRD on the real kube-apiserver of
# tools/testenv accepts valid registrations (with defaults, status subresource, printer columns) and
# rejects invalid ones with the apiserver's own validation message: bad names, roles, providers,
# namespaces outside the '<app>-' prefix and the reserved '<app>-platform'.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

out=$(apply_manifests 2>&1) || bail "cannot apply the manifests: $out"
out=$(wait_crd 2>&1) || bail "the CRD is not Established: $out"

sfx=$(uniq_suffix)
app="tcrd-$sfx"
created=()

# registration NAME SPEC-YAML: a registration document (the spec indented by four spaces).
registration() {
  printf 'apiVersion: labrats.work/v1alpha1\nkind: AppPlatformRegistration\nmetadata:\n  name: %s\nspec:\n%s\n' "$1" "$2"
}
# accept DESC NAME SPEC
accept() {
  local out
  if out=$(registration "$2" "$3" | kubectl create -f - 2>&1); then
    created+=("$2")
    ok "accepted: $1"
  else
    not_ok "accepted: $1" "$out"
  fi
}
# reject DESC NAME SPEC EXPECTED-MESSAGE...: creation fails, and the apiserver's message contains each
# expected text.
reject() {
  local desc=$1 name=$2 spec=$3 out m
  shift 3
  if out=$(registration "$name" "$spec" | kubectl create -f - 2>&1); then
    created+=("$name")
    not_ok "rejected: $desc (it was accepted)"
    return
  fi
  for m in "$@"; do
    if ! grep -qF -- "$m" <<<"$out"; then
      not_ok "rejected: $desc, with '$m'" "$out"
      return
    fi
  done
  ok "rejected: $desc"
  printf '%s\n' "$out" | grep -v '^$' | sed 's/^/#   /'

}

good_spec="  namespaces: [$app-dev, $app-prod]
  access:
    - group: $app-admins
      role: admin
    - group: $app-devs
      role: developer
    - group: everyone
      role: reader
  repository:
    provider: github
    owner: labrats-work
    name: $app-platform"

accept "full spec" "$app" "$good_spec"
accept "empty spec" "$app-min" "  {}"
accept "40-character name" "$(printf 'a%.0s' {1..36})$(printf '%04d' $((RANDOM % 10000)))" "  {}"
accept "gitea and local providers" "$app-g" "  repository: {provider: gitea, owner: some_org.x, name: repo.name}"
accept "deletionPolicy Delete" "$app-d" "  deletionPolicy: Delete"

out=$(kubectl get apr "$app" -o jsonpath='{.spec.deletionPolicy}' 2>&1)
[ "$out" = Retain ] && ok "deletionPolicy defaults to Retain" || not_ok "deletionPolicy defaults to Retain" "$out"

# Status subresource: a write to the main resource drops status; /status takes it.
kubectl patch apr "$app" --type=merge -p '{"status":{"platformNamespace":"sneaky"}}' >/dev/null 2>&1
out=$(kubectl get apr "$app" -o jsonpath='{.status.platformNamespace}' 2>&1)
[ -z "$out" ] && ok "status is ignored on the main resource" || not_ok "status is ignored on the main resource" "$out"
now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
status="{\"status\":{\"observedGeneration\":1,\"platformNamespace\":\"$app-platform\",\"repositoryURL\":\"https://github.com/labrats-work/$app-platform\",\"agePublicKey\":\"age1example\",\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\",\"reason\":\"Reconciled\",\"message\":\"all good\",\"lastTransitionTime\":\"$now\",\"observedGeneration\":1}]}}"
out=$(kubectl patch apr "$app" --subresource=status --type=merge -p "$status" 2>&1) &&
  ok "status subresource takes a status" || not_ok "status subresource takes a status" "$out"
out=$(kubectl get apr "$app" 2>&1)
if grep -Eq '^NAME +READY +NAMESPACES +REPOSITORY +AGE' <<<"$out" &&
  grep -Eq "^$app +True +\[\"$app-dev\",\"$app-prod\"\] +https://github.com/labrats-work/$app-platform " <<<"$out"; then
  ok "printer columns Ready, Namespaces, Repository, Age"
else
  not_ok "printer columns Ready, Namespaces, Repository, Age" "$out"
fi
bad_status='{"status":{"conditions":[{"type":"Ready","status":"Maybe","reason":"x","message":"","lastTransitionTime":"2026-01-01T00:00:00Z"}]}}'
out=$(kubectl patch apr "$app" --subresource=status --type=merge -p "$bad_status" 2>&1)
[ $? -ne 0 ] && grep -qF 'Unsupported value: "Maybe"' <<<"$out" && ok "condition status must be True, False or Unknown" ||
  not_ok "condition status must be True, False or Unknown" "$out"

# --- names ------------------------------------------------------------------------------------------
long="$(printf 'b%.0s' {1..37})$(printf '%04d' $((RANDOM % 10000)))"
reject "name longer than 40 characters" "$long" "  {}" "metadata.name: Too long: may not be more than 40 bytes"
reject "uppercase name" "Tcrd-$sfx" "  {}" "metadata.name: Invalid value: \"Tcrd-$sfx\"" "lowercase RFC 1123"
reject "name with a dot (not a DNS-1123 label)" "tcrd.$sfx" "  {}" "metadata.name in body should match"

# --- access -----------------------------------------------------------------------------------------
reject "bad role" "$app-r" "  access: [{group: devs, role: owner}]" \
  'spec.access[0].role: Unsupported value: "owner"' '"admin", "developer", "reader"'
reject "access entry without role" "$app-r2" "  access: [{group: devs}]" "spec.access[0].role: Required value"
reject "system: group" "$app-r3" "  access: [{group: 'system:masters', role: admin}]" "spec.access[0].group" "should match"
reject "the same group twice" "$app-r4" "  access: [{group: devs, role: admin}, {group: devs, role: reader}]" \
  "spec.access[1]: Duplicate value"

# --- namespaces -------------------------------------------------------------------------------------
reject "namespace without the '<app>-' prefix" "$app-n1" "  namespaces: [$app-n1-dev, other-dev]" \
  "spec.namespaces" "must start with '$app-n1-'"
reject "namespace equal to the app name" "$app-n2" "  namespaces: [$app-n2]" "must start with '$app-n2-'"
reject "'<app>-platform' in spec.namespaces" "$app-n3" "  namespaces: [$app-n3-platform]" \
  "spec.namespaces" "must not list '$app-n3-platform'"
reject "uppercase namespace" "$app-n4" "  namespaces: [$app-n4-Dev]" "spec.namespaces[0]" "should match"
reject "duplicate namespace" "$app-n5" "  namespaces: [$app-n5-dev, $app-n5-dev]" "spec.namespaces[1]: Duplicate value"

# --- repository and deletionPolicy ------------------------------------------------------------------
reject "bad provider" "$app-p" "  repository: {provider: gitlab}" \
  'spec.repository.provider: Unsupported value: "gitlab"' '"github", "gitea", "local"'
reject "repository name with a slash" "$app-p2" "  repository: {name: a/b}" "spec.repository.name" "should match"
reject "bad deletionPolicy" "$app-p3" "  deletionPolicy: Destroy" 'spec.deletionPolicy: Unsupported value: "Destroy"'
reject "unknown field (strict)" "$app-p4" "  colour: red" 'unknown field "spec.colour"'

# Updates are validated too: adding a foreign namespace to an accepted registration fails.
out=$(kubectl patch apr "$app" --type=merge -p '{"spec":{"namespaces":["elsewhere"]}}' 2>&1)
[ $? -ne 0 ] && grep -qF "must start with '$app-'" <<<"$out" && ok "updates are validated" || not_ok "updates are validated" "$out"

[ ${#created[@]} -gt 0 ] && kubectl delete apr "${created[@]}" --wait=false >/dev/null 2>&1
finish
